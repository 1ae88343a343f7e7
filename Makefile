# infrakit — build, test, bench.
#
#   make            build ./infrakit (installs missing deps first)
#   make test       every suite; last line "N passed, N failed"
#   make demo       the main job on the embedded default
#   make bench      benchmarks: metric | measured | target
#   make fuzz       fuzz the HTTP/JSON-RPC server (FUZZ_SECONDS=300; clang)
#   make SANITIZER=address test    (or undefined)
#
# Dependencies are found through pkg-config. LuaJIT comes from build/luajit,
# built by `make deps` from Debian's source package with hook checks in
# compiled code (see scripts/deps.sh).

.DEFAULT_GOAL := all
SHELL := /bin/bash

BUILD     ?= build
PREFIX    ?= /usr/local
SANITIZER ?=
CC        ?= cc

# Fixed path, independent of BUILD: sanitizer and release builds use the
# same LuaJIT that `make deps` built (scripts/deps.sh).
LUAJIT_PREFIX := $(abspath build/luajit)
# GNU make 4.3 does not pass exported variables to $(shell), so the path
# to our luajit.pc is given inline: Debian's own luajit.pc (a LuaJIT
# without hook checks in compiled code) must never win.
PKG_CONFIG := PKG_CONFIG_PATH=$(LUAJIT_PREFIX)/lib/pkgconfig$(if $(PKG_CONFIG_PATH),:$(PKG_CONFIG_PATH)) pkg-config

PKGS := luajit libuv libcurl openssl jansson
CJSON_LIB = $(shell $(PKG_CONFIG) --variable=libdir lua5.1-cjson 2>/dev/null || echo /usr/lib/$(MULTIARCH))/liblua5.1-cjson.a
# http-parser has no .pc file; its static archive keeps start-up lean.
HTTP_PARSER_LIB = $(firstword $(wildcard /usr/lib/$(MULTIARCH)/libhttp_parser.a) -lhttp_parser)
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)

VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)

WARN := -Wall -Wextra -Wshadow -Wpointer-arith -Wcast-qual -Wstrict-prototypes \
        -Wmissing-prototypes -Wformat=2 -Wundef -Wvla -Wwrite-strings \
        -Wno-unused-parameter
ifeq ($(CI),true)
WARN += -Werror
endif

OPT := -O2 -g
ifneq ($(SANITIZER),)
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=$(SANITIZER) -fno-sanitize-recover=all
SANLDFLAGS := -fsanitize=$(SANITIZER)
BUILD := $(BUILD)/$(SANITIZER)
endif

CFLAGS_ALL = -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -Icore -I. -I$(BUILD)/gen \
             $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null) \
             -DIK_LUA_MULTIARCH='"$(MULTIARCH)"' $(CFLAGS)
# libcurl is compiled against but not linked yet: nothing calls it, and its
# ~28 transitive shared libraries cost ~5 ms at every start-up. The HTTP
# client (core/net) must load it without taxing commands that make no
# HTTP calls (docs/architecture.md, "Start-up time").
LDLIBS_ALL = $(CJSON_LIB) $(shell $(PKG_CONFIG) --libs --static luajit 2>/dev/null) \
             $(shell $(PKG_CONFIG) --libs libuv openssl jansson 2>/dev/null) \
             $(HTTP_PARSER_LIB) -lpthread -lm -ldl $(LDLIBS)
LDFLAGS_ALL = -Wl,-E $(SANLDFLAGS) $(LDFLAGS)

# Refuse to link a LuaJIT other than build/luajit (checked once deps ran).
ifneq ($(wildcard $(LUAJIT_PREFIX)/lib/libluajit-5.1.a),)
ifneq ($(shell $(PKG_CONFIG) --variable=prefix luajit),$(LUAJIT_PREFIX))
$(error pkg-config resolves luajit outside $(LUAJIT_PREFIX); check PKG_CONFIG_PATH)
endif
endif

CORE_SRC := $(wildcard core/base/*.c core/loop/*.c core/lua/*.c core/net/*.c \
                       core/engine/*.c core/cli/*.c providers/*/*.c)
MAIN_SRC := core/cli/main.c
LIB_SRC  := $(filter-out $(MAIN_SRC),$(CORE_SRC))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
MAIN_OBJ := $(MAIN_SRC:%.c=$(BUILD)/obj/%.o)
LIBIK    := $(BUILD)/libinfrakit.a

UNIT_SRC := $(wildcard spec/unit/core/*/test_*.c)
PROVIDER_UNIT_SRC := $(wildcard spec/unit/providers/*/test_*.c)
UNIT_BIN := $(UNIT_SRC:spec/unit/core/%.c=$(BUILD)/spec/%) \
            $(PROVIDER_UNIT_SRC:spec/unit/%.c=$(BUILD)/spec/%)

# The binary goes to ./infrakit for a normal build and into the build dir for
# sanitizer builds, so `make test SANITIZER=address` never leaves an
# instrumented ./infrakit behind.
ifeq ($(SANITIZER),)
BIN := infrakit
else
BIN := $(BUILD)/infrakit
endif

.PHONY: all deps test test-unit ci demo bench binaries install clean

all: deps
	@$(MAKE) --no-print-directory $(BIN)

deps:
	@bash scripts/deps.sh

$(BUILD)/gen/ik_version.h: FORCE
	@mkdir -p $(@D)
	@printf '#define IK_VERSION "%s"\n' "$(VERSION)" > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
.PHONY: FORCE
FORCE:

$(BUILD)/obj/%.o: %.c $(BUILD)/gen/ik_version.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(LIBIK): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BIN): $(MAIN_OBJ) $(LIBIK)
	$(CC) $(OPT) $(LDFLAGS_ALL) -o $@ $(MAIN_OBJ) -Wl,--whole-archive $(LIBIK) -Wl,--no-whole-archive $(LDLIBS_ALL)

$(BUILD)/spec/providers/%: spec/unit/providers/%.c $(LIBIK)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -Ispec/unit $(LDFLAGS_ALL) -o $@ $< -Wl,--whole-archive $(LIBIK) -Wl,--no-whole-archive $(LDLIBS_ALL) $(shell $(PKG_CONFIG) --libs cmocka)

$(BUILD)/spec/%: spec/unit/core/%.c $(LIBIK)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -Ispec/unit $(LDFLAGS_ALL) -o $@ $< -Wl,--whole-archive $(LIBIK) -Wl,--no-whole-archive $(LDLIBS_ALL) $(shell $(PKG_CONFIG) --libs cmocka)

# Every suite: C units (cmocka), Lua units and functional specs (busted, run
# by the binary's own Lua). spec/run.sh prints the one summary line.
# The fuzz step (spec/fuzz/fuzz.mk) is built when clang can link a libFuzzer
# target; without it spec/run.sh reports the step as skipped.
test: deps
	@$(MAKE) --no-print-directory $(BIN) $(UNIT_BIN)
	@fuzz_bin=; \
	if [[ " $${IK_SUITES:-fuzz} " == *" fuzz "* ]]; then \
	  if $(FUZZ_PROBE); then \
	    $(MAKE) --no-print-directory fuzz-bin || exit 1; fuzz_bin=$(abspath $(FUZZ_BIN)); \
	  else echo "fuzz: $(FUZZ_CC) cannot link -fsanitize=fuzzer (make deps installs clang and libclang-rt-14-dev)"; fi; \
	fi; \
	IK_BIN=$(abspath $(BIN)) IK_UNIT_DIR=$(BUILD)/spec IK_FUZZ_BIN=$$fuzz_bin IK_FUZZ_DIR=$(abspath $(FUZZ_OUT)) \
	  bash spec/run.sh

ci:
	@CI=true $(MAKE) --no-print-directory test

demo: all
	@./$(BIN) play quickstart

# Bench tools (yardstick server, load client): spec/bench/bench.mk.
-include spec/bench/bench.mk
# libFuzzer target (make fuzz, make fuzz-short): spec/fuzz/fuzz.mk.
-include spec/fuzz/fuzz.mk

bench: deps
	@$(MAKE) --no-print-directory $(BIN) bench-tools
	@IK_BIN=$(abspath $(BIN)) IK_BENCH_DIR=$(abspath $(BUILD)/bench) bash spec/bench/run.sh

binaries: deps
	@$(MAKE) --no-print-directory BUILD=build/release OPT="-O2 -DNDEBUG" build/release/infrakit-bin
build/release/infrakit-bin: $(MAIN_OBJ) $(LIBIK)
	@mkdir -p $(@D)
	$(CC) $(OPT) $(LDFLAGS_ALL) -o $@ $(MAIN_OBJ) -Wl,--whole-archive $(LIBIK) -Wl,--no-whole-archive $(LDLIBS_ALL)
	@echo "release binary: $@"

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/infrakit
	install -m 0755 infrakit $(DESTDIR)$(PREFIX)/bin/infrakit
	cp -R lua $(DESTDIR)$(PREFIX)/share/infrakit/

clean:
	rm -rf $(BUILD)/obj $(BUILD)/spec $(BUILD)/gen $(BUILD)/libinfrakit.a $(BUILD)/address $(BUILD)/undefined infrakit
	rm -rf $(BUILD)/fuzz/obj $(BUILD)/fuzz/fuzz_http_rpc

-include $(LIB_OBJ:.o=.d) $(MAIN_OBJ:.o=.d)
