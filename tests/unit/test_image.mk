test_image_SRCS := modules/image/picture.c modules/image/decode.c \
	modules/image/outdir.c
test_image_LIBS := -lturbojpeg -lpng16 -lavcodec -lswscale -lavutil
