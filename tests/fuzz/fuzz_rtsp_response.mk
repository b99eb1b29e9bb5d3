fuzz_rtsp_response_SRCS := modules/rtsp/rtsp_msg.c modules/rtsp/rtsp_auth.c
