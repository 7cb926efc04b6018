#!/usr/bin/env bash
# Gray rules as operators change them (SIGHUP, bad files), the tag cap under
# made-up header values, and the classifier sharing an interface with
# programs and qdiscs that were there before it.
source "$(dirname "$0")/lib.sh"

http_a() { ip netns exec "$NSA" curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "$@" "http://$B4:8080/"; }
agent_in_b() { agent_start_in "$NSB" -i "$IFB" --tag-wait 1 --events json "$@"; }
plain_nginx_b() {
	nginx_start "$NSB" 8080 <<-NGX
		server { listen $B4:8080; location / { return 200 "ok\n"; } }
	NGX
}

# SIGHUP re-reads --rules: new flows get the new rules, counts are kept; a
# bad file is refused with FILE:LINE and the rules in use stay.
t_sighup_reload_keeps_counts() {
	need nginx nginx
	tag_pair 56
	plain_nginx_b
	echo 'header x-user = beta' >"$T/rules"
	agent_in_b --rules "$T/rules"
	expect_eq "$(http_a -H 'X-User: 1')" 200 "request under the first rules"
	wait_events 2
	echo 'header x-user = gamma' >"$T/rules"
	kill -HUP "$AGENT"
	for _ in $(seq 50); do grep -q "SIGHUP: 6 gray rules loaded" "$T/agent.err" && break; sleep 0.1; done
	grep -q "SIGHUP: 6 gray rules loaded" "$T/agent.err" || fail "no reload logged: $(tail -n 2 "$T/agent.err")"
	expect_eq "$(http_a -H 'X-User: 2')" 200 "request under the reloaded rules"
	wait_events 4
	printf 'header x-user = gamma\ndport 70000 = x\nsni [unclosed = y\n' >"$T/rules"
	kill -HUP "$AGENT"
	for _ in $(seq 50); do grep -q "$T/rules:3: " "$T/agent.err" && break; sleep 0.1; done
	grep -q "$T/rules:2: .*70000.*; keeping the rules in use" "$T/agent.err" \
		|| fail "bad file not refused with FILE:LINE: $(tail -n 2 "$T/agent.err")"
	grep -q "$T/rules:3: sni: '\[unclosed' has a '\[' that is never closed; keeping the rules in use" \
		"$T/agent.err" || fail "second bad line not reported: $(tail -n 2 "$T/agent.err")"
	kill -0 "$AGENT" 2>/dev/null || fail "the agent died on a bad rules file"
	expect_eq "$(http_a -H 'X-User: 3')" 200 "request after the refused reload"
	wait_events 6
	agent_stop
	local d
	for d in outbound inbound; do
		expect_tag $d http/1.1 beta 1
		expect_tag $d http/1.1 gamma 2
	done
	expect_events 2 '.gray == "beta" and .http_marker == "x-user"'
	expect_events 4 '.gray == "gamma" and .http_marker == "x-user"'
}

# Random gray header values from a peer: at most --max-tags (alpn, gray)
# pairs per direction, the rest under other/other and counted.
t_cardinality_capped() {
	need nginx nginx
	tag_pair 57
	plain_nginx_b
	agent_in_b --max-tags 4
	local i n=30
	for i in $(seq $n); do
		expect_eq "$(http_a -H "X-Gray: v$RANDOM$i")" 200 "request $i"
	done
	wait_events $((2 * n))
	agent_stop
	local d tags
	for d in outbound inbound; do
		# gray="stable" is pinned and outside the cap: a stray connection of another
		# namespace's may add its none/stable series.
		tags=$(grep -v 'gray="stable"' "$T/gp.prom" \
			| grep -c "^grayprobe_connections_total{direction=\"$d\",.*result=\"established\"}")
		expect_eq "$tags" 5 "$d: established series (4 tags + other)"
		expect_tag $d other other $((n - 4))
	done
	expect_eq "$(prom grayprobe_tags_overflow_total)" $((2 * (n - 4))) "grayprobe_tags_overflow_total"
	expect_events $((2 * n)) '.alpn == "http/1.1" and (.gray | startswith("v"))'
}

# A bad rules file at start: every bad line on its own line, FILE:LINE
# first, and exit 2 before anything is attached.
t_rules_file_every_error_listed() {
	printf 'sni [unclosed = x\ndport 443 = ok\ndport 70000 = y\n# c\nheader x-a ~ a,,b\n' >"$T/rules"
	"$GP" run -i none --textfile "$T/gp.prom" --rules "$T/rules" >/dev/null 2>"$T/agent.err"
	expect_eq "$?" 2 "exit status with a bad rules file"
	expect_eq "$(grep -c "$T/rules:" "$T/agent.err")" 3 "error lines: $(cat "$T/agent.err")"
	grep -q "$T/rules:1: sni: '\[unclosed' has a '\[' that is never closed\$" "$T/agent.err" \
		&& grep -q "$T/rules:3: dport: 70000 is not a port 1..65535\$" "$T/agent.err" \
		&& grep -q "$T/rules:5: header x-a ~: 'a,,b' has an empty entry\$" "$T/agent.err" \
		|| fail "not every bad line reported: $(cat "$T/agent.err")"
	[ -e "$T/gp.prom" ] && fail "a textfile was written with refused rules"
	return 0
}

# junk_flood N HEADER: N requests from A, each with HEADER: junk-<random>.
junk_flood() {
	local i
	for i in $(seq "$1"); do
		expect_eq "$(http_a -H "$2: junk-$RANDOM$i")" 200 "junk request $i"
	done
}

# A header rule that names the values it accepts: a flood of others never
# becomes a tag (the default rule for the header is left out too) and is
# counted as rejected; the real canary still gets its tag.
t_cardinality_restricted_header() {
	need nginx nginx
	tag_pair 49
	plain_nginx_b
	agent_in_b --max-tags 4 --rule 'header x-canary ~ real-canary,rc-[0-9]'
	local n=30 d
	junk_flood $n X-Canary
	expect_eq "$(http_a -H 'X-Canary: real-canary')" 200 "canary request"
	wait_events $((2 * n + 2))
	agent_stop
	for d in outbound inbound; do
		expect_tag $d http/1.1 real-canary 1
		expect_tag $d http/1.1 stable $n
	done
	grep -q 'gray="junk-' "$T/gp.prom" && fail "a junk value became a tag: $(grep -m1 'gray="junk-' "$T/gp.prom")"
	expect_eq "$(prom grayprobe_gray_values_rejected_total)" $((2 * n)) "grayprobe_gray_values_rejected_total"
	expect_eq "$(prom grayprobe_tags_overflow_total)" 0 "grayprobe_tags_overflow_total"
	grep -q "tag cap reached" "$T/agent.err" && fail "cap warning without a fold"
	return 0
}

# The default rules let a flood of X-Gray values fill --max-tags; a canary
# from a fixed-value rule is still counted under its own tag, and the fold
# is logged (once: at most once a minute) and counted.
t_cardinality_fixed_rule_past_cap() {
	need nginx nginx
	tag_pair 48
	plain_nginx_b
	agent_in_b --max-tags 4 --rule 'header x-real = canary'
	local n=30 d
	junk_flood $n X-Gray
	expect_eq "$(http_a -H 'X-Real: 1')" 200 "canary request"
	wait_events $((2 * n + 2))
	agent_stop
	for d in outbound inbound; do
		expect_tag $d http/1.1 canary 1
		expect_tag $d other other $((n - 4))
	done
	expect_eq "$(prom grayprobe_tags_overflow_total)" $((2 * (n - 4))) "grayprobe_tags_overflow_total"
	expect_eq "$(grep -c 'tag cap reached' "$T/agent.err")" 1 "cap warnings: $(grep 'tag cap' "$T/agent.err")"
	grep -qE '(out|in)bound tag cap reached \(--max-tags 4\): alpn="http/1.1" gray="junk-[0-9]+" counted as alpn="other" gray="other"; outcomes folded so far: [0-9]+ ' \
		"$T/agent.err" || fail "unclear cap warning: $(grep 'tag cap' "$T/agent.err")"
}

# Default rules and a short --tag-idle: the junk that filled the cap
# retires from the textfile, and the real canary then gets its own tag.
t_cardinality_idle_tags_retire() {
	need nginx nginx
	tag_pair 47
	plain_nginx_b
	agent_in_b --max-tags 4 --tag-idle 2s
	local n=6 d r
	junk_flood $n X-Canary
	wait_events $((2 * n))
	for _ in $(seq 150); do
		r=$(prom grayprobe_tags_retired_total)
		[ "$r" != absent ] && [ "$r" -ge 16 ] && ! grep -q 'gray="junk-' "$T/gp.prom" && break
		sleep 0.1
	done
	# 4 junk connection tags and 4 junk request tags a direction.
	expect_eq "$r" 16 "grayprobe_tags_retired_total"
	grep -q 'gray="junk-' "$T/gp.prom" && fail "junk series still in the textfile"
	expect_eq "$(http_a -H 'X-Canary: real-canary')" 200 "canary request"
	wait_events $((2 * n + 2))
	agent_stop
	for d in outbound inbound; do
		expect_tag $d http/1.1 real-canary 1
		expect_tag $d other other $((n - 4))
	done
	expect_events 2 '.gray == "real-canary"'
}

# A clsact qdisc and a filter someone else put on the interface: the
# classifier works beside them (tcx or clsact) and leaves both as they were.
coexist() {
	local mode=$1 id=$2 before after
	need nginx nginx
	tag_pair "$id"
	plain_nginx_b
	ip netns exec "$NSB" tc qdisc add dev "$IFB" clsact || fail "tc qdisc add clsact"
	# u32 without an action: the classifier and action modules this kernel has.
	ip netns exec "$NSB" tc filter add dev "$IFB" ingress pref 7 protocol all u32 match u32 0 0 \
		|| fail "cannot add a u32 filter"
	before=$(ip netns exec "$NSB" tc filter show dev "$IFB" ingress)
	agent_in_b --tc-mode "$mode"
	grep -q "classifier=$IFB/ingress($mode)" "$T/agent.err" || fail "not attached as $mode: $(head -n 2 "$T/agent.err")"
	expect_eq "$(http_a -H 'X-Canary: yes')" 200 "request"
	wait_events 2
	agent_stop
	expect_events 2 '.alpn == "http/1.1" and .gray == "yes" and .http_marker == "x-canary"'
	after=$(ip netns exec "$NSB" tc filter show dev "$IFB" ingress)
	expect_eq "$after" "$before" "ingress filters after the agent stopped"
	ip netns exec "$NSB" tc qdisc show dev "$IFB" | grep -q clsact || fail "the existing clsact qdisc was removed"
}
t_coexist_tcx() {
	hook_available tcx || skip "no tcx on this kernel (Linux 6.6+)"
	coexist tcx 58
}
t_coexist_clsact() { coexist clsact 59; }

# clsact forced on a bare interface: its qdisc is made, and removed again.
t_clsact_removes_only_its_qdisc() {
	need nginx nginx
	tag_pair 55
	plain_nginx_b
	agent_in_b --tc-mode clsact --egress
	ip netns exec "$NSB" tc filter show dev "$IFB" ingress | grep -q "gp_tc" || fail "no gp_tc filter on ingress"
	ip netns exec "$NSB" tc filter show dev "$IFB" egress | grep -q "gp_tc" || fail "no gp_tc filter on egress"
	expect_eq "$(http_a)" 200 "request"
	wait_events 2
	agent_stop
	expect_events 2 '.alpn == "http/1.1" and .gray == "stable"'
	ip netns exec "$NSB" tc qdisc show dev "$IFB" | grep -q clsact && fail "clsact qdisc left behind"
	return 0
}

gp_filters() { ip netns exec "$NSB" tc filter show dev "$IFB" ingress | grep -c "gp_tc"; }

# After a SIGKILL, a clsact filter stays behind; the next start replaces it
# (one filter, not two), and a clean stop removes it.
t_clsact_sigkill_then_restart() {
	need nginx nginx
	tag_pair 54
	plain_nginx_b
	agent_in_b --tc-mode clsact
	kill -KILL "$AGENT"
	wait "$AGENT" 2>/dev/null
	expect_eq "$(gp_filters)" 1 "stale filters after SIGKILL"
	agent_in_b --tc-mode clsact
	expect_eq "$(gp_filters)" 1 "filters after the restart"
	expect_eq "$(http_a)" 200 "request"
	wait_events 2
	agent_stop
	expect_events 2 '.alpn == "http/1.1"'
	expect_eq "$(gp_filters)" 0 "filters after a clean stop"
}

# clsact: a second instance in the namespace is refused, naming the first;
# the first goes on. tcx: instances coexist, each seeing every flow.
t_second_instance() {
	need nginx nginx
	tag_pair 53
	plain_nginx_b
	agent_in_b --tc-mode clsact
	ip netns exec "$NSB" "$GP" run -i "$IFB" --tc-mode clsact --textfile "$T/2.prom" \
		>/dev/null 2>"$T/2.err"
	expect_eq "$?" 1 "second clsact instance: exit status"
	grep -q "another grayprobe (pid $AGENT) holds .*one grayprobe per network namespace" "$T/2.err" \
		|| fail "unclear refusal: $(cat "$T/2.err")"
	agent_stop
	hook_available tcx || skip "the clsact half passed; no tcx on this kernel (Linux 6.6+)"
	agent_in_b --tc-mode tcx
	ip netns exec "$NSB" "$GP" run -i "$IFB" --tc-mode tcx --textfile "$T/2.prom" --interval 1 \
		--tag-wait 1 >/dev/null 2>"$T/2.err" &
	local second=$!
	PIDS+=($second)
	for _ in $(seq 50); do [ -s "$T/2.prom" ] && break; sleep 0.1; done
	expect_eq "$(http_a -H 'X-Canary: both')" 200 "request"
	wait_events 2
	kill -TERM "$second"
	wait "$second" || fail "second tcx instance exited $?: $(tail -n 2 "$T/2.err")"
	agent_stop
	grep -q 'grayprobe_connections_total{direction="inbound",alpn="http/1.1",gray="both",result="established"} 1' \
		"$T/2.prom" || fail "second instance did not tag the flow: $(grep gray=\"both\" "$T/2.prom")"
	expect_tag inbound http/1.1 both 1
}

# clsact on a host without /run/lock (minimal hosts, containers): the agent
# makes the lock directory instead of refusing to attach.
t_clsact_without_run_lock() {
	need nginx nginx
	need unshare util-linux
	tag_pair 54
	plain_nginx_b
	rm -f "$T/gp.prom"
	# A private mount namespace with an empty /run: nothing outside it changes.
	ip netns exec "$NSB" unshare -m sh -c 'mount -t tmpfs gpnorun /run && exec "$@"' sh \
		"$GP" run -i "$IFB" --tc-mode clsact --textfile "$T/gp.prom" --interval 1 --tag-wait 1 \
		>"$T/events.json" 2>"$T/agent.err" &
	AGENT=$!
	PIDS+=($AGENT)
	for _ in $(seq 100); do
		[ -s "$T/gp.prom" ] && break
		kill -0 "$AGENT" 2>/dev/null || fail "agent exited early: $(tail -n 3 "$T/agent.err")"
		sleep 0.1
	done
	[ -s "$T/gp.prom" ] || fail "agent wrote no textfile within 10 s"
	expect_eq "$(http_a -H 'X-Canary: nolock')" 200 "request"
	wait_events 2
	agent_stop
	expect_tag inbound http/1.1 nolock 1
}

# A veth that appears while the agent runs and matches its -i pattern is
# hooked within a second and its flows tagged; when it goes, the agent
# notes it and goes on.
t_interfaces_come_and_go() {
	need nginx nginx
	tag_pair 50
	local c=gpv${BASHPID}c w=gpw${BASHPID}a
	nginx_start "$NSB" 8080 <<-NGX
		server { listen 8080; location / { return 200 "ok\n"; } }
	NGX
	agent_start_in "$NSB" -i "gpv${BASHPID}*" --tag-wait 1 --events json
	ip link add "$w" netns "$NSA" type veth peer name "$c" netns "$NSB" || fail "second veth"
	ip -n "$NSA" addr add 198.18.51.1/24 dev "$w"
	ip -n "$NSB" addr add 198.18.51.2/24 dev "$c"
	ip -n "$NSA" link set "$w" up
	ip -n "$NSB" link set "$c" up
	for _ in $(seq 30); do grep -q "new interface $c hooked" "$T/agent.err" && break; sleep 0.1; done
	grep -q "new interface $c hooked" "$T/agent.err" || fail "new veth not hooked: $(tail -n 2 "$T/agent.err")"
	expect_eq "$(ip netns exec "$NSA" curl -sS --max-time 5 -o /dev/null -w '%{http_code}' \
		-H 'X-Canary: late' http://198.18.51.2:8080/)" 200 "request over the new veth"
	wait_events 2
	ip -n "$NSB" link del "$c"
	for _ in $(seq 30); do grep -q "interface $c (ingress): gone" "$T/agent.err" && break; sleep 0.1; done
	grep -q "interface $c (ingress): gone" "$T/agent.err" || fail "vanished veth not noticed: $(tail -n 2 "$T/agent.err")"
	kill -0 "$AGENT" 2>/dev/null || fail "agent died when a veth went away"
	agent_stop
	expect_events 2 '.alpn == "http/1.1" and .gray == "late" and .daddr == "198.18.51.2"'
}

cap_eff() { awk '$1 == "CapEff:" { print $2 }' "/proc/$1/status"; }

# Attached, the agent keeps no capability (tcx), or CAP_NET_ADMIN only to
# remove its clsact filter, and what TLS library rescans need where that
# source works (its own set: test_tlslib.sh); with --user it also stops
# being root.
t_capabilities_dropped() {
	need nginx nginx
	tag_pair 52
	plain_nginx_b
	agent_in_b --no-tls
	# Without tcx (before 6.6) auto uses clsact, whose filters need CAP_NET_ADMIN to come off.
	if hook_available tcx; then
		expect_eq "$(cap_eff "$AGENT")" 0000000000000000 "CapEff with tcx"
	else
		expect_eq "$(cap_eff "$AGENT")" 0000000000001000 "CapEff with clsact (no tcx here)"
	fi
	agent_stop
	agent_in_b
	if hook_available tcx; then
		expect_eq "$(cap_eff "$AGENT")" "$(tls_caps_hex 0)" "CapEff with tcx and TLS"
	else
		expect_eq "$(cap_eff "$AGENT")" "$(tls_caps_hex 1000)" "CapEff with clsact and TLS"
	fi
	agent_stop
	chmod 0711 "$T"	# nobody must reach its directory inside
	mkdir -m 0777 "$T/nobody"
	ip netns exec "$NSB" "$GP" run -i "$IFB" --tc-mode clsact --user nobody --tag-wait 1 \
		--textfile "$T/nobody/gp.prom" --interval 1 >/dev/null 2>"$T/agent.err" &
	AGENT=$!
	PIDS+=($AGENT)
	for _ in $(seq 50); do [ -s "$T/nobody/gp.prom" ] && break; sleep 0.1; done
	[ -s "$T/nobody/gp.prom" ] || fail "no textfile as nobody: $(tail -n 2 "$T/agent.err")"
	expect_eq "$(awk '$1 == "Uid:" { print $2 $3 $4 $5 }' "/proc/$AGENT/status")" \
		"$(id -u nobody)$(id -u nobody)$(id -u nobody)$(id -u nobody)" "uids with --user nobody"
	expect_eq "$(cap_eff "$AGENT")" "$(tls_caps_hex 1000)" "CapEff with clsact: CAP_NET_ADMIN and TLS's"
	expect_eq "$(http_a -H 'X-Canary: yes')" 200 "request"
	sleep 1.5
	agent_stop
	grep -q 'grayprobe_connections_total{direction="inbound",alpn="http/1.1",gray="yes",result="established"} 1' \
		"$T/nobody/gp.prom" || fail "not counted as nobody: $(grep -c . "$T/nobody/gp.prom") lines"
	expect_eq "$(gp_filters)" 0 "clsact filters left after a stop as nobody"
}

# ---- failures under their server endpoint's tag (--endpoint-memory) ----

# ep_pair ID: nginx in B, stable on $B4:8080 and the canary on $B4:8081; the
# agent (in B, TC on B's veth) watches A's sockets only: EP_ARGS.
ep_pair() {
	nginx_pair "$1" 8080 8081
	EP_ARGS=(-i "$IFB" --netns "/run/netns/$NSA" --tag-wait 1)
}

# curl_ep ARGS: "HTTP_CODE CURL_EXIT": "200 0", refused "000 7", given up "000 28".
curl_ep() {
	ip netns exec "$NSA" curl -s --connect-timeout 1 --max-time 5 -o /dev/null \
		-w '%{http_code} %{exitcode}' "$@"
}
canary_ep() { curl_ep -H 'X-Canary: canary' "http://$B4:8081/"; }

# ep_traffic: 6 stable and 3 canary requests (tagged by their X-Canary
# header), then 6 failed canary attempts, which carry no header: 2 reset by
# nftables, 2 blackholed (curl gives up after 1 s), 2 refused once nginx is gone.
ep_traffic() {
	local i
	for i in $(seq 6); do expect_eq "$(curl_ep "http://$B4:8080/")" "200 0" "stable request $i"; done
	for i in 1 2 3; do expect_eq "$(canary_ep)" "200 0" "canary request $i"; done
	nft_input "$NSB" "tcp dport 8081 reject with tcp reset"
	for i in 1 2; do expect_eq "$(canary_ep)" "000 7" "canary request $i, reset"; done
	ip netns exec "$NSB" nft flush chain inet gptest in || fail "nft flush"
	nft_input "$NSB" "tcp dport 8081 drop"
	for i in 1 2; do expect_eq "$(canary_ep)" "000 28" "canary request $i, blackholed"; done
	ip netns exec "$NSB" nft delete table inet gptest || fail "nft delete table"
	kill -TERM "$(cat "$T/nginx/nginx.pid")"
	for _ in $(seq 100); do
		ip netns exec "$NSB" ss -Hltn "sport = :8081" | grep -q . || break
		sleep 0.05
	done
	for i in 1 2; do expect_eq "$(canary_ep)" "000 7" "canary request $i, nginx stopped"; done
}

# Outcomes of outbound ALPN GRAY in the textfile other than established, summed.
fails_of() {
	awk -v p="grayprobe_connections_total{direction=\"outbound\",alpn=\"$1\",gray=\"$2\",result=\"" \
		'index($1, p) == 1 && $1 !~ /result="established"/ { s += $2 } END { print s + 0 }' "$T/gp.prom"
}

# A failed attempt has no payload to tag: it takes the tag its server
# endpoint's last tagged flow had, marked "tag_from":"endpoint".
t_endpoint_memory_failures() {
	ep_pair 70
	agent_start_in "$NSB" "${EP_ARGS[@]}" --events json
	ep_traffic
	wait_events 15
	agent_stop
	expect_tag outbound http/1.1 stable 6
	expect_tag outbound http/1.1 canary 3
	expect_eq "$(prom "$(tag_conn outbound http/1.1 canary refused)")" 4 "textfile: refused canary"
	expect_eq "$(fails_of http/1.1 canary)" 6 "textfile: canary outcomes not established"
	expect_eq "$(fails_of none stable)" 0 "textfile: none/stable outcomes not established"
	expect_eq "$(fails_of http/1.1 stable)" 0 "textfile: stable outcomes not established"
	expect_events 6 '.gray == "canary" and .alpn == "http/1.1" and .result != "established" and .tag_from == "endpoint"'
	expect_events 0 '.result == "established" and has("tag_from")'
	expect_events 9 '.result == "established" and .alpn == "http/1.1"'
}

# top's verdict judges the canary by its failures too.
t_endpoint_memory_top_fail() {
	ep_pair 71
	rm -f "$T/gp.prom"
	# 9 attempts a side: judged with that few samples.
	top_once_start "$NSB" -d 15 --min-samples 3 "${EP_ARGS[@]}" --textfile "$T/gp.prom"
	ep_traffic
	top_once_wait
	# Its requests were answered: its refused attempts still fail it, by connections.
	grep -qE '^out +http/1\.1 +canary +FAIL! .* \+67pp\*? +conn$' "$T/once.txt" \
		|| fail "no FAIL! verdict for the canary: $(grep -E '^out +http/1\.1 +canary' "$T/once.txt")"
	grep -qE '^out +none +stable ' "$T/once.txt" && fail "failures left under none/stable"
	expect_eq "$(fails_of http/1.1 canary)" 6 "textfile: canary outcomes not established"
}

# --endpoint-memory 0: failures stay none/stable, as before it existed.
t_endpoint_memory_off() {
	ep_pair 72
	agent_start_in "$NSB" "${EP_ARGS[@]}" --events json --endpoint-memory 0
	ep_traffic
	wait_events 15
	agent_stop
	expect_tag outbound http/1.1 canary 3
	expect_eq "$(fails_of http/1.1 canary)" 0 "textfile: canary outcomes not established"
	expect_eq "$(fails_of none stable)" 6 "textfile: none/stable outcomes not established"
	expect_eq "$(prom "$(tag_conn outbound none stable refused)")" 4 "textfile: refused none/stable"
	expect_events 0 'has("tag_from")'
}

run_tests "$@"
