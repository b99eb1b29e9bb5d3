test_rtsp_SRCS := modules/rtsp/rtsp_msg.c modules/rtsp/sdp.c \
	modules/rtsp/rtp_h264.c modules/rtsp/rtsp_auth.c
