test_sigv4_chunked_SRCS := kvs-local/sigv4_chunked.c
