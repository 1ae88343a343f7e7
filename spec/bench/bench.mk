# Benchmark tools in C, built into $(BUILD)/bench by `make bench`.
# Included by the top-level Makefile, which defines BUILD, CC, PKG_CONFIG and
# WARN. The tools are standalone (libuv, http-parser, jansson; not libik):
#   rpc_yardstick  minimal HTTP/1.1 JSON-RPC server, the yardstick
#   rpc_load       load client: calls/s and latency, or N idle connections
#   (and, linking the core: flavor_bench, store_bench, file_yardstick - the
#   instance files of a converge written directly, group_bench's yardstick)
BENCH_OUT   := $(BUILD)/bench
BENCH_TOOLS := $(BENCH_OUT)/rpc_yardstick $(BENCH_OUT)/rpc_load
BENCH_CFLAGS = -std=c11 -D_GNU_SOURCE -O2 -g $(WARN) $(CFLAGS)
BENCH_LIBS   = $(shell $(PKG_CONFIG) --cflags --libs libuv jansson) -lhttp_parser

.PHONY: bench-tools
bench-tools: $(BENCH_TOOLS)

$(BENCH_TOOLS): $(BENCH_OUT)/%: spec/bench/%.c spec/bench/bench.mk
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) $(LDFLAGS) -o $@ $< $(BENCH_LIBS) $(LDLIBS)

# flavor_bench links the core (a Lua flavor through the C SPI, in process).
$(BENCH_OUT)/flavor_bench: spec/bench/flavor_bench.c $(LIBIK) spec/bench/bench.mk
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< -Wl,--whole-archive $(LIBIK) -Wl,--no-whole-archive $(LDLIBS_ALL)
bench-tools: $(BENCH_OUT)/flavor_bench

# store_bench links the core (the file and etcd stores through the store SPI).
$(BENCH_OUT)/store_bench: spec/bench/store_bench.c $(LIBIK) spec/bench/bench.mk
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< -Wl,--whole-archive $(LIBIK) -Wl,--no-whole-archive $(LDLIBS_ALL)
bench-tools: $(BENCH_OUT)/store_bench

# file_yardstick links the core (ik_fs_replace, as instance-file writes).
$(BENCH_OUT)/file_yardstick: spec/bench/file_yardstick.c $(LIBIK) spec/bench/bench.mk
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< -Wl,--whole-archive $(LIBIK) -Wl,--no-whole-archive $(LDLIBS_ALL)
bench-tools: $(BENCH_OUT)/file_yardstick
