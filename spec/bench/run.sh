#!/usr/bin/env bash
# make bench: every benchmark under spec/bench, printed as tables of
# metric | measured | target. Machine: see `nproc` and `uname -m` below.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${IK_BIN:-$top/infrakit}
echo "infrakit benchmarks on $(uname -m), $(nproc) cores, $("$bin" version | head -1)"
echo
cd "$top"
# IK_BENCH_ONLY=NAME runs only spec/bench/NAME[.lua] (e.g. qemu_bench).
scripts=(bench.lua group_bench.lua events_bench.lua docker_bench.lua swarm_bench.lua qemu_bench.lua immutable_bench.lua store_bench.lua failover_bench.lua)
if [ -n "${IK_BENCH_ONLY:-}" ]; then scripts=("${IK_BENCH_ONLY%.lua}.lua"); fi
first=1
for s in "${scripts[@]}"; do
  [ "$first" = 1 ] || echo
  first=0
  IK_BIN=$bin "$bin" lua "spec/bench/$s"
done
