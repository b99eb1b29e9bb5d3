test_kvs_spool_SRCS := modules/kvs/spool.c modules/kvs/store.c modules/kvs/retime.c
