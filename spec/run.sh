#!/usr/bin/env bash
# Run every test suite and print one summary line: "N passed, N failed".
#
#   C units      every cmocka binary in $IK_UNIT_DIR (TAP output)
#   Lua units    spec/unit/lua/*_spec.lua, busted run by `infrakit lua`
#   functional   spec/functional/*_spec.lua, same runner, driving the binary
#
# Exit status is non-zero if any test failed or any suite crashed.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
bin=${IK_BIN:-$top/infrakit}
unit_dir=${IK_UNIT_DIR:-$top/build/spec}
only=${IK_SUITES:-"c lua functional"}
export IK_BIN=$bin IK_TOP=$top
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

passed=0
failed=0

# count FILE SUITE EXIT_STATUS: add TAP ok / not ok lines; a suite that
# exited non-zero without reporting a failure counts as one failure.
count() {
  local file=$1 name=$2 status=$3
  local ok nok
  ok=$(grep -cE '^ok [0-9]+' "$file")
  nok=$(grep -cE '^not ok [0-9]+' "$file")
  if [ "$status" -ne 0 ] && [ "$nok" -eq 0 ]; then
    nok=1
    echo "  ! $name exited with status $status without a failing test:"
    tail -20 "$file" | sed 's/^/    /'
  fi
  passed=$((passed + ok))
  failed=$((failed + nok))
  if [ "$nok" -gt 0 ]; then
    grep -E '^not ok' -A8 "$file" | sed 's/^/    /'
  fi
  printf '  %-40s %4d passed, %d failed\n' "$name" "$ok" "$nok"
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

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
