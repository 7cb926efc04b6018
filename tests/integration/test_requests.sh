#!/usr/bin/env bash
# Request-level signals end to end: nginx in B, curl in A, the agent in B
# with TC on B's veth (ingress and egress: requests and responses). Each
# request of a keep-alive HTTP/1.1 connection and each HTTP/2 stream gets
# its own gray tag, status class and latency, once per socket direction.
# shellcheck disable=SC2016  # jq programs, in single quotes on purpose
source "$(dirname "$0")/lib.sh"

req_series() {
	echo "grayprobe_http_requests_total{direction=\"$1\",alpn=\"$2\",gray=\"$3\",code=\"$4\"}"
}
expect_grpc() {
	local k="grayprobe_grpc_requests_total{direction=\"$1\",gray=\"$2\",status=\"$3\"}"
	expect_eq "$(prom "$k")" "$4" "$1 gRPC $2 $3"
}
expect_reqs() { expect_eq "$(prom "$(req_series "$1" "$2" "$3" "$4")")" "$5" "$1 $2 $3 $4"; }

# wait_requests N: until N request lines came (a request leaves with its response's end).
wait_requests() {
	local n
	for _ in $(seq 80); do
		n=$(jq -s '[.[] | select(.type == "request")] | length' "$T/events.json" 2>/dev/null)
		[ -n "$n" ] && [ "$n" -ge "$1" ] && return 0
		sleep 0.1
	done
	fail "$n request lines, $1 expected: $(grep '"request"' "$T/events.json" | tail -n 3)"
}

req_nginx_b() {
	nginx_start "$NSB" 8080 8081 <<-NGX
		server {
			listen $B4:8080; listen $B4:8081 http2;
			keepalive_requests 100000;
			location /ok { return 200 "ok\n"; }
			location /missing { return 404 "missing\n"; }
			location /fail { return 503 "fail\n"; }
		}
	NGX
}

# One keep-alive connection, three requests; the gray header on the second only.
t_requests_h1_keepalive() {
	need nginx nginx
	need curl curl
	tag_pair 61
	req_nginx_b
	agent_start_in "$NSB" -i "$IFB" --tag-wait 1 --events json
	ip netns exec "$NSA" curl -sS --max-time 5 -o /dev/null "http://$B4:8080/ok" \
		--next -o /dev/null -H 'X-Canary: one' "http://$B4:8080/missing" \
		--next -o /dev/null "http://$B4:8080/fail" || fail "curl failed"
	wait_requests 6
	agent_stop
	local d
	for d in outbound inbound; do
		expect_reqs $d http/1.1 stable 2xx 1
		expect_reqs $d http/1.1 one 4xx 1
		expect_reqs $d http/1.1 stable 5xx 1
	done
	expect_eq "$(jq -s '[.[] | select(.type == "request" and .gray == "one" and
		.marker == "x-canary" and .path == "/missing" and .status == 404 and
		.latency_ns > 0 and .method == "GET")] | length' "$T/events.json")" 2 "the gray request's lines"
	if command -v promtool >/dev/null; then
		promtool check metrics <"$T/gp.prom" >"$T/promtool.out" 2>&1 \
			|| fail "promtool check metrics: $(head -n 3 "$T/promtool.out")"
	fi
}

# A raw pipelining client: three requests in one write, answered in order.
t_requests_h1_pipelined() {
	need nginx nginx
	tag_pair 68
	req_nginx_b
	agent_start_in "$NSB" -i "$IFB" --tag-wait 1 --events json
	ip netns exec "$NSA" /usr/bin/python3 - "$B4" <<-'PY' >"$T/pipe.out" 2>&1 || fail "client: $(tail -n 2 "$T/pipe.out")"
		import socket, sys
		s = socket.create_connection((sys.argv[1], 8080), timeout=5)
		h = "Host: svc\r\n"
		s.sendall(("GET /ok HTTP/1.1\r\n" + h + "\r\n"
		           "GET /missing HTTP/1.1\r\n" + h + "X-Canary: pipe\r\n\r\n"
		           "GET /fail HTTP/1.1\r\n" + h + "Connection: close\r\n\r\n").encode())
		data = b""
		while True:
		    b = s.recv(65536)
		    if not b:
		        break
		    data += b
		assert data.count(b"HTTP/1.1 ") == 3, data
	PY
	wait_requests 6
	agent_stop
	local d
	for d in outbound inbound; do
		expect_reqs $d http/1.1 stable 2xx 1
		expect_reqs $d http/1.1 pipe 4xx 1
		expect_reqs $d http/1.1 stable 5xx 1
	done
}

# HTTP/2 prior knowledge: streams of one connection, each with its own status.
t_requests_h2c_streams() {
	need nginx nginx
	need nghttp nghttp2-client
	tag_pair 62
	req_nginx_b
	agent_start_in "$NSB" -i "$IFB" --tag-wait 1 --events json
	# curl 7.88 fails a second URL on a prior-knowledge connection; nghttp does not.
	ip netns exec "$NSA" nghttp -n -H 'x-canary: h2' "http://$B4:8081/ok" "http://$B4:8081/fail" \
		|| fail "nghttp failed"
	wait_requests 4
	agent_stop
	local d
	for d in outbound inbound; do
		expect_reqs $d h2c h2 2xx 1
		expect_reqs $d h2c h2 5xx 1
	done
	expect_eq "$(jq -s '[.[] | select(.type == "request" and .stream == 15 and
		.path == "/fail" and .status == 503)] | length' "$T/events.json")" 2 "the second stream's lines"
}

# agent_cpu_ms: user + system CPU time the agent used so far, in ms.
agent_cpu_ms() {
	awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$AGENT/stat"
}

# h2load: N requests over M streams on C connections, every one counted once
# per direction (HPACK state across thousands of header blocks).
t_requests_h2load_exact() {
	need nginx nginx
	need h2load nghttp2-client
	tag_pair 67
	req_nginx_b
	agent_start_in "$NSB" -i "$IFB" --tag-wait 1 --events none
	local n=20000 cpu0 cpu1 t0 t1 ok
	cpu0=$(agent_cpu_ms) t0=$(date +%s%N)
	ip netns exec "$NSA" h2load -n $n -c 4 -m 8 -H 'x-canary: load' "http://$B4:8081/ok" \
		>"$T/h2load.out" 2>&1 || fail "h2load: $(tail -n 3 "$T/h2load.out")"
	t1=$(date +%s%N)
	ok=$(awk '/^status codes:/ { print $3 }' "$T/h2load.out")
	expect_eq "$ok" $n "h2load's 2xx"
	for _ in $(seq 50); do
		[ "$(prom "$(req_series inbound h2c load 2xx)")" = $n ] && break
		sleep 0.2
	done
	cpu1=$(agent_cpu_ms)	# all counted: the agent's whole share of the run
	agent_stop
	echo "h2load: $n requests in $(((t1 - t0) / 1000000)) ms, agent CPU $((cpu1 - cpu0)) ms"
	expect_reqs outbound h2c load 2xx $n
	expect_reqs inbound h2c load 2xx $n
	expect_eq "$(prom 'grayprobe_requests_undecoded_total{direction="inbound",reason="ringbuf"}')" 0 "ringbuf losses"
}

# A slow handler (200 ms): the request's latency is curl's time to first byte
# less its connect, within 10 %.
t_requests_latency_slow() {
	need curl curl
	tag_pair 66
	cat >"$T/slow.py" <<-'PY'
		import sys, time
		from http.server import BaseHTTPRequestHandler, HTTPServer
		class H(BaseHTTPRequestHandler):
		    protocol_version = "HTTP/1.1"
		    def do_GET(self):
		        time.sleep(0.2)
		        self.send_response(200)
		        self.send_header("Content-Length", "3")
		        self.end_headers()
		        self.wfile.write(b"ok\n")
		    def log_message(self, *a): pass
		HTTPServer((sys.argv[1], int(sys.argv[2])), H).serve_forever()
	PY
	ip netns exec "$NSB" /usr/bin/python3 "$T/slow.py" "$B4" 8082 >"$T/slow.out" 2>&1 &
	PIDS+=($!)
	wait_port "$NSB" 8082 $! "$T/slow.out"
	agent_start_in "$NSB" -i "$IFB" --tag-wait 1 --events json
	local curl_ns ours
	curl_ns=$(ip netns exec "$NSA" curl -sS --max-time 5 -o /dev/null \
		-w '%{time_starttransfer} %{time_connect}' "http://$B4:8082/slow" |
		awk '{ printf "%d", ($1 - $2) * 1e9 }') || fail "curl failed"
	wait_requests 2
	agent_stop
	ours=$(jq -s '[.[] | select(.type == "request" and .direction == "outbound")][0].latency_ns' \
		"$T/events.json")
	echo "latency: grayprobe ${ours} ns, curl ${curl_ns} ns"
	awk -v a="$ours" -v b="$curl_ns" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= b / 10) }' \
		|| fail "latency ${ours} ns is not within 10 % of curl's ${curl_ns} ns"
	expect_eq "$(prom 'grayprobe_http_request_duration_seconds_count{direction="inbound",alpn="http/1.1",gray="stable"}')" 1 "histogram count"
	expect_eq "$(prom 'grayprobe_http_request_duration_seconds_bucket{direction="inbound",alpn="http/1.1",gray="stable",le="0.131072"}')" 0 "below 131 ms"
	expect_eq "$(prom 'grayprobe_http_request_duration_seconds_bucket{direction="inbound",alpn="http/1.1",gray="stable",le="0.262144"}')" 1 "below 262 ms"
}

# grpc_start NS ADDR PORT: a Python grpcio server (generic handlers, raw bytes)
# whose /t.S/Ok answers OK, /t.S/Down UNAVAILABLE, /t.S/Late DEADLINE_EXCEEDED.
grpc_start() {
	cat >"$T/server.py" <<-'PY'
		import sys, grpc
		from concurrent import futures
		def ok(req, ctx): return b"ok"
		def down(req, ctx): ctx.abort(grpc.StatusCode.UNAVAILABLE, "down")
		def late(req, ctx): ctx.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "late")
		h = {n: grpc.unary_unary_rpc_method_handler(f) for n, f in
		     (("Ok", ok), ("Down", down), ("Late", late))}
		s = grpc.server(futures.ThreadPoolExecutor(2))
		s.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("t.S", h),))
		s.add_insecure_port(sys.argv[1])
		s.start()
		s.wait_for_termination()
	PY
	ip netns exec "$1" /usr/bin/python3 "$T/server.py" "$2:$3" >"$T/grpc.out" 2>&1 &
	PIDS+=($!)
	wait_port "$1" "$3" $! "$T/grpc.out"
}

# gRPC over h2c: each call's grpc-status, its own metadata's tag.
t_requests_grpc_status() {
	/usr/bin/python3 -c 'import grpc' 2>/dev/null || skip "python3-grpcio not installed"
	tag_pair 65
	grpc_start "$NSB" "$B4" 50051
	agent_start_in "$NSB" -i "$IFB" --tag-wait 1 --events json
	cat >"$T/client.py" <<-'PY'
		import sys, grpc
		ch = grpc.insecure_channel(sys.argv[1])
		for m, md in (("Ok", [("x-canary", "grpc-one")]), ("Down", []), ("Down", []),
		              ("Late", [("x-canary", "grpc-one")]), ("Ok", [])):
		    try:
		        ch.unary_unary("/t.S/" + m)(b"x", metadata=md, timeout=5)
		    except grpc.RpcError as e:
		        pass
	PY
	ip netns exec "$NSA" /usr/bin/python3 "$T/client.py" "$B4:50051" || fail "gRPC client failed"
	wait_requests 10
	agent_stop
	local d
	for d in outbound inbound; do
		expect_grpc $d grpc-one OK 1
		expect_grpc $d grpc-one DEADLINE_EXCEEDED 1
		expect_grpc $d stable UNAVAILABLE 2
		expect_grpc $d stable OK 1
		expect_reqs $d h2c stable 2xx 3
	done
}

run_tests "$@"
