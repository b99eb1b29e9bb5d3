test_libcamera_SRCS := modules/libcamera/lc_time.c
