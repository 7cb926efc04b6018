#!/usr/bin/env bash
# HTTPS request signals (issue 14): nginx over TLS (Debian's, linked with
# libssl3) on HTTP/1.1 and h2, clients that use OpenSSL too (curl, Python's
# ssl under http.client and fixtures/h2client.py). The agent runs inside B
# with TC on B's veth; its uprobes on libssl see both ends' plaintext (A's
# clients: outbound, B's nginx: inbound). Every count is compared with
# nginx's access log, per (alpn, gray, code) and request by request.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/req.sh"

# tls_nginx ID: tag_pair ID, then tls_servers: req_servers over TLS (8443
# http/1.1, 8444 h2 and http/1.1) and TLS_CURL, curl's arguments to reach
# it by name ($TLS_NAME at $B4, v6.$TLS_NAME at $B6) and trust it.
tls_nginx() {
	tag_pair "$1"
	tls_servers
}
tls_servers() {
	local p
	req_servers "" tls
	TLS_CURL=(--cacert "$T/cert.pem")
	for p in 8443 8444; do
		TLS_CURL+=(--resolve "$TLS_NAME:$p:$B4" --resolve "v6.$TLS_NAME:$p:[$B6]")
	done
}

# https_py [--alpn LIST] [--expect-alpn P] PORT REQUEST...: fixtures/https_client.py
# (http.client) from A to $B4:PORT, one connection; h2_tls ARGS... PORT
# REQUEST...: h2client over TLS. Both print "PATH GRAY STATUS" lines.
https_py() {
	need_py
	ip netns exec "$NSA" "$PY" "$FIX/https_client.py" "$TLS_NAME" "$T/cert.pem" "$B4" "$@" 2>"$T/https.err" \
		|| fail "https_client: $(cat "$T/https.err")"
}
h2_tls() { h2c --tls "$TLS_NAME" --cafile "$T/cert.pem" "$B4" "$@"; }

# log_requests: nginx's access log as sorted "ALPN PATH GRAY STATUS" lines,
# one per request; req_lines DIR: the agent's JSON request lines of DIR alike.
log_requests() { log_reqs | awk '{ print $1, $4, $2, $5 }' | sort; }
req_lines() {
	req_events ".direction == \"$1\"" | jq -r '"\(.alpn) \(.path | sub("\\?.*"; "")) \(.gray) \(.status)"' | sort
}

# expect_tls_requests: expect_requests_as_log, then request by request:
# each direction's JSON lines are nginx's requests (alpn, path, gray,
# status), every one of them marked "tls":true with alpn_negotiated its
# alpn; no TLS record lost, left undecoded as not HTTP, or past the table.
expect_tls_requests() {
	local d r
	expect_requests_as_log
	for d in $REQ_DIRS; do
		expect_lines "$(req_lines $d)" "$(log_requests)" "$d: request lines (alpn path gray status) vs nginx's log"
		expect_req_lines 0 ".direction == \"$d\" and (.tls != true or .alpn_negotiated != .alpn)" \
			"$d: request lines without \"tls\":true and alpn_negotiated"
	done
	note "TLS records: $(series grayprobe_tls_records_total '*' result | tr '\n' ';') lost $(prom grayprobe_tls_records_lost_total)"
	[ "$(series grayprobe_tls_records_total '*' result | awk '$1 == "decoded" { print $2 }')" -gt 0 ] 2>/dev/null \
		|| fail "no TLS record decoded"
	for r in not_http table_full; do
		expect_eq "$(prom "grayprobe_tls_records_total{result=\"$r\"}")" 0 "TLS records $r"
	done
	expect_eq "$(prom grayprobe_tls_records_lost_total)" 0 "TLS records lost"
}

# expect_conns WANT: after the agent stopped, each direction's established
# connections of our flows per alpn label (the client's first offer) are
# WANT ("ALPN N" lines); loopback's (nginx to its upstream, alpn none) aside.
expect_conns() {
	local d
	for d in $REQ_DIRS; do
		expect_lines "$(series grayprobe_connections_total $d alpn result | awk '$2 == "established" && $1 != "none" { print $1, $3 }')" \
			"$1" "$d: established connections per alpn"
	done
}

# curl over TLS, several requests a connection mixing gray headers and
# statuses (200, 503, the slow location): --http1.1 on the http/1.1 port
# and on the h2 port (ALPN http/1.1 only), --http2 there (h2), IPv4 and
# IPv6. Every request counted in both directions as nginx logged it.
t_tls_curl() {
	tls_nginx 60
	agent_in_b
	local out
	out=$(curl_seq "https://$TLS_NAME:8443" --http1.1 "${TLS_CURL[@]}" -- /ok -- /ok 'X-Canary: tls' -- /fail \
		-- /fail 'X-Canary: tls' -- /slow?ms=0 'X-Canary: tls' -- /big -- /ok 'X-Gray: tls-last')
	expect_curl "$out" "200 200 503 503 200 200 200" 1
	out=$(curl_seq "https://$TLS_NAME:8444" --http1.1 "${TLS_CURL[@]}" -- /ok 'X-Canary: tls' -- /missing)
	expect_curl "$out" "200 404" 1
	out=$(curl_seq "https://$TLS_NAME:8444" --http2 "${TLS_CURL[@]}" -- /ok 'X-Canary: tls' -- /ok -- /fail 'X-Canary: tls' \
		-- /slow?ms=0 -- /big 'X-Canary: tls' -- /missing 'X-Gray: h2-tls' -- /ok)
	expect_curl "$out" "200 200 503 200 200 404 200" 1
	out=$(curl_seq "https://v6.$TLS_NAME:8444" --http2 "${TLS_CURL[@]}" -- /fail -- /ok 'X-Canary: tls')
	expect_curl "$out" "503 200" 1
	out=$(curl_seq "https://v6.$TLS_NAME:8443" --http1.1 "${TLS_CURL[@]}" -- /ok 'X-Canary: tls' -- /fail)
	expect_curl "$out" "200 503" 1
	expect_eq "$(awk '{ print $1 }' "$T/nginx/req.log" | sort | uniq -c | awk '{ printf "%s %s;", $2, $1 }')" \
		"HTTP/1.1 11;HTTP/2.0 9;" "requests per protocol in nginx's log"
	expect_tls_requests
	expect_conns "$(printf '%s\n' 'h2 2' 'http/1.1 3')"
	local d
	for d in $REQ_DIRS; do
		expect_req_lines 2 ".direction == \"$d\" and .family == \"ipv6\" and .alpn == \"h2\"" "$d: IPv6 h2 request lines"
		expect_req_lines 1 ".direction == \"$d\" and .alpn == \"h2\" and .gray == \"h2-tls\" and .status == 404 and .authority == \"$TLS_NAME:8444\"" \
			"$d: the h2 request line with its gray, status and :authority"
	done
}

# Python's http.client over ssl: no ALPN offered (the connection's alpn
# label is "tls", its requests' "http/1.1", from the plaintext), and
# ALPN http/1.1; h2client over TLS, 3 streams in flight, gray headers from
# the second stream on (HPACK across streams).
t_tls_python() {
	tls_nginx 61
	agent_in_b
	expect_statuses "$(https_py --expect-alpn none 8443 /ok "/ok X-Canary:tls" /fail "/fail X-Canary:tls" \
		"/slow?ms=0 X-Gray:py" /missing)" "200 200 503 503 200 404"
	expect_statuses "$(https_py --alpn http/1.1 --expect-alpn http/1.1 8444 "/fail X-Canary:tls" /ok)" "503 200"
	expect_statuses "$(h2_tls --concurrent 3 8444 /ok "/ok X-Canary:tls" "/fail X-Canary:tls" /fail \
		"/slow?ms=0 X-Gray:py-h2" "/big X-Canary:tls" "/missing X-Canary:tls" /ok)" "200 200 503 503 200 200 404 200"
	expect_eq "$(awk '{ print $7 }' "$T/nginx/req.log" | sort -u | wc -l)" 3 "connections in nginx's log"
	expect_tls_requests
	expect_conns "$(printf '%s\n' 'h2 1' 'http/1.1 1' 'tls 1')"
}

# The slow location (the upstream sleeps 200 ms), over HTTP/1.1 and h2:
# each request's latency in its JSON line is at least the delay and within
# 10 % of curl's time from the request's start to its first response
# byte (time_starttransfer - time_pretransfer); 200 ms in the histogram.
t_tls_slow_latency() {
	tls_nginx 62
	agent_in_b
	local i proto port d lat
	: >"$T/curl.tt"
	for i in 1 2 3 4 5 6; do
		proto=--http1.1 port=8443
		[ $((i % 2)) = 0 ] && proto=--http2 port=8444
		ip netns exec "$NSA" curl -sS --max-time 10 -o /dev/null "$proto" "${TLS_CURL[@]}" -H "X-Canary: slow$i" \
			-w '%{http_code} %{local_port} %{time_pretransfer} %{time_starttransfer}\n' \
			"https://$TLS_NAME:$port/slow" >>"$T/curl.tt" || fail "curl /slow"
	done
	expect_eq "$(awk '{ print $1 }' "$T/curl.tt" | sort -u)" 200 "curl /slow status"
	expect_tls_requests
	for d in $REQ_DIRS; do
		expect_eq "$(series grayprobe_http_request_duration_seconds_bucket $d le | awk '$1 == "0.131072" { print $2 }')" "" \
			"$d: requests within 131 ms"
		expect_eq "$(series grayprobe_http_request_duration_seconds_bucket $d le | awk '$1 == "0.262144" { print $2 }')" 6 \
			"$d: requests within 262 ms"
	done
	local pre st
	while read -r _ port pre st; do
		for d in $REQ_DIRS; do
			lat=$(req_events ".direction == \"$d\" and .path == \"/slow\" and .sport == $port" | jq -r .latency_ns)
			[ "$(wc -w <<<"$lat")" = 1 ] || fail "$d: request lines for curl port $port: '$lat'"
			note "$d port $port: curl first byte $(awk -v a="$pre" -v b="$st" 'BEGIN { print b - a }') s after the request, agent latency_ns $lat"
			[ "$lat" -ge 200000000 ] || fail "$d: /slow latency $lat ns, below the upstream's 200 ms (port $port)"
			awk -v a="$lat" -v p="$pre" -v s="$st" 'BEGIN { r = a / 1e9 / (s - p); exit !(r >= 0.9 && r <= 1.1) }' \
				|| fail "$d: /slow latency $lat ns vs curl's $pre..$st s (port $port): not within 10 %"
		done
	done <"$T/curl.tt"
}

# starttime PID: when PID started, in clock ticks since boot.
starttime() { awk '{ sub(/.*\) /, ""); print $20 }' "/proc/$1/stat"; }

# The agent first, then nginx, then the clients: processes started after
# the agent, and a libssl mapped after its attach, are covered without a
# restart.
t_tls_started_after_agent() {
	need nginx nginx
	tag_pair 63
	agent_in_b
	tls_servers
	local ngx
	ngx=$(cat "$T/nginx/nginx.pid")
	[ "$(starttime "$ngx")" -gt "$(starttime "$AGENT")" ] || fail "nginx (pid $ngx) started before the agent"
	expect_curl "$(curl_seq "https://$TLS_NAME:8443" --http1.1 "${TLS_CURL[@]}" -- /ok 'X-Canary: tls' -- /fail -- /ok)" \
		"200 503 200" 1
	expect_curl "$(curl_seq "https://$TLS_NAME:8444" --http2 "${TLS_CURL[@]}" -- /fail 'X-Canary: tls' -- /ok)" "503 200" 1
	expect_statuses "$(h2_tls 8444 "/ok X-Gray:late" /fail)" "200 503"
	expect_tls_requests
	expect_conns "$(printf '%s\n' 'h2 2' 'http/1.1 1')"
}

# A client offering spdy/3,http/1.1,h2 (Python's ssl, set_alpn_protocols)
# negotiates h2 with nginx: its requests are alpn "h2", from the
# plaintext, while its connection keeps the offer (alpn "spdy/3", the
# first offered, and alpn_offered: the connection line is written at the
# handshake, before any plaintext); the request lines say alpn_negotiated
# "h2". Offering spdy/3,http/1.1 on the http/1.1 port gives http/1.1 the
# same way.
t_tls_alpn_negotiated() {
	tls_nginx 64
	agent_in_b
	expect_statuses "$(h2_tls --alpn spdy/3,http/1.1,h2 8444 "/ok X-Canary:tls" /fail "/missing X-Canary:tls")" \
		"200 503 404"
	expect_statuses "$(https_py --alpn spdy/3,http/1.1 --expect-alpn http/1.1 8443 "/ok X-Canary:tls" /fail)" "200 503"
	expect_tls_requests
	expect_lines "$(log_counts)" "$(printf '%s\n' 'h2 stable 5xx 1' 'h2 tls 2xx 1' 'h2 tls 4xx 1' \
		'http/1.1 stable 5xx 1' 'http/1.1 tls 2xx 1')" "nginx's log"
	expect_conns "spdy/3 2"
	local d p port want offer
	for d in $REQ_DIRS; do
		for p in 8444:h2:spdy/3,http/1.1,h2 8443:http/1.1:spdy/3,http/1.1; do
			IFS=: read -r port want offer <<<"$p"
			expect_events 1 ".type == \"connection\" and .direction == \"$d\" and .dport == $port and .alpn == \"spdy/3\"
				and .alpn_offered == \"$offer\""
			expect_req_lines "$([ "$want" = h2 ] && echo 3 || echo 2)" \
				".direction == \"$d\" and .dport == $port and .alpn == \"$want\" and .alpn_negotiated == \"$want\"" \
				"$d: request lines on :$port with alpn_negotiated $want"
		done
	done
}

run_tests "$@"
