#!/usr/bin/env bash
# grayprobe benchmarks (`make bench`; QUICK=1 for a ~1 minute smoke run).
# Not a test: it measures, prints a table of medians and ratios, and writes
# it to $OUT/bench/results.md (raw figures in $OUT/bench/raw.tsv).
#
#   bench/run.sh [SECTION...]   sections: conn tc iperf ring footprint textfile diag http tls
#
# Variants alternate run by run (A B A B ...). Traffic stays on loopback or
# on veth pairs between namespaces made here, on 198.18.0.0/15 only. The
# EXIT trap removes everything made here (namespaces, veths with them,
# background processes, temporary files, a tracefs mount, the bpf_stats
# sysctl) whether the run ends well or not.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=${OUT:-build}
QUICK=${QUICK:-0}
GP=$PWD/$OUT/grayprobe
BD=$PWD/$OUT/bench
BT_SCRIPT=$PWD/bench/connlat.bt

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: needs root (loads BPF, creates network namespaces)" >&2
	exit 1
fi
for f in "$GP" "$BD/connloop" "$BD/tcrun" "$BD/ringfeed" "$BD/startup" "$BD/textfile"; do
	[ -x "$f" ] || { echo "bench: $f not built (run 'make bench')" >&2; exit 1; }
done

if [ "$QUICK" = 1 ]; then
	ROUNDS=3 CONNS=3000 TC_REPEAT=200000 TC_FLOWS=500 IPERF_T=1 IPERF_OMIT=0
	RING_REPS=1 RING_STEP_MS=300 STORM_S=1 STORM_ROUNDS=2 RSS_CONNS=100000 HTTP_T=1 HTTP_N=5000 SSL_N=10000
	START_RUNS=3 TF_RUNS=30
else
	ROUNDS=7 CONNS=20000 TC_REPEAT=2000000 TC_FLOWS=2000 IPERF_T=4 IPERF_OMIT=1
	RING_REPS=5 RING_STEP_MS=500 STORM_S=3 STORM_ROUNDS=5 RSS_CONNS=1000000 HTTP_T=3 HTTP_N=50000 SSL_N=50000
	START_RUNS=7 TF_RUNS=200
fi
STORM_RATE=10000

mkdir -p "$BD"
TMP=$(mktemp -d /var/tmp/gpbench.XXXXXX)	# on disk, like the textfile directory
RAW=$TMP/raw.tsv
ROWS=$TMP/rows.tsv
: >"$RAW"
: >"$ROWS"

PIDS=() NETNS=()
TRACEFS_MOUNTED=0
BPF_STATS_OLD=
cleanup() {
	local p n
	for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
	done
	for n in "${NETNS[@]}"; do ip netns del "$n" 2>/dev/null; done
	[ -n "$BPF_STATS_OLD" ] && sysctl -q -w kernel.bpf_stats_enabled="$BPF_STATS_OLD"
	[ "$TRACEFS_MOUNTED" = 1 ] && umount /sys/kernel/tracing 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
die() { log "bench: $*"; exit 1; }

# Forget a background process that has ended (stopped by us or by itself).
unpid() {
	local p keep=()
	for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}
stop_pid() {	# stop_pid PID [SIGNAL]: signal, wait up to 5 s, then KILL
	kill -"${2:-INT}" "$1" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	unpid "$1"
}

NSSEQ=0
# mkns: a fresh namespace with lo up and 198.18.0.1/32 on it; name in $NS.
mkns() {
	NSSEQ=$((NSSEQ + 1))
	NS=gpb$$n$NSSEQ
	ip netns add "$NS" || die "ip netns add $NS"
	NETNS+=("$NS")
	ip -n "$NS" link set lo up
	ip -n "$NS" addr add 198.18.0.1/32 dev lo
}
delns() {
	local n keep=()
	ip netns del "$1" 2>/dev/null
	for n in "${NETNS[@]}"; do [ "$n" = "$1" ] || keep+=("$n"); done
	NETNS=("${keep[@]}")
}

# agent_start NS ARGS...: grayprobe run inside NS; AGENT=its pid, returned
# once attached (it writes its textfile right after attaching).
agent_start() {
	local ns=$1
	shift
	rm -f "$TMP/x.prom"
	ip netns exec "$ns" "${AGENT_BIN:-$GP}" run --events none --textfile "$TMP/x.prom" "$@" \
		>/dev/null 2>"$TMP/agent.err" &
	AGENT=$!
	PIDS+=("$AGENT")
	for _ in $(seq 200); do
		[ -s "$TMP/x.prom" ] && return 0
		kill -0 "$AGENT" 2>/dev/null || die "agent exited: $(tail -n 3 "$TMP/agent.err")"
		sleep 0.02
	done
	die "agent did not attach within 4 s"
}
agent_stop() { stop_pid "$AGENT" INT; }

# Value of one series in the agent's last textfile.
prom() { awk -v k="$1" '$1 == k { v = $2 } END { print (v == "" ? "absent" : v) }' "$TMP/x.prom"; }

rec() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RAW"; }	# rec METRIC VARIANT VALUE
med() {	# med METRIC VARIANT: median of the recorded values
	awk -F'\t' -v m="$1" -v v="$2" '$1 == m && $2 == v { print $3 }' "$RAW" | sort -g |
		awk '{ a[NR] = $1 } END { if (!NR) print "nan"; else if (NR % 2) print a[(NR + 1) / 2];
			else printf "%.6g\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
calc() { awk "BEGIN { v = $1; printf \"%.6g\", v }"; }
# row METRIC "A label" A "B label" B RATIO "goal" PASS|MISS|- "how"
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$ROWS"; }
verdict() { awk "BEGIN { exit !($1) }" && echo pass || echo MISS; }
# ab_row TITLE METRIC GOAL HOW: the row of a {none, grayprobe} pair of
# METRIC: medians, ratio, goal "ratio >= GOAL".
ab_row() {
	local a b
	a=$(med "$2" none) b=$(med "$2" grayprobe)
	row "$1" "no program" "$(fmt "$a")" "grayprobe" "$(fmt "$b")" \
		"$(fmt "$(calc "$b / $a")")" ">= ${3}x" "$(verdict "$b / $a >= $3")" "$4"
}
fmt() {	# 3 significant digits, no exponent
	awk -v v="$1" -v d="${2:-3}" 'BEGIN { if (v == "nan" || v == "-") print v;
		else if (v >= 10 ^ d || v <= -(10 ^ d)) printf "%.0f\n", v; else printf "%.*g\n", d, v }'
}

# ---------------------------------------------------------------- 1
bench_conn() {
	local r v out ns_per
	CONN_CHECK=
	log "1/6 connection path: $ROUNDS rounds x {none, grayprobe, bpftrace}, $CONNS connects each"
	command -v bpftrace >/dev/null || die "bpftrace not installed (Debian package bpftrace)"
	if ! mountpoint -q /sys/kernel/tracing; then
		mount -t tracefs tracefs /sys/kernel/tracing || die "cannot mount tracefs (bpftrace needs it)"
		TRACEFS_MOUNTED=1
	fi
	for r in $(seq "$ROUNDS"); do
		for v in none grayprobe bpftrace; do
			mkns
			case $v in
			grayprobe) agent_start "$NS" -i lo ;;
			bpftrace)
				bpftrace "$BT_SCRIPT" >"$TMP/bt.out" 2>"$TMP/bt.err" &
				BT=$!
				PIDS+=("$BT")
				for _ in $(seq 300); do
					grep -q '^Attaching' "$TMP/bt.out" && break
					kill -0 "$BT" 2>/dev/null || die "bpftrace exited: $(tail -n 3 "$TMP/bt.err")"
					sleep 0.05
				done
				sleep 0.5	# "Attaching" is printed just before the attach
				;;
			esac
			out=$(ip netns exec "$NS" taskset -c 1 "$BD/connloop" 198.18.0.1 8080 "$CONNS") \
				|| die "connloop ($v): $out"
			case $v in
			grayprobe)
				agent_stop
				# Every connect seen (outbound + inbound), nothing lost.
				CONN_CHECK="$CONN_CHECK $v: events=$(prom grayprobe_events_total) lost=$(prom 'grayprobe_events_lost_total{reason="ringbuf_full"}')"
				;;
			bpftrace)
				stop_pid "$BT" INT
				grep -q '@connect_ns' "$TMP/bt.out" || die "bpftrace printed no histogram"
				;;
			esac
			delns "$NS"
			ns_per=$(sed -n 's/.*ns_per_conn=\([0-9.]*\).*/\1/p' <<<"$out")
			rec conn_us "$v" "$(calc "$ns_per / 1000")"
			log "  round $r $v: $(calc "$ns_per / 1000") us/connection"
			sleep 0.3
		done
		log "  agents' counts (at least $((2 * CONNS)) each: they watch every namespace):$CONN_CHECK"
		CONN_CHECK=
	done
	local a b c
	a=$(med conn_us none) b=$(med conn_us grayprobe) c=$(med conn_us bpftrace)
	row "1. connect+accept+close, lo, netns (us/conn)" "no probe" "$(fmt "$a")" "grayprobe" "$(fmt "$b")" \
		"$(fmt "$(calc "$b / $a")")" "<= 1.03x" "$(verdict "$b / $a <= 1.03")" \
		"bench/run.sh conn: connloop 198.18.0.1 $CONNS conns, agent 'run -i lo --events none'"
	row "1. same, vs bpftrace histogram (us/conn)" "bpftrace" "$(fmt "$c")" "grayprobe" "$(fmt "$b")" \
		"$(fmt "$(calc "$b / $c")")" "< 1.00x" "$(verdict "$b < $c")" \
		"bench/connlat.bt on tracepoint:sock:inet_sock_set_state"
	row "1. bpftrace vs no probe (us/conn)" "no probe" "$(fmt "$a")" "bpftrace" "$(fmt "$c")" \
		"$(fmt "$(calc "$c / $a")")" "-" "-" "for reference"
}

# ---------------------------------------------------------------- 2
bench_tc() {
	local c goal
	log "2/6 per-packet TC cost: BPF_PROG_TEST_RUN, $ROUNDS rounds x {empty program, gp_tc}"
	"$BD/tcrun" -R "$ROUNDS" -n "$TC_REPEAT" -f "$TC_FLOWS" >"$TMP/tc.out" 2>"$TMP/tc.err" \
		|| die "tcrun: $(tail -n 3 "$TMP/tc.err")"
	grep -q warning "$TMP/tc.err" && log "  $(grep warning "$TMP/tc.err")"
	while read -r m v ns; do rec "$m" "$v" "$ns"; done <"$TMP/tc.out"
	# The consumer behind (no wake-up per record): how much of the first-payload cost is the wake-up.
	"$BD/tcrun" -R "$ROUNDS" -n 1 -f "$TC_FLOWS" -c 256 -B -C hello,http >"$TMP/tc2.out" 2>/dev/null \
		|| die "tcrun -c 256 failed"
	while read -r m v ns; do rec "${m}_nowake" "$v" "$ns"; done <"$TMP/tc2.out"
	for c in midflow:30:"mid-flow 1448 B data segment, known flow" nontcp:10:"non-TCP (UDP) packet" \
		hello:1000:"first payload: 2 KB TLS ClientHello" http:1000:"first payload: HTTP/1 request with X-Gray"; do
		local m=${c%%:*} rest=${c#*:}
		goal=${rest%%:*}
		local what=${rest#*:} a b
		a=$(med "tc_$m" empty) b=$(med "tc_$m" gp_tc)
		# The goal is judged on gp_tc's own cost: kernel-reported minus the empty
		# program's figure on the same frames (the test-run harness floor).
		row "2. TC $what (ns/pkt)" "empty prog" "$a" "gp_tc (net)" "$b ($(calc "$b - $a"))" \
			"$(fmt "$(calc "$b / $a")")" "<= $goal ns net" "$(verdict "$b - $a <= $goal")" \
			"bench/tcrun: kernel-reported topts.duration, median of $ROUNDS rounds; raw $b ns, empty-program floor $a ns, net $(calc "$b - $a") ns"
	done
	# HTTP at TC: a DATA segment of a known h2c flow against the same segment
	# in a TLS flow (the path without the walker), both per-segment medians.
	local t d h e
	t=$(med tc_tlsdata gp_tc) d=$(med tc_h2data gp_tc) h=$(med tc_h2headers gp_tc) e=$(med tc_h2headers empty)
	row "2. TC mid-stream HTTP/2 DATA segment, vs the same in TLS (ns/pkt)" "TLS flow" "$t" "h2c flow" \
		"$d (+$(calc "$d - $t"))" "$(fmt "$(calc "$d / $t")")" "<= 40 ns more" "$(verdict "$d - $t <= 40")" \
		"bench/tcrun h2data/tlsdata: median over $TC_FLOWS consecutive 1448 B segments, repeat 1 each"
	row "2. TC HEADERS-bearing HTTP/2 segment (ns/pkt)" "empty prog" "$e" "gp_tc (net)" \
		"$h ($(calc "$h - $e"))" "$(fmt "$(calc "$h / $e")")" "<= 1000 ns net" "$(verdict "$h - $e <= 1000")" \
		"bench/tcrun h2headers: HEADERS (300 B block) + DATA with END_STREAM: one unit and one end record"
	for m in hello http; do
		row "2. TC first payload ($m), consumer behind: no wake-up (ns/pkt)" "-" "-" "gp_tc" \
			"$(med "tc_${m}_nowake" gp_tc)" "-" "-" "-" "bench/tcrun -c 256: ring drained every 256 flows"
	done
}

# ---------------------------------------------------------------- 3
bench_iperf() {
	local r v na nb va vb bps
	log "3/6 bulk throughput: iperf3 over veth, $ROUNDS rounds x {no program, grayprobe}, ${IPERF_T}s each"
	command -v iperf3 >/dev/null || die "iperf3 not installed (Debian package iperf3)"
	NSSEQ=$((NSSEQ + 1))
	na=gpb$$c$NSSEQ nb=gpb$$s$NSSEQ va=gpb$$va vb=gpb$$vb
	ip netns add "$na" && NETNS+=("$na") || die "ip netns add"
	ip netns add "$nb" && NETNS+=("$nb") || die "ip netns add"
	ip link add "$va" netns "$na" type veth peer name "$vb" netns "$nb" || die "veth"
	ip -n "$na" addr add 198.18.1.1/24 dev "$va"
	ip -n "$nb" addr add 198.18.1.2/24 dev "$vb"
	for n in "$na" "$nb"; do ip -n "$n" link set lo up; done
	ip -n "$na" link set "$va" up
	ip -n "$nb" link set "$vb" up
	ip netns exec "$nb" iperf3 -s -B 198.18.1.2 -p 5201 >/dev/null 2>&1 &
	local srv=$!
	PIDS+=("$srv")
	for _ in $(seq 100); do
		ip netns exec "$nb" ss -Hltn 'sport = :5201' | grep -q . && break
		sleep 0.05
	done
	for r in $(seq "$ROUNDS"); do
		for v in none grayprobe; do
			[ "$v" = grayprobe ] && agent_start "$nb" -i "$vb" --egress
			bps=$(ip netns exec "$na" iperf3 -c 198.18.1.2 -p 5201 -t "$IPERF_T" -O "$IPERF_OMIT" -J 2>/dev/null |
				jq -r '.end.sum_received.bits_per_second') || die "iperf3 client failed"
			if [ "$v" = grayprobe ]; then
				agent_stop
				IPERF_BYTES=$(awk '/^grayprobe_flow_bytes_total\{direction="inbound"/ { s += $NF } END { printf "%.0f", s }' "$TMP/x.prom")
			fi
			rec iperf_gbps "$v" "$(calc "$bps / 1e9")"
			log "  round $r $v: $(calc "$bps / 1e9") Gbit/s"
		done
	done
	log "  agent counted $IPERF_BYTES payload bytes in its inbound series on the last run"
	stop_pid "$srv" TERM
	delns "$na"	# the veth pair goes with its namespaces
	delns "$nb"
	ab_row "3. iperf3 over veth, 1 stream (Gbit/s)" iperf_gbps 0.98 \
		"bench/run.sh iperf: -t $IPERF_T -O $IPERF_OMIT; agent 'run -i VETH --egress' in the server namespace"
}

# ---------------------------------------------------------------- 4
schedns() {	# CPU time of a process, all threads, in ns
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'
}
bench_ring() {
	local r out rate delivered ev v c0 c1 t0 t1 cpu
	log "4/6 ring buffer drain: agent on CPU 1, producer on CPU 0, $RING_REPS ramps"
	for r in $(seq "$RING_REPS"); do
		mkns
		# -i none and --netns: the agent's own hooks stay quiet (other connections on
		# the machine are not counted); only the producer's records arrive.
		agent_start "$NS" -i none --netns "/run/netns/$NS" --interval 3600
		taskset -p -c 1 "$AGENT" >/dev/null
		out=$(taskset -c 0 "$BD/ringfeed" -t "$RING_STEP_MS" "$AGENT" 2>"$TMP/ring.err") \
			|| die "ringfeed: $(tail -n 3 "$TMP/ring.err")"
		sleep 0.3
		agent_stop
		rate=$(awk '$1 == "ring_max_zero_loss" { print $2 }' <<<"$out")
		delivered=$(awk '$1 == "ring_delivered" { print $2 }' <<<"$out")
		ev=$(prom grayprobe_events_total)
		[ "$ev" = "$delivered" ] || die "agent counted $ev events, producer delivered $delivered"
		delns "$NS"
		rec ring_rate run "$rate"
		log "  ramp $r: highest zero-loss rate $(calc "$rate / 1e6") M events/s (agent counted all $ev)"
	done
	log "  agent CPU at a paced $STORM_RATE connections/s (${STORM_S}s), {-i none, -i lo}"
	for r in $(seq "$STORM_ROUNDS"); do
		for v in notc tc; do
			mkns
			if [ "$v" = tc ]; then agent_start "$NS" -i lo; else agent_start "$NS" -i none; fi
			sleep 0.2
			c0=$(schedns "$AGENT") t0=$(date +%s%N)
			out=$(ip netns exec "$NS" "$BD/connloop" -r "$STORM_RATE" 198.18.0.1 8080 \
				$((STORM_RATE * STORM_S))) || die "connloop: $out"
			sleep 0.3	# outcomes still in flight
			c1=$(schedns "$AGENT") t1=$(date +%s%N)
			agent_stop
			delns "$NS"
			cpu=$(calc "($c1 - $c0) / ($t1 - $t0) * 100")
			local got
			got=$(sed -n 's/.*rate=\([0-9]*\).*/\1/p' <<<"$out")
			# % of one core per 10k connections/s
			rec storm_cpu "$v" "$(calc "$cpu * 10000 / $got")"
			log "  round $r $v: agent $(fmt "$cpu") % of a core at $got conn/s"
		done
	done
	rate=$(med ring_rate run)
	row "4. ring buffer: highest zero-loss drain rate, 1 core (events/s)" "-" "-" "agent" \
		"$(fmt "$rate" 4)" "-" ">= 1M/s" "$(verdict "$rate >= 1000000")" \
		"bench/ringfeed: records written into the agent's own ring buffer by a test-run producer"
	row "4. agent CPU per 10k connections/s (% of one core)" "-i none" "$(fmt "$(med storm_cpu notc)")" \
		"-i lo" "$(fmt "$(med storm_cpu tc)")" "$(fmt "$(calc "$(med storm_cpu tc) / $(med storm_cpu notc)")")" \
		"-" "-" "bench/run.sh ring: connloop -r $STORM_RATE for ${STORM_S}s, agent schedstat delta"
}

# ---------------------------------------------------------------- 5
bench_footprint() {
	local i rss0 rss hwm est ids id mem total tags out
	log "5/6 footprint: RSS after $RSS_CONNS connections over 64 tags"
	for i in $(seq 0 63); do echo "dport $((9000 + i)) = t$i"; done >"$TMP/rules"
	mkns
	agent_start "$NS" -i lo --rules "$TMP/rules" --interval 5
	sleep 0.5
	rss0=$(awk '$1 == "VmRSS:" { print $2 }' /proc/"$AGENT"/status)
	out=$(ip netns exec "$NS" taskset -c 0 "$BD/connloop" -p 64 198.18.0.1 9000 "$RSS_CONNS") \
		|| die "connloop: $out"
	log "  $out"
	sleep 3	# past --tag-wait: every outcome has left
	rss=$(awk '$1 == "VmRSS:" { print $2 }' /proc/"$AGENT"/status)
	hwm=$(awk '$1 == "VmHWM:" { print $2 }' /proc/"$AGENT"/status)
	# BPF maps the agent holds, as bpftool reports them.
	ids=$(cat /proc/"$AGENT"/fdinfo/* 2>/dev/null | awk '$1 == "map_id:" { print $2 }' | sort -un)
	total=0
	: >"$TMP/maps"
	for id in $ids; do
		bpftool -j map show id "$id" >"$TMP/map.json" 2>/dev/null || continue
		mem=$(jq -r '.bytes_memlock' "$TMP/map.json")
		printf '%s %s %s\n' "$(jq -r '.name' "$TMP/map.json")" "$(jq -r '.max_entries' "$TMP/map.json")" "$mem" >>"$TMP/maps"
		total=$((total + mem))
	done
	agent_stop
	delns "$NS"
	est=$(awk -F'[{}" ,=]+' '/^grayprobe_connections_total/ && /result="established"/ { s += $NF } END { print s + 0 }' "$TMP/x.prom")
	tags=$(grep -c '^grayprobe_flow_bytes_total{' "$TMP/x.prom")
	log "  RSS $((rss0 / 1024)) MB at start, $((rss / 1024)) MB after (peak $((hwm / 1024)) MB); $tags tags; $est established outcomes counted; lost: $(prom 'grayprobe_events_lost_total{reason="ringbuf_full"}')"
	log "  maps (name max_entries bytes_memlock): $(tr '\n' ';' <"$TMP/maps")"
	rec rss_kb start "$rss0"
	rec rss_kb after "$rss"
	rec rss_kb peak "$hwm"
	rec map_bytes total "$total"
	cp "$TMP/maps" "$BD/maps.txt"
	row "5. agent RSS after $RSS_CONNS conns, 64 tags x 2 dirs (MB)" "at start" "$(fmt "$(calc "$rss0 / 1024")")" \
		"after" "$(fmt "$(calc "$rss / 1024")")" "$(fmt "$(calc "$rss / $rss0")")" "<= 20 MB" \
		"$(verdict "$rss / 1024 <= 20")" "bench/run.sh footprint: connloop -p 64 at full speed ($(sed -n 's/.*rate=\([0-9]*\).*/\1/p' <<<"$out") conn/s), rules 'dport 9000+i = ti', --interval 5, VmRSS 3 s after; peak (VmHWM) $(fmt "$(calc "$hwm / 1024")") MB; $tags flow-bytes series; $est of $((2 * RSS_CONNS)) established outcomes counted, $(prom 'grayprobe_events_lost_total{reason="ringbuf_full"}') lost (ringbuf_full)"
	row "5. BPF map memory held by the agent (MB)" "-" "-" "bpftool" "$(fmt "$(calc "$total / 1048576")")" "-" \
		"-" "-" "sum of bytes_memlock over the agent's maps ($OUT/bench/maps.txt); the agent does not report it"

	log "  start-up: exec to attached, $START_RUNS runs x {-i none, -i lo}"
	mkns
	for i in $(seq "$START_RUNS"); do
		for v in notc tc; do
			local args=(-i none)
			[ "$v" = tc ] && args=(-i lo)
			out=$(ip netns exec "$NS" "$BD/startup" attached: -- "$GP" run --events none \
				--textfile "$TMP/s.prom" "${args[@]}") || die "startup: $out"
			rec startup_ms "$v" "$(calc "$(awk '{ print $2 }' <<<"$out") / 1e6")"
		done
	done
	delns "$NS"
	row "5. start-up, exec to attached (ms)" "-i none" "$(fmt "$(med startup_ms notc)")" "-i lo" \
		"$(fmt "$(med startup_ms tc)")" "$(fmt "$(calc "$(med startup_ms tc) / $(med startup_ms notc)")")" \
		"<= 300 ms" "$(verdict "$(med startup_ms tc) <= 300")" "bench/startup: fork+exec to the 'attached:' line"
}

# ---------------------------------------------------------------- 6
bench_textfile() {
	local d
	log "6/6 textfile: 64 tags x 2 directions, $TF_RUNS writes"
	d=$(mktemp -d "$TMP/tf.XXXXXX")
	"$BD/textfile" -n "$TF_RUNS" "$d" >"$TMP/tf.out" || die "textfile tool failed"
	while read -r m v; do
		case $m in tf_bytes | tf_series) eval "${m^^}=$v" ;; *) rec "$m" run "$(calc "$v / 1e6")" ;; esac
	done <"$TMP/tf.out"
	local a b
	a=$(med tf_render run) b=$(med tf_write run)
	row "6. textfile 64 tags x 2 dirs: render+write+rename (ms)" "render only" "$(fmt "$a")" \
		"gp_textfile_write" "$(fmt "$b")" "-" "<= 2 ms" "$(verdict "$b <= 2")" \
		"bench/textfile: $TF_BYTES bytes, $TF_SERIES series; I/O alone $(fmt "$(med tf_io run)") ms (without fsync $(fmt "$(med tf_io_nosync run)") ms)"
}

# ---------------------------------------------------------------- diag
# prog_stats_on / prog_stats_off: kernel.bpf_stats_enabled=1 for a
# measurement (restored after, and by the EXIT trap).
prog_stats_on() {
	BPF_STATS_OLD=$(sysctl -n kernel.bpf_stats_enabled)
	sysctl -q -w kernel.bpf_stats_enabled=1
}
prog_stats_off() {
	sysctl -q -w kernel.bpf_stats_enabled="$BPF_STATS_OLD"
	BPF_STATS_OLD=
}
# prog_stats: "ID NAME RUN_TIME_NS RUN_CNT" for each BPF program the agent holds.
prog_stats() {
	local id
	for id in $(cat /proc/"$AGENT"/fdinfo/* 2>/dev/null | awk '$1 == "prog_id:" { print $2 }' | sort -un); do
		bpftool -j prog show id "$id" | jq -r '"\(.id) \(.name) \(.run_time_ns // 0) \(.run_cnt // 0)"'
	done
}
# prog_stats_delta BEFORE AFTER: "NAME RUNS NS" for each program that ran
# between two prog_stats outputs.
prog_stats_delta() {
	awk 'NR == FNR { t[$1] = $3; c[$1] = $4; next }
		$4 - c[$1] > 0 { print $2, $4 - c[$1], $3 - t[$1] }' <(echo "$1") <(echo "$2")
}

# Where a connection's time goes: BPF run time per connection with
# kernel.bpf_stats_enabled=1 (bpftool prog show run_time_ns), agent CPU.
bench_diag() {
	local out c0 c1 n=$CONNS v bin s0 name rc rt
	log "diag: BPF run time per connection (kernel.bpf_stats_enabled=1, $n connects)"
	prog_stats_on
	for v in grayprobe; do
		bin=$GP
		mkns
		AGENT_BIN=$bin agent_start "$NS" -i lo
		s0=$(prog_stats)
		c0=$(schedns "$AGENT")
		out=$(ip netns exec "$NS" taskset -c 1 "$BD/connloop" 198.18.0.1 8080 "$n") || die "connloop: $out"
		sleep 0.3
		c1=$(schedns "$AGENT")
		while read -r name rc rt; do
			rec "diag_${v}_${name}" run "$(calc "$rt / $n")"
			log "  $v $name: $rc runs ($(calc "$rc / $n") per connection), $(calc "$rt / $rc") ns per run, $(calc "$rt / $n") ns per connection"
			row "diag ($v): $name BPF time per connection (ns)" "-" "-" "$name" "$(fmt "$(calc "$rt / $n")")" "-" "-" "-" \
				"$(calc "$rc / $n") runs x $(fmt "$(calc "$rt / $rc")") ns (bpf_stats run_time_ns)"
		done < <(prog_stats_delta "$s0" "$(prog_stats)")
		agent_stop
		delns "$NS"
		log "  $v agent user space: $(calc "($c1 - $c0) / $n") ns CPU per connection ($out)"
		row "diag ($v): agent user-space CPU per connection (ns)" "-" "-" "agent" "$(fmt "$(calc "($c1 - $c0) / $n")")" \
			"-" "-" "-" "schedstat delta over $n connects, -i lo"
	done
	prog_stats_off
}

# ---------------------------------------------------------------- 7
# wrk_run URL: wrk through the veth (1 thread, 8 connections, HTTP_T s);
# prints "REQUESTS/S MEAN_LATENCY_US REQUESTS".
wrk_run() {
	local out
	out=$(ip netns exec "$HTTP_NA" wrk -t 1 -c 8 -d "${HTTP_T}s" "$1" 2>&1) || die "wrk: $out"
	grep -qE '^ +(Non-2xx|Socket errors)' <<<"$out" && die "wrk: $(grep -E '^ +(Non-2xx|Socket errors)' <<<"$out")"
	awk '$1 == "Latency" { v = $2; m = v ~ /us$/ ? 1 : v ~ /ms$/ ? 1000 : 1e6; sub(/[um]?s$/, "", v); lat = v * m }
		$2 == "requests" && $3 == "in" { n = $1 } /^Requests\/sec:/ { print $2, lat, n }' <<<"$out"
}

# http_load VARIANT TOOL: one load run through the veth; prints requests/s.
http_load() {
	local out
	case $2 in
	wrk) wrk_run "http://198.18.2.2:8080/" | awk '{ print $1 }' ;;
	h2load)
		out=$(ip netns exec "$HTTP_NA" h2load -n "$HTTP_N" -c 4 -m 16 "http://198.18.2.2:8081/" 2>&1) \
			|| die "h2load: $out"
		grep -q "succeeded, 0 failed," <<<"$out" || die "h2load: requests failed: $(grep '^requests:' <<<"$out")"
		sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' <<<"$out" ;;
	esac
}
http_veth() {
	NSSEQ=$((NSSEQ + 1))
	HTTP_NA=gpb$$hc$NSSEQ HTTP_NB=gpb$$hs$NSSEQ
	ip netns add "$HTTP_NA" && NETNS+=("$HTTP_NA") || die "ip netns add"
	ip netns add "$HTTP_NB" && NETNS+=("$HTTP_NB") || die "ip netns add"
	ip link add gpb$$ha netns "$HTTP_NA" type veth peer name gpb$$hb netns "$HTTP_NB" || die "veth"
	ip -n "$HTTP_NA" addr add 198.18.2.1/24 dev gpb$$ha
	ip -n "$HTTP_NB" addr add 198.18.2.2/24 dev gpb$$hb
	for n in "$HTTP_NA" "$HTTP_NB"; do ip -n "$n" link set lo up; done
	ip -n "$HTTP_NA" link set gpb$$ha up
	ip -n "$HTTP_NB" link set gpb$$hb up
	mkdir -p "$TMP/nginx"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=bench.grayprobe.test \
		-keyout "$TMP/nginx/key.pem" -out "$TMP/nginx/cert.pem" >/dev/null 2>&1 || die "openssl req failed"
	cat >"$TMP/nginx/nginx.conf" <<-CONF
		daemon off; master_process off; worker_processes 1; pid $TMP/nginx/pid;
		error_log $TMP/nginx/error.log; events { worker_connections 1024; }
		http { access_log off; client_body_temp_path $TMP/nginx/b; proxy_temp_path $TMP/nginx/p;
		fastcgi_temp_path $TMP/nginx/f; uwsgi_temp_path $TMP/nginx/u; scgi_temp_path $TMP/nginx/s;
		keepalive_requests 1000000;
		server { listen 198.18.2.2:8080; listen 198.18.2.2:8081 http2; listen 198.18.2.2:8443 ssl;
		ssl_certificate $TMP/nginx/cert.pem; ssl_certificate_key $TMP/nginx/key.pem;
		location / { return 200 "ok\n"; } } }
	CONF
	ip netns exec "$HTTP_NB" nginx -p "$TMP/nginx/" -c "$TMP/nginx/nginx.conf" >/dev/null 2>&1 &
	HTTP_NGINX=$!
	PIDS+=("$HTTP_NGINX")
	for _ in $(seq 100); do
		ip netns exec "$HTTP_NB" ss -Hltn 'sport = :8443' | grep -q . && return 0
		sleep 0.05
	done
	die "nginx did not listen"
}
bench_http() {
	local r v tool rps c0 c1 t0 t1
	log "7/7 HTTP throughput through veth: $ROUNDS rounds x {wrk, h2load} x {no program, grayprobe}"
	for tool in wrk h2load nginx openssl; do command -v $tool >/dev/null || die "$tool not installed"; done
	http_veth
	for r in $(seq "$ROUNDS"); do
		for tool in wrk h2load; do
			for v in none grayprobe; do
				[ "$v" = grayprobe ] && agent_start "$HTTP_NB" -i gpb$$hb
				c0=$( [ "$v" = grayprobe ] && schedns "$AGENT" || echo 0) t0=$(date +%s%N)
				rps=$(http_load "$v" "$tool")
				[ -n "$rps" ] || die "$tool printed no rate"
				if [ "$v" = grayprobe ]; then
					c1=$(schedns "$AGENT") t1=$(date +%s%N)
					sleep 0.3	# records in flight reach the textfile at stop
					agent_stop
					HTTP_REQS=$(awk '/^grayprobe_http_requests_total\{direction="inbound"/ { s += $NF } END { printf "%.0f", s }' "$TMP/x.prom")
					# % of one core per 10k requests/s
					rec http_cpu "$tool" "$(calc "($c1 - $c0) / ($t1 - $t0) * 100 * 10000 / $rps")"
				fi
				rec "http_$tool" "$v" "$rps"
				log "  round $r $tool $v: $(fmt "$rps") req/s${HTTP_REQS:+ (agent counted $HTTP_REQS inbound requests)}"
				HTTP_REQS=
			done
		done
	done
	stop_pid "$HTTP_NGINX" TERM
	delns "$HTTP_NA"
	delns "$HTTP_NB"
	for tool in wrk h2load; do
		ab_row "7. $tool through veth (req/s)" "http_$tool" 0.97 \
			"bench/run.sh http: nginx in a namespace, agent 'run -i VETH' (ingress+egress) beside it"
		row "7. agent CPU per 10k requests/s, $tool (% of one core)" "-" "-" "agent" \
			"$(fmt "$(med http_cpu "$tool")")" "-" "-" "-" "schedstat delta of the agent over the load run"
	done
}

# ---------------------------------------------------------------- 8
# wrk against nginx over TLS through the veth. Both use OpenSSL
# (libssl.so.3): the agent's uprobes run in the client and in the server,
# and TC sees the TLS records. Then one more run with bpf_stats for the
# BPF time per SSL call (outside the pairs: the stats cost time too).
bench_tls() {
	local r v tool out rps lat n c0 c1 t0 t1
	log "8/8 HTTPS through veth: $ROUNDS rounds x {no program, grayprobe --no-tls, grayprobe}, wrk over TLS, ${HTTP_T}s each"
	for tool in wrk nginx openssl; do command -v $tool >/dev/null || die "$tool not installed"; done
	http_veth
	for r in $(seq "$ROUNDS"); do
		for v in none notls grayprobe; do
			ssl_quiet
			case $v in
			notls) agent_start "$HTTP_NB" -i gpb$$hb --no-tls ;;
			grayprobe) agent_start "$HTTP_NB" -i gpb$$hb ;;
			esac
			[ "$v" = none ] || c0=$(schedns "$AGENT") t0=$(date +%s%N)
			out=$(wrk_run https://198.18.2.2:8443/) || die "wrk over TLS failed"
			read -r rps lat n <<<"$out"
			[ -n "$n" ] || die "wrk printed no rate: $out"
			if [ "$v" = notls ]; then
				agent_stop
			elif [ "$v" = grayprobe ]; then
				c1=$(schedns "$AGENT") t1=$(date +%s%N)
				sleep 0.3	# records in flight reach the textfile at stop
				agent_stop
				TLS_REQS=$(tls_counted)
				rec tls_cpu run "$(calc "($c1 - $c0) / ($t1 - $t0) * 100 * 10000 / $rps")"
			fi
			rec tls_rps "$v" "$rps"
			# Little's law: 8 requests always in flight.
			rec tls_lat_us "$v" "$(calc "8 * 1e6 / $rps")"
			log "  round $r $v: $(fmt "$rps") req/s, $n requests, wrk's mean latency $(fmt "$lat") us${TLS_REQS:+ (agent counted $TLS_REQS)}"
			TLS_REQS=
		done
	done
	tls_bpf_cost
	tls_call_cost
	stop_pid "$HTTP_NGINX" TERM
	delns "$HTTP_NA"
	delns "$HTTP_NB"
	local a b
	ab_row "8. wrk over TLS through veth (req/s)" tls_rps 0.95 \
		"bench/run.sh tls: nginx (TLS 1.3, P-256) in a namespace, wrk -t 1 -c 8 https:// from the other, agent 'run -i VETH' beside nginx; uprobes in both; ${SSL_BUSY:-0} rounds began with another agent's uprobes loaded"
	a=$(med tls_rps none) b=$(med tls_rps notls)
	row "8. same, the classifier only (req/s)" "no program" "$(fmt "$a")" "--no-tls" "$(fmt "$b")" \
		"$(fmt "$(calc "$b / $a")")" "-" "-" "agent 'run -i VETH --no-tls': TC sees the TLS records, no uprobes"
	a=$(med tls_lat_us none) b=$(med tls_lat_us grayprobe)
	row "8. wrk over TLS: latency per request (us)" "no program" "$(fmt "$a")" "grayprobe" "$(fmt "$b")" \
		"$(fmt "$(calc "$b / $a")")" "-" "-" "8 connections kept alive / requests per second (wrk's own mean, logged, is noisier): grayprobe adds $(fmt "$(calc "$b - $a")") us a request"
	row "8. agent CPU per 10k HTTPS requests/s (% of one core)" "-" "-" "agent" "$(fmt "$(med tls_cpu run)")" \
		"-" "-" "-" "schedstat delta of the agent over the load run"
}

# tls_bpf_cost: one more wrk run over TLS with bpf_stats; rows for gp_tc
# and each gp_ssl_* program (per request), and all gp_ssl_* time (the
# uprobes, uretprobes and socket tracepoints) per SSL call (the entry
# uprobes' runs: gp_ssl_*_in).
tls_bpf_cost() {
	local out rps lat n s0 s1 name rc rt ssl_rt=0 calls=0
	prog_stats_on
	agent_start "$HTTP_NB" -i gpb$$hb
	s0=$(prog_stats)
	out=$(wrk_run https://198.18.2.2:8443/) || die "wrk over TLS failed"
	s1=$(prog_stats)
	read -r rps lat n <<<"$out"
	sleep 0.3
	agent_stop
	prog_stats_off
	log "  with bpf_stats: $(fmt "$rps") req/s, $n requests (agent counted $(tls_counted))"
	while read -r name rc rt; do
		log "  $name: $rc runs ($(calc "$rc / $n") per request), $(calc "$rt / $rc") ns per run"
		# The agent watches every namespace: its other programs ran for the rest of the machine.
		case $name in gp_tc | gp_ssl_*) ;; *) continue ;; esac
		row "8. $name BPF time per HTTPS request (ns)" "-" "-" "$name" "$(fmt "$(calc "$rt / $n")")" "-" "-" "-" \
			"$(fmt "$(calc "$rc / $n")") runs x $(fmt "$(calc "$rt / $rc")") ns (bpf_stats run_time_ns), wrk and nginx together"
		case $name in gp_ssl_*_in) calls=$((calls + rc)) ;; esac
		case $name in gp_ssl_*) ssl_rt=$((ssl_rt + rt)) ;; esac
	done < <(prog_stats_delta "$s0" "$s1")
	if [ "$calls" = 0 ]; then
		log "  no gp_ssl_*_in program ran: the agent has no TLS uprobes"
		return 0
	fi
	rec tls_ssl_call_ns run "$(calc "$ssl_rt / $calls")"
	row "8. gp_ssl_* BPF time per SSL read/write call (ns)" "-" "-" "gp_ssl_*" "$(fmt "$(calc "$ssl_rt / $calls")")" \
		"-" "-" "-" "$calls calls ($(fmt "$(calc "$calls / $n")") per request, wrk's and nginx's); BPF run time only, not the uprobe's trap and return"
}
# ssl_quiet: until no other program named gp_ssl_write_in is loaded (10 s
# at most): uprobes are system-wide, another agent's (a test running
# beside) would run in our processes too. SSL_BUSY counts the rounds that
# began with one.
ssl_quiet() {
	local n
	for _ in $(seq 100); do
		n=$(bpftool -j prog show 2>/dev/null | jq '[.[] | select(.name == "gp_ssl_write_in")] | length')
		[ "$n" = 0 ] && return 0
		sleep 0.1
	done
	SSL_BUSY=$((${SSL_BUSY:-0} + 1))
	log "  another agent's uprobes stay loaded ($n); measuring anyway"
}

# tls_call_cost: one SSL_write_ex or SSL_read_ex call (bench/sslcall.py,
# memory BIOs, no socket) without uprobes, under grayprobe's, and under a
# bpftrace count on the same two functions' entry (the uprobe alone).
tls_call_cost() {
	local r v out lib bt a b c
	lib=$(ldconfig -p | awk '$1 == "libssl.so.3" { print $NF; exit }')
	log "  SSL call cost: $ROUNDS rounds x {none, grayprobe, bpftrace entry count}, $SSL_N write+read pairs"
	command -v bpftrace >/dev/null || die "bpftrace not installed (Debian package bpftrace)"
	for r in $(seq "$ROUNDS"); do
		for v in none grayprobe bpftrace; do
			ssl_quiet
			case $v in
			grayprobe) agent_start "$HTTP_NB" -i gpb$$hb ;;
			bpftrace)
				bpftrace -e "uprobe:$lib:SSL_write_ex, uprobe:$lib:SSL_read_ex { @calls = count(); }" \
					>"$TMP/bt.out" 2>"$TMP/bt.err" &
				bt=$!
				PIDS+=("$bt")
				for _ in $(seq 300); do grep -q '^Attaching' "$TMP/bt.out" && break; sleep 0.05; done
				grep -q '^Attaching' "$TMP/bt.out" || die "bpftrace did not attach: $(tail -n 3 "$TMP/bt.err")"
				sleep 0.5 ;;
			esac
			out=$(/usr/bin/python3 bench/sslcall.py "$TMP/nginx/cert.pem" "$TMP/nginx/key.pem" "$SSL_N") \
				|| die "sslcall: $out"
			case $v in grayprobe) agent_stop ;; bpftrace) stop_pid "$bt" INT ;; esac
			rec ssl_call_ns "$v" "${out#ns_per_call }"
			log "  round $r $v: ${out#ns_per_call } ns per SSL call"
		done
	done
	a=$(med ssl_call_ns none) b=$(med ssl_call_ns grayprobe) c=$(med ssl_call_ns bpftrace)
	row "8. one SSL_write_ex or SSL_read_ex call, memory BIOs (ns)" "no probe" "$(fmt "$a")" "grayprobe" "$(fmt "$b")" \
		"$(fmt "$(calc "$b / $a")")" "-" "-" "bench/sslcall.py $SSL_N pairs: grayprobe's uprobe+uretprobe add $(fmt "$(calc "$b - $a")") ns a call (trap, BPF, return)"
	row "8. same, bpftrace count on the entry only (ns)" "no probe" "$(fmt "$a")" "bpftrace" "$(fmt "$c")" \
		"$(fmt "$(calc "$c / $a")")" "-" "-" "a bare uprobe adds $(fmt "$(calc "$c - $a")") ns: the trap's floor on this machine"
}

# tls_counted: HTTPS requests in the agent's last textfile, "inbound N outbound N".
tls_counted() {
	awk '/^grayprobe_http_requests_total\{/ && /alpn="http\/1.1"/ {
		d = $0; sub(/.*direction="/, "", d); sub(/".*/, "", d); n[d] += $NF }
		END { printf "inbound %.0f outbound %.0f", n["inbound"], n["outbound"] }' "$TMP/x.prom"
}

# ---------------------------------------------------------------- main
sections=("$@")
[ ${#sections[@]} -eq 0 ] && sections=(conn tc iperf ring footprint textfile diag http tls)
START=$(date +%s)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
for s in "${sections[@]}"; do
	case $s in
	conn | tc | iperf | ring | footprint | textfile | diag | http | tls) "bench_$s" ;;
	*) die "unknown section '$s' (conn tc iperf ring footprint textfile diag http tls)" ;;
	esac
done

MACHINE="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(awk '/MemTotal/ { printf "%d GiB", $2 / 1048576 + 0.5 }' /proc/meminfo)"
HEADER="grayprobe $("$GP" --version | awk '{ print $2 }') on Linux $(uname -r) ($(uname -m)), Debian $(cat /etc/debian_version); $MACHINE; $(date -u +%Y-%m-%dT%H:%MZ); QUICK=$QUICK, $(( $(date +%s) - START )) s, load average at start $LOAD0, at end $(cut -d' ' -f1-3 /proc/loadavg)"
{
	echo "$HEADER"
	echo
	echo "| metric | A | A median | B | B median | B/A | goal | result |"
	echo "| --- | --- | ---: | --- | ---: | ---: | --- | --- |"
	awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8 }' "$ROWS"
	echo
	echo "How each figure was made:"
	echo
	awk -F'\t' '{ printf "- %s: %s\n", $1, $9 }' "$ROWS"
} >"$BD/results.md"
cp "$RAW" "$BD/raw.tsv"

echo
echo "$HEADER"
printf '%-66s %-12s %10s  %-17s %10s %7s  %-9s %s\n' metric A median B median B/A goal result
awk -F'\t' '{ printf "%-66s %-12s %10s  %-17s %10s %7s  %-9s %s\n", substr($1, 1, 66), $2, $3, $4, $5, $6, $7, $8 }' "$ROWS"
echo
echo "table: $BD/results.md   raw figures: $BD/raw.tsv"
