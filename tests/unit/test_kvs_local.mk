test_kvs_local_SRCS := bin/kvs-local/main.c bin/kvs-local/control.c \
	bin/kvs-local/putmedia.c bin/kvs-local/getmedia.c \
	bin/kvs-local/store.c bin/kvs-local/limits.c \
	bin/kvs-local/index.c bin/kvs-local/validate.c
