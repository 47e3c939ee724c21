# plainsight build. Everything generated goes to $(BUILD).
#
#   make            build build/plainsight
#   make demo       install missing packages, build, run the demo shop in two browsers (root)
#   make test       install missing packages, unit tests, then end-to-end tests (root)
#   make unit-test  unit tests only (no root needed)
#   make deps       install the missing Debian packages (root)
#   make bench      build the benchmark client
#   make clean      remove build/
#   make V=1        show every command

BUILD ?= build
CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
PYTHON ?= /usr/bin/python3
# Kernel BTF that vmlinux.h is generated from; override to build for another kernel.
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux

VERSION := $(shell cat VERSION)

ifeq ($(V),1)
Q :=
msg := @true
else
Q := @
msg := @printf '  %-8s %s\n'
endif

.DELETE_ON_ERROR:
.SECONDARY:
.SUFFIXES:

PKG_LIBS := libbpf libelf zlib libcjson libnghttp2 libbrotlidec libpsl libpcre2-8 libcrypto
# On a fresh machine pkg-config comes with the packages that make demo and
# make test install first; they build through a new make, which reads these.
ifneq ($(shell command -v pkg-config 2>/dev/null),)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKG_LIBS))
PKG_LDLIBS := $(shell pkg-config --libs $(PKG_LIBS))
endif

# Goals that install packages and attach uprobes stop at once without root.
ROOT_GOALS := $(filter demo test deps,$(MAKECMDGOALS))
ifneq ($(ROOT_GOALS),)
ifneq ($(shell id -u),0)
$(error make $(ROOT_GOALS) must run as root: it installs Debian packages with apt-get and attaches uprobes)
endif
endif

CFLAGS ?= -O2 -g
AGENT_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow \
	-Wformat=2 -D_GNU_SOURCE -DPLAINSIGHT_VERSION='"$(VERSION)"' \
	-Iinclude -I$(BUILD) $(PKG_CFLAGS) $(CFLAGS)
LDLIBS := $(PKG_LDLIBS)

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror \
	-Iinclude -I$(BUILD) -I$(BUILD)/bpf

AGENT_SRCS := agent/main.c $(sort $(wildcard agent/*/*.c))
AGENT_OBJS := $(AGENT_SRCS:%.c=$(BUILD)/%.o)
MAIN_OBJ := $(BUILD)/agent/main.o
LIB := $(BUILD)/libplainsight.a

# Data files built into the agent: data/NAME.json becomes the symbols
# builtin_NAME and builtin_NAME_end (one NUL byte after the text).
DATA_SRCS := $(wildcard data/*.json)
DATA_OBJS := $(DATA_SRCS:data/%.json=$(BUILD)/data/%.o)

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(BPF_SRCS:%.bpf.c=$(BUILD)/%.bpf.o)
SKELETONS := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/%.skel.h)

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:%.c=$(BUILD)/%)

BENCH_BINS := $(BUILD)/tools/bench/tls_write_client $(BUILD)/tools/bench/tls_sink \
	$(BUILD)/tools/bench/persona_scan $(BUILD)/tools/bench/abp_match

FUZZ_CFLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -Iinclude -Iagent
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := $(BUILD)/fuzz/fuzz_http1 $(BUILD)/fuzz/fuzz_http2 $(BUILD)/fuzz/fuzz_extract \
	$(BUILD)/fuzz/fuzz_filters $(BUILD)/fuzz/fuzz_pii

.PHONY: all deps demo test unit-test e2e-test bench fuzz fuzz-build clean
all: $(BUILD)/plainsight

$(BUILD)/vmlinux.h:
	$(msg) GEN $@
	$(Q)mkdir -p $(@D)
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BUILD)/vmlinux.h
	$(msg) BPF $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(msg) SKEL $@
	$(Q)$(BPFTOOL) gen skeleton $< > $@

# Every agent object waits for the skeletons, because the first build has no
# dependency files yet to say which ones include them.
$(BUILD)/agent/%.o: agent/%.c | $(SKELETONS)
	$(msg) CC $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(AGENT_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/data/%.o: data/%.json
	$(msg) DATA $@
	$(Q)mkdir -p $(@D)
	$(Q)printf '%s\n' '.section .rodata' '.global builtin_$*' 'builtin_$*:' '.incbin "$<"' \
		'.global builtin_$*_end' 'builtin_$*_end:' '.byte 0' '.section .note.GNU-stack,"",@progbits' | \
		$(CC) -x assembler -c - -o $@

$(LIB): $(filter-out $(MAIN_OBJ),$(AGENT_OBJS)) $(DATA_OBJS)
	$(msg) AR $@
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

$(BUILD)/plainsight: $(MAIN_OBJ) $(LIB)
	$(msg) LINK $@
	$(Q)$(CC) $(AGENT_CFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/tests/unit/%: tests/unit/%.c $(LIB)
	$(msg) CC $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(AGENT_CFLAGS) -Iagent -MMD -MP $< $(LIB) -o $@ $(LDLIBS) -lcmocka

$(BUILD)/tools/bench/%: tools/bench/%.c
	$(msg) CC $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(AGENT_CFLAGS) $< -o $@ -lssl -lcrypto

# Benchmarks of pipeline stages link the agent's library.
$(BUILD)/tools/bench/persona_scan $(BUILD)/tools/bench/abp_match: $(BUILD)/tools/bench/%: tools/bench/%.c $(LIB)
	$(msg) CC $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(AGENT_CFLAGS) -Iagent -MMD -MP $< $(LIB) -o $@ $(LDLIBS)

unit-test: $(UNIT_BINS)
	$(Q)for t in $(UNIT_BINS); do $$t || exit 1; done

e2e-test: $(BUILD)/plainsight
	$(Q)$(PYTHON) tests/e2e/run.py --binary $(BUILD)/plainsight

deps:
	$(Q)tools/install-deps.sh

# Builds and tests run in a new make, which reads the pkg-config flags of the
# libraries that deps may just have installed.
test: deps
	$(Q)$(MAKE) --no-print-directory unit-test e2e-test

# The demo shop in Firefox ESR and Chromium under plainsight, with its
# summary; the check makes it fail when the events differ from what the
# shop sends (tools/demo/demo.py).
demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(PYTHON) tools/demo/demo.py --binary $(BUILD)/plainsight --check

bench: $(BUILD)/plainsight $(BENCH_BINS)

# libFuzzer targets, built with clang's sanitizers apart from the agent.
$(BUILD)/fuzz/fuzz_http1: tests/fuzz/fuzz_http1.c agent/stream/http1.c agent/stream/http1.h
	$(msg) FUZZ $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) tests/fuzz/fuzz_http1.c agent/stream/http1.c -o $@

$(BUILD)/fuzz/fuzz_http2: tests/fuzz/fuzz_http2.c $(wildcard agent/stream/http2*) agent/common/log.c
	$(msg) FUZZ $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) tests/fuzz/fuzz_http2.c $(wildcard agent/stream/http2*.c) agent/common/log.c -lnghttp2 -o $@

$(BUILD)/fuzz/fuzz_extract: tests/fuzz/fuzz_extract.c $(wildcard agent/extract/*) agent/common/log.c
	$(msg) FUZZ $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) tests/fuzz/fuzz_extract.c $(wildcard agent/extract/*.c) agent/common/log.c \
		-lcjson -lz -lbrotlidec -o $@

$(BUILD)/fuzz/fuzz_filters: tests/fuzz/fuzz_filters.c $(wildcard agent/filters/*) agent/common/log.c \
		agent/common/url.c
	$(msg) FUZZ $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) tests/fuzz/fuzz_filters.c $(wildcard agent/filters/*.c) agent/common/log.c \
		agent/common/url.c -lpcre2-8 -lpsl -o $@

$(BUILD)/fuzz/fuzz_pii: tests/fuzz/fuzz_pii.c $(wildcard agent/classify/pii*) agent/policy/redact.c \
		agent/extract/fields.c agent/common/log.c
	$(msg) FUZZ $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) tests/fuzz/fuzz_pii.c $(wildcard agent/classify/pii*.c) agent/policy/redact.c \
		agent/extract/fields.c agent/common/log.c -lpsl -o $@

fuzz-build: $(FUZZ_TARGETS)

# Runs each target for FUZZ_SECONDS from its seed corpus in tests/fuzz/corpus;
# new inputs go to build/fuzz/corpus, never into the repository.
fuzz: fuzz-build
	$(Q)for target in http1 http2 extract filters pii; do \
		mkdir -p $(BUILD)/fuzz/corpus/$$target; \
		echo "fuzz: $$target for $(FUZZ_SECONDS) s"; \
		$(BUILD)/fuzz/fuzz_$$target -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
			-print_final_stats=1 $(BUILD)/fuzz/corpus/$$target tests/fuzz/corpus/$$target \
			2> $(BUILD)/fuzz/$$target.log || { tail -40 $(BUILD)/fuzz/$$target.log; exit 1; }; \
		grep -E "stat::number_of_executed_units|stat::peak_rss_mb" $(BUILD)/fuzz/$$target.log; \
	done

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
