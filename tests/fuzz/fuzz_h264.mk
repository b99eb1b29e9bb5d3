fuzz_h264_SRCS := common/h264.c common/h264_order.c common/ebml.c common/mkv_writer.c modules/mkv/mux.c
