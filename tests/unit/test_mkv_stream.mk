test_mkv_stream_SRCS := kvs-local/mkv_stream.c
