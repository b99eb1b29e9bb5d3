fuzz_http_parse_SRCS := common/http_parse.c common/http_head.c
