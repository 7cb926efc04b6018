#!/usr/bin/env bash
# Outbound connect latency end to end: real sockets in private namespaces,
# counted exactly from the JSON stream and the textfile.
source "$(dirname "$0")/lib.sh"

N=40

# N established from A, and connects made from B (another namespace) that
# --netns must leave out.
t_established_ipv4_netns_filter() {
	ns_pair 1
	listen "$NSB" "$B4" 8080
	listen "$NSA" "$A4" 8080
	agent_start --netns "/run/netns/$NSA" --events json
	expect_eq "$(connects "$NSA" "$B4" 8080 $N)" "established=$N refused=0 timeout=0 unreachable=0 other=0" "client A"
	expect_eq "$(connects "$NSB" "$A4" 8080 7)" "established=7 refused=0 timeout=0 unreachable=0 other=0" "client B"
	agent_stop
	local ino; ino=$(stat -L -c %i "/run/netns/$NSA")
	expect_eq "$(jq -s "[.[] | select(.result == \"established\" and .family == \"ipv4\" and .saddr == \"$A4\" and .daddr == \"$B4\" and .dport == 8080 and .direction == \"outbound\" and .comm == \"tcpconn\" and .netns == $ino and .latency_ns > 0 and .sport > 0)] | length" "$T/events.json")" "$N" "matching JSON events"
	expect_eq "$(jq -s length "$T/events.json")" "$N" "all JSON events (namespace B must be filtered out)"
	expect_eq "$(prom "$(conn_series established)")" "$N" "established counter"
	expect_eq "$(prom 'grayprobe_connect_duration_seconds_count{direction="outbound",alpn="none",gray="stable"}')" "$N" "histogram count"
	expect_eq "$(prom 'grayprobe_connect_duration_seconds_bucket{direction="outbound",alpn="none",gray="stable",le="+Inf"}')" "$N" "+Inf bucket"
	expect_eq "$(prom 'grayprobe_events_total')" "$N" "events_total"
	expect_eq "$(prom 'grayprobe_events_lost_total{reason="ringbuf_full"}')" 0 "ring buffer losses"
	# Every key of the contract is present in every event.
	expect_eq "$(jq -s '[.[] | select(has("ts") and has("direction") and has("family") and has("saddr") and has("sport") and has("daddr") and has("dport") and has("pid") and has("comm") and has("result") and has("latency_ns") and has("alpn") and has("gray"))] | length' "$T/events.json")" "$N" "events with every key"
}

# RST in SYN_SENT; pid/comm must still be the caller's although the RST is
# handled in softirq.
t_refused() {
	ns_pair 2
	agent_start --netns "/run/netns/$NSA" --events json
	local out pid
	ip netns exec "$NSA" "$TCPCONN" connect "$B4" 9 5 >"$T/client" &
	pid=$!
	wait $pid
	expect_eq "$(cat "$T/client")" "established=0 refused=5 timeout=0 unreachable=0 other=0" "client"
	agent_stop
	expect_eq "$(jq -s "[.[] | select(.result == \"refused\" and .error == \"ECONNREFUSED\" and .dport == 9 and .pid == $pid and .comm == \"tcpconn\" and .sport > 0)] | length" "$T/events.json")" 5 "refused events with the caller's pid/comm"
	expect_eq "$(prom "$(conn_series refused)")" 5 "refused counter"
	expect_eq "$(prom 'grayprobe_connect_duration_seconds_count{direction="outbound",alpn="none",gray="stable"}')" 0 "failures stay out of the histogram"
}

# The peer drops SYNs: with tcp_syn_retries=1 in A the attempt gives up
# after about 3 s (1 s + 2 s backoff).
t_timeout() {
	ns_pair 3
	ip netns exec "$NSA" sysctl -qw net.ipv4.tcp_syn_retries=1
	nft_input "$NSB" "tcp dport 9001 drop"
	agent_start --netns "/run/netns/$NSA" --events json
	expect_eq "$(connects "$NSA" "$B4" 9001 2)" "established=0 refused=0 timeout=2 unreachable=0 other=0" "client"
	agent_stop
	expect_eq "$(jq -s '[.[] | select(.result == "timeout" and .error == "ETIMEDOUT" and .latency_ns > 2000000000 and .latency_ns < 10000000000)] | length' "$T/events.json")" 2 "timeout events near 3 s"
	expect_eq "$(prom "$(conn_series timeout)")" 2 "timeout counter"
}

# ICMP host-unreachable from the peer's firewall.
t_unreachable() {
	ns_pair 4
	nft_input "$NSB" "tcp dport 9002 reject with icmpx type host-unreachable"
	agent_start --netns "/run/netns/$NSA" --events json
	expect_eq "$(connects "$NSA" "$B4" 9002 3)" "established=0 refused=0 timeout=0 unreachable=3 other=0" "client"
	agent_stop
	expect_eq "$(jq -s '[.[] | select(.result == "unreachable" and .error == "EHOSTUNREACH")] | length' "$T/events.json")" 3 \
		"unreachable events (all: $(jq -c '{result, error, latency_ns}' "$T/events.json" | tr '\n' ' '))"
	expect_eq "$(prom "$(conn_series unreachable)")" 3 "unreachable counter"
}

# The same ICMP error to non-blocking clients (curl, and tcpconn's poll
# loop): they read SO_ERROR, which clears sk_err and sk_err_soft, and then
# close the socket still in SYN_SENT.
t_unreachable_nonblocking() {
	need curl curl
	ns_pair 26
	nft_input "$NSB" "tcp dport 9002 reject with icmpx type host-unreachable"
	agent_start --netns "/run/netns/$NSA" --events json
	expect_eq "$(ip netns exec "$NSA" "$TCPCONN" connect-nb "$B4" 9002 3 5000)" \
		"established=0 refused=0 timeout=0 unreachable=3 other=0 abandoned=0" "non-blocking client"
	expect_eq "$(ip netns exec "$NSA" "$TCPCONN" connect-nb "$B6" 9002 2 5000)" \
		"established=0 refused=0 timeout=0 unreachable=2 other=0 abandoned=0" "non-blocking client, IPv6"
	local rc=0
	ip netns exec "$NSA" curl -sS -o /dev/null "http://$B4:9002/" 2>"$T/curl.err" || rc=$?
	expect_eq "$rc" 7 "curl's exit status (couldn't connect): $(cat "$T/curl.err")"
	agent_stop
	expect_eq "$(jq -s '[.[] | select(.result == "unreachable" and .error == "EHOSTUNREACH")] | length' "$T/events.json")" 6 "unreachable events"
	expect_eq "$(jq -s '[.[] | select(.family == "ipv6" and .result == "unreachable")] | length' "$T/events.json")" 2 "IPv6 unreachable events"
	expect_eq "$(jq -s '[.[] | select(.comm == "curl" and .result == "unreachable" and .error == "EHOSTUNREACH")] | length' "$T/events.json")" 1 "curl's attempt"
	expect_eq "$(prom "$(conn_series unreachable)")" 6 "unreachable counter"
	expect_eq "$(prom "$(conn_series other)")" 0 "other counter"
}

# A client that gives up on an unanswered SYN (the peer drops it): curl's
# --connect-timeout, and a non-blocking socket closed in SYN_SENT.
t_abandoned() {
	need curl curl
	ns_pair 27
	nft_input "$NSB" "tcp dport 9003 drop"
	agent_start --netns "/run/netns/$NSA" --events json
	expect_eq "$(ip netns exec "$NSA" "$TCPCONN" connect-nb "$B4" 9003 2 300)" \
		"established=0 refused=0 timeout=0 unreachable=0 other=0 abandoned=2" "non-blocking client"
	local rc=0
	ip netns exec "$NSA" curl -sS -o /dev/null --connect-timeout 1.5 "http://$B4:9003/" 2>"$T/curl.err" || rc=$?
	expect_eq "$rc" 28 "curl's exit status (timeout): $(cat "$T/curl.err")"
	agent_stop
	expect_eq "$(jq -s '[.[] | select(.result == "abandoned" and .error == null)] | length' "$T/events.json")" 3 "abandoned events"
	expect_eq "$(jq -s '[.[] | select(.comm == "tcpconn" and .result == "abandoned" and .latency_ns > 250000000 and .latency_ns < 1000000000)] | length' "$T/events.json")" 2 "tcpconn's attempts, given up after 300 ms"
	expect_eq "$(jq -s '[.[] | select(.comm == "curl" and .result == "abandoned" and .latency_ns > 1400000000 and .latency_ns < 3000000000)] | length' "$T/events.json")" 1 "curl's attempt, given up after 1.5 s"
	expect_eq "$(prom "$(conn_series abandoned)")" 3 "abandoned counter"
	expect_eq "$(prom "$(conn_series other)")" 0 "other counter"
	expect_eq "$(prom 'grayprobe_connect_duration_seconds_count{direction="outbound",alpn="none",gray="stable"}')" 0 "failures stay out of the histogram"
}

t_established_ipv6() {
	ns_pair 5
	listen "$NSB" "$B6" 8080
	agent_start --netns "/run/netns/$NSA" --events json
	expect_eq "$(connects "$NSA" "$B6" 8080 $N)" "established=$N refused=0 timeout=0 unreachable=0 other=0" "client"
	expect_eq "$(connects "$NSA" "$B6" 8081 3)" "established=0 refused=3 timeout=0 unreachable=0 other=0" "client, closed port"
	agent_stop
	expect_eq "$(jq -s "[.[] | select(.result == \"established\" and .family == \"ipv6\" and .saddr == \"$A6\" and .daddr == \"$B6\")] | length" "$T/events.json")" "$N" "IPv6 events"
	expect_eq "$(prom "$(conn_series established)")" "$N" "established counter"
	expect_eq "$(prom "$(conn_series refused)")" 3 "refused counter"
}

# A v6 socket to ::ffff:a.b.c.d is IPv4 on the wire and is reported so.
t_v4_mapped() {
	ns_pair 6
	listen "$NSB" "::" 8080
	agent_start --netns "/run/netns/$NSA" --events json
	expect_eq "$(connects "$NSA" "::ffff:$B4" 8080 5)" "established=5 refused=0 timeout=0 unreachable=0 other=0" "client"
	agent_stop
	expect_eq "$(jq -s "[.[] | select(.family == \"ipv4\" and .saddr == \"$A4\" and .daddr == \"$B4\")] | length" "$T/events.json")" 5 "v4-mapped events reported as IPv4"
}

# The same counts through each state-hook flavour this kernel attaches.
state_hook_case() {
	ns_pair "$1"
	listen "$NSB" "$B4" 8080
	agent_start --netns "/run/netns/$NSA" --events json --state-hook "$2"
	expect_eq "$(connects "$NSA" "$B4" 8080 $N)" "established=$N refused=0 timeout=0 unreachable=0 other=0" "client"
	expect_eq "$(connects "$NSA" "$B4" 8081 2)" "established=0 refused=2 timeout=0 unreachable=0 other=0" "client, closed port"
	agent_stop
	expect_eq "$(prom "$(conn_series established)")" "$N" "established counter via $2"
	expect_eq "$(prom "$(conn_series refused)")" 2 "refused counter via $2"
	grep -q "state_hook=\"$2\"" "$T/gp.prom" || fail "build_info does not name state_hook $2"
}
t_state_hook_tp_btf() {
	hook_available tp_btf || skip "tp_btf does not attach on this kernel (grayprobe check)"
	state_hook_case 7 tp_btf
}
t_state_hook_raw_tp() {
	hook_available raw_tp || skip "raw_tp does not attach on this kernel (grayprobe check)"
	state_hook_case 8 raw_tp
}

# The classic tracepoint needs tracefs for its event id: mount one in a
# private mount namespace so the node's mounts stay as they were.
t_state_hook_tracepoint() {
	ns_pair 9
	listen "$NSB" "$B4" 8080
	rm -f "$T/gp.prom"
	unshare -m --propagation private sh -c \
		'mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing || exit 90; exec "$@"' \
		sh "$GP" run --textfile "$T/gp.prom" --interval 1 --netns "/run/netns/$NSA" \
		--state-hook tracepoint >"$T/events.json" 2>"$T/agent.err" &
	AGENT=$!
	PIDS+=($AGENT)
	for _ in $(seq 100); do
		[ -s "$T/gp.prom" ] && break
		kill -0 "$AGENT" 2>/dev/null || { wait "$AGENT"; [ $? -eq 90 ] && skip "cannot mount tracefs"; fail "agent exited: $(tail -n 3 "$T/agent.err")"; }
		sleep 0.1
	done
	expect_eq "$(connects "$NSA" "$B4" 8080 $N)" "established=$N refused=0 timeout=0 unreachable=0 other=0" "client"
	agent_stop
	expect_eq "$(prom "$(conn_series established)")" "$N" "established counter via the classic tracepoint"
	# The connect hook is still auto's first choice: fentry, kprobe, else the state hook itself.
	local connect=state h
	for h in kprobe fentry; do hook_available "$h" && connect=$h; done
	grep -q "connect_hook=\"$connect\",state_hook=\"tracepoint\"" "$T/gp.prom" \
		|| fail "build_info does not show $connect + the classic tracepoint: $(grep build_info "$T/gp.prom")"
}

# A simultaneous open (here a socket connecting to its own address: SYN_SENT
# -> SYN_RECV -> ESTABLISHED) is still an outbound attempt: counted once, and
# its start entry not left behind.
t_simultaneous_open_counted() {
	command -v python3 >/dev/null || skip "python3 not installed"
	ns_pair 24
	agent_start --netns "/run/netns/$NSA"
	ip netns exec "$NSA" python3 -c '
import socket
keep = []
for i in range(5):
    s = socket.socket()
    s.bind(("'"$A4"'", 41000 + i))
    s.connect(("'"$A4"'", 41000 + i))
    keep.append(s)
' || fail "self-connects failed"
	agent_stop
	expect_eq "$(prom "$(conn_series established)")" 5 "self-connects established"
}

# A peer that answers our SYN with a bare SYN (SYN_SENT -> SYN_RECV) and
# then goes silent: the attempt still ends when the client gives up, counted
# once as "abandoned".
t_simultaneous_open_peer_gives_up() {
	command -v python3 >/dev/null || skip "python3 not installed"
	ns_pair 25
	local ifb=gpv${BASHPID}b	# before "&": a background job has its own BASHPID
	# B's own stack would answer with a RST: only the crafted SYN goes out.
	ip netns exec "$NSB" nft -f - <<-NFT || fail "nft output rule"
		table inet gptest {
			chain out { type filter hook output priority 0; tcp flags rst drop; }
		}
	NFT
	cat >"$T/synsyn.py" <<-'PY'
		import socket, struct, sys, random
		s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
		s.bind((sys.argv[1], 0))
		def csum(b):
		    if len(b) % 2: b += b'\0'
		    t = sum(struct.unpack('!%dH' % (len(b) // 2), b))
		    while t >> 16: t = (t & 0xffff) + (t >> 16)
		    return ~t & 0xffff
		while True:
		    f = s.recv(2048)
		    ip = f[14:]
		    if ip[9] != 6: continue
		    tcp = ip[(ip[0] & 15) * 4:]
		    sport, dport = struct.unpack('!HH', tcp[:4])
		    if dport != 7000 or tcp[13] & 0x12 != 0x02: continue
		    src, dst = ip[12:16], ip[16:20]
		    th = struct.pack('!HHIIBBHHH', 7000, sport, random.getrandbits(32), 0, 5 << 4, 0x02, 64240, 0, 0)
		    th = th[:16] + struct.pack('!H', csum(dst + src + struct.pack('!BBH', 0, 6, len(th)) + th)) + th[18:]
		    iph = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(th), 0, 0x4000, 64, 6, 0, dst, src)
		    iph = iph[:10] + struct.pack('!H', csum(iph)) + iph[12:]
		    s.send(f[6:12] + f[0:6] + b'\x08\x00' + iph + th)
	PY
	ip netns exec "$NSB" python3 "$T/synsyn.py" "$ifb" &
	PIDS+=($!)
	agent_start --netns "/run/netns/$NSA"
	ip netns exec "$NSA" python3 -c '
import socket
for i in range(3):
    s = socket.socket(); s.settimeout(1)
    try: s.connect(("'"$B4"'", 7000))
    except OSError: pass
    s.close()
'
	sleep 0.5
	agent_stop
	expect_eq "$(prom "$(conn_series abandoned)")" 3 "attempts answered by a bare SYN, then abandoned"
}

run_tests "$@"
