#!/usr/bin/env bash
# make bench: every benchmark under spec/bench, printed as tables of
# metric | measured | target. Machine: see `nproc` and `uname -m` below.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${IK_BIN:-$top/infrakit}
echo "infrakit benchmarks on $(uname -m), $(nproc) cores, $("$bin" version | head -1)"
echo
cd "$top"
# IK_BENCH_ONLY=NAME runs only spec/bench/NAME.lua (e.g. docker_bench).
only=${IK_BENCH_ONLY:-}
for script in bench group_bench docker_bench swarm_bench store_bench; do
  [ -z "$only" ] || [ "$only" = "$script" ] || continue
  IK_BIN=$bin "$bin" lua "spec/bench/$script.lua"
  echo
done
