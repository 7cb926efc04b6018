#!/usr/bin/env bash
# Faults an agent on every node meets: a ring buffer that overflows, a
# reader racing the textfile rewrite, a full filesystem, bad configuration.
# Each must be accounted for, never silent, and leave the node unchanged.
source "$(dirname "$0")/lib.sh"

# A 4 KiB ring buffer and a loader that cannot drain (SIGSTOP) during a
# connection storm: what was not delivered is counted, to the connection.
t_overload_exact_accounting() {
	local count=400 events lost_rb lost_tr
	ns_pair 30
	listen "$NSB" "$B4" 8080
	agent_start --netns "/run/netns/$NSA" --ringbuf-kb 4
	kill -STOP "$AGENT"
	expect_eq "$(connects "$NSA" "$B4" 8080 $count)" "established=$count refused=0 timeout=0 unreachable=0 other=0" "storm"
	kill -CONT "$AGENT"
	agent_stop
	events=$(prom grayprobe_events_total)
	lost_rb=$(prom 'grayprobe_events_lost_total{reason="ringbuf_full"}')
	lost_tr=$(prom 'grayprobe_events_lost_total{reason="track_table_full"}')
	[ "$lost_rb" -gt 0 ] || fail "a 4 KiB ring buffer lost nothing to $count connects: not an overload"
	expect_eq $((events + lost_rb + lost_tr)) $count "events_total + events_lost_total (events $events, lost $lost_rb + $lost_tr)"
	expect_eq "$(prom "$(conn_series established)")" "$events" "every delivered event counted"
}

# A reader parsing the textfile over and over while the agent rewrites it
# every second only ever sees a whole file.
t_textfile_reader_never_sees_partial() {
	ns_pair 31
	listen "$NSB" "$B4" 8080
	agent_start --netns "/run/netns/$NSA"
	connects "$NSA" "$B4" 8080 20 >/dev/null &
	PIDS+=($!)
	# One awk process, 10000 whole reads: each must end with build_info and
	# hold as many TYPE lines as HELP lines.
	awk -v f="$T/gp.prom" 'BEGIN {
		for (i = 0; i < 10000; i++) {
			help = type = 0; last = ""
			while ((getline line < f) > 0) {
				if (line ~ /^# HELP /) help++
				if (line ~ /^# TYPE /) type++
				last = line
			}
			close(f)
			if (last !~ /^grayprobe_build_info\{/ || help != type || help < 7) {
				printf "read %d: %d HELP, %d TYPE, last line \"%s\"\n", i, help, type, last
				exit 1
			}
			if (i % 1000 == 0) system("sleep 0.2")
		}
	}' >"$T/reader" || fail "partial file seen: $(cat "$T/reader")"
	local writes
	agent_stop
	writes=$(grep -c . "$T/agent.err")
	[ "$writes" -ge 1 ] || fail "no agent output"
}

# A full filesystem under the textfile: the previous file stays whole, the
# failure is logged once per interval and counted, the agent keeps running
# and catches up once there is room. Its own mount namespace holds the
# small tmpfs; the test reads it through /proc/PID/root.
t_textfile_full_filesystem() {
	local dir=$T/small f
	ns_pair 32
	listen "$NSB" "$B4" 8080
	mkdir "$dir"
	unshare -m --propagation private sh -c \
		"mount -t tmpfs -o size=64k tmpfs '$dir' && exec '$GP' run -i none --netns /run/netns/$NSA --textfile '$dir/gp.prom' --interval 1" \
		>/dev/null 2>"$T/agent.err" &
	AGENT=$!
	PIDS+=($AGENT)
	f=/proc/$AGENT/root$dir
	for _ in $(seq 50); do [ -s "$f/gp.prom" ] && break; sleep 0.1; done
	[ -s "$f/gp.prom" ] || fail "no first textfile: $(tail -n 2 "$T/agent.err")"
	connects "$NSA" "$B4" 8080 5 >/dev/null
	sleep 1.5
	cp "$f/gp.prom" "$T/before.prom"
	# Fill what is left (dd stops at ENOSPC), then change the counts.
	dd if=/dev/zero of="$f/filler" bs=4k 2>/dev/null
	connects "$NSA" "$B4" 8080 7 >/dev/null
	sleep 3.2
	kill -0 "$AGENT" 2>/dev/null || fail "agent died on a full filesystem"
	cmp -s "$f/gp.prom" "$T/before.prom" || fail "the previous textfile changed while the disk was full"
	local errs
	errs=$(grep -c "writing $dir/gp.prom failed: No space left on device; the previous file stays in place" "$T/agent.err")
	[ "$errs" -ge 2 ] && [ "$errs" -le 5 ] || fail "expected one warning per interval for ~3 s, got $errs"
	rm -f "$f/filler"
	sleep 1.5
	grep -q '^grayprobe_textfile_write_errors_total [1-9]' "$f/gp.prom" || fail "write errors not exported"
	grep -q "$(conn_series established) 12" "$f/gp.prom" || fail "counts not caught up after the disk had room"
	ls -a "$f" | grep -q '\.tmp' && fail "temporary file left on the full filesystem"
	kill -TERM "$AGENT"
	wait "$AGENT" || fail "agent exit status $?"
}

# Bad configuration: one line naming the problem, exit 2, nothing attached.
t_bad_configuration_exit_2() {
	local args rc
	echo 'dport 70000 = x' >"$T/bad.rules"
	while IFS='|' read -r args want; do
		# shellcheck disable=SC2086
		"$GP" run --textfile "$T/x.prom" $args >/dev/null 2>"$T/err"
		rc=$?
		expect_eq "$rc" 2 "exit status for '$args'"
		grep -q -- "$want" "$T/err" || fail "'$args': message does not say '$want': $(head -n 2 "$T/err")"
		[ ! -e "$T/x.prom" ] || fail "'$args' wrote a textfile"
	done <<-EOF
		--interval 0|--interval: '0' is not a whole number in 1..3600
		-i nosuchdev0|-i nosuchdev0: no such interface
		--rules $T/bad.rules|$T/bad.rules:1: dport
		--rules $T/nonexistent.rules|$T/nonexistent.rules: No such file or directory
		--tag-wait 61|--tag-wait: '61' is not a number of seconds
		--tc-mode maybe|--tc-mode: 'maybe' is not one of
		--rule bogus|--rule: unknown condition 'bogus'
	EOF
	gp_progs_gone || fail "programs left loaded"
}

# A textfile target that can never be written (under /proc, a directory, a
# read-only filesystem): refused before anything is attached, exit 2, one
# line naming it, rather than accepted and then failing every interval.
t_textfile_unwritable() {
	local target rc
	mkdir "$T/dir" "$T/ro"
	for target in /proc/gp-x$BASHPID "$T/dir" "$T/ro/gp.prom"; do
		# The read-only one in a private mount namespace, gone with the agent.
		timeout 20 unshare -m --propagation private sh -c \
			'mount -t tmpfs -o ro tmpfs "$1" && shift && exec "$@"' sh "$T/ro" \
			"$GP" run -i none --textfile "$target" --interval 1 >/dev/null 2>"$T/err"
		rc=$?
		expect_eq "$rc" 2 "exit status for --textfile $target ($(head -n 2 "$T/err"))"
		grep -q "^grayprobe: error: --textfile $target: " "$T/err" || fail "unclear for $target: $(cat "$T/err")"
		expect_eq "$(grep -c 'error' "$T/err")" 1 "error lines for $target"
		grep -q "attached" "$T/err" && fail "$target: attached before refusing"
	done
	grep -q "is a directory" "$T/err" && fail "the last one is no directory"
	"$GP" run -i none --textfile "$T/dir" 2>&1 | grep -q "^grayprobe: error: --textfile $T/dir: is a directory$" \
		|| fail "a directory is not named as one"
	ls -a "$T/dir" | grep -q tmp && fail "probe left a temporary file"
	# With --user the writer is that user: a directory only root may write is
	# refused before attaching too.
	chmod 0755 "$T"
	mkdir -m 0755 "$T/rootonly"
	"$GP" run -i none --user nobody --textfile "$T/rootonly/gp.prom" >/dev/null 2>"$T/err"
	expect_eq "$?" 2 "exit status for a directory --user cannot write ($(head -n 1 "$T/err"))"
	grep -q "^grayprobe: error: --textfile $T/rootonly/gp.prom: cannot create .*: Permission denied (as --user nobody)$" \
		"$T/err" || fail "unclear for --user: $(cat "$T/err")"
	grep -q "attached" "$T/err" && fail "--user: attached before refusing"
	gp_progs_gone || fail "programs left loaded"
}

# valgrind on a real run with traffic: no invalid access, no leak, the
# agent's own exit status. libbpf's bpf() parameter noise is suppressed
# (tests/valgrind/libbpf.supp says why).
t_valgrind_clean_run() {
	command -v valgrind >/dev/null || skip "valgrind not installed (Debian valgrind)"
	nm -D "$GP" 2>/dev/null | grep -q __asan_init && skip "valgrind cannot run $OUT's ASan build"
	ns_pair 33
	local ifb=gpv${BASHPID}b	# before "&": a background job has its own BASHPID
	listen "$NSB" "$B4" 8080
	ip netns exec "$NSB" valgrind -q --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite,indirect,possible \
		--suppressions="$PWD/tests/valgrind/libbpf.supp" \
		"$GP" run -i "$ifb" --tag-wait 0.5 --textfile "$T/gp.prom" --interval 1 \
		--events json >"$T/events.json" 2>"$T/vg.err" &
	AGENT=$!
	PIDS+=($AGENT)
	# Attaching parses the kernel's BTF under valgrind: ~1 min with a 5.5 MB vmlinux BTF.
	for _ in $(seq 2400); do
		grep -q 'attached: ' "$T/vg.err" && break
		kill -0 "$AGENT" 2>/dev/null || fail "agent exited under valgrind: $(tail -n 3 "$T/vg.err")"
		sleep 0.1
	done
	grep -q 'attached: ' "$T/vg.err" || fail "not attached within 240 s under valgrind: $(tail -n 3 "$T/vg.err")"
	expect_eq "$(connects "$NSA" "$B4" 8080 30)" "established=30 refused=0 timeout=0 unreachable=0 other=0" "connects"
	connects "$NSA" "$B4" 8081 3 >/dev/null
	for _ in $(seq 600); do
		[ "$(jq -s '[.[] | select(.direction == "inbound")] | length' "$T/events.json" 2>/dev/null)" = 30 ] && break
		sleep 0.1
	done
	kill -INT "$AGENT"
	wait "$AGENT"
	local rc=$?
	[ "$rc" -eq 0 ] || fail "exit $rc under valgrind: $(grep -m 5 '==[0-9]*==' "$T/vg.err")"
	grep -q '==[0-9]*==' "$T/vg.err" && fail "valgrind reports: $(grep -m 5 '==[0-9]*==' "$T/vg.err")"
	expect_eq "$(jq -s '[.[] | select(.direction == "inbound")] | length' "$T/events.json")" 30 "inbound outcomes tagged under valgrind"
}

run_tests "$@"
