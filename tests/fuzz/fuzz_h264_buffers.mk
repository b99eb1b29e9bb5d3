fuzz_h264_buffers_SRCS := common/h264.c
