#!/usr/bin/env bash
# The TC classifier (gp_tc) against an independent reference parser:
# tests/tools/tcfuzz sends 100000 random, crafted and mutated frames through
# it with BPF_PROG_TEST_RUN and compares every record, flow table entry and
# malformed count with what the reference predicts. No mismatch, no error
# from test_run beyond the kernel's own EINVAL for frames under 14 bytes or
# IP frames shorter than their IP header, and done within 60 s.
# TCFUZZ_SEED=N picks another seed (the failure message names the one used).
source "$(dirname "$0")/lib.sh"

TCFUZZ=$PWD/$OUT/tests/tcfuzz

t_tcfuzz_100k() {
	local seed=${TCFUZZ_SEED:-20261121} n=100000 t0 ms rc
	[ -x "$TCFUZZ" ] || fail "$TCFUZZ not built (make $OUT/tests/tcfuzz)"
	t0=$(date +%s%N)
	timeout 300 "$TCFUZZ" -n "$n" -s "$seed" -m 3 >"$T/out" 2>"$T/err"
	rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	cat "$T/out" "$T/err"
	echo "tcfuzz took ${ms} ms"
	[ "$rc" -ne 124 ] || fail "seed $seed: still running after 300 s"
	[ "$rc" -eq 0 ] || fail "seed $seed: exit $rc: $(grep -m1 -E 'MISMATCH|tcfuzz:' "$T/err" | cut -c1-300)"
	grep -qE "^tcfuzz: seed $seed: $n generated .*, [0-9]+ rejected by test_run \([0-9]+ under 14 bytes, [0-9]+ IP shorter than its header, 0 otherwise\)$" \
		"$T/out" || fail "seed $seed: no summary line, or other test_run errors: $(head -c 400 "$T/out")"
	grep -qE "; 0 mismatches; " "$T/out" || fail "seed $seed: mismatches: $(tail -n 1 "$T/out")"
	# Every kind of verdict and the paths that matter were really taken.
	grep -qE "^tcfuzz: reference verdicts: einval-short [1-9][0-9]* einval-l3 [1-9][0-9]* other [1-9][0-9]* malformed [1-9][0-9]* tcp [1-9][0-9]*$" \
		"$T/out" || fail "seed $seed: a verdict never came up: $(grep verdicts "$T/out")"
	local f
	for f in QinQ ipv6-ext ipv6-fragment-hdr ipv6-ah ipv6-6-ext payload-cut syn.data adopted hello-cap flow-end; do
		grep -qE "^tcfuzz: coverage:.* $f [1-9]" "$T/out" || fail "seed $seed: $f never exercised"
	done
	[ "$ms" -lt 60000 ] || fail "seed $seed: took ${ms} ms, more than 60 s"
}

run_tests "$@"
