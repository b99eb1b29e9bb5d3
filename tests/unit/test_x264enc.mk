test_x264enc_SRCS := modules/x264/x264enc.c
test_x264enc_LIBS := -lx264
