test_mkv_SRCS := modules/mkv/mux.c
