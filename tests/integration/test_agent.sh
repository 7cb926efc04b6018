#!/usr/bin/env bash
# The agent as an operator meets it: check, hook choice and refusal, bad
# input, missing privileges or BTF, signals, and the textfile as Prometheus
# tools read it.
source "$(dirname "$0")/lib.sh"

t_check_reports_every_hook() {
	"$GP" check >"$T/check" 2>&1 || fail "check exited $?: $(tail -n 2 "$T/check")"
	local h
	for h in btf ringbuf fentry kprobe tp_btf raw_tp tracepoint tc tcx; do
		grep -qE "^  $h +(ok|no) " "$T/check" || fail "check has no row for $h"
	done
	grep -qE '^run would use: connect_hook=(fentry|kprobe|state \(CLOSE->SYN_SENT on (tp_btf|raw_tp|tracepoint)\)) state_hook=(tp_btf|raw_tp|tracepoint)$' "$T/check" \
		|| fail "no 'run would use' line: $(grep 'would use' "$T/check")"
	grep -qE '^classifier: (tcx links|clsact filters)$' "$T/check" || fail "no classifier line: $(tail -n 1 "$T/check")"
	"$GP" check --tc-mode clsact | grep -qx 'classifier: clsact filters' || fail "--tc-mode clsact not reflected"
}

# check really attaches the classifier (tcx and clsact, on lo of a private
# namespace it makes) and says what is missing when it cannot; the caller's
# namespace is left as it was. Without CAP_SYS_ADMIN (no private namespace)
# it says the attach was not tried instead of guessing.
t_check_attaches_classifier() {
	local before
	before=$(tc qdisc show dev lo; tc filter show dev lo ingress)
	"$GP" check >"$T/check" 2>&1 || fail "check exited $?: $(tail -n 2 "$T/check")"
	grep -qE '^  tc +(ok   gp_tc loads and attaches as a (clsact filter|tcx link)|no   attach failed: .*(sch_ingress|cls_bpf).*)$' "$T/check" \
		|| fail "tc row does not tell the attach: $(grep -E '^  tc ' "$T/check")"
	grep -qE '^  tcx +(ok   tcx links \(6.6\+\) attach|no   attach failed: .*)$' "$T/check" \
		|| fail "tcx row does not tell the attach: $(grep -E '^  tcx ' "$T/check")"
	expect_eq "$(tc qdisc show dev lo; tc filter show dev lo ingress)" "$before" "lo after check"
	need setpriv util-linux
	setpriv --inh-caps -sys_admin --bounding-set -sys_admin "$GP" check >"$T/check2" 2>&1
	grep -qE '^  tc +ok   gp_tc \(sched_cls\) loads; attach not tried: no private namespace$' "$T/check2" \
		|| fail "without CAP_SYS_ADMIN: $(grep -E '^  tc |error' "$T/check2")"
}

# auto takes the first hook that really attaches: what check predicts is
# what run reports in build_info.
t_auto_fallback_matches_check() {
	local want
	want=$("$GP" check | sed -n 's/^run would use: connect_hook=\([a-z_]*\).* state_hook=\([a-z_]*\)$/connect_hook="\1",state_hook="\2"/p')
	[ -n "$want" ] || fail "check predicted nothing"
	if ! hook_available fentry && ! hook_available kprobe; then
		expect_eq "${want%%,*}" 'connect_hook="state"' "fallback when fentry and kprobe are missing"
	fi
	agent_start
	agent_stop
	grep -q "$want" "$T/gp.prom" || fail "build_info does not show $want: $(grep build_info "$T/gp.prom")"
}

# Every load of the object parses the kernel's BTF (5.5 MB here: a minute
# under valgrind). The preferred hooks are loaded as the real thing, each
# hook is probed on its own only when they fail: one parse where fentry
# works, two where only the state hook's tp_btf does. top uses the same loader.
t_startup_parses_btf_at_most_twice() {
	need strace strace
	local max=2 n tls
	hook_available tp_btf || skip "tp_btf does not attach here: start-up probes every hook"
	hook_available fentry && max=1
	# The TLS source's object is a load of its own, one more parse where it loads.
	for tls in --no-tls ""; do
		# LeakSanitizer (a SAN=1 build) cannot run under strace's ptrace.
		ASAN_OPTIONS=detect_leaks=0 strace -f -qq -e trace=openat -o "$T/strace" \
			"$GP" top --once -i none --interval 1 $tls \
			>/dev/null 2>"$T/err" || fail "top --once $tls exited $?: $(tail -n 2 "$T/err")"
		n=$(grep -c '"/sys/kernel/btf/vmlinux"' "$T/strace")
		[ "$n" -le "$max" ] || fail "vmlinux BTF opened $n times at start-up ${tls:-with TLS}, expected at most $max"
		"$GP" check 2>/dev/null | grep -qE '^  sock_tp +ok ' && max=$((max + 1))
	done
}

# A forced hook works where the kernel has it and is refused, clearly and
# with nothing left attached, where it does not.
forced_connect_hook() {
	local hook=$1 rc
	if hook_available "$hook"; then
		ns_pair "$2"
		listen "$NSB" "$B4" 8080
		agent_start --netns "/run/netns/$NSA" --connect-hook "$hook"
		connects "$NSA" "$B4" 8080 10 >/dev/null
		agent_stop
		expect_eq "$(prom "$(conn_series established)")" 10 "established via $hook"
		grep -q "connect_hook=\"$hook\"" "$T/gp.prom" || fail "build_info does not name $hook"
		return 0
	fi
	"$GP" run --textfile "$T/x.prom" --connect-hook "$hook" >"$T/out" 2>"$T/err"
	rc=$?
	[ "$rc" -ne 0 ] || fail "forced unavailable $hook exited 0"
	grep -q "connect hook '$hook' is unavailable on this kernel: tcp_connect: .* failed: " "$T/err" \
		|| fail "unclear refusal: $(cat "$T/err")"
	[ ! -e "$T/x.prom" ] || fail "a refused start wrote a textfile"
	gp_progs_gone || fail "programs left loaded after a refused start"
}
t_forced_fentry() { forced_connect_hook fentry 20; }
t_forced_kprobe() { forced_connect_hook kprobe 21; }

# The state hook's CLOSE->SYN_SENT as the connect start, forced where fentry
# or kprobe would be auto's choice (the host's own fallback elsewhere).
t_forced_connect_state() {
	ns_pair 28
	listen "$NSB" "$B4" 8080
	agent_start --netns "/run/netns/$NSA" --connect-hook state
	expect_eq "$(connects "$NSA" "$B4" 8080 10)" "established=10 refused=0 timeout=0 unreachable=0 other=0" "client"
	expect_eq "$(connects "$NSA" "$B4" 8081 2)" "established=0 refused=2 timeout=0 unreachable=0 other=0" "client, closed port"
	agent_stop
	expect_eq "$(prom "$(conn_series established)")" 10 "established via the state hook"
	expect_eq "$(prom "$(conn_series refused)")" 2 "refused via the state hook"
	grep -q 'connect_hook="state"' "$T/gp.prom" || fail "build_info does not name connect_hook state: $(grep build_info "$T/gp.prom")"
}

t_forced_state_tracepoint_without_tracefs() {
	mountpoint -q /sys/kernel/tracing && skip "tracefs is mounted here, so the classic tracepoint attaches"
	"$GP" run --textfile "$T/x.prom" --state-hook tracepoint >"$T/out" 2>"$T/err" && fail "exited 0"
	grep -q "state hook 'tracepoint' is unavailable.*tracefs" "$T/err" || fail "unclear refusal: $(cat "$T/err")"
	gp_progs_gone || fail "programs left loaded"
}

# Usage errors: exit 2, a one-line reason naming the problem, nothing attached.
t_bad_flags_exit_2() {
	local args
	while IFS= read -r args; do
		# shellcheck disable=SC2086
		"$GP" $args >"$T/out" 2>"$T/err"
		expect_eq "$?" 2 "exit status of 'grayprobe $args'"
		[ "$(head -c 11 "$T/err")" = "grayprobe: " ] || fail "'$args' gave no message: $(cat "$T/err")"
		grep -q "Try 'grayprobe --help'" "$T/err" || fail "'$args' gave no usage hint"
	done <<-ARGS
		run --interval 0
		run --interval abc
		run --no-such-flag
		run --events xml
		run --connect-hook magic
		run --ringbuf-kb 3000
		run --netns /nonexistent/netns
		run --textfile /nonexistent-dir/x.prom
		run --user nosuchuser-gp$BASHPID
		run extra
		frobnicate

	ARGS
	gp_progs_gone || fail "programs left loaded"
	"$GP" run --help | grep -q -- '--connect-hook' || fail "run --help does not document --connect-hook"
	"$GP" --help >/dev/null || fail "--help exited non-zero"
}

# After attaching, the first write is reported once: where, how many series,
# how often, and how to look at it.
t_first_write_reported() {
	local ino n
	ns_pair 37
	"$GP" run -i none --netns "/run/netns/$NSA" --textfile "$T/gp.prom" --interval 1 \
		>/dev/null 2>"$T/err" &
	AGENT=$!
	PIDS+=($AGENT)
	for _ in $(seq 100); do
		grep -q "wrote" "$T/err" && break
		kill -0 "$AGENT" 2>/dev/null || fail "agent exited: $(tail -n 3 "$T/err")"
		sleep 0.1
	done
	ino=$(stat -c %i "$T/gp.prom") || fail "no textfile: $(tail -n 3 "$T/err")"
	# Nothing to count in an empty namespace: every write has these series.
	n=$(grep -vc '^#' "$T/gp.prom")
	expect_eq "$(grep wrote "$T/err")" \
		"grayprobe: wrote $T/gp.prom ($n series), every 1s; look with: grayprobe top, or grayprobe run --events json" \
		"first write line"
	# Two rewrites later (each renames a new inode in), still said once.
	for w in 1 2; do
		for _ in $(seq 50); do
			[ "$(stat -c %i "$T/gp.prom")" != "$ino" ] && break
			sleep 0.1
		done
		[ "$(stat -c %i "$T/gp.prom")" != "$ino" ] || fail "no rewrite $w"
		ino=$(stat -c %i "$T/gp.prom")
	done
	expect_eq "$(grep -c wrote "$T/err")" 1 "times the write was reported"
	kill -TERM "$AGENT"
	wait "$AGENT" || fail "agent exit status $?"
}

# Under systemd, stderr is the journal (JOURNAL_STREAM names it): lines carry
# sd-daemon <N> priorities instead of "grayprobe: error: ", so the journal
# ranks them; anywhere else, the words.
t_journal_priorities() {
	: >"$T/err"
	JOURNAL_STREAM=$(stat -c '%d:%i' "$T/err") "$GP" run --user "nosuchuser-gp$BASHPID" \
		--textfile "$T/x.prom" >"$T/out" 2>>"$T/err"
	expect_eq "$?" 2 "exit status for an unknown --user"
	expect_eq "$(head -n 1 "$T/err")" "<3>--user nosuchuser-gp$BASHPID: no such user" "journal line"
	expect_eq "$(sed -n 2p "$T/err")" "<6>Try 'grayprobe --help'." "journal hint"
	# Some other stream's id: not the journal.
	JOURNAL_STREAM=1:1 "$GP" run --interval 0 2>"$T/err2"
	expect_eq "$(head -n 1 "$T/err2")" "grayprobe: error: --interval: '0' is not a whole number in 1..3600" \
		"line when stderr is not the journal"
	gp_progs_gone || fail "programs left loaded"
}

t_netns_not_a_netns() {
	"$GP" run --netns /proc/self/ns/mnt --textfile "$T/x.prom" 2>"$T/err"
	expect_eq "$?" 2 "exit status"
	grep -q "not a network namespace" "$T/err" || fail "unclear: $(cat "$T/err")"
}

# Without CAP_BPF/CAP_PERFMON (or CAP_SYS_ADMIN): a clear refusal, exit 1.
t_unprivileged_refused() {
	local rc
	chmod 0777 "$T"
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
		"$GP" run --textfile "$T/x.prom" >"$T/out" 2>"$T/err"
	rc=$?
	expect_eq "$rc" 1 "exit status as nobody"
	grep -q "missing CAP_BPF and CAP_PERFMON" "$T/err" || fail "unclear: $(cat "$T/err")"
	# uid 0 without capabilities is refused the same way.
	setpriv --inh-caps=-all --bounding-set=-all "$GP" check >"$T/out" 2>&1
	expect_eq "$?" 1 "check exit status without capabilities"
	grep -q "missing CAP_BPF and CAP_PERFMON" "$T/out" || fail "check unclear: $(cat "$T/out")"
	gp_progs_gone || fail "programs left loaded"
}

# Kernel BTF hidden in a private mount namespace: refused before any load.
t_no_btf_refused() {
	: >"$T/empty"
	unshare -m --propagation private sh -c \
		'mount --bind "$1" /sys/kernel/btf/vmlinux || exit 90; shift; exec "$@"' \
		sh "$T/empty" "$GP" run --textfile "$T/x.prom" >"$T/out" 2>"$T/err"
	local rc=$?
	[ "$rc" -eq 90 ] && skip "cannot bind-mount over /sys/kernel/btf/vmlinux"
	expect_eq "$rc" 1 "exit status"
	grep -q "no kernel BTF" "$T/err" || fail "unclear: $(cat "$T/err")"
	gp_progs_gone || fail "programs left loaded"
}

# SIGINT: the last outcomes are still written, everything is detached, exit 0.
t_sigint_final_write_and_detach() {
	ns_pair 22
	listen "$NSB" "$B4" 8080
	agent_start --netns "/run/netns/$NSA" --interval 3600
	connects "$NSA" "$B4" 8080 12 >/dev/null
	agent_stop INT
	expect_eq "$(prom "$(conn_series established)")" 12 "counts in the final write"
	grep -q "stopped by Interrupt; detached" "$T/agent.err" || fail "no stop message"
	gp_progs_gone || fail "programs left loaded after SIGINT"
	[ -z "$(ls "$T" | grep '\.tmp\.')" ] || fail "temporary textfile left behind"
}

# A stop asked for while the agent starts (here: SIGINT while it is held
# stopped between loading its rules and attaching; a script's background job
# inherits SIGINT ignored) is acted on once attached: a clean detach, exit 0.
t_sigint_during_startup_detaches() {
	local try rc=
	for try in $(seq 10); do
		"$GP" run -v -i none --textfile "$T/gp.prom" --interval 1 >/dev/null 2>"$T/agent.err" &
		AGENT=$!
		PIDS+=($AGENT)
		until grep -q '^gray rules' "$T/agent.err"; do kill -0 "$AGENT" 2>/dev/null || break; done
		kill -STOP "$AGENT"
		if grep -q 'attached: ' "$T/agent.err"; then	# too late to be a start-up one: again
			kill -CONT "$AGENT"
			agent_stop INT
			continue
		fi
		kill -INT "$AGENT"
		kill -CONT "$AGENT"
		for _ in $(seq 100); do kill -0 "$AGENT" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$AGENT" 2>/dev/null && fail "SIGINT during start-up lost: still running after 10 s"
		wait "$AGENT"; rc=$?
		break
	done
	[ -n "$rc" ] || skip "start-up always over before it could be stopped"
	expect_eq "$rc" 0 "exit status after SIGINT during start-up"
	grep -q "stopped by Interrupt; detached" "$T/agent.err" || fail "no clean stop: $(tail -n 2 "$T/agent.err")"
	gp_progs_gone || fail "programs left loaded"
}

# promtool's linter and node_exporter's textfile collector accept the file.
t_textfile_promtool_and_node_exporter() {
	command -v promtool >/dev/null || skip "promtool not installed (Debian prometheus)"
	command -v prometheus-node-exporter >/dev/null || skip "prometheus-node-exporter not installed"
	ns_pair 23
	listen "$NSB" "$B4" 8080
	mkdir "$T/tf"
	agent_start --netns "/run/netns/$NSA"
	connects "$NSA" "$B4" 8080 9 >/dev/null
	connects "$NSA" "$B4" 8081 4 >/dev/null
	agent_stop
	cp "$T/gp.prom" "$T/tf/grayprobe.prom"
	promtool check metrics <"$T/tf/grayprobe.prom" >"$T/lint" 2>&1 || fail "promtool: $(head -n 5 "$T/lint")"
	grep -q '[0-9]\.[0-9]*e[+-]' "$T/tf/grayprobe.prom" && fail "counts must be integers, not floats"

	local port=$((19100 + RANDOM % 800)) body=
	prometheus-node-exporter --web.listen-address="127.0.0.1:$port" --collector.disable-defaults \
		--collector.textfile --collector.textfile.directory="$T/tf" >"$T/ne.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 50); do
		body=$(curl -sf "http://127.0.0.1:$port/metrics") && break
		sleep 0.1
	done
	[ -n "$body" ] || fail "node_exporter did not answer: $(tail -n 3 "$T/ne.log")"
	grep -qx 'node_textfile_scrape_error 0' <<<"$body" || fail "scrape error: $(grep textfile <<<"$body" | head)"
	# node_exporter sorts labels: match the series whatever their order.
	grep -qE '^grayprobe_connections_total\{.*result="established".*\} 9$' <<<"$body" \
		|| fail "node_exporter does not serve the established count"
	grep -qE '^grayprobe_connections_total\{.*result="refused".*\} 4$' <<<"$body" \
		|| fail "node_exporter does not serve the refused count"
	grep -qE '^grayprobe_connect_duration_seconds_count\{.*\} 9$' <<<"$body" \
		|| fail "node_exporter does not serve the histogram"
}

run_tests "$@"
