#!/usr/bin/env bash
# The README's quick-start demo: two network namespaces joined by a veth pair,
# a web server in one, curl in the other. Needs root, iproute2, curl, openssl,
# python3 and tcpdump. Nothing leaves the two namespaces, nothing listens on
# the host.
#
#   docs/demo.sh up                  gpdemo-cli (gpdemo1, 198.18.0.1) and gpdemo-srv
#                                    (gpdemo0, 198.18.0.2) with HTTP on :8080 and
#                                    TLS on :8443 in gpdemo-srv
#   docs/demo.sh traffic [ROUNDS]    ROUNDS (default 1) rounds of requests from
#                                    gpdemo-cli; the last call's packets are written
#                                    to /run/gpdemo/demo.pcap
#   docs/demo.sh down                stop every process in the two namespaces (the
#                                    server, an agent started there), remove them
#
# One round: 3 HTTPS requests for shop.example.com and 2 for v2.canary.example.com
# (curl --http2: ALPN h2,http/1.1, with SNI), 2 plain HTTP requests, 2 with the
# header X-Canary: canary, and 1 connect to :8081 where nothing listens (refused).
set -euo pipefail

CLI=gpdemo-cli SRV=gpdemo-srv
IF_SRV=gpdemo0 IF_CLI=gpdemo1
ADDR_CLI=198.18.0.1 ADDR_SRV=198.18.0.2
STATE=/run/gpdemo
PY=/usr/bin/python3

die() { echo "demo.sh: $*" >&2; exit 1; }

need() {
	local c missing=
	for c; do command -v "$c" >/dev/null 2>&1 || missing="$missing $c"; done
	[ -z "$missing" ] || die "missing:$missing (Debian: apt-get install iproute2 curl openssl python3 tcpdump)"
}

# Seconds-bounded wait for a condition given as a command.
wait_for() {
	local what=$1
	shift
	for _ in $(seq 100); do
		"$@" && return 0
		sleep 0.05
	done
	die "$what did not happen within 5 s"
}

listening() { ip netns exec "$SRV" ss -Hltn "sport = :$1" | grep -q .; }

server_py() {
	cat <<-'PY'
		# The demo's web server: plain HTTP and TLS (ALPN http/1.1), one answer for all.
		import http.server, ssl, sys, threading

		class Hello(http.server.BaseHTTPRequestHandler):
		    def do_GET(self):
		        body = b"hello from gpdemo-srv\n"
		        self.send_response(200)
		        self.send_header("Content-Type", "text/plain")
		        self.send_header("Content-Length", str(len(body)))
		        self.end_headers()
		        self.wfile.write(body)

		    def log_message(self, fmt, *args):
		        pass

		addr, cert, key = sys.argv[1:4]
		plain = http.server.ThreadingHTTPServer((addr, 8080), Hello)
		tls = http.server.ThreadingHTTPServer((addr, 8443), Hello)
		ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
		ctx.load_cert_chain(cert, key)
		ctx.set_alpn_protocols(["http/1.1"])
		tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
		threading.Thread(target=plain.serve_forever, daemon=True).start()
		tls.serve_forever()
	PY
}

up_failed() {
	local rc=$?
	[ "$rc" -eq 0 ] && return
	echo "demo.sh: up failed; removing what it made" >&2
	down >/dev/null
	exit "$rc"
}

up() {
	need ip curl openssl ss "$PY"
	if [ -e "/run/netns/$SRV" ] || [ -e "/run/netns/$CLI" ] || [ -e "$STATE" ]; then
		die "the demo is already up (docs/demo.sh down removes it)"
	fi
	trap up_failed EXIT
	mkdir -p "$STATE"
	ip netns add "$SRV"
	ip netns add "$CLI"
	ip link add "$IF_CLI" netns "$CLI" type veth peer name "$IF_SRV" netns "$SRV"
	ip -n "$CLI" addr add "$ADDR_CLI/24" dev "$IF_CLI"
	ip -n "$SRV" addr add "$ADDR_SRV/24" dev "$IF_SRV"
	ip -n "$CLI" link set lo up
	ip -n "$SRV" link set lo up
	ip -n "$CLI" link set "$IF_CLI" up
	ip -n "$SRV" link set "$IF_SRV" up
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-subj /CN=shop.example.com \
		-addext "subjectAltName=DNS:shop.example.com,DNS:*.canary.example.com" \
		-keyout "$STATE/key.pem" -out "$STATE/cert.pem" 2>"$STATE/openssl.log"
	server_py >"$STATE/server.py"
	# setsid: the server outlives this script and the terminal it ran in.
	setsid ip netns exec "$SRV" "$PY" "$STATE/server.py" "$ADDR_SRV" \
		"$STATE/cert.pem" "$STATE/key.pem" </dev/null >"$STATE/server.log" 2>&1 &
	echo $! >"$STATE/server.pid"
	wait_for "the server listening on :8080" listening 8080
	wait_for "the server listening on :8443" listening 8443
	trap - EXIT
	echo "demo up: $CLI ($IF_CLI $ADDR_CLI) <-> $SRV ($IF_SRV $ADDR_SRV), HTTP :8080 and TLS :8443 in $SRV"
}

demo_curl() { ip netns exec "$CLI" curl -s -o /dev/null --noproxy '*' --max-time 5 "$@" || true; }

round() {
	for _ in 1 2 3; do
		demo_curl -k --http2 --resolve "shop.example.com:8443:$ADDR_SRV" https://shop.example.com:8443/
	done
	for _ in 1 2; do
		demo_curl -k --http2 --resolve "v2.canary.example.com:8443:$ADDR_SRV" \
			https://v2.canary.example.com:8443/
	done
	for _ in 1 2; do demo_curl "http://$ADDR_SRV:8080/"; done
	for _ in 1 2; do demo_curl -H 'X-Canary: canary' "http://$ADDR_SRV:8080/"; done
	demo_curl "http://$ADDR_SRV:8081/"
}

CAP=
capture_stop() {
	[ -n "$CAP" ] || return 0
	kill -INT "$CAP" 2>/dev/null || true
	wait "$CAP" 2>/dev/null || true
	CAP=
}

traffic() {
	local rounds=${1:-1}
	need curl tcpdump
	case $rounds in '' | *[!0-9]* | 0*) die "traffic ROUNDS: a positive number, not '$rounds'" ;; esac
	if ! [ -e "/run/netns/$CLI" ] || ! listening 8080; then die "the demo is not up (docs/demo.sh up)"; fi
	trap capture_stop EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	rm -f "$STATE/demo.pcap" "$STATE/tcpdump.log"
	ip netns exec "$SRV" tcpdump -Z root -i "$IF_SRV" --immediate-mode -U -s 0 \
		-w "$STATE/demo.pcap" tcp >/dev/null 2>"$STATE/tcpdump.log" &
	CAP=$!
	wait_for "tcpdump listening on $IF_SRV" grep -q "listening on" "$STATE/tcpdump.log"
	for _ in $(seq "$rounds"); do round; done
	capture_stop
	echo "traffic: $rounds round(s) of 10 connections; packets in $STATE/demo.pcap"
}

gone() { [ -z "$(ip netns pids "$SRV" 2>/dev/null)$(ip netns pids "$CLI" 2>/dev/null)" ]; }

down() {
	local ns pid
	for ns in "$SRV" "$CLI"; do
		[ -e "/run/netns/$ns" ] || continue
		for pid in $(ip netns pids "$ns"); do kill -TERM "$pid" 2>/dev/null || true; done
	done
	# An agent drains and detaches on SIGTERM; then nothing keeps the namespaces.
	for _ in $(seq 100); do gone && break; sleep 0.05; done
	for ns in "$SRV" "$CLI"; do
		[ -e "/run/netns/$ns" ] || continue
		for pid in $(ip netns pids "$ns"); do kill -KILL "$pid" 2>/dev/null || true; done
		ip netns del "$ns"
	done
	rm -rf "$STATE"
	echo "demo down"
}

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
case ${1:-} in
up) up ;;
traffic) traffic "${2:-}" ;;
down) down ;;
*) echo "usage: docs/demo.sh up | traffic [ROUNDS] | down" >&2; exit 2 ;;
esac
