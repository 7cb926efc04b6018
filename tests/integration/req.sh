# Shared by test_requests.sh and test_tls.sh (sourced after lib.sh): nginx
# with the slow upstream, the access log as counts per (alpn, gray, code),
# the textfile's request series, curl and h2client sequences.

FIX=$PWD/tests/integration/fixtures
PY=/usr/bin/python3
# Directions a request is counted in: A's client socket and B's server
# socket are both on this host, as for connections.
REQ_DIRS="outbound inbound"

# note TEXT: a measured figure, in the test's log and, with GP_NOTES=FILE,
# appended to FILE (the figures for a report).
note() {
	echo "$*"
	[ -z "${GP_NOTES:-}" ] || echo "${t:-?}: $*" >>"$GP_NOTES"
}

agent_in_b() { agent_start_in "$NSB" -i "$IFB" --tag-wait 1 --events json "$@"; }

need_py() {
	[ -x "$PY" ] || skip "$PY not installed (Debian python3)"
	[ -z "${1:-}" ] || "$PY" -c "import $1" 2>/dev/null || skip "python module $1 not installed (Debian $2)"
}

# upstream_start PORT ARGS...: fixtures/upstream.py on B's loopback.
upstream_start() {
	local port=$1
	shift
	need_py
	ip netns exec "$NSB" "$PY" "$FIX/upstream.py" 127.0.0.1 "$port" "$@" 2>"$T/up-$port.log" &
	PIDS+=($!)
	wait_port "$NSB" "$port" $! "$T/up-$port.log"
}

# The access log: what nginx answered, one line per request.
NGX_LOG_FORMAT='log_format gp escape=json
	  "$server_protocol $status \"$http_x_gray\" \"$http_x_canary\" $request_method $uri $connection $request_time $scheme";'
# The name the TLS listeners' certificate is for (tls_cert) and clients ask for.
TLS_NAME=tls.grayprobe.test

# req_nginx ID [SERVER_LINES [tls]]: tag_pair ID, then req_servers.
req_nginx() {
	tag_pair "$1"
	req_servers "${2:-}" "${3:-}"
}

# req_servers [SERVER_LINES [tls]]: the slow upstream (200 ms, /hold held
# until $T/go exists) on B's 127.0.0.1:9000, and nginx on $B4:8080
# (HTTP/1.1) and $B4:8081 (h2c), the same on $B6, with /ok 200, /missing
# 404, /fail 503, /big a 300 kB file, /slow* /hold* /chunk* proxied to the
# upstream (which reads request bodies: nginx answers Expect: 100-continue).
# With tls, over TLS instead (a certificate for $TLS_NAME): 8443 offers
# http/1.1 only, 8444 h2 and http/1.1.
req_servers() {
	local listen ports="8080 8081"
	need nginx nginx
	need curl curl
	listen="listen $B4:8080; listen $B4:8081 http2; listen [$B6]:8080; listen [$B6]:8081 http2;"
	if [ "${2:-}" = tls ]; then
		tls_cert "$TLS_NAME"
		ports="8443 8444"
		listen="listen $B4:8443 ssl; listen $B4:8444 ssl http2; listen [$B6]:8443 ssl; listen [$B6]:8444 ssl http2;
			ssl_certificate $T/cert.pem; ssl_certificate_key $T/key.pem;"
	fi
	head -c 300000 /dev/urandom >"$T/big.bin"
	upstream_start 9000 --delay-ms 200 --hold "$T/go"
	# shellcheck disable=SC2086 # the ports are words
	nginx_start "$NSB" $ports <<-NGX
		$NGX_LOG_FORMAT
		upstream up { server 127.0.0.1:9000; keepalive 8; }
		server {
			$listen
			access_log $T/nginx/req.log gp;
			${1:-}
			location = /ok { return 200 "ok\n"; }
			location = /missing { return 404 "missing\n"; }
			location = /fail { return 503 "failing\n"; }
			location = /big { alias $T/big.bin; }
			location ~ ^/(slow|hold|chunk) {
				proxy_pass http://up;
				proxy_http_version 1.1;
				proxy_set_header Connection "";
			}
		}
	NGX
}

# log_reqs: nginx's access log, one "ALPN GRAY CODE PATH STATUS" line a
# request (ALPN h2 for HTTP/2 over TLS, h2c without; the gray is X-Gray's
# value, else X-Canary's, else stable: the default rules; CODE the status
# class, "reset" for nginx's 499; PATH without its query).
log_reqs() {
	awk '{
		alpn = $1 == "HTTP/2.0" ? ($9 == "https" ? "h2" : "h2c") : tolower($1)
		g = $3; c = $4; gsub(/"/, "", g); gsub(/"/, "", c)
		gray = g != "" ? g : (c != "" ? c : "stable")
		# 499 (nginx: the client closed the request): a reset before any response.
		print alpn, gray, ($2 == 499 ? "reset" : substr($2, 1, 1) "xx"), $6, $2
	}' "$T/nginx/req.log"
}
# log_counts: the same as sorted "ALPN GRAY CODE N" lines.
log_counts() { log_reqs | awk '{ n[$1 " " $2 " " $3]++ } END { for (k in n) print k, n[k] }' | sort; }
log_lines() { grep -c . "$T/nginx/req.log"; }

# series METRIC DIR LABEL...: the textfile's non-zero METRIC{direction=DIR}
# series (DIR "*": every direction, summed) as sorted "VALUE-OF-LABEL... N" lines.
series() {
	local m=$1 d=$2
	shift 2
	awk -v m="$m" -v d="$d" -v want="$*" '
		index($1, m "{") == 1 && $2 > 0 {
			l = substr($1, length(m) + 2, length($1) - length(m) - 2)
			delete kv
			while (match(l, /^[a-z_]+="[^"]*"/)) {
				p = substr(l, 1, RLENGTH); l = substr(l, RLENGTH + 2)
				k = substr(p, 1, index(p, "=") - 1); kv[k] = substr(p, index(p, "=") + 2)
				sub(/"$/, "", kv[k])
			}
			if (d != "*" && kv["direction"] != d) next
			n = split(want, w, " "); s = ""
			for (i = 1; i <= n; i++) s = s kv[w[i]] " "
			sum[s] += $2
		} END { for (s in sum) print s sum[s] }' "$T/gp.prom" | sort
}
req_counts() { series grayprobe_http_requests_total "$1" alpn gray code; }
sum_last() { awk '{ s += $NF } END { print s + 0 }'; }

# expect_lines GOT WANT WHAT: the same sorted lines, or a diff in the reason.
expect_lines() {
	[ "$1" = "$2" ] && return 0
	fail "$3: got [$(tr '\n' ';' <<<"$1")], expected [$(tr '\n' ';' <<<"$2")]"
}

# wait_textfile WANT CMD ARGS...: until CMD's output (from the textfile) is
# WANT, 20 s at most; the caller then compares, so a miss shows what came.
wait_textfile() {
	local want=$1
	shift
	for _ in $(seq 200); do
		[ "$("$@")" = "$want" ] && return 0
		sleep 0.1
	done
	return 1
}

# expect_requests_as_log: after the traffic, the textfile's requests per
# (alpn, gray, code) equal the access log's, in every direction; the
# histogram counts every answered request (not nginx's 499s); nothing
# undecoded; the textfile passes promtool check metrics.
expect_requests_as_log() {
	local want d
	want=$(log_counts)
	[ -n "$want" ] || fail "nginx logged no request"
	wait_textfile "$want" req_counts inbound
	agent_stop
	if command -v promtool >/dev/null; then
		promtool check metrics <"$T/gp.prom" >"$T/promtool.out" 2>&1 \
			|| fail "promtool check metrics: $(head -n 3 "$T/promtool.out")"
	fi
	note "nginx's log (alpn gray code n): $(tr '\n' ';' <<<"$want")"
	for d in $REQ_DIRS; do
		note "textfile $d: $(req_counts $d | tr '\n' ';')"
		expect_lines "$(req_counts $d)" "$want" "$d requests per (alpn, gray, code) vs nginx's log"
		expect_eq "$(series grayprobe_http_request_duration_seconds_count $d alpn gray | sum_last)" \
			"$(awk '$2 != 499' "$T/nginx/req.log" | wc -l)" "$d: request latency samples (answered requests)"
		expect_eq "$(series grayprobe_requests_undecoded_total $d reason | sum_last)" 0 "$d: undecoded requests"
	done
	expect_req_lines $(($(log_lines) * $(wc -w <<<"$REQ_DIRS"))) true "request lines in the JSON"
}

# req_events JQ_COND: the JSON request lines of our flows for which JQ_COND holds.
req_events() {
	jq -c "select(.type == \"request\" and (.daddr == \"$B4\" or .daddr == \"$B6\")) | select($1)" \
		"$T/events.json" 2>/dev/null
}

# expect_req_lines N JQ_COND WHAT: N such request lines.
expect_req_lines() { expect_eq "$(req_events "$2" | wc -l)" "$1" "$3"; }

# curl_seq URL_BASE ARGS -- PATH [HEADER [ARG...]] -- ...: one curl, one
# transfer per PATH (--next), each with its own header (or none: "") and
# curl arguments; prints "HTTP_CODE NUM_CONNECTS" per transfer. ARGS apply
# to every transfer.
curl_seq() {
	local base=$1 common=() cmd=() seg=() first=1
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do common+=("$1"); shift; done
	while [ $# -gt 0 ]; do
		shift	# the --
		seg=()
		while [ $# -gt 0 ] && [ "$1" != -- ]; do seg+=("$1"); shift; done
		[ $first = 1 ] || cmd+=(--next)
		first=0
		cmd+=(-sS --max-time 10 -o /dev/null -w '%{http_code} %{num_connects}\n' "${common[@]}")
		[ -z "${seg[1]:-}" ] || cmd+=(-H "${seg[1]}")
		cmd+=("${seg[@]:2}" "$base${seg[0]}")
	done
	ip netns exec "$NSA" curl "${cmd[@]}"
}

# expect_curl OUT CODES CONNECTS: curl_seq's output had these codes, in
# order, over CONNECTS connections in all.
expect_curl() {
	expect_eq "$(awk '{ printf "%s%s", s, $1; s = " " }' <<<"$1")" "$2" "curl's status codes"
	expect_eq "$(awk '{ s += $2 } END { print s + 0 }' <<<"$1")" "$3" "connections curl opened"
}

# h2c A B4 PORT ARGS...: fixtures/h2client.py from A (one connection, its
# own HPACK encoder); its lines ("PATH GRAY STATUS") on stdout.
h2c() {
	need_py
	ip netns exec "$NSA" "$PY" "$FIX/h2client.py" "$@" 2>"$T/h2client.err" || fail "h2client: $(cat "$T/h2client.err")"
}
# expect_statuses OUT WANT: h2client's statuses, in request order.
expect_statuses() { expect_eq "$(awk '{ printf "%s%s", s, $3; s = " " }' <<<"$1")" "$2" "h2client's statuses"; }
