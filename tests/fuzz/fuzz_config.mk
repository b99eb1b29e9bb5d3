# The graph file reader over Debian's libinih.
fuzz_config_SRCS := kernel/config.c kernel/util.c
fuzz_config_LIBS := -linih
