fuzz_quartz_cron_SRCS := common/quartz_cron.c
