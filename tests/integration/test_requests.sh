#!/usr/bin/env bash
# Request-level signals against real peers: nginx (HTTP/1.1 keep-alive and
# pipelined, h2c with prior knowledge), curl, nghttp, h2load, a raw
# pipelining client and a python grpcio server and client (the peers in
# tests/integration/fixtures). The agent runs inside B with TC on B's veth
# (ingress and egress: both directions of every flow). Every count is
# compared with what the peers themselves recorded: nginx's access log (one
# line per request: protocol, status, the gray headers), the gRPC client's
# statuses, tshark's reading of a capture, curl's time_starttransfer.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/req.sh"

# gap WHAT: under a ring buffer far too small for the load (4 KiB), a loss
# issue 16 (records through the agent with zero loss) still owns; WHAT
# says what came instead: the test is skipped with that reason (visible in
# every run) after its checks of what must hold already; deleting the gap
# call turns it into the failure it stands for.
gap() { skip "known gap (issue 16, ring buffer sizing): $*"; }

# ---- HTTP/1.1 ---------------------------------------------------------------

# Keep-alive: a gray header on the second request only, and on later ones;
# 200, 404, 503, a chunked body, a 300 kB body, a POST whose body follows a
# 100 Continue, and HEAD, on the same connection; IPv6; HTTP/1.0 (its own
# alpn label, "http/1.0").
t_req_h1_keepalive_next() {
	req_nginx 90
	agent_in_b
	local out
	head -c 3000 /dev/zero >"$T/post.bin"
	out=$(curl_seq "http://$B4:8080" --http1.1 -- /ok -- /ok 'X-Gray: second' -- /missing \
		-- /fail 'X-Canary: fourth' -- /chunk?ms=0 -- /ok -- /missing 'X-Gray: second' -- /big \
		-- /slow?ms=0 'Expect: 100-continue' --data-binary "@$T/post.bin" -v -- /ok 'X-Gray: last' 2>"$T/curl.err")
	expect_curl "$out" "200 200 404 503 200 200 404 200 200 200" 1
	grep -q '^< HTTP/1.1 100 Continue' "$T/curl.err" || fail "no 100 Continue came: $(grep '^< HTTP' "$T/curl.err")"
	out=$(curl_seq "http://$B4:8080" --http1.1 -I -- /ok -- /ok 'X-Gray: head')
	expect_curl "$out" "200 200" 1
	out=$(curl_seq "http://[$B6]:8080" --http1.1 -- /missing -- /ok 'X-Gray: second-v6' -- /fail)
	expect_curl "$out" "404 200 503" 1
	# HTTP/1.0: a connection a request.
	out=$(curl_seq "http://$B4:8080" --http1.0 -- /ok 'X-Gray: ten' -- /missing)
	expect_curl "$out" "200 404" 2
	expect_requests_as_log
	local d
	for d in $REQ_DIRS; do
		expect_req_lines 1 ".direction == \"$d\" and .method == \"HEAD\" and .gray == \"head\" and .status == 200" \
			"$d: HEAD request line"
		expect_req_lines 1 ".direction == \"$d\" and .path == \"/chunk?ms=0\" and .status == 200 and .latency_ns > 0" \
			"$d: chunked response's request line"
	done
}

# Pipelining: every request in one write, answered in order (FIFO), each
# with its own gray tag; HEAD's response has no body to skip.
t_req_h1_pipelined() {
	req_nginx 91
	agent_in_b
	local out want
	out=$(ip netns exec "$NSA" "$PY" "$FIX/pipeline.py" "$B4" 8080 "GET /ok" "HEAD /ok X-Gray:pipe-head" \
		"GET /missing X-Gray:pipe" "GET /fail" "HEAD /missing" "GET /chunk?ms=0 X-Canary:pipe-chunk" \
		"GET /slow?ms=20" "GET /ok X-Canary:pipe-last" 2>"$T/pipe.err") \
		|| fail "pipelining client: $(cat "$T/pipe.err")"
	want="GET /ok 200;HEAD /ok 200;GET /missing 404;GET /fail 503;HEAD /missing 404;GET /chunk?ms=0 200;GET /slow?ms=20 200;GET /ok 200"
	expect_eq "$(tr '\n' ';' <<<"$out")" "$want;" "pipelined responses"
	# One connection: nginx's $connection is the same on every line.
	expect_eq "$(awk '{ print $7 }' "$T/nginx/req.log" | sort -u | wc -l)" 1 "connections in nginx's log"
	expect_requests_as_log
	local d
	for d in $REQ_DIRS; do
		expect_eq "$(req_events ".direction == \"$d\"" | jq -r '"\(.method) \(.path) \(.gray) \(.status)"' | tr '\n' ';')" \
			"GET /ok stable 200;HEAD /ok pipe-head 200;GET /missing pipe 404;GET /fail stable 503;HEAD /missing stable 404;GET /chunk?ms=0 pipe-chunk 200;GET /slow?ms=20 stable 200;GET /ok pipe-last 200;" \
			"$d: request lines in order"
	done
}

# ---- HTTP/2 cleartext ------------------------------------------------------

# curl with prior knowledge, with and without gray headers (one request a
# connection: Debian 12's curl 7.88.1 fails every reused h2 connection with
# "Error in the HTTP2 framing layer"); nghttp, several streams at once on one
# connection, each with the header; h2client, one connection where only
# the second stream and later ones carry a gray header, one a 300 kB body.
t_req_h2c_curl_nghttp() {
	need nghttp nghttp2-client
	req_nginx 92
	agent_in_b
	local u=http://$B4:8081 path code h
	while read -r path code h; do
		expect_curl "$(curl_seq "$u" --http2-prior-knowledge -- "$path" "$h")" "$code" 1
	done <<-REQS
		/ok 200 X-Gray: h2-curl
		/missing 404
		/fail 503 X-Canary: h2-curl-c
		/ok 200
		/missing 404 X-Gray: h2-curl
	REQS
	ip netns exec "$NSA" nghttp -n -H 'x-gray: nghttp-one' "$u/ok" "$u/missing" "$u/fail" "$u/ok?2" \
		>"$T/nghttp.out" 2>&1 || fail "nghttp: $(tail -n 3 "$T/nghttp.out")"
	ip netns exec "$NSA" nghttp -n "$u/ok" "$u/fail" >"$T/nghttp.out" 2>&1 \
		|| fail "nghttp without header: $(tail -n 3 "$T/nghttp.out")"
	expect_statuses "$(h2c "$B4" 8081 /ok "/ok X-Gray:h2-second" /missing "/fail X-Canary:h2-fourth" \
		"/big X-Gray:h2-big" /ok)" "200 200 404 503 200 200"
	expect_statuses "$(h2c "$B6" 8081 /ok "/missing X-Gray:h2-v6")" "200 404"
	expect_eq "$(awk '$1 == "HTTP/2.0"' "$T/nginx/req.log" | wc -l)" 19 "h2 requests in nginx's log"
	expect_eq "$(awk '$1 == "HTTP/2.0" { print $7 }' "$T/nginx/req.log" | sort -u | wc -l)" 9 "h2 connections in nginx's log"
	expect_requests_as_log
	local d
	for d in $REQ_DIRS; do
		expect_req_lines 17 ".direction == \"$d\" and .alpn == \"h2c\" and .authority == \"$B4:8081\" and .method == \"GET\"" \
			"$d: h2c request lines with :authority and :method"
		expect_req_lines 1 ".direction == \"$d\" and .family == \"ipv6\" and .authority == \"[$B6]:8081\" and .gray == \"h2-v6\" and .status == 404" \
			"$d: the IPv6 h2c request line"
	done
}

# Upgrade: h2c (fixtures/h2c_upgrade.py; nginx does not upgrade): curl
# --http2 and nghttp -u upgrade with their first request, answered on
# stream 1; nghttp's next URIs follow on streams of their own (after its
# PRIORITY-only streams, which are no requests). A request without Upgrade
# stays HTTP/1.1.
t_req_h2c_upgrade() {
	need nghttp nghttp2-client
	need curl curl
	need_py
	tag_pair 86
	ip netns exec "$NSB" "$PY" "$FIX/h2c_upgrade.py" "$B4" 8082 >"$T/upgrade.log" 2>&1 &
	PIDS+=($!)
	wait_port "$NSB" 8082 $! "$T/upgrade.log"
	agent_in_b
	local u=http://$B4:8082 want d
	expect_eq "$(ip netns exec "$NSA" curl -sS --max-time 5 --http2 -o /dev/null -w '%{http_code} %{http_version}' \
		-H 'X-Gray: up-curl' "$u/ok")" "200 2" "curl --http2 (upgrade)"
	expect_eq "$(ip netns exec "$NSA" curl -sS --max-time 5 --http2 -o /dev/null -w '%{http_code} %{http_version}' \
		"$u/missing")" "404 2" "curl --http2 (upgrade), no header"
	ip netns exec "$NSA" nghttp -u -n -H 'x-gray: up-nghttp' "$u/fail" "$u/ok2" "$u/ok3" >"$T/nghttp.out" 2>&1 \
		|| fail "nghttp -u: $(tail -n 3 "$T/nghttp.out")"
	expect_eq "$(ip netns exec "$NSA" curl -sS --max-time 5 --http1.1 -o /dev/null -w '%{http_code} %{http_version}' \
		-H 'X-Gray: up-h1' "$u/fail")" "503 1.1" "curl --http1.1"
	for _ in $(seq 50); do [ "$(grep -c . "$T/upgrade.log")" -ge 6 ] && break; sleep 0.1; done
	expect_eq "$(awk '{ print $1, $3 }' "$T/upgrade.log" | sort | uniq -c | awk '{ printf "%s %s %s;", $2, $3, $1 }')" \
		"h2c 200 3;h2c 404 1;h2c 503 1;http/1.1 503 1;" "answers the server logged"
	want=$(printf '%s\n' 'h2c stable 4xx 1' 'h2c up-curl 2xx 1' 'h2c up-nghttp 2xx 2' 'h2c up-nghttp 5xx 1' \
		'http/1.1 up-h1 5xx 1')
	wait_textfile "$want" req_counts inbound
	agent_stop
	for d in $REQ_DIRS; do
		expect_lines "$(req_counts $d)" "$want" "$d: requests per (alpn, gray, code)"
		expect_req_lines 1 ".direction == \"$d\" and .alpn == \"h2c\" and .path == \"/fail\" and .stream == 1 and .gray == \"up-nghttp\"" \
			"$d: the upgrading request's line (stream 1)"
	done
}

# h2load: N requests over M concurrent streams on one connection, three
# paths in turn; two connections at once; and the same over HTTP/1.1
# keep-alive (--h1).
t_req_h2load() {
	need h2load nghttp2-client
	req_nginx 93
	agent_in_b
	local u=http://$B4:8081
	ip netns exec "$NSA" h2load -n 300 -c 1 -m 10 -H 'x-canary: load' "$u/ok" "$u/missing" "$u/fail" \
		>"$T/h2load.out" 2>&1 || fail "h2load: $(tail -n 3 "$T/h2load.out")"
	# h2load's "succeeded" is 2xx and 3xx only.
	grep -q '300 total, 300 started, 300 done, 100 succeeded, 200 failed, 0 errored' "$T/h2load.out" \
		|| fail "h2load: $(grep requests: "$T/h2load.out")"
	grep -q 'status codes: 100 2xx, 0 3xx, 100 4xx, 100 5xx' "$T/h2load.out" || fail "h2load: $(grep 'status codes' "$T/h2load.out")"
	ip netns exec "$NSA" h2load -n 120 -c 2 -m 10 "$u/ok" >"$T/h2load.out" 2>&1 || fail "h2load, no header"
	u=http://$B4:8080
	ip netns exec "$NSA" h2load --h1 -n 90 -c 2 -H 'x-gray: load-h1' "$u/ok" "$u/fail" "$u/missing" \
		>"$T/h2load.out" 2>&1 || fail "h2load --h1: $(tail -n 3 "$T/h2load.out")"
	grep -q 'status codes: 30 2xx, 0 3xx, 30 4xx, 30 5xx' "$T/h2load.out" || fail "h2load --h1: $(grep 'status codes' "$T/h2load.out")"
	expect_requests_as_log
}

# The slow location (an upstream that sleeps 200 ms): each request's
# latency in its JSON line is within 10 % of curl's time_starttransfer for
# that request (matched by curl's local port), over HTTP/1.1 and h2c.
t_req_slow_latency() {
	req_nginx 94
	agent_in_b
	local i proto port tt d lat
	: >"$T/curl.tt"
	for i in 1 2 3 4 5 6; do
		proto=--http1.1 port=8080
		[ $((i % 2)) = 0 ] && proto=--http2-prior-knowledge port=8081
		ip netns exec "$NSA" curl -sS --max-time 10 -o /dev/null "$proto" -H "X-Gray: slow$i" \
			-w '%{http_code} %{local_port} %{time_starttransfer}\n' "http://$B4:$port/slow" >>"$T/curl.tt" \
			|| fail "curl /slow"
	done
	expect_eq "$(awk '{ print $1 }' "$T/curl.tt" | sort -u)" 200 "curl /slow status"
	expect_requests_as_log
	# 200 ms in the histogram: above the 131.072 ms bound, within 262.144 ms.
	expect_eq "$(series grayprobe_http_request_duration_seconds_bucket inbound le | awk '$1 == "0.131072" { print $2 }')" "" \
		"inbound requests within 131 ms"
	expect_eq "$(series grayprobe_http_request_duration_seconds_bucket inbound le | awk '$1 == "0.262144" { print $2 }')" 6 \
		"inbound requests within 262 ms"
	while read -r _ port tt; do
		for d in $REQ_DIRS; do
			lat=$(req_events ".direction == \"$d\" and .path == \"/slow\" and (.sport == $port or .dport == $port)" | jq -r .latency_ns)
			[ "$(wc -w <<<"$lat")" = 1 ] || fail "$d: request lines for curl port $port: '$lat'"
			note "$d port $port: curl time_starttransfer $tt s, agent latency_ns $lat"
			awk -v a="$lat" -v c="$tt" 'BEGIN { r = a / 1e9 / c; exit !(r >= 0.9 && r <= 1.1) }' \
				|| fail "$d: /slow latency $lat ns vs curl's time_starttransfer $tt s (port $port): not within 10 %"
		done
	done <"$T/curl.tt"
}

# agent_cpu_ms: user + system CPU time the agent used so far, in ms.
agent_cpu_ms() {
	awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$AGENT/stat"
}

# h2load: 20000 h2c requests over 4 connections x 8 streams, each counted
# once per direction (HPACK state across thousands of header blocks, no
# ring loss at the default size); the agent's CPU for them noted.
t_req_h2load_exact() {
	need h2load nghttp2-client
	req_nginx 75 'keepalive_requests 100000;'
	agent_start_in "$NSB" -i "$IFB" --tag-wait 1 --events none
	local n=20000 cpu0 cpu1 t0 t1 d
	cpu0=$(agent_cpu_ms) t0=$(date +%s%N)
	ip netns exec "$NSA" h2load -n $n -c 4 -m 8 -H 'x-canary: load' "http://$B4:8081/ok" \
		>"$T/h2load.out" 2>&1 || fail "h2load: $(tail -n 3 "$T/h2load.out")"
	t1=$(date +%s%N)
	expect_eq "$(awk '/^status codes:/ { print $3 }' "$T/h2load.out")" $n "h2load's 2xx"
	expect_eq "$(log_lines)" $n "requests in nginx's log"
	wait_textfile "h2c load 2xx $n" req_counts inbound
	cpu1=$(agent_cpu_ms)	# all counted: the agent's whole share of the run
	agent_stop
	note "h2load: $n requests in $(((t1 - t0) / 1000000)) ms, agent CPU $((cpu1 - cpu0)) ms"
	for d in $REQ_DIRS; do
		expect_lines "$(req_counts $d)" "h2c load 2xx $n" "$d: requests per (alpn, gray, code)"
		expect_eq "$(series grayprobe_requests_undecoded_total $d reason | sum_last)" 0 "$d: undecoded requests"
	done
}

# ---- gRPC -------------------------------------------------------------------

# grpc_start PORT: the fixture's server in B on $B4:PORT.
grpc_start() { grpc_peer_start "$NSB" "$B4" "$1"; }
# grpc_calls CALL...: one client channel from A; its output appended to $T/grpc.out.
grpc_calls() { grpc_peer_calls "$NSA" "$B4" 50051 "$@" >>"$T/grpc.out"; }

# Unary and server-streaming calls answering OK, UNAVAILABLE and
# DEADLINE_EXCEEDED (trailers-only, or trailers after messages), with and
# without x-gray / x-canary metadata, gray and stable calls on one channel:
# per (gray, status) exactly what the client saw; as HTTP requests, all 2xx.
t_req_grpc() {
	need_py grpc python3-grpcio
	tag_pair 95
	grpc_start 50051
	agent_in_b
	: >"$T/grpc.out"
	grpc_calls Ok Ok,x-gray=grpc-one Unavailable Unavailable,x-gray=grpc-one Deadline,x-gray=grpc-one \
		Stream Stream,x-gray=grpc-one StreamUnavailable,x-gray=grpc-one Ok Deadline
	grpc_calls Ok,x-canary=grpc-two Ok,x-canary=grpc-two StreamUnavailable Stream,x-canary=grpc-two \
		Unavailable,x-canary=grpc-two
	local want d
	want=$(awk '{ n[$2 " " $3]++ } END { for (k in n) print k, n[k] }' "$T/grpc.out" | sort)
	expect_lines "$want" "$(printf '%s\n' 'grpc-one DEADLINE_EXCEEDED 1' 'grpc-one OK 2' 'grpc-one UNAVAILABLE 2' \
		'grpc-two OK 3' 'grpc-two UNAVAILABLE 1' 'stable DEADLINE_EXCEEDED 1' 'stable OK 3' 'stable UNAVAILABLE 2')" \
		"statuses the gRPC client saw"
	wait_textfile "$want" series grayprobe_grpc_requests_total inbound gray status
	agent_stop
	note "grpc client (gray status n): $(tr '\n' ';' <<<"$want")"
	for d in $REQ_DIRS; do
		note "textfile $d: $(series grayprobe_grpc_requests_total $d gray status | tr '\n' ';')"
		expect_lines "$(series grayprobe_grpc_requests_total $d gray status)" "$want" \
			"$d gRPC calls per (gray, status) vs the client's"
		expect_eq "$(series grayprobe_grpc_request_duration_seconds_count $d gray | sum_last)" 15 "$d: gRPC latency samples"
		# As HTTP requests too: each call's HTTP status is 200, whatever its grpc-status.
		expect_lines "$(req_counts $d)" "$(printf '%s\n' 'h2c grpc-one 2xx 5' 'h2c grpc-two 2xx 4' 'h2c stable 2xx 6')" \
			"$d: the calls as HTTP requests"
		expect_req_lines 2 ".direction == \"$d\" and .path == \"/gp.Test/StreamUnavailable\" and .grpc_status == \"UNAVAILABLE\"" \
			"$d: JSON lines of StreamUnavailable"
	done
}

# ---- HPACK state, captures that start late, GOAWAY --------------------------

# Two connections of 100 streams each, every request with its own
# 200-byte x-pad value and a gray value out of five that changes from one
# request to the next; h2client's encoder indexes every field, so the
# 4096-byte dynamic table evicts all along (a request's fields are ~330
# bytes of table), and on the second connection a size update shrinks it
# to 300 bytes (it holds one field at a time). 3 streams in flight. Every
# stream still gets its own tag, exactly as nginx decoded it.
t_req_hpack_eviction() {
	req_nginx 96
	agent_in_b
	local i r=() want
	for i in $(seq 100); do
		case $((i % 4)) in
		0) r+=("/ok?$i X-Gray:g$((i % 5)) X-Pad:p$(printf '%03d%0196d' "$i" "$RANDOM")") ;;
		1) r+=("/missing?$i X-Canary:c$((i % 3)) X-Pad:p$(printf '%03d%0196d' "$i" "$RANDOM")") ;;
		2) r+=("/fail?$i X-Pad:p$(printf '%03d%0196d' "$i" "$RANDOM")") ;;
		3) r+=("/ok?$i X-Gray:g$((i % 5))") ;;
		esac
	done
	want=$(for i in $(seq 100); do case $((i % 4)) in 0|3) printf '200 ' ;; 1) printf '404 ' ;; 2) printf '503 ' ;; esac; done)
	expect_statuses "$(h2c --concurrent 3 "$B4" 8081 "${r[@]}")" "${want% }"
	expect_statuses "$(h2c --concurrent 3 --table-size 300 "$B4" 8081 "${r[@]}")" "${want% }"
	expect_eq "$(awk '{ print $7 }' "$T/nginx/req.log" | sort -u | wc -l)" 2 "connections in nginx's log"
	expect_requests_as_log
}

# cap NAME FILTER: tcpdump in B on B's veth to $T/NAME.pcap, returned once
# it listens (capture_start's, with a file of its own: two may run at once).
cap() {
	# -B: a capture buffer big enough for h2load's bursts (the default drops some).
	ip netns exec "$NSB" tcpdump -Z root -i "$IFB" --immediate-mode -U -s 0 -B 32768 -w "$T/$1.pcap" "$2" \
		>/dev/null 2>"$T/$1.err" &
	PIDS+=($!)
	eval "CAP_$1=$!"
	for _ in $(seq 100); do
		grep -q "listening on" "$T/$1.err" && return 0
		sleep 0.05
	done
	fail "tcpdump $1 did not start: $(tail -n 2 "$T/$1.err")"
}
cap_end() { local p; eval "p=\$CAP_$1"; kill -TERM "$p"; wait "$p" 2>/dev/null; }

# held_client: one h2c connection (h2client): 3 requests tagged "before",
# then /hold (the upstream holds it until $T/go exists), then 3 tagged "after".
held_client() {
	ip netns exec "$NSA" "$PY" "$FIX/h2client.py" "$B4" 8081 "/ok X-Gray:before" "/missing X-Gray:before" \
		"/ok X-Gray:before" /hold "/ok X-Gray:after" "/fail X-Gray:after" "/ok X-Gray:after" >"$T/held.out" 2>&1
}
held_statuses() { awk '{ printf "%s%s", s, $3; s = " " }' "$T/held.out"; }
wait_held() {
	for _ in $(seq 100); do grep -q "got GET /hold" "$T/up-9000.log" && return 0; sleep 0.1; done
	fail "/hold never reached the upstream"
}

# A capture from the connection's start, and one started once it is under
# way (after the 3 "before" requests, while /hold waits): replayed, the
# first gives every request its tag; the second cannot know HPACK's state:
# /hold's response (its request not in the capture) and the 3 "after"
# requests are 4 requests of gray "unknown", none with a wrong tag.
t_req_midstream_capture_replay() {
	need tcpdump tcpdump
	req_nginx 97
	cap full "tcp port 8081"
	held_client &
	local client=$!
	wait_held
	cap mid "tcp port 8081"
	touch "$T/go"
	wait "$client" || fail "h2client: $(cat "$T/held.out")"
	expect_eq "$(held_statuses)" "200 404 200 200 200 503 200" "h2client's statuses"
	cap_end full
	cap_end mid
	"$GP" replay "$T/full.pcap" >"$T/full.json" 2>"$T/full.err" || fail "replay full: $(tail -n 2 "$T/full.err")"
	"$GP" replay "$T/mid.pcap" >"$T/mid.json" 2>"$T/mid.err" || fail "replay mid: $(tail -n 2 "$T/mid.err")"
	local got
	got=$(jq -r 'select(.type == "request") | "\(.gray) \(.code)"' "$T/full.json" | sort | uniq -c | awk '{ print $2, $3, $1 }')
	expect_lines "$got" "$(printf '%s\n' 'after 2xx 2' 'after 5xx 1' 'before 2xx 2' 'before 4xx 1' 'stable 2xx 1')" \
		"replay of the whole connection: requests per (gray, code)"
	# Joined at a frame header, the flow turned round by its first block
	# (the capture's first bytes are /hold's response, from the server);
	# statuses from the static table or literals, HPACK's table unknown.
	got=$(jq -r 'select(.type == "request") | "\(.gray) \(.code) \(.dport) \(.undecoded // "-")"' "$T/mid.json" |
		sort | uniq -c | awk '{ print $2, $3, $4, $5, $1 }')
	expect_lines "$got" "$(printf '%s\n' 'unknown 2xx 8081 midstream 3' 'unknown 5xx 8081 midstream 1')" \
		"replay of the capture started mid-connection: requests per (gray, code, server port, why)"
}

# Live and replayed alike: traffic of every kind, seen by the agent and
# captured at the same veth; grayprobe replay of the capture gives the same
# requests (method, path, gray, status, code) as the live agent's inbound
# lines, and the same latencies within 1 ms.
t_req_replay_matches_live() {
	need tcpdump tcpdump
	need h2load nghttp2-client
	req_nginx 77
	cap full "tcp port 8080 or tcp port 8081"
	agent_in_b
	local i r=() key='"\(.method) \(.path) \(.gray) \(.status) \(.code)"'
	curl_seq "http://$B4:8080" --http1.1 -- /ok -- /missing 'X-Gray: rl' -- /chunk?ms=0 -- /fail 'X-Canary: rl-c' >/dev/null
	ip netns exec "$NSA" "$PY" "$FIX/pipeline.py" "$B4" 8080 "GET /ok X-Gray:rp" "HEAD /missing" "GET /slow?ms=5" \
		>/dev/null || fail "pipelining client"
	for i in $(seq 40); do r+=("/ok?$i X-Gray:r$((i % 3)) X-Pad:$(printf '%04d%0150d' "$i" "$RANDOM")"); done
	h2c --concurrent 4 "$B4" 8081 "${r[@]}" /missing /fail >/dev/null
	ip netns exec "$NSA" h2load -n 60 -c 1 -m 6 -H 'x-gray: rh' "http://$B4:8081/ok" "http://$B4:8081/fail" \
		>"$T/h2load.out" 2>&1 || fail "h2load"
	wait_textfile "$(log_counts)" req_counts inbound
	agent_stop
	cap_end full
	# A capture that lost packets is another capture than the live traffic.
	grep -q "^0 packets dropped by kernel" "$T/full.err" \
		|| skip "tcpdump lost packets: $(grep dropped "$T/full.err" | tr '\n' ' ')"
	"$GP" replay "$T/full.pcap" >"$T/replay.json" 2>"$T/replay.err" || fail "replay: $(tail -n 2 "$T/replay.err")"
	req_events '.direction == "inbound"' | jq -r "$key" | sort >"$T/live.keys"
	jq -r "select(.type == \"request\") | $key" "$T/replay.json" | sort >"$T/replay.keys"
	expect_eq "$(wc -l <"$T/live.keys")" "$(log_lines)" "live request lines"
	cmp -s "$T/live.keys" "$T/replay.keys" \
		|| fail "replay differs from live: $(diff "$T/live.keys" "$T/replay.keys" | head -n 6 | tr '\n' ';')"
	# Latencies, request by request (flow and stream, or order in an HTTP/1 flow).
	key='"\(.sport) \(.stream // 0) \(.path) \(.latency_ns)"'
	req_events '.direction == "inbound"' | jq -r "$key" | sort -k1,1n -k2,2n -s >"$T/live.lat"
	jq -r "select(.type == \"request\") | $key" "$T/replay.json" | sort -k1,1n -k2,2n -s >"$T/replay.lat"
	paste "$T/live.lat" "$T/replay.lat" | awk '$1 != $5 || $2 != $6 || $3 != $7 { print "mismatch:", $0; bad = 1; exit }
		{ d = $4 - $8; if (d < 0) d = -d; if (d > 1e6) { print "latency:", $0; bad = 1; exit }
		  if (d > m) m = d }
		END { if (!bad) print "largest live/replay latency difference", m, "ns"; exit bad }' >"$T/lat.cmp" \
		|| fail "$(cat "$T/lat.cmp")"
	note "$(cat "$T/lat.cmp") over $(wc -l <"$T/live.lat") requests"
}

# The same live: the agent starts while the connection is under way. Its
# sockets' outcomes came before the agent: no direction is known, so the
# same 4 requests are counted as requests of no socket of this node, none
# under a gray tag.
t_req_midstream_live() {
	req_nginx 98
	held_client &
	local client=$!
	wait_held
	agent_in_b
	touch "$T/go"
	wait "$client" || fail "h2client: $(cat "$T/held.out")"
	expect_eq "$(held_statuses)" "200 404 200 200 200 503 200" "h2client's statuses"
	wait_textfile "no_socket 4" series grayprobe_requests_undecoded_total unknown reason
	agent_stop
	expect_lines "$(series grayprobe_http_requests_total '*' gray)" "" "requests per gray"
	expect_req_lines 0 '.gray != "unknown"' "request lines with a tag"
	expect_lines "$(series grayprobe_requests_undecoded_total '*' reason)" "no_socket 4" "undecoded requests"
}

# nginx ends an h2c connection with GOAWAY after keepalive_requests (5):
# h2client, 4 streams in flight, has 3 streams above the GOAWAY's last
# stream id, never answered: they end as "reset". h2load goes on over new
# connections; its unanswered streams are those the capture shows sent
# (HEADERS from the client) and nginx never logged.
t_req_goaway() {
	need h2load nghttp2-client
	need tshark tshark
	need tcpdump tcpdump
	req_nginx 99 'keepalive_requests 5;'
	cap full "tcp port 8081"
	agent_in_b
	expect_statuses "$(h2c --concurrent 4 "$B4" 8081 /ok "/ok X-Gray:ga" /missing "/ok X-Gray:ga" \
		"/fail X-Gray:ga" "/ok X-Gray:ga" /ok "/ok X-Gray:gb")" "200 200 404 200 503 reset reset reset"
	ip netns exec "$NSA" h2load -n 20 -c 1 -m 4 -H 'x-gray: gl' "http://$B4:8081/ok" >"$T/h2load.out" 2>&1
	local sent goaways logged want d
	# Requests on the wire: HEADERS frames from the client; GOAWAYs from nginx.
	wait_textfile "$(log_counts)" req_counts inbound
	cap_end full
	sent=$(tshark -n -r "$T/full.pcap" -d tcp.port==8081,http2 -Y 'tcp.dstport == 8081 && http2.type == 1' \
		-T fields -e http2.type 2>/dev/null | tr ',' '\n' | grep -cx 1)
	goaways=$(tshark -n -r "$T/full.pcap" -d tcp.port==8081,http2 -Y 'tcp.srcport == 8081 && http2.type == 7' \
		-T fields -e http2.type 2>/dev/null | tr ',' '\n' | grep -cx 7)
	logged=$(log_lines)
	note "h2 requests sent $sent, logged $logged, GOAWAY frames $goaways"
	[ "$goaways" -ge 2 ] || fail "GOAWAY frames in the capture: $goaways"
	[ "$sent" -gt "$logged" ] || fail "no request left unanswered: sent $sent, logged $logged"
	want=$( (log_counts; echo "h2c ga reset 1"; echo "h2c stable reset 1"; echo "h2c gb reset 1"
		[ $((sent - logged - 3)) -gt 0 ] && echo "h2c gl reset $((sent - logged - 3))") | sort)
	wait_textfile "$want" req_counts inbound
	agent_stop
	for d in $REQ_DIRS; do
		expect_lines "$(req_counts $d)" "$want" "$d: requests per (alpn, gray, code), resets as the capture shows"
	done
}

# --request-timeout 1: a request held longer ends as code "none" once the
# second is up; its late response is not counted again, nor taken for the
# next request's on the same connection (HTTP/1.1 FIFO, h2c by stream).
t_req_timeout_none() {
	req_nginx 87
	agent_in_b --request-timeout 1
	curl_seq "http://$B4:8080" --http1.1 -- /hold 'X-Gray: held' -- /ok 'X-Gray: after' >"$T/h1.out" 2>&1 &
	local h1=$! h2 want
	ip netns exec "$NSA" "$PY" "$FIX/h2client.py" "$B4" 8081 "/hold X-Gray:held2" "/ok X-Gray:after2" \
		>"$T/h2.out" 2>&1 &
	h2=$!
	for _ in $(seq 100); do [ "$(grep -c "got GET /hold" "$T/up-9000.log")" = 2 ] && break; sleep 0.1; done
	expect_eq "$(grep -c "got GET /hold" "$T/up-9000.log")" 2 "held requests at the upstream"
	want=$(printf '%s\n' 'h2c held2 none 1' 'http/1.1 held none 1')
	wait_textfile "$want" req_counts inbound
	expect_lines "$(req_counts inbound)" "$want" "requests once the held ones timed out"
	touch "$T/go"
	wait "$h1" || fail "curl: $(cat "$T/h1.out")"
	wait "$h2" || fail "h2client: $(cat "$T/h2.out")"
	expect_curl "$(cat "$T/h1.out")" "200 200" 1
	expect_statuses "$(cat "$T/h2.out")" "200 200"
	expect_eq "$(log_lines)" 4 "requests nginx answered"
	want=$(printf '%s\n' 'h2c after2 2xx 1' 'h2c held2 none 1' 'http/1.1 after 2xx 1' 'http/1.1 held none 1')
	wait_textfile "$want" req_counts inbound
	agent_stop
	local d
	for d in $REQ_DIRS; do
		expect_lines "$(req_counts $d)" "$want" "$d: requests after the late responses"
		expect_eq "$(series grayprobe_http_request_duration_seconds_count $d alpn gray | sum_last)" 2 \
			"$d: latency samples (answered in time only)"
	done
}

# Requests the client gives up on before any response: h2c RST_STREAM
# (CANCEL) on a held stream, between answered streams of the same
# connection; an HTTP/1.1 connection closed with its request held. nginx
# logs both as 499; each is code "reset", the streams around it unharmed.
t_req_client_reset() {
	req_nginx 76
	agent_in_b
	expect_statuses "$(h2c "$B4" 8081 "/ok X-Gray:rs" "/hold X-Gray:rs !cancel" "/missing X-Gray:rs" /ok)" \
		"200 cancelled 404 200"
	ip netns exec "$NSA" "$PY" "$FIX/pipeline.py" --close "$B4" 8080 "GET /hold X-Gray:rc" \
		|| fail "pipelining client"
	for _ in $(seq 100); do [ "$(awk '$2 == 499' "$T/nginx/req.log" | wc -l)" = 2 ] && break; sleep 0.1; done
	expect_eq "$(awk '$2 == 499' "$T/nginx/req.log" | wc -l)" 2 "499s in nginx's log"
	touch "$T/go"
	expect_requests_as_log
}

# --max-tags 4 and 12 streams each with a gray value of its own, on one
# connection: at most 4 of them become tags (per direction), the rest are
# counted under alpn="other" gray="other" and in
# grayprobe_requests_overflow_total; stable (pinned) is outside the cap;
# every request is counted once.
t_req_cardinality_capped() {
	req_nginx 74
	agent_in_b --max-tags 4
	local i r=(/ok /ok) d want
	for i in $(seq 12); do r+=("/ok X-Gray:v$i"); done
	r+=(/missing)
	expect_eq "$(h2c "$B4" 8081 "${r[@]}" | awk '{ print $3 }' | sort | uniq -c | awk '{ printf "%s %s;", $2, $1 }')" \
		"200 14;404 1;" "h2client's statuses"
	# Streams come one after the other: v1..v4 take the 4 places.
	want=$(printf '%s\n' 'h2c stable 2xx 2' 'h2c stable 4xx 1' 'h2c v1 2xx 1' 'h2c v2 2xx 1' 'h2c v3 2xx 1' \
		'h2c v4 2xx 1' 'other other 2xx 8')
	wait_textfile "$want" req_counts inbound
	agent_stop
	for d in $REQ_DIRS; do
		note "textfile $d: $(req_counts $d | tr '\n' ';')"
		expect_lines "$(req_counts $d)" "$want" "$d: requests per (alpn, gray, code)"
	done
	expect_eq "$(prom grayprobe_requests_overflow_total)" 16 "grayprobe_requests_overflow_total"
	expect_eq "$(log_lines)" 15 "requests in nginx's log"
}

# wait_quiet: until three textfile writes in a row carry the same request
# counts (the agent has nothing more to count), 30 s at most.
wait_quiet() {
	local last='' same=0 now m
	for _ in $(seq 300); do
		m=$(stat -c %.9Y "$T/gp.prom" 2>/dev/null)
		if [ "$m" != "${M_LAST:-}" ]; then
			M_LAST=$m
			now=$(grep -E '^grayprobe_(http_requests|requests_undecoded)_total' "$T/gp.prom" | md5sum)
			[ "$now" = "$last" ] && same=$((same + 1)) || same=0
			last=$now
			[ "$same" -ge 2 ] && return 0
		fi
		sleep 0.1
	done
	fail "the request counts never settled"
}

# ring_burst ID: nginx, the agent with a 4 KiB ring buffer, and bursts of
# h2c streams whose HPACK state builds on every earlier block (h2client
# indexes each field: 900 streams, 20 at a time, a gray g0..g6 by path;
# h2load repeats its own: 1800 streams, 50 at a time, gray hl; under
# nginx's 1000 requests a connection): records are lost, HPACK state with
# them. Returns once the agent stopped; RING_LOST: the undecoded counts.
ring_burst() {
	need h2load nghttp2-client
	req_nginx "$1"
	agent_in_b --ringbuf-kb 4
	local i r=()
	for i in $(seq 900); do r+=("/ok?$i X-Gray:g$((i % 7)) X-Pad:$(printf '%04d%096d' "$i" "$RANDOM")"); done
	h2c --concurrent 20 "$B4" 8081 "${r[@]}" >"$T/h2c.out"
	expect_eq "$(awk '$3 == 200' "$T/h2c.out" | wc -l)" 900 "h2client's 200s"
	ip netns exec "$NSA" h2load -n 1800 -c 2 -m 50 -H 'x-gray: hl' -H "x-pad: $(printf '%0200d' 7)" \
		"http://$B4:8081/ok" >"$T/h2load.out" 2>&1 || fail "h2load: $(tail -n 3 "$T/h2load.out")"
	expect_eq "$(log_lines)" 2700 "requests nginx answered"
	wait_quiet
	agent_stop
	RING_LOST=$(series grayprobe_requests_undecoded_total inbound reason | tr '\n' ';')
	note "nginx answered $(log_lines); inbound requests: $(req_counts inbound | tr '\n' ';') undecoded: $RING_LOST" \
		"JSON request lines inbound: $(req_events '.direction == "inbound"' | wc -l)"
	[ -n "$RING_LOST" ] || fail "no request undecoded: the 4 KiB ring lost nothing, nothing was tested"
}

# Requests whose records were lost are "unknown" or undecoded, never
# another request's tag: every request line with a tag has the tag its
# client sent for that path, and no tag counts more requests than nginx
# answered with it.
t_req_ringbuf_loss_never_mistagged() {
	local d wrong
	ring_burst 80
	for d in $REQ_DIRS; do
		wrong=$(req_events ".direction == \"$d\" and .gray != \"unknown\"" \
			| jq -r '"\(.path) \(.gray)"' | awk '
				$1 ~ /^\/ok\?[0-9]+$/ { n = substr($1, 5); if ($2 != "g" (n % 7)) print }
				$1 == "/ok" && $2 != "hl" { print }
				$1 !~ /^\/ok/ { print }')
		[ -z "$wrong" ] || fail "$d: request lines with another request's tag: $(head -n 5 <<<"$wrong" | tr '\n' ';')"
		req_counts $d | awk '$2 != "unknown"' | while read -r alpn gray code n; do
			[ "$n" -le "$(log_counts | awk -v k="$alpn $gray $code" '$1 " " $2 " " $3 == k { print $4 }')" ] \
				|| fail "$d: $alpn $gray $code: $n requests, more than nginx answered"
		done || exit 1
	done
}

# The same bursts: every request nginx answered is still counted once, per
# direction, as a request line (tagged, "unknown", or undecoded without a
# status): none vanishes with the records that were lost.
t_req_ringbuf_loss_all_counted() {
	local d
	ring_burst 79
	local n lines=
	for d in $REQ_DIRS; do
		n=$(req_events ".direction == \"$d\"" | wc -l)
		[ "$n" -le 2700 ] || fail "$d: $n request lines for nginx's 2700 answers: counted twice"
		lines="$lines $d $n"
	done
	# The kernel walks on past the records the ring refused and counts the
	# requests among them: B's server sockets see every request once, but
	# for a count still owed when the ring is full at the connection's end
	# (a slower consumer, as under ASan, leaves a few such).
	n=$(req_events '.direction == "inbound"' | wc -l)
	[ "$n" -ge 2600 ] || fail "inbound request lines (undecoded $RING_LOST): expected 2700, got $n"
	[ "$n" = 2700 ] || gap "inbound: $n of 2700 request lines: the kernel's last count of refused requests was itself refused at the connection's end"
	# A's client sockets: under this ring pressure the h2load connections'
	# requests get no outbound direction (the tagger does not join their
	# flow to the client sockets; their first payloads are lost too).
	[ "$lines" = " outbound 2700 inbound 2700" ] \
		|| gap "outbound: requests of connections the tagger did not join to A's client sockets: request lines$lines of 2700"
}

# HTTP/1 under a 4 KiB ring: pipelined heads the ring refused are
# counted from the kernel's running count, in their place: every request
# nginx answered is one inbound request line, and every tagged one has the
# code its path gives (a refused head does not shift the pairing).
t_req_h1_ringbuf_never_mispaired() {
	local c i d r wrong n
	req_nginx 76
	agent_in_b --ringbuf-kb 4
	# 30 connections of 10 pipelined requests: a burst of 100 heads in one
	# GSO segment would pass the walker's 128 steps per segment instead.
	for c in $(seq 30); do
		r=()
		for i in $(seq 10); do
			case $((i % 3)) in
			0) r+=("GET /ok?$i X-Gray:g2xx X-Pad:$(printf '%0600d' "$i")") ;;
			1) r+=("GET /missing?$i X-Gray:g4xx X-Pad:$(printf '%0300d' "$i")") ;;
			2) r+=("GET /fail?$i X-Gray:g5xx X-Pad:$(printf '%0900d' "$i")") ;;
			esac
		done
		ip netns exec "$NSA" "$PY" "$FIX/pipeline.py" "$B4" 8080 "${r[@]}" >"$T/pipe$c.out" \
			|| fail "pipelining client $c: $(tail -n 2 "$T/pipe$c.out")"
	done
	expect_eq "$(log_lines)" 300 "requests nginx answered"
	wait_quiet
	agent_stop
	RING_LOST=$(series grayprobe_requests_undecoded_total inbound reason | tr '\n' ';')
	note "inbound: $(req_counts inbound | tr '\n' ';') undecoded: $RING_LOST"
	[ -n "$RING_LOST" ] || fail "no request undecoded: the 4 KiB ring lost nothing, nothing was tested"
	for d in $REQ_DIRS; do
		wrong=$(req_events ".direction == \"$d\" and .gray != \"unknown\"" | jq -r '"\(.gray) \(.code)"' |
			awk '$2 ~ /xx$/ && $1 != "g" $2')
		[ -z "$wrong" ] || fail "$d: requests paired with another's response: $(sort <<<"$wrong" | uniq -c | tr '\n' ';')"
	done
	# A count still owed when the ring is full at the connection's end is
	# lost with it (counted in grayprobe_http_records_lost_total): a slower
	# consumer, as under ASan, leaves a few (seen: 275 of 300).
	n=$(req_events '.direction == "inbound"' | wc -l)
	[ "$n" -le 300 ] || fail "inbound: $n request lines for nginx's 300 answers: counted twice"
	[ "$n" -ge 240 ] || fail "inbound request lines: expected 300, got $n"
	[ "$n" = 300 ] || gap "inbound: $n of 300 request lines: the kernel's last count of refused heads was itself refused at the connection's end"
}

# Connections that carry their first request only after --tag-wait (a
# client pool that connects ahead): their outcomes are counted first (alpn
# "none", nothing seen yet), and the requests that come later on them are
# still counted, in both directions, each under its own tag.
t_req_first_request_after_tag_wait() {
	req_nginx 78
	agent_in_b
	ip netns exec "$NSA" "$PY" "$FIX/h2client.py" --after "$T/go" "$B4" 8081 /ok "/missing X-Gray:late-h2" \
		>"$T/h2.out" 2>&1 &
	local h2=$! h1 d
	ip netns exec "$NSA" "$PY" "$FIX/pipeline.py" --after "$T/go" "$B4" 8080 "GET /ok X-Gray:late-h1" "GET /fail" \
		>"$T/h1.out" 2>&1 &
	h1=$!
	# Both outcomes of both connections counted, with nothing to tag them by.
	wait_textfile 2 prom "$(tag_hist inbound none stable)"
	wait_textfile 2 prom "$(tag_hist outbound none stable)"
	touch "$T/go"
	wait "$h2" || fail "h2client: $(cat "$T/h2.out")"
	wait "$h1" || fail "pipelining client: $(cat "$T/h1.out")"
	expect_statuses "$(cat "$T/h2.out")" "200 404"
	expect_eq "$(awk '{ printf "%s ", $3 }' "$T/h1.out")" "200 503 " "pipelined statuses"
	expect_requests_as_log
}

# ---- canary end to end -----------------------------------------------------

# p99_of GRAY: the textfile's p99 of inbound http/1.1 GRAY requests, in
# seconds, interpolated in its bucket as Prometheus's histogram_quantile does.
p99_of() {
	series grayprobe_http_request_duration_seconds_bucket inbound alpn gray le \
		| awk -v g="$1" '$1 == "http/1.1" && $2 == g { print ($3 == "+Inf" ? 1e9 : $3), $4 }' | sort -g \
		| awk '{ le[NR] = $1; c[NR] = $2 } END {
			r = 0.99 * c[NR]; lo = 0; prev = 0
			for (i = 1; i <= NR; i++) {
				if (c[i] >= r) { printf "%.6f\n", lo + (le[i] - lo) * (r - prev) / (c[i] - prev); exit }
				lo = le[i]; prev = c[i]
			}
		}'
}
# ok_ratio GRAY: the textfile's inbound share of GRAY requests answered below 5xx.
ok_ratio() {
	req_counts inbound | awk -v g="$1" '$2 == g { t += $4; if ($3 !~ /^(5xx|reset|none)$/) ok += $4 }
		END { printf "%.4f\n", t ? ok / t : -1 }'
}
# between V LO HI: LO <= V <= HI (decimals).
between() { awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v != "" && v >= lo && v <= hi) }'; }

# pq EXPR: the instant vector as sorted "GRAY VALUE" lines (gray label, or "-").
pq() {
	curl -fsS --max-time 5 -G "$PROM_API/query" --data-urlencode "query=$1" 2>/dev/null \
		| jq -r '.data.result[] | "\(.metric.gray // "-") \(.value[1])"' | sort
}

# canary_traffic ROUND STABLE_N CANARY_N: h2load over HTTP/1.1 keep-alive
# from A, the same client for both: STABLE_N requests to the stable nginx,
# CANARY_N with x-canary: canary to the canary one.
canary_traffic() {
	ip netns exec "$NSA" h2load --h1 -n "$2" -c 4 "http://$B4:8090/" >"$T/h2load-s$1.out" 2>&1 \
		|| fail "h2load stable: $(tail -n 3 "$T/h2load-s$1.out")"
	ip netns exec "$NSA" h2load --h1 -n "$3" -c 6 -H 'x-canary: canary' "http://$B4:8091/" \
		>"$T/h2load-c$1.out" 2>&1 || fail "h2load canary: $(tail -n 3 "$T/h2load-c$1.out")"
}

# top_requests GRAY FIELD: a field of top's request row for inbound http/1.1 GRAY.
top_requests() {
	awk -v g="$1" -v f="$2" '/^requests/ { r = 1; next } r && /^$/ { r = 0 }
		r && $1 == "in" && $2 == "http/1.1" && $3 == g { print $f; exit }' "$T/once.txt"
}
# secs LATENCY: top's "164ms", "2.05ms", "895us", "1.05s" in seconds.
secs() {
	awk -v v="$1" 'BEGIN { if (v ~ /us$/) m = 1e-6; else if (v ~ /ms$/) m = 1e-3; else if (v ~ /s$/) m = 1; else exit 1
		sub(/[um]?s$/, "", v); printf "%.6f\n", v * m }'
}

# Stable and canary nginx behind the same client: the canary's upstream
# answers every 33rd request 503 (3 %) and sleeps 150 ms. The textfile (vs
# nginx's log), Prometheus scraping it through node_exporter's textfile
# collector (with the shipped rules loaded), and top --once all show the
# canary's success rate below stable's and its p99 about 150 ms above.
t_req_canary_end_to_end() {
	need h2load nghttp2-client
	need nginx nginx
	command -v prometheus >/dev/null || skip "prometheus not installed (Debian prometheus)"
	command -v prometheus-node-exporter >/dev/null || skip "prometheus-node-exporter not installed"
	tag_pair 88
	upstream_start 9001
	upstream_start 9002 --delay-ms 150 --fail-every 33
	nginx_start "$NSB" 8090 8091 <<-NGX
		$NGX_LOG_FORMAT
		upstream stable { server 127.0.0.1:9001; keepalive 8; }
		upstream canary { server 127.0.0.1:9002; keepalive 8; }
		server {
			listen $B4:8090;
			access_log $T/nginx/req.log gp;
			location / { proxy_pass http://stable; proxy_http_version 1.1; proxy_set_header Connection ""; }
		}
		server {
			listen $B4:8091;
			access_log $T/nginx/req.log gp;
			location / { proxy_pass http://canary; proxy_http_version 1.1; proxy_set_header Connection ""; }
		}
	NGX
	agent_in_b
	local ne d sp cp so co got
	ne=$(free_port)
	node_exporter_start "$ne" "$T"
	prometheus_start node "$PWD/deploy/prometheus/grayprobe.rules.yml" "127.0.0.1:$ne"
	# Round 1 makes the series; round 2, once Prometheus has them, is what rates see.
	canary_traffic 1 40 33
	wait_textfile "$(log_counts)" req_counts inbound
	for _ in $(seq 100); do
		[ "$(pq 'sum(grayprobe_http_requests_total{direction="inbound"})' | awk '{ print $2 }')" = 73 ] && break
		sleep 0.2
	done
	top_once_start "$NSB" -d 12 -i "$IFB" --tag-wait 1
	canary_traffic 2 400 198
	top_once_wait
	wait_textfile "$(log_counts)" req_counts inbound
	agent_stop
	expect_lines "$(req_counts inbound)" "$(log_counts)" "inbound requests per (alpn, gray, code) vs nginx's log"
	expect_lines "$(log_counts)" "$(printf '%s\n' 'http/1.1 canary 2xx 224' 'http/1.1 canary 5xx 7' 'http/1.1 stable 2xx 440')" \
		"nginx's log"

	# The textfile.
	so=$(ok_ratio stable) co=$(ok_ratio canary) sp=$(p99_of stable) cp=$(p99_of canary)
	note "textfile: success stable $so canary $co; p99 stable $sp canary $cp"
	expect_eq "$so" 1.0000 "textfile: stable success ratio"
	expect_eq "$co" 0.9697 "textfile: canary success ratio (224/231)"
	between "$(awk -v c="$cp" -v s="$sp" 'BEGIN { print c - s }')" 0.100 0.250 \
		|| fail "textfile: canary p99 $cp s vs stable's $sp s: not about 150 ms above"

	# Prometheus, from the node_exporter scrapes.
	for _ in $(seq 100); do
		[ "$(pq 'sum(grayprobe_http_requests_total{direction="inbound"})' | awk '{ print $2 }')" = 671 ] && break
		sleep 0.2
	done
	got=$(pq 'sum by (gray) (rate(grayprobe_http_requests_total{direction="inbound",code!~"5xx|reset|none"}[1m]))
		/ sum by (gray) (rate(grayprobe_http_requests_total{direction="inbound"}[1m]))')
	note "prometheus success ratio: $(tr '\n' ';' <<<"$got")"
	so=$(awk '$1 == "stable" { print $2 }' <<<"$got") co=$(awk '$1 == "canary" { print $2 }' <<<"$got")
	expect_eq "$so" 1 "prometheus: stable success ratio"
	between "$co" 0.95 0.99 || fail "prometheus: canary success ratio '$co' (expected about 0.97)"
	got=$(pq 'histogram_quantile(0.99, sum by (gray, le) (rate(grayprobe_http_request_duration_seconds_bucket{direction="inbound"}[1m])))')
	note "prometheus p99: $(tr '\n' ';' <<<"$got")"
	sp=$(awk '$1 == "stable" { print $2 }' <<<"$got") cp=$(awk '$1 == "canary" { print $2 }' <<<"$got")
	between "$(awk -v c="$cp" -v s="$sp" 'BEGIN { print c - s }')" 0.100 0.250 \
		|| fail "prometheus: canary p99 '$cp' vs stable's '$sp': not about 150 ms above"
	expect_recorded_canary
	curl -fsS --max-time 5 "$PROM_API/rules" >"$T/rules.json" || fail "GET /api/v1/rules"
	got=$(jq -r '.data.groups[].rules[] | select(.health != "ok") | "\(.name): \(.lastError)"' "$T/rules.json")
	[ -z "$got" ] || fail "rules with errors: $got"

	# top --once over round 2: error % and p99 of the window.
	so=$(top_requests stable 5) co=$(top_requests canary 5) sp=$(secs "$(top_requests stable 8)") cp=$(secs "$(top_requests canary 8)")
	note "top: err% stable $so canary $co; p99 stable $sp canary $cp"
	between "${co%\%}" 2.5 3.5 || fail "top: canary err% '$co' (6 of 198: 3.0%)"
	expect_eq "${so%\%}" 0.0 "top: stable err%"
	between "$(awk -v c="$cp" -v s="$sp" 'BEGIN { print c - s }')" 0.100 0.250 \
		|| fail "top: canary p99 '$cp' vs stable's '$sp': not about 150 ms above"
	grep -qE '^in +http/1\.1 +canary +P99! +FAIL! ' "$T/once.txt" || fail "top: no P99! FAIL! verdict for the canary"
}

# The shipped recording rules for requests (named in the rules file's
# header), evaluated by that Prometheus on the same data: the canary's
# success ratio about 3 points below stable's, its p99 about 150 ms above.
expect_recorded_canary() {
	local rec=direction_gray:grayprobe_http_request sel='{direction="inbound"}' got so co sp cp
	for _ in $(seq 100); do
		[ "$(pq "${rec}s_success:ratio_minus_stable_5m$sel" | wc -l)" = 1 ] \
			&& [ "$(pq "${rec}_duration_seconds:p99_ratio_to_stable_5m$sel" | wc -l)" = 1 ] && break
		sleep 0.2
	done
	got=$(pq "${rec}s_success:ratio_rate5m$sel")
	note "recorded success ratio: $(tr '\n' ';' <<<"$got")"
	so=$(awk '$1 == "stable" { print $2 }' <<<"$got") co=$(awk '$1 == "canary" { print $2 }' <<<"$got")
	expect_eq "$so" 1 "recorded: stable success ratio"
	between "$co" 0.95 0.99 || fail "recorded: canary success ratio '$co' (expected about 0.97)"
	got=$(pq "${rec}s_success:ratio_minus_stable_5m$sel")
	note "recorded success ratio minus stable's: $got"
	between "$(awk '{ print $2 }' <<<"$got")" -0.05 -0.01 || fail "recorded: canary success minus stable's: '$got'"
	got=$(pq "${rec}_duration_seconds:p99_5m$sel")
	note "recorded p99: $(tr '\n' ';' <<<"$got")"
	sp=$(awk '$1 == "stable" { print $2 }' <<<"$got") cp=$(awk '$1 == "canary" { print $2 }' <<<"$got")
	between "$(awk -v c="$cp" -v s="$sp" 'BEGIN { print c - s }')" 0.100 0.250 \
		|| fail "recorded: canary p99 '$cp' vs stable's '$sp': not about 150 ms above"
	got=$(pq "${rec}_duration_seconds:p99_ratio_to_stable_5m$sel")
	note "recorded p99 ratio to stable: $got"
	between "$(awk '{ print $2 }' <<<"$got")" 5 1000 || fail "recorded: canary p99 ratio to stable's: '$got'"
}

run_tests "$@"
