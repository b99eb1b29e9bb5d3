fuzz_sdp_SRCS := modules/rtsp/sdp.c
