# The record module as a whole (segment writer, retention store, scanner).
fuzz_record_SRCS := modules/record/record.c modules/record/segment.c \
	modules/record/store.c common/mkv_scan.c common/ebml.c
