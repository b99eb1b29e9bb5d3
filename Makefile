# vpipe: one entry point.
#   make            libvpipe, the vpipe command, every module
#   make deps       install the Debian/npm packages the build and tests need
#   make test       build with -Werror and run the whole suite
#   make check      the suite under ASan+UBSan, the concurrent parts under TSan
#   make bench      benchmarks that print figures
#   make fuzz       build the libFuzzer targets (FUZZ_SECONDS=N runs each)
#   make fuzz-smoke build every fuzz target and run each for 10 s (CI)
#   make run        run the demo pipeline (conf/demo.ini)
#   make install    PREFIX=/usr/local DESTDIR= (SYSTEMDUNITDIR, MANDIR, DATADIR)
#   make man        vpipe(1) and vpipe.ini(5) from the built tables
#   make cross-test the tests built for arm64/armhf, run under qemu-user
#   make align-check  the tests under -fsanitize=alignment
#   make CROSS=aarch64-linux-gnu|arm-linux-gnueabihf [dist]   cross builds
#
# Layout of the build tree ($(BUILD)):
#   lib/libvpipe.so  lib/libvpipe-kernel.a  lib/libvpipe-common.a  bin/vpipe  bin/vpipe-kvs-local
#   modules/NAME.so  tests/  man/vpipe.1  man/vpipe.ini.5

PREFIX ?= /usr/local
DESTDIR ?=
LIBDIR ?= $(PREFIX)/lib
MODULEDIR ?= $(LIBDIR)/vpipe/modules
INCLUDEDIR ?= $(PREFIX)/include
DATADIR ?= $(PREFIX)/share/vpipe
MANDIR ?= $(PREFIX)/share/man
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
VERSION := 0.1.0

BUILD ?= build
# Cross builds for the Raspberry Pi: CROSS=aarch64-linux-gnu (64-bit OS) or
# CROSS=arm-linux-gnueabihf (32-bit OS, ARMv7: Pi 2 and later). Debian's
# crossbuild-essential-* toolchains and the target's -dev packages through
# multiarch (tests/cross-deps.sh installs both); module.mk packages resolve
# through the target's pkg-config, so a module whose library the target lacks
# is skipped with a message. `make CROSS=... cross-test` runs the tests under
# qemu-user (tests/cross.sh).
ifneq ($(CROSS),)
CC := $(CROSS)-gcc
CXX := $(CROSS)-g++
AR := $(CROSS)-ar
PKG_CONFIG ?= $(CROSS)-pkg-config
BUILD := build-$(CROSS)
# Libraries tests/cross-deps.sh had to unpack outside dpkg, when apt could
# not co-install them (searched after the system's own).
CROSS_EXTRA ?= /opt/vpipe-cross
CROSS_X := $(wildcard $(CROSS_EXTRA)/$(CROSS))
ifneq ($(CROSS_X),)
CROSS_CPPFLAGS := -idirafter $(CROSS_X)/usr/include/$(CROSS) -idirafter $(CROSS_X)/usr/include
CROSS_LDFLAGS := -L$(CROSS_X)/usr/lib/$(CROSS) -Wl,-rpath-link,$(CROSS_X)/usr/lib/$(CROSS)
PKG_CONFIG := PKG_CONFIG_PATH=$(CROSS_X)/usr/lib/$(CROSS)/pkgconfig $(PKG_CONFIG)
endif
endif
PKG_CONFIG ?= pkg-config
CC ?= cc
CXX ?= c++

SAN ?=
OPT ?= -O2
# -Wcast-align=strict: a cast that raises alignment (uint8_t * to uint32_t *)
# is a bus error on some ARM cores; read multi-byte fields with common/bytes.h.
WARN := -Wall -Wextra -Werror -Wcast-align=strict
# 64-bit file offsets and time_t on 32-bit ARM as well (glibc >= 2.34): files
# over 2 GB and dates past 2038. No effect on 64-bit targets.
CPPFLAGS_ALL := -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64 \
	-Ikernel/include -Icommon \
	-DVPIPE_VERSION='"$(VERSION)"' -DVPIPE_MODULEDIR='"$(MODULEDIR)"' \
	-DVPIPE_PREFIX='"$(PREFIX)"' $(CROSS_CPPFLAGS)
ifneq ($(SAN),)
SANFLAGS := -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
# Hidden visibility: only what the public headers mark VPIPE_API (and a
# module's VPIPE_MODULE descriptor) is exported from a shared object. (Not
# for the LD_PRELOAD test doubles, whose job is to export libc's names.)
VIS = -fvisibility=hidden
CFLAGS_ALL := -std=c11 $(OPT) -g -fPIC -pthread $(WARN) $(SANFLAGS) $(CFLAGS)
CXXFLAGS_ALL := -std=c++17 $(OPT) -g -fPIC -pthread $(WARN) $(SANFLAGS) $(CXXFLAGS)
LDFLAGS_ALL := -pthread $(SANFLAGS) $(CROSS_LDFLAGS) $(LDFLAGS)

.PHONY: all deps test check bench fuzz fuzz-smoke run install install-files clean format format-check
all:

# ------------------------------------------------------------------ kernel
# libvpipe.so exports the public API only (vpipe_*). libvpipe-kernel.a, the
# same objects, is private: the vpipe command and the unit tests link all of
# it (the internals they call: graph, config, loader, params, sched) and
# export the API from the executable with --export-dynamic, so the modules
# they load resolve vpipe_* against that one kernel (one logger, one clock).
# KERNEL_LINK is how an executable takes the kernel.
KERNEL_SRCS := $(wildcard kernel/*.c)
KERNEL_OBJS := $(KERNEL_SRCS:%.c=$(BUILD)/obj/%.o)
LIBVPIPE := $(BUILD)/lib/libvpipe.so
LIBKERNEL := $(BUILD)/lib/libvpipe-kernel.a
KERNEL_LIBS := -linih -ldl -lm
KERNEL_LINK := -Wl,--export-dynamic -Wl,--whole-archive $(LIBKERNEL) -Wl,--no-whole-archive

$(LIBKERNEL): $(KERNEL_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^
all: $(LIBKERNEL)

$(LIBVPIPE): $(KERNEL_OBJS)
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,libvpipe.so.1 -o $@ $^ $(LDFLAGS_ALL) $(KERNEL_LIBS)
	ln -sf libvpipe.so $(@D)/libvpipe.so.1
all: $(LIBVPIPE)

# ----------------------------------------------- shared code (static, PIC)
# common/ holds code several modules and tools share (H.264, Matroska,
# Signature V4, HTTP). It is not part of the public module API.
COMMON_SRCS := $(wildcard common/*.c)
COMMON_OBJS := $(COMMON_SRCS:%.c=$(BUILD)/obj/%.o)
LIBCOMMON := $(BUILD)/lib/libvpipe-common.a
COMMON_LIBS := -lssl -lcrypto -lm

$(LIBCOMMON): $(COMMON_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^
all: $(LIBCOMMON)

# ---------------------------------------------------------------- command
# bin/*.c is the vpipe command; bin/NAME/*.c are its larger subcommands. It
# links neither OpenSSL nor libcurl (tests/e2e/vpipe_links.sh checks).
BIN_SRCS := $(wildcard bin/*.c bin/*/*.c)
BIN_OBJS := $(BIN_SRCS:%.c=$(BUILD)/obj/%.o)
VPIPE := $(BUILD)/bin/vpipe
BIN_LIBS := -lm

$(VPIPE): $(BIN_OBJS) $(LIBKERNEL) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) -o $@ $(BIN_OBJS) $(KERNEL_LINK) $(LIBCOMMON) \
		$(LDFLAGS_ALL) $(BIN_LIBS) $(KERNEL_LIBS)
all: $(VPIPE)

# -------------------------------------------------------------- kvs-local
# kvs-local/ is vpipe-kvs-local, the local Kinesis Video Streams endpoint of
# the tests and the demo (docs/kvs-local.md), with the code only it uses.
# `vpipe kvs-local ...` execs it from beside the vpipe binary.
KVSLOCAL_SRCS := $(wildcard kvs-local/*.c)
# What unit tests of kvs-local link: all but the program's entry, server
# and connection loop (tests/unit/test_kvs_*.mk).
KVSLOCAL_TEST_SRCS := $(filter-out kvs-local/main.c kvs-local/server.c \
	kvs-local/loop.c kvs-local/pool.c,$(KVSLOCAL_SRCS)) common/http_head.c
KVSLOCAL_OBJS := $(KVSLOCAL_SRCS:%.c=$(BUILD)/obj/%.o)
KVSLOCAL := $(BUILD)/bin/vpipe-kvs-local
# GetClip and HLS remux the stored Matroska to MP4 with libavformat; where
# it is missing (a cross sysroot without it) they answer that they are not
# built in, and the rest of kvs-local is as before.
KVSLOCAL_PKGS := libavformat libavcodec libavutil
ifeq ($(shell $(PKG_CONFIG) --exists $(KVSLOCAL_PKGS) && echo y),y)
KVSLOCAL_LIBS := $(shell $(PKG_CONFIG) --libs $(KVSLOCAL_PKGS))
$(KVSLOCAL_OBJS): EXTRA_CFLAGS += $(shell $(PKG_CONFIG) --cflags $(KVSLOCAL_PKGS)) -DKL_HAVE_AVFORMAT
else
$(info vpipe: kvs-local without GetClip and HLS: pkg-config cannot find $(KVSLOCAL_PKGS))
endif
$(KVSLOCAL): $(KVSLOCAL_OBJS) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) -o $@ $(KVSLOCAL_OBJS) $(LIBCOMMON) $(LDFLAGS_ALL) $(COMMON_LIBS) \
		$(KVSLOCAL_LIBS)
all: $(KVSLOCAL)

# ---------------------------------------------------------------- modules
# Each modules/NAME/ builds $(BUILD)/modules/NAME.so from its *.c and *.cc.
# Modules are not linked against libvpipe: their vpipe_* references bind,
# when loaded, to the kernel of the program that loads them.
# An optional modules/NAME/module.mk may set:
#   NAME_PKGS    pkg-config packages (module skipped, with a message, if absent)
#   NAME_LIBS    extra link flags;  NAME_CFLAGS extra compile flags
MODULE_NAMES := $(notdir $(patsubst %/,%,$(dir $(wildcard modules/*/))))
-include $(wildcard modules/*/module.mk)

define module_rules
$(1)_SRCS := $$(wildcard modules/$(1)/*.c)
$(1)_CXXSRCS := $$(wildcard modules/$(1)/*.cc)
$(1)_OBJS := $$($(1)_SRCS:%.c=$(BUILD)/obj/%.o) $$($(1)_CXXSRCS:%.cc=$(BUILD)/obj/%.o)
$(1)_MISSING := $$(strip $$(foreach p,$$($(1)_PKGS),$$(if $$(shell $(PKG_CONFIG) --exists $$(p) && echo y),,$$(p))))
$(1)_PKGCFLAGS := $$(if $$($(1)_PKGS),$$(if $$($(1)_MISSING),,$$(shell $(PKG_CONFIG) --cflags $$($(1)_PKGS))))
$(1)_PKGLIBS := $$(if $$($(1)_PKGS),$$(if $$($(1)_MISSING),,$$(shell $(PKG_CONFIG) --libs $$($(1)_PKGS))))
$(1)_LINKER := $$(if $$($(1)_CXXSRCS),$(CXX),$(CC))
$$($(1)_OBJS): EXTRA_CFLAGS := $$($(1)_CFLAGS) $$($(1)_PKGCFLAGS)
ifeq ($$($(1)_MISSING),)
$(BUILD)/modules/$(1).so: $$($(1)_OBJS) $(LIBCOMMON) kernel/module.map
	@mkdir -p $$(@D)
	$$($(1)_LINKER) -shared -o $$@ $$($(1)_OBJS) $(LIBCOMMON) \
		-Wl,--version-script=kernel/module.map $(LDFLAGS_ALL) $$($(1)_LIBS) $$($(1)_PKGLIBS) $(COMMON_LIBS)
MODULE_SOS += $(BUILD)/modules/$(1).so
else
$$(info vpipe: skipping module $(1): pkg-config cannot find $$($(1)_MISSING))
endif
endef
$(foreach m,$(MODULE_NAMES),$(eval $(call module_rules,$(m))))
all: $(MODULE_SOS)

# ---------------------------------------------------------------- man pages
# vpipe(1) and vpipe.ini(5), printed by the vpipe just built (`vpipe man`)
# from its command table and every built module's parameter table: the same
# tables as --help and `vpipe modules`, so the pages cannot drift. A cross
# build cannot run its vpipe here: it has no man pages.
MAN_DATE := $(shell git log -1 --format=%cs 2>/dev/null || echo 2026-01-01)
ifeq ($(CROSS),)
MAN_PAGES := $(BUILD)/man/vpipe.1 $(BUILD)/man/vpipe.ini.5
endif
$(BUILD)/man/%: $(VPIPE) $(MODULE_SOS)
	@mkdir -p $(@D)
	VPIPE_MODULE_PATH=$(abspath $(BUILD)/modules) ASAN_OPTIONS=detect_leaks=0 \
		$(VPIPE) man $(basename $*) $(MAN_DATE) >$@.tmp
	mv $@.tmp $@
.PHONY: man
man: $(MAN_PAGES)

# ------------------------------------------------------------------ objects
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(VIS) $(EXTRA_CFLAGS) -MMD -MP -c -o $@ $<
$(BUILD)/obj/%.o: %.cc
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS_ALL) $(CXXFLAGS_ALL) $(VIS) -fvisibility-inlines-hidden $(EXTRA_CFLAGS) -MMD -MP -c -o $@ $<
-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ------------------------------------------------------------------- tests
# tests/unit/test_NAME.c -> $(BUILD)/tests/test_NAME, linked with the private
# kernel library (as the command is) and common. Internal kernel headers are
# reachable as "kernel/...".
# tests/unit/NAME.mk may set test_NAME_SRCS (more sources) and test_NAME_LIBS,
# and test_NAME_KERNEL (how the kernel is linked; a test that defines its own
# doubles of API functions takes only the archive members it still needs).
# tests/doubles/NAME/*.c -> $(BUILD)/tests/NAME.so (LD_PRELOAD doubles etc.),
# tests/doubles/NAME/double.mk may set NAME_DOUBLE_LIBS.
# tests/e2e/*.sh are run by tests/run.sh with BUILD, VPIPE, VPIPE_MODULE_PATH.
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
-include $(wildcard tests/unit/*.mk) $(wildcard tests/doubles/*/double.mk)

define unit_rules
$(BUILD)/tests/$(1): $(BUILD)/obj/tests/unit/$(1).o $$($(1)_SRCS:%.c=$(BUILD)/obj/%.o) $(LIBKERNEL) $(LIBCOMMON)
	@mkdir -p $$(@D)
	$(CC) -o $$@ $$(filter %.o,$$^) $$(or $$($(1)_KERNEL),$$(KERNEL_LINK)) $(LIBCOMMON) \
		$(LDFLAGS_ALL) $$($(1)_LIBS) $(COMMON_LIBS) -lcurl $(KERNEL_LIBS)
endef
$(foreach t,$(UNIT_SRCS:tests/unit/%.c=%),$(eval $(call unit_rules,$(t))))
$(BUILD)/obj/tests/unit/%.o: CPPFLAGS_ALL += -I.
$(BUILD)/obj/bin/%.o: CPPFLAGS_ALL += -I.
$(BUILD)/obj/kvs-local/%.o: CPPFLAGS_ALL += -Ikvs-local

$(BUILD)/obj/tests/doubles/%.o: VIS :=
DOUBLE_NAMES := $(notdir $(patsubst %/,%,$(dir $(wildcard tests/doubles/*/))))
define double_rules
$(1)_DOUBLE_OBJS := $$(patsubst %.c,$(BUILD)/obj/%.o,$$(wildcard tests/doubles/$(1)/*.c))
$(BUILD)/tests/$(1).so: $$($(1)_DOUBLE_OBJS)
	@mkdir -p $$(@D)
	$(CC) -shared -o $$@ $$^ $(LDFLAGS_ALL) $$($(1)_DOUBLE_LIBS) -ldl
DOUBLE_SOS += $(BUILD)/tests/$(1).so
endef
$(foreach d,$(DOUBLE_NAMES),$(eval $(call double_rules,$(d))))

TEST_DEPS := all $(UNIT_BINS) $(DOUBLE_SOS)
test: $(TEST_DEPS)
	@BUILD=$(BUILD) tests/run.sh

# The tests again, built with CROSS=TRIPLET (default: both Pi targets) and
# run under qemu-user: every unit test and the hardware-free e2e tests listed
# in tests/cross.sh.
.PHONY: cross-test
cross-test:
	tests/cross.sh $(or $(CROSS),aarch64-linux-gnu arm-linux-gnueabihf)

# No unaligned access (a bus error on some ARM cores, silent on x86): every
# unit test and the e2e tests that parse or write H.264, Matroska, RTP/RTSP
# and HTTP, built with -fsanitize=alignment (aborts on the first misaligned
# load or store).
ALIGN_E2E ?= testsrc_filesink mkv record rtsp_tcp_udp kvs_stream kvs_local_putmedia \
	kvs_local_playback \
	s3_sigv4 image_h264 x264 hevc rtsp_h265
# (test-deps: TEST_DEPS expanded by the sub-make, with its own BUILD.)
.PHONY: align-check test-deps
test-deps: $(TEST_DEPS)
align-check:
	$(MAKE) BUILD=build-align SAN=alignment OPT=-O1 test-deps
	BUILD=build-align UBSAN_OPTIONS=print_stacktrace=1 tests/run.sh \
		$(notdir $(UNIT_BINS)) $(ALIGN_E2E)

# What `make install` puts under PREFIX (with the example graphs and the
# systemd unit), as one tarball to copy to a Pi:
#   make CROSS=aarch64-linux-gnu dist   ->  build-aarch64-linux-gnu/vpipe-VERSION-aarch64-linux-gnu.tar.gz
#   (on the Pi) sudo tar -C / -xzf vpipe-*.tar.gz
DIST_NAME := vpipe-$(VERSION)-$(or $(CROSS),$(shell $(CC) -dumpmachine))
.PHONY: dist
dist: all
	rm -rf $(BUILD)/dist
	$(MAKE) --no-print-directory install-files DESTDIR=$(abspath $(BUILD)/dist)
	tar -C $(BUILD)/dist --owner=0 --group=0 -czf $(BUILD)/$(DIST_NAME).tar.gz $(PREFIX:/%=%)
	@echo "$(BUILD)/$(DIST_NAME).tar.gz: on the target, sudo tar -C / -xzf it (files under $(PREFIX))"

# Concurrent parts run again under ThreadSanitizer (docs/sanitizers.md):
# the ring, pools and scheduler; graphs that stop, fail one chain, send
# events upstream; the modules with worker threads (kvs, s3) and their
# servers (kvs-local); a node given up on after the abort, a source waiting
# on a FIFO; frames released on other threads (filesrc chunks,
# V4L2 and OMX buffers, the device double's camera and encoder threads).
TSAN_TESTS ?= test_ring test_pool test_sched test_reload test_log_coalesce test_backoff test_v4l2 test_harness \
	graceful_stop stop_hung_module filesrc_fifo two_chains keyframe_request demo shared_threads \
	sd_notify \
	kvs_stream kvs_faults kvs_rotation kvs_iot_credentials kvs_unacked_exit kvs_spool \
	kvs_local_stress kvs_local_putmedia kvs_local_retention kvs_local_hostile \
	kvs_local_playback \
	v4l2_capture v4l2_h264 v4l2_unplug v4l2m2m v4l2m2m_dmabuf omx \
	s3_outage image_h264 mkv record rtsp_reconnect hevc rtsp_h265 reload reload_kvs
# Both stages run even when the first fails, so one run shows both results.
check:
	$(MAKE) BUILD=build-asan SAN=address,undefined OPT=-O1 test-deps
	$(MAKE) BUILD=build-tsan SAN=thread OPT=-O1 test-deps
	@asan=0; tsan=0; \
	echo "make check: every test under ASan+UBSan"; \
	BUILD=build-asan VPIPE_SANITIZER=asan ASAN_OPTIONS=detect_leaks=1 \
		UBSAN_OPTIONS=print_stacktrace=1 tests/run.sh || asan=1; \
	echo "make check: TSAN_TESTS under TSan"; \
	BUILD=build-tsan VPIPE_SANITIZER=tsan TSAN_OPTIONS=halt_on_error=1 \
		tests/run.sh $(TSAN_TESTS) || tsan=1; \
	[ $$asan = 0 ] && [ $$tsan = 0 ]

# ------------------------------------------------------------------- bench
BENCH_SRCS := $(wildcard tests/bench/bench_*.c)
BENCH_BINS := $(BENCH_SRCS:tests/bench/%.c=$(BUILD)/tests/%)
-include $(wildcard tests/bench/*.mk)
$(BUILD)/tests/bench_%: $(BUILD)/obj/tests/bench/bench_%.o $(LIBKERNEL) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) -o $@ $(filter %.o,$^) $(KERNEL_LINK) $(LIBCOMMON) \
		$(LDFLAGS_ALL) $(BENCH_LIBS) $(COMMON_LIBS) $(KERNEL_LIBS)
$(BUILD)/obj/tests/bench/%.o: CPPFLAGS_ALL += -I.
bench: all $(BENCH_BINS)
	@BUILD=$(BUILD) tests/bench/run.sh

# -------------------------------------------------------------------- fuzz
# tests/fuzz/fuzz_NAME.c is a libFuzzer target; tests/fuzz/fuzz_NAME.mk may
# set fuzz_NAME_SRCS. Built with clang into build-fuzz/.
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_SECONDS ?= 0
fuzz:
	@tests/fuzz/build.sh $(FUZZ_SECONDS)
# Every target built and run briefly, so that no harness rots unnoticed (a
# kernel call a module gained and a harness lacks fails its build): CI runs
# it after `make test`. Any build error, crash or sanitizer report fails it.
FUZZ_SMOKE_SECONDS ?= 10
fuzz-smoke:
	@tests/fuzz/build.sh $(FUZZ_SMOKE_SECONDS)

# -------------------------------------------------------------------- deps
# Debian packages and npm packages the build, tests and demo need (sudo).
deps:
	tests/deps.sh

# --------------------------------------------------------------------- run
run: all
	bin/vpipe-demo

# ----------------------------------------------------------------- install
install: all man
	$(MAKE) --no-print-directory install-files

# The copy alone, for tests that install what `make test` already built:
# the command, library, modules, headers, pkg-config file, man pages, the
# systemd unit (its paths rewritten for PREFIX) and the example graphs.
install-files: $(MAN_PAGES)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBDIR)/pkgconfig \
		$(DESTDIR)$(MODULEDIR) $(DESTDIR)$(INCLUDEDIR)/vpipe \
		$(DESTDIR)$(DATADIR)/conf $(DESTDIR)$(SYSTEMDUNITDIR)
	install -m 0755 $(VPIPE) $(DESTDIR)$(PREFIX)/bin/vpipe
	install -m 0755 $(KVSLOCAL) $(DESTDIR)$(PREFIX)/bin/vpipe-kvs-local
	install -m 0755 $(LIBVPIPE) $(DESTDIR)$(LIBDIR)/libvpipe.so.1
	ln -sf libvpipe.so.1 $(DESTDIR)$(LIBDIR)/libvpipe.so
	install -m 0755 $(MODULE_SOS) $(DESTDIR)$(MODULEDIR)/
	install -m 0644 kernel/include/vpipe/*.h $(DESTDIR)$(INCLUDEDIR)/vpipe/
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@MODULEDIR@|$(MODULEDIR)|; s|@VERSION@|$(VERSION)|' \
		kernel/vpipe.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/vpipe.pc
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' \
		kernel/vpipe-harness.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/vpipe-harness.pc
	install -m 0644 conf/*.ini conf/vpipe@.service $(DESTDIR)$(DATADIR)/conf/
	sed 's|/usr/local/bin/vpipe|$(PREFIX)/bin/vpipe|g' conf/vpipe@.service \
		> $(DESTDIR)$(SYSTEMDUNITDIR)/vpipe@.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/vpipe@.service
	$(if $(MAN_PAGES),install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5)
	$(if $(MAN_PAGES),install -m 0644 $(BUILD)/man/vpipe.1 $(DESTDIR)$(MANDIR)/man1/)
	$(if $(MAN_PAGES),install -m 0644 $(BUILD)/man/vpipe.ini.5 $(DESTDIR)$(MANDIR)/man5/)

format:
	clang-format -i $$(git ls-files '*.c' '*.h' '*.cc')

# CI: every C/C++ file as .clang-format wants it (names the files that are not).
format-check:
	@bad=$$(for f in $$(git ls-files '*.c' '*.h' '*.cc'); do \
		clang-format --dry-run --Werror "$$f" >/dev/null 2>&1 || echo "$$f"; done); \
	if [ -n "$$bad" ]; then \
		echo "not formatted (run make format):"; echo "$$bad"; exit 1; \
	fi; echo "format-check: every file formatted"

clean:
	rm -rf build build-asan build-tsan build-fuzz build-*-linux-*
