# kvs-local without its main, server and connection loop (Makefile).
test_kvs_playback_SRCS := $(KVSLOCAL_TEST_SRCS)
test_kvs_playback_LIBS += $(KVSLOCAL_LIBS)
