fuzz_http_parse_SRCS := kvs-local/http_parse.c common/http_head.c
