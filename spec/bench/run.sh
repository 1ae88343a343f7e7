#!/usr/bin/env bash
# make bench: every benchmark under spec/bench, printed as tables of
# metric | measured | target. Machine: see `nproc` and `uname -m` below.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${IK_BIN:-$top/infrakit}
echo "infrakit benchmarks on $(uname -m), $(nproc) cores, $("$bin" version | head -1)"
echo
cd "$top"
IK_BIN=$bin "$bin" lua spec/bench/bench.lua
echo
IK_BIN=$bin "$bin" lua spec/bench/group_bench.lua
echo
IK_BIN=$bin "$bin" lua spec/bench/swarm_bench.lua
