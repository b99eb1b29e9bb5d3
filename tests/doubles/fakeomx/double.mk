fakeomx_DOUBLE_LIBS := -lx264 -lpthread
