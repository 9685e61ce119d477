# rtvnet — plain Makefile. Project flags live in RTV_CFLAGS so that
# `make CFLAGS=...` changes optimisation/debug flags without losing them.
#
#   make            build everything (installs missing Debian packages first)
#   make test       unit tests (plain and ASan+UBSan), fuzz smoke runs, system tests
#   make test-long  the slow suites too
#   make check      unit tests under AddressSanitizer + UBSan
#   make bench      benchmarks (BENCH=group for one group) -> build/bench/results.jsonl
#   make fuzz       build the libFuzzer harnesses (clang)
#   make demo       the main job: see README.md

BUILD    ?= build
CC       ?= cc
CFLAGS   ?= -O2 -g
LDFLAGS  ?=
FUZZ_CC  ?= clang

RTV_WARN   := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
              -Wmissing-prototypes -Wpointer-arith -Wvla -Wformat=2 -Wundef \
              -Wno-missing-field-initializers
RTV_CFLAGS := -std=c11 -D_GNU_SOURCE $(RTV_WARN) -fno-common -I. -MMD -MP

# External libraries. nng 1.5 ships no pkg-config file: link -lnng directly.
PKGS     := raft libuv msgpack inih jansson
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lnng -lpthread -lm
TEST_LIBS  = $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

# Modules (source folders; a sub-folder is a module of its own), leaf first:
# a module may use only the modules before it. Each is one static library
# (agent/core -> libagent_core.a), linked in the reverse order, so a call
# against the direction does not link; scripts/check-deps.sh proves there is
# no cycle (make check). docs/architecture.md draws the map. Files named
# *_main.c are programs.
MODULES  := sched common consensus ofgw dp rpc agent/core agent/telemetry \
            agent/dataplane agent/ovs agent cli
reverse   = $(if $(1),$(call reverse,$(wordlist 2,$(words $(1)),$(1))) $(firstword $(1)))
mod_srcs  = $(filter-out %_main.c,$(wildcard $(1)/*.c))
mod_lib   = $(BUILD)/lib$(subst /,_,$(1)).a
LIBS_A   := $(foreach m,$(MODULES),$(if $(call mod_srcs,$(m)),$(call mod_lib,$(m))))
LINK_A   := $(foreach m,$(call reverse,$(MODULES)),$(if $(call mod_srcs,$(m)),$(call mod_lib,$(m))))

PROG_SRCS  := $(wildcard $(addsuffix /*_main.c,$(MODULES)) tests/lab/*_main.c)
PROGS      := $(patsubst %_main.c,$(BUILD)/bin/%,$(notdir $(PROG_SRCS)))

TEST_SRCS  := $(wildcard tests/unit/test_*.c)
TESTS      := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
TESTLIB_SRCS := $(filter-out tests/unit/test_%.c,$(wildcard tests/unit/*.c))

BENCH_SRCS := $(wildcard bench/bench_*.c)
BENCHES    := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))
BENCHLIB_SRCS := $(filter-out bench/bench_%.c,$(wildcard bench/*.c))

FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS    := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))

ALL_CFLAGS = $(RTV_CFLAGS) $(PKG_CFLAGS) $(CFLAGS)

.PHONY: all deps build test test-long check check-deps unit fuzz fuzz-smoke bench demo clean lab-down
.DEFAULT_GOAL := all

all: deps
	@$(MAKE) --no-print-directory build

deps:
	@scripts/install-deps.sh

build: $(LIBS_A) $(PROGS) $(TESTS) $(BENCHES)

# --- objects and archives ---------------------------------------------------
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

define module_rule
$(call mod_lib,$(1)): $(patsubst %.c,$(BUILD)/obj/%.o,$(call mod_srcs,$(1)))
	@mkdir -p $$(dir $$@)
	@rm -f $$@
	ar rcs $$@ $$^
endef
$(foreach m,$(MODULES),$(if $(call mod_srcs,$(m)),$(eval $(call module_rule,$(m)))))

$(BUILD)/libbench.a: $(patsubst %.c,$(BUILD)/obj/%.o,$(BENCHLIB_SRCS))
	@mkdir -p $(dir $@)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libtestutil.a: $(patsubst %.c,$(BUILD)/obj/%.o,$(TESTLIB_SRCS))
	@mkdir -p $(dir $@)
	@rm -f $@
	ar rcs $@ $^

# --- programs ----------------------------------------------------------------
define prog_rule
$(BUILD)/bin/$(notdir $(1:_main.c=)): $(BUILD)/obj/$(1:.c=.o) $(LIBS_A)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) $$(LDFLAGS) $$< $(LINK_A) $$(PKG_LIBS) -o $$@
endef
$(foreach p,$(PROG_SRCS),$(eval $(call prog_rule,$(p))))

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(BUILD)/libtestutil.a $(BUILD)/libbench.a $(LIBS_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(BUILD)/libtestutil.a $(BUILD)/libbench.a $(LINK_A) $(TEST_LIBS) $(PKG_LIBS) -o $@

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(BUILD)/libbench.a $(LIBS_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(BUILD)/libbench.a $(LINK_A) $(PKG_LIBS) -o $@

# --- tests -------------------------------------------------------------------
unit: $(TESTS)
	@scripts/run-tests.sh $(TESTS)

test: deps
	@$(MAKE) --no-print-directory build
	@scripts/check-deps.sh $(BUILD)/obj $(MODULES)
	@$(MAKE) --no-print-directory check-build
	@scripts/run-tests.sh --summary-file $(BUILD)/test-summary \
		--suite unit $(TESTS) \
		--suite asan $(patsubst $(BUILD)/%,$(BUILD)/asan/%,$(TESTS)) \
		$(if $(wildcard tests/system/*.sh),--suite system $(sort $(wildcard tests/system/*.sh)))
	@$(MAKE) --no-print-directory fuzz-smoke

test-long: test
	@scripts/run-tests.sh --suite long $(sort $(wildcard tests/long/*.sh))

SAN := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
check-build:
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/asan CFLAGS="$(SAN)" LDFLAGS="-fsanitize=address,undefined" \
		$(patsubst $(BUILD)/%,$(BUILD)/asan/%,$(TESTS))

check: deps
	@$(MAKE) --no-print-directory check-build
	@scripts/check-deps.sh $(BUILD)/asan/obj $(MODULES)
	@scripts/run-tests.sh --suite asan $(patsubst $(BUILD)/%,$(BUILD)/asan/%,$(TESTS))

# Which module uses which module's symbols; fails on a cycle.
check-deps: $(LIBS_A) $(PROGS)
	@scripts/check-deps.sh $(BUILD)/obj $(MODULES)

# --- fuzzing -----------------------------------------------------------------
# A harness names what it links: `// fuzz-modules: sched common` (every source
# of those modules) and/or `// fuzz-files: dp/dp_pkt.c` (single files).
FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
$(BUILD)/fuzz/%: tests/fuzz/%.c $(foreach m,$(MODULES),$(call mod_srcs,$(m)))
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(RTV_CFLAGS:-MMD=) $(PKG_CFLAGS) $(FUZZ_FLAGS) -MF /dev/null $< \
		$(shell sed -n 's|^// fuzz-files: *||p' $<) \
		$(foreach m,$(shell sed -n 's|^// fuzz-modules: *||p' $<),$(call mod_srcs,$(m))) \
		$(PKG_LIBS) -o $@

fuzz: deps $(FUZZERS)

FUZZ_SECONDS ?= 10
fuzz-smoke: $(FUZZERS)
	@scripts/fuzz-smoke.sh $(FUZZ_SECONDS) $(FUZZERS)

# --- benchmarks and demo -----------------------------------------------------
BENCH ?=
KEEP  ?= 0
bench: deps
	@$(MAKE) --no-print-directory build
	@scripts/run-bench.sh $(BUILD) $(BENCH)

demo: deps
	@$(MAKE) --no-print-directory build
	@KEEP=$(KEEP) scripts/demo.sh $(BUILD)

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
