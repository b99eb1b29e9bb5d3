fuzz_rtsp_response_SRCS := modules/rtsp/rtsp_msg.c common/http_head.c modules/rtsp/rtsp_auth.c
