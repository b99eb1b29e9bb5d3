test_record_SRCS := modules/record/record.c modules/record/segment.c \
	modules/record/store.c
