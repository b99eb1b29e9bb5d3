fuzz_s3_object_SRCS := modules/s3/object.c common/strbuf.c common/json.c
