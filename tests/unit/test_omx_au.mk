test_omx_au_SRCS := modules/omx/omx_au.c
