# The libcamera controls mapping against the real libcamera library (no
# camera): built only where pkg-config finds libcamera, else it skips.
ifneq ($(shell $(PKG_CONFIG) --exists libcamera 2>/dev/null && echo y),)
LC_TEST_CFLAGS := $(shell $(PKG_CONFIG) --cflags libcamera) -DHAVE_LIBCAMERA=1
$(BUILD)/tests/test_lc_controls: $(BUILD)/obj/modules/libcamera/lc_controls.o \
	$(BUILD)/obj/tests/unit/lc_controls_cases.o
$(BUILD)/obj/tests/unit/lc_controls_cases.o $(BUILD)/obj/tests/unit/test_lc_controls.o: \
	EXTRA_CFLAGS += $(LC_TEST_CFLAGS)
test_lc_controls_LIBS := $(shell $(PKG_CONFIG) --libs libcamera) -lstdc++
endif
