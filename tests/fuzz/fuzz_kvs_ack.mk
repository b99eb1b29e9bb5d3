fuzz_kvs_ack_SRCS := modules/kvs/ack.c modules/kvs/status.c common/json.c common/strbuf.c
fuzz_kvs_ack_LIBS := -lcurl
