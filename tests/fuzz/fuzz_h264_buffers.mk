fuzz_h264_buffers_SRCS := common/h264_nal.c common/h264_params.c common/h264_slice.c common/h264_poc.c common/h264_au.c common/h264_split.c common/h264_avcc.c
