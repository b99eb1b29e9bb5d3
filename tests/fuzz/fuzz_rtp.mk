fuzz_rtp_SRCS := modules/rtsp/rtp_h264.c
