fuzz_kvs_spool_SRCS := modules/kvs/spool.c modules/kvs/spool_recover.c
