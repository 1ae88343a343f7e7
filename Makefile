# infrakit — build, test, bench.
#
#   make            build ./infrakit (installs missing deps first)
#   make test       every suite; last line "N passed, N failed"
#   make demo       the main job on the embedded default
#   make bench      benchmarks: metric | measured | target
#   make fuzz       fuzz the HTTP/JSON-RPC server (FUZZ_SECONDS=300; clang);
#                   FUZZ_TARGET=group_spec or template for the others
#   make SANITIZER=address test    (or undefined)
#   make lua-meta   regenerate lua/meta/ (LuaCATS for editors) from lua/infrakit/
#
# Dependencies are found through pkg-config. LuaJIT comes from build/luajit,
# built by `make deps` from Debian's source package with hook checks in
# compiled code (see scripts/deps.sh).

.DEFAULT_GOAL := all
SHELL := /bin/bash

BUILD     ?= build
PREFIX    ?= /usr/local
MANDIR    ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions
SANITIZER ?=
CC        ?= cc

# Fixed path, independent of BUILD: sanitizer and release builds use the
# same LuaJIT that `make deps` built (scripts/deps.sh).
LUAJIT_PREFIX := $(abspath build/luajit)
# GNU make 4.3 does not pass exported variables to $(shell), so the path
# to our luajit.pc is given inline: Debian's own luajit.pc (a LuaJIT
# without hook checks in compiled code) must never win.
PKG_CONFIG := PKG_CONFIG_PATH=$(LUAJIT_PREFIX)/lib/pkgconfig$(if $(PKG_CONFIG_PATH),:$(PKG_CONFIG_PATH)) pkg-config

PKGS := luajit libuv libcurl openssl jansson yaml-0.1
CJSON_LIB = $(shell $(PKG_CONFIG) --variable=libdir lua5.1-cjson 2>/dev/null || echo /usr/lib/$(MULTIARCH))/liblua5.1-cjson.a
# http-parser has no .pc file; its static archive keeps start-up lean.
HTTP_PARSER_LIB = $(firstword $(wildcard /usr/lib/$(MULTIARCH)/libhttp_parser.a) -lhttp_parser)
# LibYAML (infrakit.yaml's decoder, core/lua/bind_yaml.c), linked statically
# like http-parser so the binary needs no libyaml at run time.
YAML_LIB = $(firstword $(wildcard /usr/lib/$(MULTIARCH)/libyaml.a) -lyaml)
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
# libcurl is compiled against but not linked: its ~28 transitive shared
# libraries cost ~5 ms at every start-up, so the HTTP client loads it with
# dlopen at its first use (core/net/client/curl_lazy.c), and commands that make no
# HTTP calls never pay for it (docs/architecture.md, "Start-up time").
LDLIBS_ALL = $(CJSON_LIB) $(shell $(PKG_CONFIG) --libs --static luajit 2>/dev/null) \
             $(shell $(PKG_CONFIG) --libs libuv openssl jansson 2>/dev/null) \
             $(HTTP_PARSER_LIB) $(YAML_LIB) -lpthread -lm -ldl $(LDLIBS)
LDFLAGS_ALL = -Wl,-E $(SANLDFLAGS) $(LDFLAGS)

# Refuse to link a LuaJIT other than build/luajit (checked once deps ran).
ifneq ($(wildcard $(LUAJIT_PREFIX)/lib/libluajit-5.1.a),)
ifneq ($(shell $(PKG_CONFIG) --variable=prefix luajit),$(LUAJIT_PREFIX))
$(error pkg-config resolves luajit outside $(LUAJIT_PREFIX); check PKG_CONFIG_PATH)
endif
endif

CORE_SRC := $(wildcard core/base/*.c core/loop/*.c core/lua/*.c core/net/*.c core/net/server/*.c \
                       core/net/client/*.c core/engine/*.c core/cli/*.c core/spi/*.c providers/*/*.c)
MAIN_SRC := core/cli/main.c
LIB_SRC  := $(filter-out $(MAIN_SRC),$(CORE_SRC))
# The Lua modules, built-in playbooks and flavor templates, compiled into the binary as
# LuaJIT bytecode (scripts/embed-lua.lua; lookup order in core/lua/runtime.c), and the
# dashboard's files (ui/: HTML, CSS, JS), embedded as they are.
EMBED_SRC := $(sort $(shell find lua/infrakit -name '*.lua') $(wildcard playbooks/*/playbook.lua) \
                   $(shell find templates -name '*.tmpl' 2>/dev/null) $(wildcard ui/*))
EMBED_C   := $(BUILD)/gen/ik_embedded.c
EMBED_OBJ := $(BUILD)/obj/gen/ik_embedded.o
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(EMBED_OBJ)
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

.PHONY: all deps test test-unit test-asan ci demo bench binaries install uninstall clean format format-check lua-meta

all: deps
	@$(MAKE) --no-print-directory $(BIN) $(DOC_GEN)

# The man page and the bash and zsh completions, generated by the binary
# from its command table and help texts (`infrakit help --man`,
# `infrakit help --completion SHELL`): they cannot drift from --help.
DOC_GEN := $(BUILD)/gen/infrakit.1 $(BUILD)/gen/infrakit.bash $(BUILD)/gen/_infrakit
$(BUILD)/gen/infrakit.1: $(BIN)
	./$(BIN) help --man > $@.tmp && mv $@.tmp $@
$(BUILD)/gen/infrakit.bash: $(BIN)
	./$(BIN) help --completion bash > $@.tmp && mv $@.tmp $@
$(BUILD)/gen/_infrakit: $(BIN)
	./$(BIN) help --completion zsh > $@.tmp && mv $@.tmp $@

deps:
	@bash scripts/deps.sh

$(BUILD)/gen/ik_version.h: FORCE
	@mkdir -p $(@D)
	@printf '#define IK_VERSION "%s"\n' "$(VERSION)" > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
.PHONY: FORCE
FORCE:

# The list of embedded files, rewritten only when it changes, so that a
# removed module also regenerates the table.
$(BUILD)/gen/embed.list: FORCE
	@mkdir -p $(@D)
	@printf '%s\n' $(EMBED_SRC) > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
$(EMBED_C): scripts/embed-lua.lua $(EMBED_SRC) $(BUILD)/gen/embed.list
	$(LUAJIT_PREFIX)/bin/luajit scripts/embed-lua.lua $@ $(EMBED_SRC)
$(EMBED_OBJ): $(EMBED_C)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

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
	    $(MAKE) --no-print-directory fuzz-bin || exit 1; fuzz_bin="$(abspath $(FUZZ_BINS))"; \
	  else echo "fuzz: $(FUZZ_CC) cannot link -fsanitize=fuzzer (make deps installs clang and libclang-rt-14-dev)"; fi; \
	fi; \
	IK_BIN=$(abspath $(BIN)) IK_UNIT_DIR=$(BUILD)/spec IK_FUZZ_BINS="$$fuzz_bin" IK_FUZZ_DIR=$(abspath $(FUZZ_OUT)) \
	  bash spec/run.sh

# lua/meta/: LuaCATS files for editors (lua-language-server), generated from
# the annotations of the public modules in lua/infrakit/ (as luv generates
# its meta.lua); spec/unit/lua/lua_meta_spec.lua fails when they are stale.
lua-meta:
	$(LUAJIT_PREFIX)/bin/luajit scripts/gen-lua-meta.lua lua/meta

# What CI runs (.ci/run): format-check, the suites under ASan, then make test.
ci:
	@bash .ci/run

# Every tracked C file under core/, providers/ and spec/ must be laid out as
# .clang-format says (the tree was formatted once, in its own commit).
# Prints the files that differ and how to fix them, and fails; skips, saying
# why, without clang-format.
FORMAT_FILES = $(shell git ls-files 'core/*.[ch]' 'providers/*.[ch]' 'spec/*.[ch]' 2>/dev/null)
format-check:
	@if ! command -v clang-format >/dev/null; then echo "format-check: skipped (no clang-format; apt-get install clang-format)"; \
	else bad=$$(clang-format --dry-run --Werror $(FORMAT_FILES) 2>&1 | grep -o '^[^: ]*\.[ch]:' | tr -d : | sort -u); \
	  if [ -z "$$bad" ]; then echo "format-check: $(words $(FORMAT_FILES)) C files follow .clang-format"; \
	  else echo "format-check: not laid out as .clang-format says:"; echo "$$bad" | sed 's/^/  /'; \
	    echo "format-check: run 'clang-format -i FILE...' on them (or 'make format')"; exit 1; fi; \
	fi

# Lays out every tracked C file as .clang-format says.
format:
	@clang-format -i $(FORMAT_FILES)

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

# The binary carries its Lua modules and built-in playbooks: nothing else
# is needed at run time. The systemd unit (contrib/systemd/) is not
# installed: see its header.
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/infrakit
	install -m 0644 $(BUILD)/gen/infrakit.1 $(DESTDIR)$(MANDIR)/man1/infrakit.1
	install -m 0644 $(BUILD)/gen/infrakit.bash $(DESTDIR)$(BASHCOMPDIR)/infrakit
	install -m 0644 $(BUILD)/gen/_infrakit $(DESTDIR)$(ZSHCOMPDIR)/_infrakit

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/infrakit $(DESTDIR)$(MANDIR)/man1/infrakit.1 \
	      $(DESTDIR)$(BASHCOMPDIR)/infrakit $(DESTDIR)$(ZSHCOMPDIR)/_infrakit

clean:
	rm -rf $(BUILD)/obj $(BUILD)/spec $(BUILD)/gen $(BUILD)/libinfrakit.a $(BUILD)/address $(BUILD)/undefined infrakit
	rm -rf $(BUILD)/fuzz/obj $(BUILD)/fuzz/fuzz_http_rpc $(BUILD)/fuzz/fuzz_group_spec $(BUILD)/fuzz/fuzz_template

-include $(LIB_OBJ:.o=.d) $(MAIN_OBJ:.o=.d)
