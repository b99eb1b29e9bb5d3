fuzz_kvs_local_SRCS := bin/kvs-local/main.c bin/kvs-local/control.c \
	bin/kvs-local/putmedia.c bin/kvs-local/getmedia.c \
	bin/kvs-local/store.c bin/kvs-local/limits.c \
	common/http_parse.c common/http_head.c common/json.c common/sigv4.c common/sigv4_chunked.c \
	common/strbuf.c common/mkv_stream.c common/ebml.c
