test_v4l2_SRCS := modules/v4l2/bufset.c modules/v4l2/device.c modules/v4l2m2m/m2mdev.c
