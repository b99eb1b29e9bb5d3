# Time and file-size code paths with dates past 2038 (tests/unit/test_y2038.c).
test_y2038_SRCS := modules/record/store.c modules/mkv/mux.c
test_y2038_LIBS := -lx264
