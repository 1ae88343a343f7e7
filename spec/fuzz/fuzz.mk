# libFuzzer targets (spec/fuzz/fuzz_*.c):
#   http_rpc    core/net: the HTTP/1.1 server, JSON-RPC decoding and
#               dispatch, Instance/0.6.1 params
#   group_spec  core/engine: ik_group_spec_parse on JSON from bytes
#   template    lua/infrakit/template: parse + render a Go-dialect template
#               from bytes, in a LuaJIT state with the embedded modules
# Included by the top-level Makefile, which defines BUILD, WARN, PKG_CONFIG,
# HTTP_PARSER_LIB, LUAJIT_PREFIX and EMBED_C.
#
#   make fuzz                           http_rpc for FUZZ_SECONDS (default 300)
#   make fuzz FUZZ_TARGET=template      another target
#   make fuzz FUZZ_SECONDS=30           shorter; make fuzz-short is 20 s
#   make fuzz-bin                       only build every $(FUZZ_BINS)
#
# Built with clang (-fsanitize=fuzzer,address,undefined) apart from the gcc
# build: the core sources they need are compiled again into
# $(FUZZ_OUT)/obj, never into libinfrakit.a.
# Working files stay under $(FUZZ_OUT): corpus/TARGET/ (the seeds from
# spec/fuzz/corpus (http_rpc: its files; the others: their directory),
# copied, plus what the fuzzer finds; kept between runs) and artifacts/
# (crash-*, timeout-*, leak-*); tmp/ holds the targets' sockets.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 300
FUZZ_OUT     := $(BUILD)/fuzz
FUZZ_TARGET  ?= http_rpc
FUZZ_TARGETS := http_rpc group_spec template
FUZZ_BIN     := $(FUZZ_OUT)/fuzz_$(FUZZ_TARGET)
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FUZZ_OUT)/fuzz_%)
FUZZ_DICT    := spec/fuzz/$(FUZZ_TARGET).dict
FUZZ_SAN     := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS   = -std=c11 -D_GNU_SOURCE -O1 -g -fno-omit-frame-pointer $(FUZZ_SAN) $(WARN) -Icore -I. \
                $(shell $(PKG_CONFIG) --cflags libuv libcurl openssl jansson 2>/dev/null)
FUZZ_LIBS     = $(shell $(PKG_CONFIG) --libs libuv jansson openssl 2>/dev/null) $(HTTP_PARSER_LIB) -lpthread -lm -ldl
# group_spec: the config hash is SHA-1 from OpenSSL; core/base names libuv errors.
FUZZ_LIBS_group_spec = $(shell $(PKG_CONFIG) --libs libuv jansson libcrypto 2>/dev/null) -lpthread -lm -ldl
# template: LuaJIT (static, from build/luajit), lua-cjson (static, as in
# the binary), the embedded modules, infrakit._json (core/lua/json_lua.c
# over core/base/json.c: Go's JSON rules) and infrakit._codec
# (core/lua/bind_codec.c: base64 and SHA-256 from libcrypto) and
# infrakit._yaml (core/lua/bind_yaml.c: LibYAML).
FUZZ_LUA_CFLAGS = $(shell $(PKG_CONFIG) --cflags luajit 2>/dev/null)
FUZZ_LIBS_template = $(CJSON_LIB) $(LUAJIT_PREFIX)/lib/libluajit-5.1.a -ljansson -luv -lcrypto $(YAML_LIB) -lm -ldl
# -timeout: one input taking 10 s is a hang. The harness's own watchdog
# (5 s of loop time) catches a connection that never closes.
FUZZ_FLAGS   ?= -timeout=10 -print_final_stats=1

# core/base, core/loop, core/net and the group-spec parser of core/engine
# (with the config hash it computes) never touch Lua (only core/lua
# includes lua.h); they go into an archive, so each link takes only the
# objects its target reaches (no curl, which core/net loads lazily anyway). The template target takes core/lua/embedded.c, the generated
# table of modules, core/lua/json_lua.c, bind_codec.c and bind_yaml.c, and no other part of core/lua.
FUZZ_CORE_SRC := $(wildcard core/base/*.c core/loop/*.c core/net/*.c \
                   core/net/server/*.c core/net/client/*.c) \
                 $(addprefix core/engine/,group_spec.c hash.c quantity.c scaling_spec.c)
FUZZ_CORE_OBJ := $(FUZZ_CORE_SRC:%.c=$(FUZZ_OUT)/obj/%.o)
FUZZ_CORE_LIB := $(FUZZ_OUT)/libcore-fuzz.a
FUZZ_EMBED_OBJ := $(FUZZ_OUT)/obj/core/lua/embedded.o $(FUZZ_OUT)/obj/core/lua/json_lua.o \
                  $(FUZZ_OUT)/obj/core/lua/bind_codec.o $(FUZZ_OUT)/obj/core/lua/bind_yaml.o \
                  $(FUZZ_OUT)/obj/gen/ik_embedded.o
FUZZ_OBJ      := $(FUZZ_CORE_OBJ) $(FUZZ_TARGETS:%=$(FUZZ_OUT)/obj/fuzz_%.o) $(FUZZ_OUT)/obj/core/lua/embedded.o \
                 $(FUZZ_OUT)/obj/core/lua/json_lua.o $(FUZZ_OUT)/obj/core/lua/bind_codec.o \
                 $(FUZZ_OUT)/obj/core/lua/bind_yaml.o

# True when $(FUZZ_CC) can link a libFuzzer target (clang plus its
# sanitizer runtimes: Debian's libclang-rt-14-dev). Used by `make test`.
FUZZ_PROBE = printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' \
             | $(FUZZ_CC) $(FUZZ_SAN) -x c - -o /dev/null >/dev/null 2>&1

.PHONY: fuzz fuzz-short fuzz-bin

fuzz-bin: $(FUZZ_BINS)

$(FUZZ_OUT)/obj/%.o: %.c spec/fuzz/fuzz.mk
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_LUA_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_OUT)/obj/fuzz_%.o: spec/fuzz/fuzz_%.c spec/fuzz/fuzz.mk
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_LUA_CFLAGS) -MMD -MP -c $< -o $@

# Byte arrays only: no sanitizer, no optimisation (it is large).
$(FUZZ_OUT)/obj/gen/ik_embedded.o: $(EMBED_C)
	@mkdir -p $(@D)
	$(FUZZ_CC) -std=c11 -O0 -Icore -c $< -o $@

$(FUZZ_CORE_LIB): $(FUZZ_CORE_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_OUT)/fuzz_http_rpc: $(FUZZ_OUT)/obj/fuzz_http_rpc.o $(FUZZ_CORE_LIB)
	$(FUZZ_CC) $(FUZZ_SAN) -o $@ $^ $(FUZZ_LIBS)

$(FUZZ_OUT)/fuzz_group_spec: $(FUZZ_OUT)/obj/fuzz_group_spec.o $(FUZZ_CORE_LIB)
	$(FUZZ_CC) $(FUZZ_SAN) -o $@ $^ $(FUZZ_LIBS_group_spec)

$(FUZZ_OUT)/fuzz_template: $(FUZZ_OUT)/obj/fuzz_template.o $(FUZZ_EMBED_OBJ) $(FUZZ_CORE_LIB)
	$(FUZZ_CC) $(FUZZ_SAN) -o $@ $^ $(FUZZ_LIBS_template)

# The seeds of a target: spec/fuzz/corpus/TARGET/, or for http_rpc the
# files directly in spec/fuzz/corpus/.
fuzz-seeds = $(if $(filter http_rpc,$(1)),$(shell find spec/fuzz/corpus -maxdepth 1 -type f),$(wildcard spec/fuzz/corpus/$(1)/*))

fuzz: deps
	@$(MAKE) --no-print-directory $(FUZZ_BIN)
	@mkdir -p $(FUZZ_OUT)/corpus/$(FUZZ_TARGET) $(FUZZ_OUT)/artifacts $(FUZZ_OUT)/tmp
	@cp $(sort $(call fuzz-seeds,$(FUZZ_TARGET))) $(FUZZ_OUT)/corpus/$(FUZZ_TARGET)/
	TMPDIR=$(abspath $(FUZZ_OUT)/tmp) $(FUZZ_BIN) $(FUZZ_FLAGS) -max_total_time=$(FUZZ_SECONDS) \
	  $(if $(wildcard $(FUZZ_DICT)),-dict=$(FUZZ_DICT)) \
	  -artifact_prefix=$(FUZZ_OUT)/artifacts/ $(FUZZ_OUT)/corpus/$(FUZZ_TARGET)

fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=20

-include $(FUZZ_OBJ:.o=.d)
