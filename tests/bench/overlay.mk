# bench_overlay links the overlay module's drawing code and FreeType (and
# is built as a skip without FreeType).
ifneq ($(shell $(PKG_CONFIG) --exists freetype2 2>/dev/null && echo y),)
OV_BENCH_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,modules/overlay/ov_text.c \
	modules/overlay/ov_font.c modules/overlay/ov_draw.c)
$(BUILD)/tests/bench_overlay: $(OV_BENCH_OBJS)
$(BUILD)/tests/bench_overlay: BENCH_LIBS += $(shell $(PKG_CONFIG) --libs freetype2)
$(BUILD)/obj/tests/bench/bench_overlay.o: EXTRA_CFLAGS += -DHAVE_FREETYPE=1
endif
