#!/usr/bin/env bash
# Run every test suite and print one summary line: "N passed, N failed".
#
#   C units      every cmocka binary in $IK_UNIT_DIR (TAP output)
#   Lua units    spec/unit/lua/*_spec.lua, busted run by `infrakit lua`
#   functional   spec/functional/*_spec.lua, same runner, driving the binary
#   lint         luacheck over lua/, spec/, playbooks/ and docs/examples/ (.luacheckrc)
#   fuzz         each of $IK_FUZZ_BINS (libFuzzer, spec/fuzz/: http_rpc,
#                group_spec, template) for ${IK_FUZZ_SECONDS:-10} seconds from
#                its seed corpus: one test each, ok if nothing crashed;
#                skipped when the Makefile could not build them (no clang)
#
# Exit status is non-zero if any test failed or any suite crashed.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
bin=${IK_BIN:-$top/infrakit}
unit_dir=${IK_UNIT_DIR:-$top/build/spec}
only=${IK_SUITES:-"c lua functional fuzz lint"}
export IK_BIN=$bin IK_TOP=$top
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

passed=0
failed=0
pending=0
: >"$out/pending.log"

# count FILE SUITE EXIT_STATUS: add TAP ok / not ok lines; a suite that
# exited non-zero without reporting a failure counts as one failure. A test
# marked "# SKIP" (busted's pending(), e.g. no dockerd can start here;
# cmocka's skip(), which TAP-prints "not ok N # SKIP NAME" after the
# test's own "skipped: REASON" line) is pending, neither passed nor
# failed: counted apart and listed, with its reason, before the summary.
count() {
  local file=$1 name=$2 status=$3
  local ok nok skip cskip
  skip=$(grep -cE '^ok [0-9]+ .*# SKIP' "$file")
  cskip=$(grep -cE '^not ok [0-9]+ # SKIP' "$file")
  ok=$(($(grep -cE '^ok [0-9]+' "$file") - skip))
  nok=$(($(grep -cE '^not ok [0-9]+' "$file") - cskip))
  skip=$((skip + cskip))
  pending=$((pending + skip))
  grep -E '^ok [0-9]+ .*# SKIP' "$file" | sed 's/^ok [0-9]* - *# SKIP */  /' >>"$out/pending.log"
  awk -v suite="$name" '/^skipped: /{why=substr($0, 10); next}
    /^not ok [0-9]+ # SKIP/{sub(/^not ok [0-9]+ # SKIP */, ""); print "  " suite ": " $0 (why ? " (" why ")" : ""); why=""}' \
    "$file" >>"$out/pending.log"
  if [ "$status" -ne 0 ] && [ "$nok" -eq 0 ]; then
    nok=1
    echo "  ! $name exited with status $status without a failing test:"
    tail -20 "$file" | sed 's/^/    /'
  fi
  passed=$((passed + ok))
  failed=$((failed + nok))
  if [ "$nok" -gt 0 ]; then
    grep -E '^not ok' -A8 "$file" | grep -vE '^not ok [0-9]+ # SKIP' | sed 's/^/    /'
  fi
  if [ "$skip" -gt 0 ]; then
    printf '  %-40s %4d passed, %d failed, %d pending\n' "$name" "$ok" "$nok" "$skip"
  else
    printf '  %-40s %4d passed, %d failed\n' "$name" "$ok" "$nok"
  fi
}

if [[ " $only " == *" c "* ]]; then
  echo "C unit tests (cmocka)"
  if [ -d "$unit_dir" ]; then
    while IFS= read -r t; do
      name=${t#"$unit_dir"/}
      (cd "$top" && CMOCKA_MESSAGE_OUTPUT=TAP timeout 300 "$t") >"$out/c.log" 2>&1
      count "$out/c.log" "$name" $?
    done < <(find "$unit_dir" -type f -name 'test_*' -perm -u+x | sort)
  fi
fi

run_busted() {
  local name=$1 dir=$2
  [ -d "$top/$dir" ] || return 0
  ls "$top/$dir"/*_spec.lua >/dev/null 2>&1 || return 0
  echo "$name (busted via infrakit lua)"
  for f in "$top/$dir"/*_spec.lua; do
    (cd "$top" && timeout 600 "$bin" lua spec/busted.lua -o TAP "$f") >"$out/b.log" 2>&1
    count "$out/b.log" "${f#"$top"/}" $?
  done
}
[[ " $only " == *" lua "* ]] && run_busted "Lua unit specs" spec/unit/lua
[[ " $only " == *" functional "* ]] && run_busted "Functional specs" spec/functional

# The bounded fuzz runs, one test per target in $IK_FUZZ_BINS (space-
# separated paths; $IK_FUZZ_BIN alone works too), each for
# ${IK_FUZZ_SECONDS:-10} seconds. Their working files stay under
# $IK_FUZZ_DIR (the build dir): a fresh corpus per target seeded from
# spec/fuzz/corpus (fuzz_http_rpc: the files there; fuzz_NAME: corpus/NAME/),
# the dictionary spec/fuzz/NAME.dict when there is one, and artifacts/,
# where a crashing input is kept for `fuzz_NAME FILE` to reproduce.
if [[ " $only " == *" fuzz "* ]]; then
  secs=${IK_FUZZ_SECONDS:-10}
  fuzz_bins=${IK_FUZZ_BINS:-${IK_FUZZ_BIN:-}}
  echo "Fuzzing (libFuzzer, $secs s per target)"
  if [ -z "$fuzz_bins" ]; then
    echo "  skipped: no fuzz binary (needs clang and libclang-rt-14-dev; make deps installs them)"
  fi
  for fuzz_bin in $fuzz_bins; do
    target=$(basename "$fuzz_bin")
    target=${target#fuzz_}
    name=${fuzz_bin#"$top"/}
    if [ ! -x "$fuzz_bin" ]; then
      echo "  skipped $name: not built (needs clang and libclang-rt-14-dev; make deps installs them)"
      continue
    fi
    fdir=${IK_FUZZ_DIR:-$(dirname "$fuzz_bin")}
    corpus=$fdir/test-corpus/$target
    rm -rf "$corpus"
    mkdir -p "$corpus" "$fdir/artifacts" "$fdir/tmp"
    if [ "$target" = http_rpc ]; then
      find "$top/spec/fuzz/corpus" -maxdepth 1 -type f -exec cp {} "$corpus/" \;
    elif [ -d "$top/spec/fuzz/corpus/$target" ]; then
      cp "$top/spec/fuzz/corpus/$target"/* "$corpus/"
    fi
    dict=()
    [ -f "$top/spec/fuzz/$target.dict" ] && dict=(-dict="$top/spec/fuzz/$target.dict")
    (cd "$fdir" && TMPDIR=$fdir/tmp timeout $((secs + 120)) "$fuzz_bin" -max_total_time="$secs" -timeout=10 \
       -print_final_stats=1 "${dict[@]}" -artifact_prefix="$fdir/artifacts/" "$corpus") \
      >"$out/fuzz.log" 2>&1
    status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/fuzz.log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out/fuzz.log")
    if [ "$status" -eq 0 ]; then
      echo "ok 1 - $name: ${runs:-?} inputs in $secs s (${rate:-?} exec/s), no crash" >"$out/f.log"
    else
      {
        echo "not ok 1 - $name exited with status $status; the input is in $fdir/artifacts/"
        grep -E '^==[0-9]+==ERROR|runtime error|^SUMMARY|^fuzz_[a-z_]+:|ALARM|Test unit written|^artifact_prefix' \
          "$out/fuzz.log" | head -7
        echo "(full log: $fdir/fuzz-$target.log)"
      } >"$out/f.log"
    fi
    cp "$out/fuzz.log" "$fdir/fuzz-$target.log"
    count "$out/f.log" "$name" 0
    [ "$status" -eq 0 ] && echo "    ${runs:-?} inputs, ${rate:-?} exec/s"
  done
fi

# Lua lint: one test, failing on any warning.
if [[ " $only " == *" lint "* ]]; then
  echo "Lint (luacheck)"
  if command -v luacheck >/dev/null; then
    dirs=()
    for d in lua spec playbooks docs/examples; do [ -d "$top/$d" ] && dirs+=("$d"); done
    if (cd "$top" && luacheck --no-color --formatter plain "${dirs[@]}") >"$out/lint.log" 2>&1; then
      echo "ok 1 - luacheck ${dirs[*]}: no warnings" >"$out/l.log"
    else
      { echo "not ok 1 - luacheck ${dirs[*]}"; head -20 "$out/lint.log"; } >"$out/l.log"
    fi
    count "$out/l.log" "luacheck" 0
  else
    echo "  skipped: luacheck not installed (make deps installs lua-check)"
  fi
fi

echo
if [ "$pending" -gt 0 ]; then
  echo "$pending pending (not run, not counted as passed):"
  cat "$out/pending.log"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
