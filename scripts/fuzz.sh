#!/usr/bin/env bash
# Runs every Go fuzz target of the module for FUZZTIME each (default 30s), one at a time, and
# prints how many inputs each one tried. Targets are found by name (func FuzzXxx in a
# _test.go file), so a target added to any package runs without touching this script.
# A crash stops the run; Go saves the failing input under the package's
# testdata/fuzz/FuzzXxx/, where `make test` replays it from then on: commit it with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-30s}
summary=()
while IFS= read -r dir; do
  pkg="./$dir"
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go | sed 's/^func //' | sort -u); do
    echo "== $pkg $target ($FUZZTIME)"
    log=$(mktemp)
    if ! "$GO" test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg" 2>&1 | tee "$log"; then
      echo "!! $pkg $target failed; the input is under $dir/testdata/fuzz/$target/" >&2
      rm -f "$log"
      exit 1
    fi
    execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | awk '{print $2}')
    summary+=("$(printf '%-12s %-28s %12s execs' "$dir" "$target" "${execs:-?}")")
    rm -f "$log"
  done
done < <(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sed 's|^\./||' | grep -v '^devserver' | sort -u)
echo
echo "fuzz summary ($FUZZTIME per target):"
printf '%s\n' "${summary[@]}"
