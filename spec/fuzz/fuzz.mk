# libFuzzer target for core/net: the HTTP/1.1 server, JSON-RPC decoding and
# dispatch, Instance/0.6.1 params (spec/fuzz/fuzz_http_rpc.c).
# Included by the top-level Makefile, which defines BUILD, WARN, PKG_CONFIG
# and HTTP_PARSER_LIB.
#
#   make fuzz                   run for FUZZ_SECONDS (default 300)
#   make fuzz FUZZ_SECONDS=30   shorter; make fuzz-short is 20 s
#   make fuzz-bin               only build $(FUZZ_BIN)
#
# Built with clang (-fsanitize=fuzzer,address,undefined) apart from the gcc
# build: the core sources it needs are compiled again into
# $(FUZZ_OUT)/obj, never into libinfrakit.a.
# Working files stay under $(FUZZ_OUT): corpus/ (the seeds from
# spec/fuzz/corpus, copied, plus what the fuzzer finds; kept between runs)
# and artifacts/ (crash-*, timeout-*, leak-*); tmp/ holds the target's
# sockets.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 300
FUZZ_OUT     := $(BUILD)/fuzz
FUZZ_BIN     := $(FUZZ_OUT)/fuzz_http_rpc
FUZZ_DICT    := spec/fuzz/http_rpc.dict
FUZZ_SAN     := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS   = -std=c11 -D_GNU_SOURCE -O1 -g -fno-omit-frame-pointer $(FUZZ_SAN) $(WARN) -Icore -I. \
                $(shell $(PKG_CONFIG) --cflags libuv libcurl openssl jansson 2>/dev/null)
FUZZ_LIBS     = $(shell $(PKG_CONFIG) --libs libuv jansson openssl 2>/dev/null) $(HTTP_PARSER_LIB) -lpthread -lm -ldl
# -timeout: one input taking 10 s is a hang. The harness's own watchdog
# (5 s of loop time) catches a connection that never closes.
FUZZ_FLAGS   ?= -timeout=10 -print_final_stats=1

# core/base, core/loop and core/net never touch Lua (only core/lua includes
# lua.h); they go into an archive, so the link takes only the objects the
# target reaches (no curl, which core/net loads lazily anyway).
FUZZ_CORE_SRC := $(wildcard core/base/*.c core/loop/*.c core/net/*.c)
FUZZ_CORE_OBJ := $(FUZZ_CORE_SRC:%.c=$(FUZZ_OUT)/obj/%.o)
FUZZ_CORE_LIB := $(FUZZ_OUT)/libcore-fuzz.a
FUZZ_OBJ      := $(FUZZ_CORE_OBJ) $(FUZZ_OUT)/obj/fuzz_http_rpc.o

# True when $(FUZZ_CC) can link a libFuzzer target (clang plus its
# sanitizer runtimes: Debian's libclang-rt-14-dev). Used by `make test`.
FUZZ_PROBE = printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' \
             | $(FUZZ_CC) $(FUZZ_SAN) -x c - -o /dev/null >/dev/null 2>&1

.PHONY: fuzz fuzz-short fuzz-bin

fuzz-bin: $(FUZZ_BIN)

$(FUZZ_OUT)/obj/%.o: %.c spec/fuzz/fuzz.mk
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_OUT)/obj/fuzz_http_rpc.o: spec/fuzz/fuzz_http_rpc.c spec/fuzz/fuzz.mk
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_CORE_LIB): $(FUZZ_CORE_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_BIN): $(FUZZ_OUT)/obj/fuzz_http_rpc.o $(FUZZ_CORE_LIB)
	$(FUZZ_CC) $(FUZZ_SAN) -o $@ $^ $(FUZZ_LIBS)

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-bin
	@mkdir -p $(FUZZ_OUT)/corpus $(FUZZ_OUT)/artifacts $(FUZZ_OUT)/tmp
	@cp spec/fuzz/corpus/* $(FUZZ_OUT)/corpus/
	TMPDIR=$(abspath $(FUZZ_OUT)/tmp) $(FUZZ_BIN) $(FUZZ_FLAGS) -max_total_time=$(FUZZ_SECONDS) -dict=$(FUZZ_DICT) \
	  -artifact_prefix=$(FUZZ_OUT)/artifacts/ $(FUZZ_OUT)/corpus

fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=20

-include $(FUZZ_OBJ:.o=.d)
