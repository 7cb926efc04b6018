#!/usr/bin/env bash
# The TLS source's libraries: check's uprobe rows, --ssl-lib, a process in a
# mount namespace of its own with its own copy of libssl found by the rescan
# (its SSL calls counted by the kernel, its records reaching the pipeline),
# a file that takes no uprobes, and the capabilities kept for rescans.
source "$(dirname "$0")/lib.sh"

# The host's libssl.so.3, as openssl maps it.
host_libssl() {
	need openssl openssl
	HOSTLIB=$(ldd "$(command -v openssl)" | awk '$1 ~ /^libssl\.so/ { print $3 }')
	HOSTLIB=$(readlink -f "$HOSTLIB")	# as maps names it: /lib is often /usr/lib
	[ -n "$HOSTLIB" ] && [ -f "$HOSTLIB" ] || skip "openssl links no libssl.so here"
	"$GP" check 2>/dev/null | grep -qE '^  uprobe +ok ' || skip "no uprobes here (grayprobe check)"
	"$GP" check 2>/dev/null | grep -qE '^  sock_tp +ok ' || skip "no sock tracepoints (Linux 6.3+)"
}

# GP_STAT_TLS_CALLS (6) in the agent's own gp_stats, found by its fds, summed over CPUs.
tls_calls() {
	local f id
	for f in /proc/"$AGENT"/fdinfo/*; do
		id=$(awk '$1 == "map_id:" { print $2 }' "$f" 2>/dev/null)
		[ -n "$id" ] && bpftool -j map show id "$id" | jq -e '.name == "gp_stats"' >/dev/null && break
		id=
	done
	[ -n "$id" ] || fail "the agent holds no gp_stats map"
	bpftool -j map lookup id "$id" key 6 0 0 0 | jq '[.formatted.values[].value] | add'
}

# tls_records_seen: the textfile counts TLS plaintext records (any result), within 5 s.
tls_records_seen() {
	for _ in $(seq 50); do
		awk '$1 ~ /^grayprobe_tls_records_total\{/ { n += $2 } END { exit !(n > 0) }' \
			"$T/gp.prom" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "no TLS record reached the agent: $(grep '^grayprobe_tls_records_total' "$T/gp.prom")"
}

# wait_log REGEX [SECONDS]: the agent's log has a line matching REGEX.
wait_log() {
	local i
	for i in $(seq $((${2:-5} * 10))); do
		grep -qE "$1" "$T/agent.err" && return 0
		kill -0 "$AGENT" 2>/dev/null || fail "agent exited: $(tail -n 3 "$T/agent.err")"
		sleep 0.1
	done
	fail "no log line /$1/ within ${2:-5} s: $(tail -n 3 "$T/agent.err")"
}

# tls_server: openssl s_server in B on $B4:8443 (the host's libssl; B is not watched).
tls_server() {
	tls_cert tls.test
	s_server_start "$NSB" "$B4" 8443
}

# client_start [PREFIX...]: s_client in A reading requests from $T/in, run under PREFIX.
client_start() {
	mkfifo "$T/in"
	ip netns exec "$NSA" "$@" openssl s_client -connect "$B4:8443" -quiet <"$T/in" \
		>"$T/client.out" 2>"$T/client.err" &
	CLIENT=$!
	PIDS+=($CLIENT)
	exec 7>"$T/in"
}

# request: one HTTP request over the client's TLS session, its response awaited.
request() {
	printf 'GET / HTTP/1.0\r\n\r\n' >&7
	for _ in $(seq 50); do grep -q 's_server' "$T/client.out" && return 0; sleep 0.1; done
	fail "no response through s_client: $(tail -n 2 "$T/client.err")"
}

# check names the host's libssl, and says uprobes attach to it and what TLS cannot be seen.
t_tlslib_check() {
	host_libssl
	"$GP" check >"$T/check" 2>&1 || fail "check failed: $(tail -n 3 "$T/check")"
	grep -qE "^  uprobe +ok +SSL_write in .*libssl\.so" "$T/check" || fail "uprobe row: $(grep uprobe "$T/check")"
	awk '$1 == "libssl" { print $2 }' "$T/check" | while read -r p; do readlink -f "$p"; done \
		| grep -qxF "$(readlink -f "$HOSTLIB")" || fail "host libssl not listed: $(grep libssl "$T/check")"
	grep -q "^tls limits: statically linked TLS (Go crypto/tls" "$T/check" || fail "no limits line"
}

# --ssl-lib: a copy of libssl used by a client through LD_LIBRARY_PATH gets the
# uprobes, and its calls are counted (only A is watched: the server's are not).
t_tlslib_ssl_lib_copy() {
	host_libssl
	ns_pair 71
	mkdir "$T/lib"
	cp "$HOSTLIB" "$T/lib/"
	agent_start --netns "/run/netns/$NSA" --ssl-lib "$T/lib/$(basename "$HOSTLIB")"
	grep -qF "tls: attached OpenSSL uprobes to $T/lib/$(basename "$HOSTLIB")" "$T/agent.err" \
		|| fail "copy not attached: $(grep tls: "$T/agent.err")"
	tls_server
	client_start env LD_LIBRARY_PATH="$T/lib"
	for _ in $(seq 50); do grep -qF libssl "/proc/$CLIENT/maps" 2>/dev/null && break; sleep 0.1; done
	grep -qF "$T/lib/$(basename "$HOSTLIB")" "/proc/$CLIENT/maps" || fail "the client does not map the copy"
	request
	[ "$(tls_calls)" -gt 0 ] || fail "no SSL call counted through the copy"
	tls_records_seen
}

# A process in a mount namespace of its own, its libssl a copy bind-mounted over the
# host's path, started after the agent: found by the rescan, its calls counted;
# once it is gone, the copy's uprobes come off.
t_tlslib_mount_namespace() {
	local pid
	host_libssl
	ns_pair 72
	mkdir "$T/lib"
	cp "$HOSTLIB" "$T/lib/"
	agent_start --netns "/run/netns/$NSA"
	tls_server
	expect_eq "$(tls_calls)" 0 "TLS calls before the client"
	client_start unshare -m --propagation private sh -c \
		"mount --bind '$T/lib/$(basename "$HOSTLIB")' '$HOSTLIB' && exec \"\$0\" \"\$@\""
	wait_log "tls: attached OpenSSL uprobes to /proc/[0-9]+/root$HOSTLIB \(pid [0-9]+\)"
	pid=$(sed -nE "s|.*uprobes to /proc/([0-9]+)/root$HOSTLIB .*|\1|p" "$T/agent.err" | head -n 1)
	expect_eq "$pid" "$CLIENT" "the process found"
	request
	[ "$(tls_calls)" -gt 0 ] || fail "no SSL call counted from the mount namespace's copy"
	tls_records_seen
	# Its process gone, no one maps the copy: its uprobes (which pin the inode) come off.
	exec 7>&-
	kill "$CLIENT" 2>/dev/null
	wait_log "tls: uprobes off /proc/$pid/root$HOSTLIB: no process maps it any more"
	grep -q "uprobes off $HOSTLIB" "$T/agent.err" && fail "the host's libssl was detached"
	agent_stop
}

# A file without OpenSSL's symbols: one warning, and run goes on with the others.
t_tlslib_cannot_attach() {
	host_libssl
	agent_start --ssl-lib /bin/true --ssl-lib "$T/none/libssl.so.3"
	grep -q "warning: tls: no uprobes on /bin/true, TLS there gets connection-level tags only" \
		"$T/agent.err" || fail "no warning for /bin/true: $(grep tls: "$T/agent.err")"
	grep -q "warning: --ssl-lib $T/none/libssl.so.3: No such file or directory" "$T/agent.err" \
		|| fail "no warning for a missing path"
	grep -q "tls: attached OpenSSL uprobes to " "$T/agent.err" || fail "the host's libssl not attached"
	sleep 2.5	# rescans: said once
	expect_eq "$(grep -c 'no uprobes on /bin/true' "$T/agent.err")" 1 "warnings for /bin/true"
	kill -0 "$AGENT" || fail "agent died"
	agent_stop
}

# Attached, the agent keeps exactly what rescans need (tried in a child), none with --no-tls.
t_tlslib_capabilities() {
	host_libssl
	agent_start
	grep -q "tls: keeping CAP_SYS_PTRACE" "$T/agent.err" || fail "no tls capability line"
	case $(tls_caps_hex) in
	0000000000280000 | 0000004000080000 | 000000c000080000) ;;
	*) fail "kept for rescans: $(grep 'tls: keeping' "$T/agent.err")" ;;
	esac
	expect_eq "$(awk '$1 == "CapEff:" { print $2 }' "/proc/$AGENT/status")" "$(tls_caps_hex)" \
		"CapEff with the TLS source"
	agent_stop
	agent_start --no-tls
	expect_eq "$(awk '$1 == "CapEff:" { print $2 }' "/proc/$AGENT/status")" 0000000000000000 \
		"CapEff with --no-tls"
	grep -q "tls" "$T/agent.err" && ! grep -q "tls=off" "$T/agent.err" && fail "tls with --no-tls"
	agent_stop
}

# A bounding set without the rescans' capabilities (the systemd unit's): run
# goes on, says once that later libraries get no uprobes, and keeps nothing.
t_tlslib_narrow_bounding_set() {
	host_libssl
	rm -f "$T/gp.prom"
	setpriv --bounding-set -all,+bpf,+perfmon,+net_admin "$GP" run --textfile "$T/gp.prom" \
		--interval 1 -i none >/dev/null 2>"$T/agent.err" &
	AGENT=$!
	PIDS+=($AGENT)
	wait_log "^grayprobe: wrote $T/gp.prom " 10
	grep -q "warning: tls: library rescans need CAP_SYS_PTRACE and CAP_" "$T/agent.err" \
		|| fail "no warning: $(grep tls: "$T/agent.err")"
	expect_eq "$(awk '$1 == "CapEff:" { print $2 }' "/proc/$AGENT/status")" 0000000000000000 \
		"CapEff without the rescans' capabilities"
	agent_stop
}

# Before Linux 6.3 (no sock_send_length/sock_recv_length: Debian 12's 6.1)
# a TLS session cannot be joined to its flow: check says so, and run warns
# once and goes on with connection-level tags (the TLS connection counted
# with its ALPN). Run by the kernel matrix on 6.1; skipped where the
# tracepoints exist.
t_tlslib_no_sock_tracepoints() {
	need openssl openssl
	"$GP" check >"$T/check" 2>&1
	grep -qE '^  sock_tp +ok ' "$T/check" && skip "this kernel has the sock tracepoints (the 6.1 matrix runs it)"
	grep -qE '^  sock_tp +no +.*sock_send_length' "$T/check" || fail "check's sock_tp row: $(grep sock_tp "$T/check")"
	tag_pair 72
	agent_start_in "$NSB" -i "$IFB" --tag-wait 1
	grep -q "tls: the kernel has no sock_send_length/sock_recv_length tracepoints (Linux 6.3+).*connection-level tags only" \
		"$T/agent.err" || fail "no warning: $(grep tls: "$T/agent.err")"
	tls_server
	ip netns exec "$NSA" curl -sk --http1.1 -o /dev/null "https://$B4:8443/" || fail "curl over TLS failed"
	for _ in $(seq 100); do
		[ "$(prom "grayprobe_connections_total{direction=\"outbound\",alpn=\"http/1.1\",gray=\"stable\",result=\"established\"}")" = 1 ] && break
		sleep 0.1
	done
	expect_eq "$(prom "grayprobe_connections_total{direction=\"outbound\",alpn=\"http/1.1\",gray=\"stable\",result=\"established\"}")" 1 \
		"the TLS connection, tagged by its ALPN"
	expect_eq "$(prom 'grayprobe_tls_records_total{result="decoded"}')" 0 "TLS records decoded"
	agent_stop
}

run_tests "$@"
