test_s3_SRCS := modules/s3/object.c
