# The overlay's drawing code needs FreeType; without it (a cross target
# lacking libfreetype-dev) the test is built as a skip.
ifneq ($(shell $(PKG_CONFIG) --exists freetype2 2>/dev/null && echo y),)
test_overlay_SRCS := modules/overlay/ov_text.c modules/overlay/ov_font.c modules/overlay/ov_draw.c
test_overlay_LIBS := $(shell $(PKG_CONFIG) --libs freetype2)
$(BUILD)/obj/tests/unit/test_overlay.o: EXTRA_CFLAGS += -DHAVE_FREETYPE=1
endif
