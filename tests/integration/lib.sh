# Shared by tests/integration/test_*.sh. Each t_* function runs in its own
# subshell with an EXIT trap that removes what it made (agent, peers,
# namespaces, files) whether it passes or fails.
#   fail "why"   end the test as failed      skip "why"   end it as skipped
# Traffic stays inside namespaces made here, on 198.18.0.0/15 and fd00:198:18::/48.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
OUT=${OUT:-build}
GP=$PWD/$OUT/grayprobe
TCPCONN=$PWD/$OUT/tests/tcpconn

fail() { echo "$*" >"$T.reason"; exit 1; }
skip() { echo "$*" >"$T.reason"; exit 77; }

PIDS=() NETNS=()
cleanup() {
	local p n
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
	done
	# Deleting a namespace deletes its veth end, and with it the peer.
	for n in "${NETNS[@]}"; do ip netns del "$n" 2>/dev/null; done
	rm -rf "$T"
}

# ns_pair ID: namespaces $NSA (client) and $NSB (server) joined by veth,
# with 198.18.ID.1/24 + fd00:198:18:ID::1/64 on A and .2 / ::2 on B.
ns_pair() {
	local id=$1
	NSA=gp${BASHPID}a NSB=gp${BASHPID}b
	ip netns add "$NSA" && NETNS+=("$NSA") || fail "ip netns add $NSA"
	ip netns add "$NSB" && NETNS+=("$NSB") || fail "ip netns add $NSB"
	ip link add gpv${BASHPID}a netns "$NSA" type veth peer name gpv${BASHPID}b netns "$NSB" \
		|| fail "cannot create veth pair"
	A4=198.18.$id.1 B4=198.18.$id.2 A6=fd00:198:18:$id::1 B6=fd00:198:18:$id::2
	ip -n "$NSA" addr add $A4/24 dev gpv${BASHPID}a
	ip -n "$NSB" addr add $B4/24 dev gpv${BASHPID}b
	ip -n "$NSA" addr add $A6/64 dev gpv${BASHPID}a nodad
	ip -n "$NSB" addr add $B6/64 dev gpv${BASHPID}b nodad
	for n in "$NSA" "$NSB"; do
		ip -n "$n" link set lo up
		ip -n "$n" link set "gpv${BASHPID}${n: -1}" up
	done
}

# listen NS ADDR PORT: a tcpconn listener, returned once it accepts.
listen() {
	ip netns exec "$1" "$TCPCONN" listen "$2" "$3" >/dev/null 2>&1 &
	PIDS+=($!)
	for _ in $(seq 100); do
		ip netns exec "$1" ss -Hltn "sport = :$3" | grep -q . && return 0
		sleep 0.05
	done
	fail "listener on $2:$3 did not come up"
}

# nft_input NS RULE: one rule in an input chain of NS's own nftables.
nft_input() {
	ip netns exec "$1" nft -f - <<-NFT || fail "nft rule '$2'"
		table inet gptest {
			chain in { type filter hook input priority 0; $2; }
		}
	NFT
}

# connects NS ADDR PORT COUNT: prints tcpconn's outcome counts.
connects() { ip netns exec "$1" "$TCPCONN" connect "$2" "$3" "$4"; }

# agent_start ARGS: grayprobe run in the background, returned once attached
# (its first textfile write follows the attach).
agent_start() {
	rm -f "$T/gp.prom"
	# -i none: these tests are about outcomes; the host's own interfaces stay untouched.
	"$GP" run --textfile "$T/gp.prom" --interval 1 -i none "$@" >"$T/events.json" 2>"$T/agent.err" &
	AGENT=$!
	PIDS+=($AGENT)
	for _ in $(seq 100); do
		[ -s "$T/gp.prom" ] && return 0
		kill -0 "$AGENT" 2>/dev/null || fail "agent exited early: $(tail -n 3 "$T/agent.err")"
		sleep 0.1
	done
	fail "agent wrote no textfile within 10 s"
}

agent_stop() {
	local rc
	kill -"${1:-TERM}" "$AGENT"
	wait "$AGENT"; rc=$?
	[ "$rc" -eq 0 ] || fail "agent exited $rc on SIG${1:-TERM}: $(tail -n 3 "$T/agent.err")"
}

# Value of one exact series in the textfile, or "absent".
prom() { awk -v k="$1" '$1 == k { v = $2 } END { print (v == "" ? "absent" : v) }' "$T/gp.prom"; }
conn_series() { echo "grayprobe_connections_total{direction=\"outbound\",alpn=\"none\",gray=\"stable\",result=\"$1\"}"; }

expect_eq() { [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"; }

# Programs of ours still loaded (links are released asynchronously: wait a bit).
gp_progs_gone() {
	for _ in $(seq 30); do
		bpftool prog show 2>/dev/null | grep -qE 'name gp_(conn|state)_' || return 0
		sleep 0.1
	done
	return 1
}

hook_available() { "$GP" check 2>/dev/null | grep -qE "^  $1 +ok "; }

run_tests() {
	local t rc reason filters=("$@")
	for t in $(declare -F | awk '$3 ~ /^t_/ { print $3 }'); do
		if [ ${#filters[@]} -gt 0 ] && ! printf '%s\n' "${filters[@]}" | grep -qxF "$t"; then
			continue
		fi
		if [ "$(id -u)" -ne 0 ]; then
			echo "SKIP $t: needs root (loads BPF, creates network namespaces)"
			continue
		fi
		if [ ! -x "$GP" ] || [ ! -x "$TCPCONN" ]; then
			echo "FAIL $t: $GP or $TCPCONN not built"
			continue
		fi
		T=$(mktemp -d /tmp/gptest.XXXXXX)
		( trap cleanup EXIT; "$t" ) >"$T.log" 2>&1
		rc=$?
		reason=$(cat "$T.reason" 2>/dev/null)
		case $rc in
		0) echo "PASS $t" ;;
		77) echo "SKIP $t: $reason" ;;
		*) echo "FAIL $t: ${reason:-exit $rc}"; tail -n 20 "$T.log" | sed 's/^/  | /' ;;
		esac
		rm -rf "$T" "$T.log" "$T.reason"
	done
}

# ---- ALPN / gray tagging (test_tagging.sh) ----
# The agent runs inside $NSB with TC on B's veth: its ingress sees what A's
# client sends, and both ends' sockets (A's outbound, B's inbound) are seen.
TLSHELLO=$PWD/$OUT/tests/tlshello

# need CMD PACKAGE: skip the test when a peer binary is not installed.
need() { command -v "$1" >/dev/null 2>&1 || skip "$1 not installed (Debian package $2)"; }

# tag_pair ID: ns_pair, plus IFA/IFB (A's and B's veth ends) and INOA/INOB
# (the namespaces' inodes, as in the events' "netns").
tag_pair() {
	ns_pair "$1"
	IFA=gpv${BASHPID}a IFB=gpv${BASHPID}b
	INOA=$(stat -L -c %i "/run/netns/$NSA") INOB=$(stat -L -c %i "/run/netns/$NSB")
}

# third_ns ID: after tag_pair, namespace $NSC joined to $NSB by a second veth
# ($IFC in C, $IFD in B), with 198.19.ID.1/24 on C and 198.19.ID.2 on B.
third_ns() {
	NSC=gp${BASHPID}c IFC=gpv${BASHPID}c IFD=gpv${BASHPID}d
	ip netns add "$NSC" && NETNS+=("$NSC") || fail "ip netns add $NSC"
	ip link add "$IFC" netns "$NSC" type veth peer name "$IFD" netns "$NSB" \
		|| fail "cannot create the second veth pair"
	C4=198.19.$1.1 D4=198.19.$1.2
	ip -n "$NSC" addr add $C4/24 dev "$IFC"
	ip -n "$NSB" addr add $D4/24 dev "$IFD"
	ip -n "$NSC" link set lo up
	ip -n "$NSC" link set "$IFC" up
	ip -n "$NSB" link set "$IFD" up
	INOC=$(stat -L -c %i "/run/netns/$NSC")
}

# wait_port NS PORT PID LOG: returns once PORT listens in NS; fails with LOG's
# tail if PID (the server) died first.
wait_port() {
	for _ in $(seq 100); do
		ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q . && return 0
		kill -0 "$3" 2>/dev/null || fail "server for port $2 exited: $(tail -n 3 "$4" 2>/dev/null)"
		sleep 0.05
	done
	fail "nothing listens on port $2 in $1: $(tail -n 3 "$4" 2>/dev/null)"
}

# wait_textfile_has FILE LINE: until FILE (a textfile, rewritten every
# interval) has LINE exactly (20 s at most).
wait_textfile_has() {
	for _ in $(seq 200); do
		grep -qxF "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "$1 has no line '$2' within 20 s"
}

# grpc_peer_start NS ADDR PORT: the gRPC fixture's server (Debian
# python3-grpcio) on ADDR:PORT in NS. grpc_peer_calls NS ADDR PORT CALL...:
# one client channel from NS, CALL as the fixture takes it ("Ok",
# "Unavailable,x-gray=canary"); its lines go to stdout.
GRPC_PEER=$PWD/tests/integration/fixtures/grpc_peer.py
need_grpc() {
	[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 not installed (Debian python3)"
	/usr/bin/python3 -c 'import grpc' 2>/dev/null || skip "python module grpc not installed (Debian python3-grpcio)"
}
grpc_peer_start() {
	ip netns exec "$1" /usr/bin/python3 "$GRPC_PEER" server "$2" "$3" >"$T/grpc-server-$1.log" 2>&1 &
	PIDS+=($!)
	wait_port "$1" "$3" $! "$T/grpc-server-$1.log"
}
grpc_peer_calls() {
	local ns=$1 addr=$2 port=$3
	shift 3
	ip netns exec "$ns" /usr/bin/python3 "$GRPC_PEER" client "$addr" "$port" "$@" 2>"$T/grpc-client.err" \
		|| fail "grpc client: $(tail -n 3 "$T/grpc-client.err")"
}

# tls_cert NAME: self-signed P-256 certificate for NAME and *.NAME, in
# $T/cert.pem and $T/key.pem.
tls_cert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=$1" -addext "subjectAltName=DNS:$1,DNS:*.$1" \
		-keyout "$T/key.pem" -out "$T/cert.pem" 2>"$T/req.err" \
		|| fail "openssl req: $(tail -n 2 "$T/req.err")"
}

# nginx_start NS PORT... <<<"server {...}": one nginx process (no master, no
# daemon) in NS whose http{} block holds stdin. Config, pid, logs and temp
# dirs all live in $T/nginx. Returns once every PORT listens.
nginx_start() {
	local ns=$1 d=$T/nginx p
	shift
	mkdir -p "$d"
	{
		cat <<-CONF
			daemon off;
			master_process off;
			worker_processes 1;
			pid $d/nginx.pid;
			error_log $d/error.log info;
			events { worker_connections 256; }
			http {
			access_log $d/access.log;
			client_body_temp_path $d/body;
			proxy_temp_path $d/proxy;
			fastcgi_temp_path $d/fastcgi;
			uwsgi_temp_path $d/uwsgi;
			scgi_temp_path $d/scgi;
			default_type text/plain;
		CONF
		cat
		echo "}"
	} >"$d/nginx.conf"
	ip netns exec "$ns" nginx -p "$d/" -e "$d/error.log" -c "$d/nginx.conf" >"$d/out" 2>&1 &
	PIDS+=($!)
	for p; do wait_port "$ns" "$p" $! "$d/out"; done
}

# nginx_pair ID PORT1 PORT2: tag_pair ID, and nginx in $NSB answering "ok"
# on $B4:PORT1 and $B4:PORT2 (curl the client).
nginx_pair() {
	need nginx nginx
	need curl curl
	tag_pair "$1"
	nginx_start "$NSB" "$2" "$3" <<-NGX
		server { listen $B4:$2; listen $B4:$3; location / { return 200 "ok\n"; } }
	NGX
}

# s_server_start NS ADDR PORT ARGS...: openssl s_server with $T's certificate,
# answering every connection (-www) until killed.
s_server_start() {
	local ns=$1 addr=$2 port=$3
	shift 3
	ip netns exec "$ns" openssl s_server -accept "$addr:$port" -cert "$T/cert.pem" \
		-key "$T/key.pem" -www "$@" </dev/null >"$T/s_server.log" 2>&1 &
	PIDS+=($!)
	wait_port "$ns" "$port" $! "$T/s_server.log"
}

# capture_start NS IFACE FILTER: tcpdump writing every packet at once
# (immediate mode, unbuffered) to $T/cap.pcap; returned once it listens.
capture_start() {
	ip netns exec "$1" tcpdump -Z root -i "$2" --immediate-mode -U -s 0 -w "$T/cap.pcap" "$3" \
		>/dev/null 2>"$T/tcpdump.err" &
	CAP=$!
	PIDS+=($CAP)
	for _ in $(seq 100); do
		grep -q "listening on" "$T/tcpdump.err" && return 0
		kill -0 "$CAP" 2>/dev/null || fail "tcpdump exited: $(tail -n 2 "$T/tcpdump.err")"
		sleep 0.05
	done
	fail "tcpdump did not start"
}
capture_stop() { kill -TERM "$CAP" 2>/dev/null; wait "$CAP" 2>/dev/null; }

# cap_fields FILTER FIELD...: tshark's two-pass dissection of $T/cap.pcap, one
# tab-separated line per frame matching the display FILTER.
cap_fields() {
	local f=$1 a=() x
	shift
	for x; do a+=(-e "$x"); done
	tshark -2 -n -r "$T/cap.pcap" -Y "$f" -T fields -E aggregator=, "${a[@]}" 2>/dev/null
}

# top_once_start NS ARGS: grayprobe top in NS with stdout a file, so that it
# prints one table ($T/once.txt) after one period; returned once attached.
top_once_start() {
	local ns=$1
	shift
	ip netns exec "$ns" "$GP" top "$@" >"$T/once.txt" 2>"$T/once.err" </dev/null &
	AGENT=$!
	PIDS+=($AGENT)
	for _ in $(seq 100); do grep -q attached "$T/once.err" && break; sleep 0.1; done
	grep -q attached "$T/once.err" || fail "top did not attach: $(tail -n 3 "$T/once.err")"
}

# top_once_wait: until that top exits (0) and its table is printed to the log.
top_once_wait() {
	local rc
	wait "$AGENT"; rc=$?
	expect_eq "$rc" 0 "top --once exit status ($(tail -n 2 "$T/once.err"))"
	sed 's/^/  once| /' "$T/once.txt"
}

# agent_start_in NS ARGS: agent_start with the agent inside NS, where TC
# sees NS's interfaces (-i names one of them).
agent_start_in() {
	local ns=$1
	shift
	rm -f "$T/gp.prom"
	ip netns exec "$ns" "$GP" run --textfile "$T/gp.prom" --interval 1 "$@" \
		>"$T/events.json" 2>"$T/agent.err" &
	AGENT=$!
	PIDS+=($AGENT)
	for _ in $(seq 100); do
		if [ -s "$T/gp.prom" ]; then
			# ip netns exec execs: the pid signalled and waited for is the agent's.
			[ "$(readlink "/proc/$AGENT/exe")" = "$(readlink -f "$GP")" ] \
				|| fail "pid $AGENT is $(readlink "/proc/$AGENT/exe"), not the agent"
			return 0
		fi
		kill -0 "$AGENT" 2>/dev/null || fail "agent exited early: $(tail -n 3 "$T/agent.err")"
		sleep 0.1
	done
	fail "agent wrote no textfile within 10 s"
}

# ev_count JQ_COND: events from the pair's namespaces (and $NSC's, after
# third_ns) for which JQ_COND holds.
ev_ours() { echo "(.netns == $INOA or .netns == $INOB or .netns == ${INOC:-$INOA})"; }
ev_count() {
	jq -s "[.[] | select($(ev_ours)) | select($1)] | length" "$T/events.json" 2>/dev/null \
		|| echo "unparsable"
}
# expect_events N JQ_COND: exactly N such events; on a mismatch the pair's
# events go to the test's log, so that the failure shows what came instead.
expect_events() {
	local n; n=$(ev_count "$2")
	[ "$n" = "$1" ] && return 0
	jq -c "select($(ev_ours))" "$T/events.json" 2>&1 | tail -n 12
	fail "events with $2: expected $1, got $n"
}

# wait_events N: until N events of the pair arrived (an event follows its
# flow's tagging: up to --tag-wait after the traffic), 8 s at most, then
# half a second more so that strays would show too.
wait_events() {
	local n
	for _ in $(seq 80); do
		n=$(ev_count true)
		[ "$n" != unparsable ] && [ "$n" -ge "$1" ] && break
		sleep 0.1
	done
	sleep 0.5
}

# Series of one (direction, alpn, gray) tag in the textfile.
tag_conn() { echo "grayprobe_connections_total{direction=\"$1\",alpn=\"$2\",gray=\"$3\",result=\"${4:-established}\"}"; }
tag_hist() { echo "grayprobe_connect_duration_seconds_count{direction=\"$1\",alpn=\"$2\",gray=\"$3\"}"; }
# expect_tag DIR ALPN GRAY N: N established, in the counter and the histogram.
expect_tag() {
	expect_eq "$(prom "$(tag_conn "$1" "$2" "$3")")" "$4" "textfile: established $1 alpn=$2 gray=$3"
	expect_eq "$(prom "$(tag_hist "$1" "$2" "$3")")" "$4" "textfile: histogram count $1 alpn=$2 gray=$3"
}
tag_bytes() { echo "grayprobe_flow_bytes_total{direction=\"$1\",alpn=\"$2\",gray=\"$3\"}"; }
# expect_bytes_ge ALPN GRAY MIN: in each direction, the tag's flows carried at
# least MIN payload bytes (TC ingress alone sees the client's bytes only).
expect_bytes_ge() {
	local d b
	for d in outbound inbound; do
		b=$(prom "$(tag_bytes $d "$1" "$2")")
		[ "$b" != absent ] && [ "$b" -ge "$3" ] 2>/dev/null \
			|| fail "textfile: $(tag_bytes $d "$1" "$2"): expected >= $3, got '$b'"
	done
}
# expect_bytes ALPN GRAY N: exactly N payload bytes in each direction's series.
expect_bytes() {
	local d
	for d in outbound inbound; do
		expect_eq "$(prom "$(tag_bytes $d "$1" "$2")")" "$3" "textfile: flow bytes $d alpn=$1 gray=$2"
	done
}
# cap_bytes FILTER: TCP payload bytes of the captured frames matching FILTER.
cap_bytes() { cap_fields "($1) && tcp.len > 0" tcp.len | awk '{ s += $1 } END { print s + 0 }'; }

# TC attachment of the running agent: its tcx links, read from its own
# descriptors ("ID ingress|egress IFINDEX" a line), else clsact filters.
agent_tc_links() {
	local fd
	for fd in /proc/"$AGENT"/fd/*; do
		[ "$(readlink "$fd")" = anon_inode:bpf_link ] || continue
		awk '$1 == "link_type:" { t = $2 } $1 == "link_id:" { id = $2 } $1 == "ifindex:" { ifx = $2 }
			$1 == "attach_type:" { a = $3; gsub(/[()]/, "", a) }
			END { if (t == "tcx") print id, a, ifx }' "/proc/$AGENT/fdinfo/${fd##*/}"
	done
}
# tc_attached NS IFACE ingress|egress: the agent has a program there (and
# TC_LINKS keeps its tcx links for tc_detached).
tc_attached() {
	local ifx
	ifx=$(ip -n "$1" -o link show dev "$2" | cut -d: -f1)
	TC_LINKS=$(agent_tc_links)
	grep -q " $3 $ifx\$" <<<"$TC_LINKS" || [ -n "$(ip netns exec "$1" tc filter show dev "$2" "$3")" ]
}
# tc_detached NS IFACE: after the agent stopped, none of its tcx links is
# left, nor any TC filter on IFACE.
tc_detached() {
	local id
	for _ in $(seq 30); do
		for id in $(cut -d' ' -f1 <<<"${TC_LINKS:-}"); do
			bpftool link show id "$id" >/dev/null 2>&1 && continue 2
		done
		[ -z "$(ip netns exec "$1" tc filter show dev "$2" ingress; ip netns exec "$1" tc filter show dev "$2" egress)" ] \
			&& return 0
		sleep 0.1
	done
	return 1
}

# nginx_tls_b [BODY]: nginx in $NSB serving TLS + HTTP/2 on $B4:443 with a
# fresh certificate for $NAME, answering BODY (default "ok").
nginx_tls_b() {
	tls_cert "$NAME"
	nginx_start "$NSB" 443 <<-NGX
		server {
			listen $B4:443 ssl http2;
			ssl_certificate $T/cert.pem;
			ssl_certificate_key $T/key.pem;
			location / { return 200 "${1:-ok}\n"; }
		}
	NGX
}

# ---- Prometheus on the host's loopback (test_deploy.sh, test_requests.sh) ----

# free_port: a TCP port nothing listens on, on the host's loopback.
free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 40000))
		ss -Hltn "sport = :$p" | grep -q . || { echo "$p"; return 0; }
	done
	fail "no free port found"
}

# wait_http URL: until it answers 2xx (10 s at most).
wait_http() {
	for _ in $(seq 100); do
		curl -fsS --max-time 1 -o /dev/null "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# node_exporter_start PORT DIR: node_exporter on 127.0.0.1:PORT with only
# the textfile collector, reading DIR.
node_exporter_start() {
	prometheus-node-exporter --web.listen-address="127.0.0.1:$1" --collector.disable-defaults \
		--collector.textfile --collector.textfile.directory="$2" >"$T/ne-$1.log" 2>&1 &
	PIDS+=($!)
	wait_http "http://127.0.0.1:$1/metrics" || fail "node_exporter on $1 did not answer: $(tail -n 3 "$T/ne-$1.log")"
}

# prometheus_start JOB RULES HOST:PORT...: Prometheus on a free port of the
# host's loopback, scraping the targets as JOB every second and evaluating
# RULES (a rules file, or "" for none) every second; its config checked by
# promtool, its storage in $T. Returned once ready, its API's URL in PROM_API.
prometheus_start() {
	local job=$1 rules=$2 pp t targets=
	shift 2
	for t; do targets="$targets${targets:+, }'$t'"; done
	pp=$(free_port)
	{
		printf 'global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n'
		[ -z "$rules" ] || printf 'rule_files:\n  - %s\n' "$rules"
		printf 'scrape_configs:\n  - job_name: %s\n    static_configs:\n      - targets: [%s]\n' "$job" "$targets"
	} >"$T/prometheus.yml"
	promtool check config "$T/prometheus.yml" >"$T/pcheck.log" 2>&1 || fail "promtool check config: $(tail -n 3 "$T/pcheck.log")"
	prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/tsdb" \
		--web.listen-address="127.0.0.1:$pp" >"$T/prometheus.log" 2>&1 &
	PIDS+=($!)
	PROM_API=http://127.0.0.1:$pp/api/v1
	wait_http "http://127.0.0.1:$pp/-/ready" || wait_http "http://127.0.0.1:$pp/-/ready" \
		|| fail "prometheus not ready: $(tail -n 3 "$T/prometheus.log")"
}

# The capabilities the agent says it keeps for TLS library rescans ("tls:
# keeping ..." in its log) as a CapEff mask, with the bits of $1 (hex) added.
tls_caps_hex() {
	local m=$((16#${1:-0})) line
	line=$(grep -m1 'tls: keeping' "$T/agent.err")
	case $line in *CAP_SYS_PTRACE*) m=$((m | 1 << 19)) ;; esac
	case $line in *CAP_SYS_ADMIN*) m=$((m | 1 << 21)) ;; esac
	case $line in *CAP_PERFMON*) m=$((m | 1 << 38)) ;; esac
	case $line in *CAP_BPF*) m=$((m | 1 << 39)) ;; esac
	printf '%016x\n' "$m"
}
