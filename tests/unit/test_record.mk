test_record_SRCS := modules/record/record.c modules/record/segment.c \
	modules/record/store.c
# test_record defines its own vpipe_node_count, vpipe_now...: link only
# the kernel objects it still needs.
test_record_KERNEL := $(LIBKERNEL)
