#!/usr/bin/env bash
# make soak: the agent under connection churn and rule reloads for
# SOAK_SECONDS (default 600), watched for growth that does not stop.
#
# Two namespaces joined by a veth (198.18.90.0/24, fd00:198:18:90::/64):
# nginx (HTTP on :8080, TLS + HTTP/2 on :8443) and a tcpconn listener (:9000)
# in B, where `grayprobe run -i VETH --rules FILE --textfile ... --interval 1
# --events json` runs; A drives the churn: tcpconn connect loops (v4 and v6
# established, refused on a closed port, unreachable to an address nobody
# has), curl over HTTP with a random X-Gray header each time (past the
# --max-tags cap) and curl over TLS with a random SNI. Every SIGHUP_EVERY
# seconds (default 3) the rules file is swapped between a good and a bad one
# and the agent gets SIGHUP.
#
# Every 10 s: the agent's VmRSS, open fds (/proc/PID/fd, the least of three
# reads, so a file open for an instant does not count) and the entries of
# its gp_flows and gp_starts maps (found through /proc/PID/fdinfo). After
# the warm-up (the first 20 % of the time) the first sample is the baseline;
# it fails if RSS ends more than max(10 %, 4 MiB) above it, if the fds ever
# exceed it, or if gp_starts keeps growing (every sample above the one
# before, ending more than 32 above the baseline) or does not drain once
# the churn stops. gp_flows is an LRU bounded by its size: shown, not judged.
# Also fails if the agent dies, stops rewriting its textfile, ignores the
# reloads or exits non-zero on SIGTERM. The samples table is printed either
# way. Everything it made goes away on exit, failure and ^C included.
#
#   SOAK_SECONDS=N (>= 30)  SIGHUP_EVERY=N  OUT=build  tests/soak/soak.sh
# shellcheck disable=SC2317  # functions called from traps and loops
source "$(dirname "$0")/../integration/lib.sh"

SOAK_SECONDS=${SOAK_SECONDS:-600}
SIGHUP_EVERY=${SIGHUP_EVERY:-3}
SAMPLE_EVERY=10
ID=90

# lib.sh's fail/skip write a reason file for run_tests; here they just say it.
fail() { echo "soak: FAIL: $*" >&2; exit 1; }
skip() { echo "soak: SKIP: $*" >&2; exit 77; }
say() { echo "soak: $*"; }

[[ $SOAK_SECONDS =~ ^[0-9]+$ ]] && [ "$SOAK_SECONDS" -ge 30 ] || { echo "soak: SOAK_SECONDS must be a number >= 30" >&2; exit 2; }
[[ $SIGHUP_EVERY =~ ^[0-9]+$ ]] && [ "$SIGHUP_EVERY" -ge 1 ] || { echo "soak: SIGHUP_EVERY must be a number >= 1" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || skip "needs root (loads BPF, creates network namespaces)"
for c in nginx curl openssl bpftool; do
	command -v "$c" >/dev/null 2>&1 || skip "$c not installed (make test-deps)"
done
[ -x "$GP" ] && [ -x "$TCPCONN" ] || fail "$GP or $TCPCONN not built (make all $OUT/tests/tcpconn)"

T=$(mktemp -d /tmp/gpsoak.XXXXXX)
soak_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	touch "$T/stop" 2>/dev/null
	# The drivers see the stop file within a connect or a curl (5 s at most).
	for _ in $(seq 60); do
		local alive=0 p
		for p in "${DRIVERS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ $alive -eq 0 ] && break
		sleep 0.1
	done
	cleanup
	exit $rc
}
DRIVERS=()
trap soak_cleanup EXIT
trap 'exit 130' INT TERM

# ---- the pair, the servers, the agent ---------------------------------------------

ns_pair $ID
IFB=gpv${BASHPID}b
tls_cert canary.example.com
nginx_start "$NSB" 8080 8443 <<-NGX
	server { listen $B4:8080; listen [$B6]:8080; location / { return 200 "ok\n"; } }
	server {
		listen $B4:8443 ssl http2;
		ssl_certificate $T/cert.pem;
		ssl_certificate_key $T/key.pem;
		location / { return 200 "ok\n"; }
	}
NGX
ip netns exec "$NSB" "$TCPCONN" listen "$B4" 9000 >/dev/null 2>&1 &
PIDS+=($!)
ip netns exec "$NSB" "$TCPCONN" listen "$B6" 9000 >/dev/null 2>&1 &
PIDS+=($!)
wait_port "$NSB" 9000 $! /dev/null

cat >"$T/rules.good" <<-RULES
	# soak: good rules
	header x-gray
	sni *.canary.example.com = canary
	dst 198.18.0.0/15 dport 9000 = churn
	alpn h2 = h2-canary
RULES
printf '# soak: bad rules\nheader x-gray\ndport 70000 = x\n' >"$T/rules.bad"
cp "$T/rules.good" "$T/rules"

ip netns exec "$NSB" "$GP" run -i "$IFB" --rules "$T/rules" --textfile "$T/gp.prom" --interval 1 \
	--events json >/dev/null 2>"$T/agent.err" &
AGENT=$!
PIDS+=($AGENT)
for _ in $(seq 100); do
	[ -s "$T/gp.prom" ] && break
	kill -0 "$AGENT" 2>/dev/null || fail "agent exited early: $(tail -n 3 "$T/agent.err")"
	sleep 0.1
done
[ -s "$T/gp.prom" ] || fail "agent wrote no textfile within 10 s"
[ "$(readlink "/proc/$AGENT/exe")" = "$(readlink -f "$GP")" ] || fail "pid $AGENT is not the agent"
say "agent pid $AGENT in $NSB, classifier on $IFB; $(head -n 1 "$T/agent.err" | sed 's/^grayprobe: //')"

# The agent's maps, by name, from its own descriptors.
FLOWS_ID= STARTS_ID=
for f in /proc/"$AGENT"/fdinfo/*; do
	id=$(awk '$1 == "map_id:" { print $2 }' "$f" 2>/dev/null)
	[ -n "$id" ] || continue
	case $(bpftool map show id "$id" 2>/dev/null | sed -n 's/.* name \([^ ]*\) .*/\1/p') in
	gp_flows) FLOWS_ID=$id ;;
	gp_starts) STARTS_ID=$id ;;
	esac
done
[ -n "$FLOWS_ID" ] && [ -n "$STARTS_ID" ] || fail "gp_flows / gp_starts not among the agent's fds"
say "maps: gp_flows id $FLOWS_ID, gp_starts id $STARTS_ID"

# ---- the churn -------------------------------------------------------------------------

# driver NAME SCRIPT: bash -c SCRIPT inside A until $T/stop appears; $1 in it is $T.
driver() {
	ip netns exec "$NSA" bash -c "while [ ! -e \"\$1/stop\" ]; do $2; done" "$1" "$T" \
		>>"$T/driver.$1.log" 2>&1 &
	DRIVERS+=($!)
	PIDS+=($!)
}
# A few hundred connections a second in all: 10 minutes fill gp_flows' LRU more than once.
driver est4 "'$TCPCONN' connect $B4 9000 20; sleep 0.1"
driver est6 "'$TCPCONN' connect $B6 9000 10; sleep 0.2"
driver refused "'$TCPCONN' connect $B4 9001 5; sleep 0.2"
# Nobody has .77: no neighbour, EHOSTUNREACH after the ARP retries (~3 s).
driver unreach "'$TCPCONN' connect 198.18.$ID.77 9000 1"
driver http "v=g\$RANDOM\$RANDOM; curl -s -o /dev/null --max-time 5 -H \"X-Gray: \$v\" -H 'Connection: close' \
	http://$B4:8080/ http://$B4:8080/ http://[$B6]:8080/ -o /dev/null -o /dev/null; echo \$v >>\"\$1/grays\""
driver tls "h=h\$RANDOM.canary.example.com; curl -sk -o /dev/null --max-time 5 --http2 \
	--resolve \$h:8443:$B4 https://\$h:8443/; sleep 0.05"

# ---- sampling ----------------------------------------------------------------------------

# Entries of map ID: "key" lines when bpftool formats with BTF, else its "Found N elements".
map_count() {
	bpftool map dump id "$1" 2>/dev/null \
		| awk '/"key":/ { n++ } /^Found [0-9]+ element/ { f = $2 } END { print (f != "" ? f : n + 0) }'
}
fd_count() {
	local a b c
	a=$(ls "/proc/$AGENT/fd" | wc -l); sleep 0.1
	b=$(ls "/proc/$AGENT/fd" | wc -l); sleep 0.1
	c=$(ls "/proc/$AGENT/fd" | wc -l)
	printf '%s\n' "$a" "$b" "$c" | sort -n | head -n 1
}
conns_total() { awk '$1 ~ /^grayprobe_connections_total\{/ { s += $2 } END { print s + 0 }' "$T/gp.prom"; }

printf '%-7s %10s %5s %9s %10s %12s %6s\n' t_s rss_kb fds gp_flows gp_starts connections hups | tee "$T/samples"
sample() {
	local label=$1 rss fds
	kill -0 "$AGENT" 2>/dev/null || fail "agent died at t=$label: $(tail -n 3 "$T/agent.err")"
	rss=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$AGENT/status")
	fds=$(fd_count)
	printf '%-7s %10s %5s %9s %10s %12s %6s\n' "$label" "$rss" "$fds" "$(map_count "$FLOWS_ID")" \
		"$(map_count "$STARTS_ID")" "$(conns_total)" "$HUPS" | tee -a "$T/samples"
	# The textfile is rewritten every second.
	[ $(($(date +%s) - $(stat -c %Y "$T/gp.prom"))) -le 5 ] || fail "textfile not rewritten for over 5 s"
}

HUPS=0 GOOD=0 BAD=0
start=$(date +%s)
next_sample=0 next_hup=$SIGHUP_EVERY
while :; do
	now=$(($(date +%s) - start))
	if [ "$now" -ge "$next_hup" ] && [ "$now" -lt "$SOAK_SECONDS" ]; then
		if [ $((HUPS % 2)) -eq 0 ]; then cp "$T/rules.bad" "$T/rules"; BAD=$((BAD + 1))
		else cp "$T/rules.good" "$T/rules"; GOOD=$((GOOD + 1)); fi
		kill -HUP "$AGENT" 2>/dev/null || fail "agent gone (SIGHUP at t=$now)"
		HUPS=$((HUPS + 1))
		next_hup=$((next_hup + SIGHUP_EVERY))
	fi
	if [ "$now" -ge "$next_sample" ]; then
		sample "$now"
		next_sample=$((next_sample + SAMPLE_EVERY))
		[ "$now" -ge "$SOAK_SECONDS" ] && break
	fi
	sleep 0.5
done

# Churn off: in-flight connects end (the unreachable one within ~3 s) and
# every outcome is counted once its tag wait (2 s) is over.
touch "$T/stop"
for _ in $(seq 100); do
	alive=0
	for p in "${DRIVERS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
	[ $alive -eq 0 ] && break
	sleep 0.1
done
sleep 4
sample end
# The agent watches every namespace: entries may be other processes' connects
# in flight. Say whose they are, for whoever reads a failure.
if command -v jq >/dev/null 2>&1; then
	bpftool -j map dump id "$STARTS_ID" 2>/dev/null \
		| jq -r '.[] | .formatted.value // empty | "\(.pid) \(.comm) \(.ts_ns)"' 2>/dev/null | head -n 20 \
		| while read -r pid comm ts; do
			ns=$(readlink "/proc/$pid/ns/net" 2>/dev/null || echo "(exited)")
			say "gp_starts entry left: pid $pid ($comm), netns $ns, started $(( ($(awk '{ print int($1 * 1000) }' /proc/uptime) - ts / 1000000) / 1000 )) s ago"
		done
fi

# ---- the verdict ------------------------------------------------------------------------

kill -TERM "$AGENT"
wait "$AGENT"
rc=$?
[ "$rc" -eq 0 ] || fail "agent exited $rc on SIGTERM: $(tail -n 3 "$T/agent.err")"

say "$(awk '/^grayprobe_connections_total\{/ { split($1, a, "result=\""); r = a[2]; sub(/".*/, "", r); n[r] += $2 }
	END { for (r in n) printf "%s=%d ", r, n[r] }' "$T/gp.prom")(all namespaces)"
say "$(grep -c . "$T/grays" 2>/dev/null || echo 0) random X-Gray values sent; tags_overflow_total=$(prom grayprobe_tags_overflow_total)"
say "lost: $(grep '^grayprobe_events_lost_total' "$T/gp.prom" | sed 's/grayprobe_events_lost_total//' | tr '\n' ' ')payload=$(prom grayprobe_payload_records_lost_total)"
loaded=$(grep -c "SIGHUP: [0-9]* gray rules loaded" "$T/agent.err")
refused=$(grep -c "$T/rules:3: .*keeping the rules in use" "$T/agent.err")
say "SIGHUPs: $HUPS sent ($GOOD good, $BAD bad); the agent logged $loaded reloads and $refused refusals"

verdict=$(awk -v warm="$((SOAK_SECONDS / 5))" '
	NR == 1 || $1 == "end" { if ($1 == "end") { end_starts = $5; end_fds = $3 }; next }
	$1 + 0 < warm { next }
	{
		n++; rss[n] = $2; fds[n] = $3; st[n] = $5; t[n] = $1
	}
	END {
		if (n < 2) { print "FAIL: fewer than 2 samples after the warm-up"; exit }
		tol = rss[1] / 10; if (tol < 4096) tol = 4096
		if (rss[n] - rss[1] > tol)
			printf "FAIL: RSS grew %d kB after the warm-up (%d -> %d kB; at most %d allowed)\n", rss[n] - rss[1], rss[1], rss[n], tol
		for (i = 2; i <= n; i++) if (fds[i] > fds[1]) { printf "FAIL: open fds grew: %d at t=%s, %d at t=%s\n", fds[1], t[1], fds[i], t[i]; break }
		if (end_fds > fds[1]) printf "FAIL: open fds grew: %d at t=%s, %d at the end\n", fds[1], t[1], end_fds
		up = 1; for (i = 2; i <= n; i++) if (st[i] <= st[i - 1]) up = 0
		if (up && st[n] - st[1] > 32) printf "FAIL: gp_starts kept growing: %d -> %d\n", st[1], st[n]
		if (end_starts > 16) printf "FAIL: gp_starts holds %d entries once the churn stopped\n", end_starts
		printf "baseline t=%s: rss %d kB, fds %d, gp_starts %d; last t=%s: rss %d kB (%+d), fds %d; after the churn: gp_starts %d, fds %d\n", t[1], rss[1], fds[1], st[1], t[n], rss[n], rss[n] - rss[1], fds[n], end_starts, end_fds
	}' "$T/samples")
say "$(grep -v '^FAIL' <<<"$verdict")"
[ "$GOOD" -eq 0 ] || [ "$loaded" -ge "$GOOD" ] || fail "only $loaded of $GOOD good reloads logged"
[ "$BAD" -eq 0 ] || [ "$refused" -ge "$BAD" ] || fail "only $refused of $BAD bad rules files refused with FILE:LINE"
[ "$(conns_total)" -gt 0 ] || fail "no connection counted"
if grep -q '^FAIL' <<<"$verdict"; then
	grep '^FAIL' <<<"$verdict" | sed 's/^FAIL: /soak: FAIL: /' >&2
	exit 1
fi
say "PASS ($SOAK_SECONDS s)"
