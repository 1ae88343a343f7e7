# Benchmark tools in C, built into $(BUILD)/bench by `make bench`.
.PHONY: bench-tools
bench-tools:
