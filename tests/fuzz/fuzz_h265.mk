fuzz_h265_SRCS := common/h264_nal.c common/h264_slice.c common/h264_params.c common/h264_split.c common/h265_nal.c common/h265_params.c common/h265_au.c common/h265_split.c common/h265_hvcc.c
