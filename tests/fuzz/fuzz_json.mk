fuzz_json_SRCS := common/json.c common/strbuf.c
