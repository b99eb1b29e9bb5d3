# bench_overlay links the overlay module's drawing code and FreeType.
OV_BENCH_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,modules/overlay/ov_text.c \
	modules/overlay/ov_font.c modules/overlay/ov_draw.c)
$(BUILD)/tests/bench_overlay: $(OV_BENCH_OBJS)
$(BUILD)/tests/bench_overlay: BENCH_LIBS += $(shell $(PKG_CONFIG) --libs freetype2 2>/dev/null)
