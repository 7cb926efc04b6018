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
	"$GP" run --textfile "$T/gp.prom" --interval 1 "$@" >"$T/events.json" 2>"$T/agent.err" &
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
