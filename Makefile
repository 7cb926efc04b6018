# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# grayprobe: `make` builds build/grayprobe. `make run` installs what building
# and running need (`make deps`), `make test` also what the tests drive as
# real peers (`make test-deps`); missing Debian packages only, `make
# print-deps` lists them (and test-kernels' own). V=1 shows full commands,
# SAN=1 builds the user side with ASan+UBSan into build-san/.

VERSION    := 0.1.0
CLANG      ?= clang
LLVM_STRIP ?= llvm-strip
BPFTOOL    ?= bpftool
CC         ?= cc
PKG_CONFIG ?= pkg-config

SAN ?= 0
ifeq ($(SAN),1)
OUT        ?= build-san
SANFLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
else
OUT        ?= build
SANFLAGS   :=
endif

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' \
	-e 's/ppc64le/powerpc/' -e 's/riscv64/riscv/' -e 's/s390x/s390/')

# BPF objects see the host's system headers only after our own (vmlinux.h
# must win), hence -idirafter rather than -I.
CLANG_BPF_SYS_INCLUDES ?= $(shell $(CLANG) -v -E - </dev/null 2>&1 \
	| sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Wextra \
	-Wno-unused-parameter -Werror -Iinclude -I. $(CLANG_BPF_SYS_INCLUDES)

CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -Iinclude -Iuser -I$(OUT) \
	-DGP_VERSION='"$(VERSION)"' $(SANFLAGS)
LDFLAGS += $(SANFLAGS)
LIBBPF_LIBS := $(shell $(PKG_CONFIG) --libs libbpf 2>/dev/null || echo -lbpf -lelf -lz)
# `top`'s full-screen view; only top/topui.o includes curses.h.
NCURSES_CFLAGS := $(shell $(PKG_CONFIG) --cflags ncursesw 2>/dev/null)
NCURSES_LIBS := $(shell $(PKG_CONFIG) --libs ncursesw 2>/dev/null || echo -lncursesw -ltinfo)
# --web.listen-address's HTTP server; only web.o includes microhttpd.h.
MHD_CFLAGS := $(shell $(PKG_CONFIG) --cflags libmicrohttpd 2>/dev/null)
MHD_LIBS := $(shell $(PKG_CONFIG) --libs libmicrohttpd 2>/dev/null || echo -lmicrohttpd)

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# Pure user-space logic: unit tests link this without root, BPF or a skeleton.
# user/ in layers, each a folder; dependencies point down this list:
# cmd -> collect, input -> pipeline -> export, top -> util.
CORE_SRCS := user/pipeline/hist.c user/pipeline/agg.c user/export/prom.c user/export/json.c \
	user/pipeline/event.c user/cmd/opts.c user/util/log.c user/collect/caps.c \
	user/pipeline/payload.c user/util/htab.c user/util/label.c user/pipeline/tagger.c user/pipeline/tlshs.c user/pipeline/rules.c user/pipeline/request.c user/pipeline/pipeline.c user/pipeline/tls.c \
	user/input/pktsplit.c user/collect/iface.c user/collect/hooks.c user/collect/ssllib.c user/util/parse.c user/top/topmodel.c user/top/toptext.c \
	user/decode/http.c user/decode/h1.c user/decode/l7.c user/decode/hpack.c user/decode/h2.c \
	user/decode/plain.c
APP_SRCS  := user/cmd/main.c user/cmd/check.c user/cmd/engine.c user/top/topui.c user/export/web.c
# The collect layer's libbpf half: the agent, tests/tools/tcfuzz and
# bench/tcrun link it (after it, libgrayprobe.a, then libbpf).
COLLECT_SRCS := user/collect/loader.c user/collect/tc.c user/collect/ssl.c
# Capture reading for `replay`: only the main binary and its test link libpcap.
PCAP_SRCS := user/input/pcapin.c
CORE_OBJS := $(CORE_SRCS:user/%.c=$(OUT)/%.o)
APP_OBJS  := $(APP_SRCS:user/%.c=$(OUT)/%.o)
COLLECT_OBJS := $(COLLECT_SRCS:user/%.c=$(OUT)/%.o)
COLLECT_LIBS := $(OUT)/libgrayprobe-collect.a $(OUT)/libgrayprobe.a
PCAP_OBJS := $(PCAP_SRCS:user/%.c=$(OUT)/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(OUT)/tests/%)
TOOL_BINS := $(OUT)/tests/tcpconn $(OUT)/tests/tlshello $(OUT)/tests/mkpcap

# Debian packages: to build and run, and what only the tests need (unit test
# and fuzzing libraries, the real peers they drive).
DEB_BUILD := make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev \
	pkg-config libpcap-dev libncurses-dev libmicrohttpd-dev
DEB_TEST  := libcmocka-dev libclang-rt-dev iproute2 nftables util-linux procps curl jq \
	prometheus mandoc man-db systemd python3-yaml strace prometheus-node-exporter tshark \
	nginx openssl ethtool tcpdump chromium tmux valgrind nghttp2-client python3-grpcio wrk
# Test packages whose Debian service would start on install and at boot.
DEB_TEST_SERVICES := nginx prometheus prometheus-node-exporter

# $(call install_missing,WHO,PACKAGES[,SERVICES]): apt-get only what dpkg does
# not have. While it runs, a policy-rc.d that answers 101 keeps Debian from
# starting what it installs (one already there is set aside and put back);
# the SERVICES among the packages it installed are disabled at boot too.
# What was installed or running before is left as it was.
define install_missing
	$(Q)missing=; for p in $(2); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' \
			|| missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "make $(1): installing$$missing (starting no service)"; \
		rc=/usr/sbin/policy-rc.d; \
		[ ! -e $$rc ] || mv -f $$rc $$rc.grayprobe-saved; \
		trap 'rm -f $$rc; [ ! -e $$rc.grayprobe-saved ] || mv -f $$rc.grayprobe-saved $$rc' EXIT; \
		trap 'exit 1' HUP INT TERM; \
		printf '#!/bin/sh\nexit 101\n' >$$rc && chmod 0755 $$rc && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
		$(if $(3),for p in $$missing; do for s in $(3); do [ $$p != $$s ] \
			|| systemctl disable --quiet $$s.service 2>/dev/null || true; done; done;) \
	fi
endef

.DELETE_ON_ERROR:
.SUFFIXES:
.PHONY: all deps test-deps print-deps run test unit fuzz clean

all: $(OUT)/grayprobe

deps:
	$(call install_missing,deps,$(DEB_BUILD))

test-deps:
	$(call install_missing,test-deps,$(DEB_BUILD) $(DEB_TEST),$(DEB_TEST_SERVICES))

print-deps:
	@echo "deps: $(DEB_BUILD)"
	@echo "test-deps: $(DEB_TEST)"
	@echo "test-kernels: $(DEB_KERNELS)"

run: deps
	$(Q)$(MAKE) --no-print-directory all
	./$(OUT)/grayprobe run $(ARGS)

test: test-deps
	$(Q)$(MAKE) --no-print-directory all $(UNIT_BINS) $(TOOL_BINS) $(ROOT_TOOL_BINS) $(FUZZ_BINS)
	$(Q)OUT=$(OUT) tests/run.sh

# FUZZ_BINS is defined further down: in a recipe, not a prerequisite list.
unit: test-deps
	$(Q)$(MAKE) --no-print-directory $(UNIT_BINS) $(FUZZ_BINS)
	$(Q)OUT=$(OUT) tests/run.sh --unit-only

$(OUT) $(OUT)/tests:
	$(Q)mkdir -p $@

# Two objects: the main one, and the OpenSSL uprobes (loaded only where they attach).
$(OUT)/%.bpf.o: bpf/%.bpf.c | $(OUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(OUT)/grayprobe.skel.h: $(OUT)/grayprobe.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name grayprobe_bpf > $@

$(OUT)/ssl.skel.h: $(OUT)/ssl.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name gp_ssl_bpf > $@

# The loader includes the skeleton; make knows before compiling it.
$(OUT)/collect/loader.o: $(OUT)/grayprobe.skel.h
$(OUT)/collect/ssl.o: $(OUT)/ssl.skel.h
$(OUT)/top/topui.o: CFLAGS += $(NCURSES_CFLAGS)
$(OUT)/web.o: CFLAGS += $(MHD_CFLAGS)

$(OUT)/%.o: user/%.c | $(OUT)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(OUT)/libgrayprobe.a: $(CORE_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^	# from scratch: a renamed module must not linger

$(OUT)/libgrayprobe-collect.a: $(COLLECT_OBJS)
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(OUT)/grayprobe: $(APP_OBJS) $(PCAP_OBJS) $(COLLECT_LIBS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LIBBPF_LIBS) -lpcap $(NCURSES_LIBS) $(MHD_LIBS) -lpthread -o $@

# The corpus cross-check and the capture reader's test read captures with libpcap.
$(OUT)/tests/test_corpus: TEST_LIBS := -lpcap
$(OUT)/tests/test_pcapin: TEST_LIBS := -lpcap
$(OUT)/tests/test_tlshs: TEST_LIBS := -lpcap
$(OUT)/tests/test_pcapin: $(PCAP_OBJS)

$(OUT)/tests/test_%: tests/unit/test_%.c $(OUT)/libgrayprobe.a | $(OUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Iuser -DGP_SRCDIR='"$(CURDIR)"' -MMD -MP $(filter %.c %.o %.a,$^) \
		-lcmocka $(TEST_LIBS) -o $@

$(OUT)/tests/%: tests/tools/%.c | $(OUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -MMD -MP $< -o $@

# Root-only test tools: tcfuzz loads grayprobe's own object as replay does
# (the collect library) and checks gp_tc (BPF_PROG_TEST_RUN) against a
# reference parser.
ROOT_TOOL_BINS := $(OUT)/tests/tcfuzz $(OUT)/tests/l7dump

$(OUT)/tests/tcfuzz: tests/tools/tcfuzz.c $(COLLECT_LIBS) | $(OUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -MMD -MP $< $(COLLECT_LIBS) $(LDFLAGS) $(LIBBPF_LIBS) -o $@

# l7dump: crafted TCP streams through gp_tc, printing its GP_EV_L7 records.
$(OUT)/tests/l7dump: tests/tools/l7dump.c $(COLLECT_LIBS) | $(OUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -MMD -MP $< $(COLLECT_LIBS) $(LDFLAGS) $(LIBBPF_LIBS) -o $@

# `make test-kernels`: the integration tests named in tests/kernels/list on
# each of those Debian kernels, booted under QEMU with this build tree and
# the host's test peers (test-deps) shared read-only. Not part of `make
# test`; .ci/run runs it. Downloads and built images stay in KERNELS_CACHE.
KERNELS_CACHE ?= /var/cache/grayprobe-kernels
DEB_KERNELS := qemu-system-x86 busybox-static kmod cpio xz-utils zstd lz4

.PHONY: test-kernels
test-kernels: test-deps
	$(call install_missing,test-kernels,$(DEB_KERNELS))
	$(Q)$(MAKE) --no-print-directory all $(TOOL_BINS) $(ROOT_TOOL_BINS)
	$(Q)OUT=$(OUT) KERNELS_CACHE=$(KERNELS_CACHE) tests/kernels/run.sh

# `make soak`: connection churn and SIGHUP rule reloads against a running
# agent for SOAK_SECONDS (default 600); fails if its RSS, open fds or BPF map
# entries keep growing. Not part of `make test`.
SOAK_SECONDS ?= 600

.PHONY: soak
soak: test-deps
	$(Q)$(MAKE) --no-print-directory all $(TOOL_BINS)
	$(Q)OUT=$(OUT) SOAK_SECONDS=$(SOAK_SECONDS) tests/soak/soak.sh

# libFuzzer harnesses (clang): every user-space parser, instrumented with
# ASan+UBSan. `make test` runs each for a few seconds, `make fuzz` for
# FUZZ_SECONDS each.
FUZZ_SECONDS ?= 60
FUZZ_NAMES := event payload rules pcap tagger hpack h2 h1 l7 request plain ssllib tls
FUZZ_BINS  := $(FUZZ_NAMES:%=$(OUT)/fuzz/fuzz_%)
FUZZ_OBJS  := $(CORE_SRCS:user/%.c=$(OUT)/fuzz/%.o) $(PCAP_SRCS:user/%.c=$(OUT)/fuzz/%.o)
FUZZ_CFLAGS := -g -O1 -std=gnu11 -Wall -Wextra -Werror -Iinclude -Iuser \
	-DGP_VERSION='"$(VERSION)"' -fno-omit-frame-pointer

fuzz: test-deps
	$(Q)$(MAKE) --no-print-directory $(FUZZ_BINS)
	$(Q)OUT=$(OUT) tests/fuzz/run.sh $(FUZZ_SECONDS)

$(OUT)/fuzz:
	$(Q)mkdir -p $@

$(OUT)/fuzz/%.o: user/%.c | $(OUT)/fuzz
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -MMD -MP -c $< -o $@

$(OUT)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJS) | $(OUT)/fuzz
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -MMD -MP \
		$(filter %.c %.o,$^) -lpcap -o $@

clean:
	$(call msg,CLEAN)
	$(Q)rm -rf build build-san

# `make install` (PREFIX, DESTDIR; deploy/, man/): the binary, grayprobe(8),
# the systemd unit with ExecStart and the rules path rewritten to where they
# went, the gray rules example (also as SYSCONFDIR/grayprobe/rules unless one
# is there), the Prometheus rules and the Grafana dashboard.
PREFIX     ?= /usr/local
DESTDIR    ?=
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/grayprobe
UNITDIR    ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc
INSTALL    ?= install

.PHONY: install
install: $(OUT)/grayprobe
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/grayprobe
	$(Q)$(INSTALL) -m 0755 $(OUT)/grayprobe $(DESTDIR)$(SBINDIR)/grayprobe
	$(Q)$(INSTALL) -m 0644 man/grayprobe.8 $(DESTDIR)$(MANDIR)/man8/grayprobe.8
	$(Q)$(INSTALL) -m 0644 deploy/rules.example deploy/prometheus/grayprobe.rules.yml \
		deploy/grafana/grayprobe.json $(DESTDIR)$(DOCDIR)/
	$(Q)sed -e 's|/usr/local/sbin/grayprobe|$(SBINDIR)/grayprobe|g' \
		-e 's|/etc/grayprobe/rules|$(SYSCONFDIR)/grayprobe/rules|g' \
		-e 's|/etc/default/grayprobe|$(SYSCONFDIR)/default/grayprobe|g' \
		deploy/systemd/grayprobe.service >$(DESTDIR)$(UNITDIR)/grayprobe.service.tmp
	$(Q)chmod 0644 $(DESTDIR)$(UNITDIR)/grayprobe.service.tmp
	$(Q)mv -f $(DESTDIR)$(UNITDIR)/grayprobe.service.tmp $(DESTDIR)$(UNITDIR)/grayprobe.service
	$(Q)[ -e $(DESTDIR)$(SYSCONFDIR)/grayprobe/rules ] \
		|| $(INSTALL) -m 0644 deploy/rules.example $(DESTDIR)$(SYSCONFDIR)/grayprobe/rules

-include $(wildcard $(OUT)/*.d $(OUT)/*/*.d $(OUT)/fuzz/*/*.d)

# ---- Benchmarks (bench/, BENCHMARKS.md): `make bench`, QUICK=1 for a ~1 minute
# smoke run. Not part of `make test`. Installs what it needs like `deps` does.
DEB_BENCH := bpftrace iperf3 jq iproute2 util-linux nginx wrk nghttp2-client openssl
BENCH_BINS := $(OUT)/bench/connloop $(OUT)/bench/tcrun $(OUT)/bench/ringfeed \
	$(OUT)/bench/startup $(OUT)/bench/textfile
QUICK ?= 0

.PHONY: bench
bench:
	$(call install_missing,bench,$(DEB_BUILD) $(DEB_BENCH))
	$(Q)$(MAKE) --no-print-directory all $(BENCH_BINS)
	$(Q)OUT=$(OUT) QUICK=$(QUICK) bench/run.sh

$(OUT)/bench:
	$(Q)mkdir -p $@

$(OUT)/bench/connloop $(OUT)/bench/startup: $(OUT)/bench/%: bench/%.c | $(OUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -MMD -MP $< $(LDFLAGS) -o $@

# tcrun loads grayprobe's own object through the collect library.
$(OUT)/bench/tcrun: bench/tcrun.c $(COLLECT_LIBS) | $(OUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -MMD -MP $< $(COLLECT_LIBS) $(LDFLAGS) $(LIBBPF_LIBS) -o $@

$(OUT)/bench/ringprod.bpf.o: bench/ringprod.bpf.c | $(OUT)/bench
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(OUT)/bench/ringprod.skel.h: $(OUT)/bench/ringprod.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name ringprod_bpf > $@

$(OUT)/bench/ringfeed: bench/ringfeed.c $(OUT)/bench/ringprod.skel.h | $(OUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -I$(OUT)/bench -MMD -MP $< $(LDFLAGS) $(LIBBPF_LIBS) -o $@

$(OUT)/bench/textfile: bench/textfile.c $(OUT)/libgrayprobe.a | $(OUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Iuser -MMD -MP $< $(OUT)/libgrayprobe.a $(LDFLAGS) -o $@

-include $(wildcard $(OUT)/bench/*.d)
