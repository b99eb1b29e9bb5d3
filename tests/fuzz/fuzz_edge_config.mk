fuzz_edge_config_SRCS := common/edge_config.c common/quartz_cron.c \
	common/json.c common/strbuf.c
