v4l2dev_DOUBLE_LIBS := -lx264
