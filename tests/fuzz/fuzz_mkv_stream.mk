fuzz_mkv_stream_SRCS := common/mkv_stream.c common/ebml.c
