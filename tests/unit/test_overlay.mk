test_overlay_SRCS := modules/overlay/ov_text.c modules/overlay/ov_font.c modules/overlay/ov_draw.c
test_overlay_LIBS := $(shell $(PKG_CONFIG) --libs freetype2 2>/dev/null)
