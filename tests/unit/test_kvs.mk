test_kvs_SRCS := modules/kvs/store.c modules/kvs/ack.c modules/kvs/status.c
