fuzz_overlay_text_SRCS := modules/overlay/ov_text.c
