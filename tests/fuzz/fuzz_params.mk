# The INI value parsers and what they need.
fuzz_params_SRCS := kernel/params.c kernel/util.c
