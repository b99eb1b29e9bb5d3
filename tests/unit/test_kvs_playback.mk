test_kvs_playback_SRCS := kvs-local/log.c kvs-local/conn.c kvs-local/reply.c \
	kvs-local/request.c kvs-local/auth.c kvs-local/dispatch.c \
	kvs-local/args.c kvs-local/keys.c kvs-local/payload.c \
	kvs-local/control.c kvs-local/putmedia.c \
	kvs-local/getmedia.c kvs-local/store.c kvs-local/limits.c \
	kvs-local/index.c kvs-local/validate.c \
	kvs-local/http_parse.c common/http_head.c kvs-local/mkv_stream.c \
	kvs-local/sigv4_chunked.c kvs-local/edge.c kvs-local/edge_store.c \
	kvs-local/edge_state.c
test_kvs_playback_SRCS += kvs-local/playback.c kvs-local/playback_params.c \
	kvs-local/hls.c kvs-local/mp4_remux.c
test_kvs_playback_LIBS += $(KVSLOCAL_LIBS)
