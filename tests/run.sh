#!/usr/bin/env bash
# Runs every test and ends with one line CI reads: "N passed, N failed, N skipped".
#   tests/run.sh               unit tests, then root integration tests
#   tests/run.sh --unit-only   unit tests only (no root needed)
#   tests/run.sh NAME...       only integration tests whose function name matches
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-build}
export OUT

passed=0 failed=0 skipped=0
failures=()

count_line() {	# reads "PASS name" / "FAIL name: why" / "SKIP name: why"
	case "$1" in
	PASS\ *) passed=$((passed + 1)) ;;
	FAIL\ *) failed=$((failed + 1)); failures+=("${1#FAIL }") ;;
	SKIP\ *) skipped=$((skipped + 1)) ;;
	esac
}

unit_only=0 filters=()
for a in "$@"; do
	if [ "$a" = --unit-only ]; then unit_only=1; else filters+=("$a"); fi
done

if [ ${#filters[@]} -eq 0 ]; then
	echo "== unit tests"
	for t in "$OUT"/tests/test_*; do
		[ -x "$t" ] || continue
		out=$("$t" 2>&1); rc=$?
		printf '%s\n' "$out" | sed 's/^/    /'
		# cmocka's own summary lines carry the per-test counts.
		p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
		f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
		s=$(printf '%s\n' "$out" | sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' | tail -1)
		passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${s:-0}))
		if [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
			failed=$((failed + 1)); failures+=("$(basename "$t"): exited $rc")
		elif [ "${f:-0}" -gt 0 ]; then
			failures+=("$(basename "$t"): ${f} failed")
		fi
	done
fi

if [ ${#filters[@]} -eq 0 ]; then
	echo "== fuzz harnesses, ${FUZZ_SMOKE_SECONDS:-3} s each (make fuzz runs them longer)"
	while IFS= read -r line; do
		printf '    %s\n' "$line"
		count_line "$line"
	done < <(tests/fuzz/run.sh "${FUZZ_SMOKE_SECONDS:-3}" 2>&1)
fi

if [ "$unit_only" -eq 0 ]; then
	echo "== integration tests (root, real kernel, private network namespaces)"
	for s in tests/integration/test_*.sh; do
		while IFS= read -r line; do
			printf '    %s\n' "$line"
			count_line "$line"
		done < <(bash "$s" "${filters[@]}" 2>&1)
	done
fi

for f in "${failures[@]}"; do echo "failed: $f"; done
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
[ "$failed" -eq 0 ] && [ $((passed + failed)) -gt 0 ]
