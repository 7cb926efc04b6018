#!/usr/bin/env bash
# Runs each libFuzzer harness for SECONDS (default 60) and prints one line per
# harness: "PASS fuzz_X: ..." or "FAIL fuzz_X: ...", the runner's format.
#   tests/fuzz/run.sh [SECONDS] [NAME...]
# Corpora live in $OUT/fuzz/corpus-NAME, seeded from ../shared/corpus/pcap
# (the captures themselves for fuzz_pcap; their TLS ClientHellos and HTTP
# requests, as tshark reassembles them, for fuzz_payload and fuzz_tagger).
set -u
cd "$(dirname "$0")/../.."
OUT=${OUT:-build}
SECS=${1:-60}
shift 2>/dev/null
NAMES=("$@")
[ ${#NAMES[@]} -gt 0 ] || NAMES=(event payload rules pcap tagger h1 l7)
PCAPS=../shared/corpus/pcap

seed() {	# seed NAME DIR
	local f
	case $1 in
	pcap)
		[ -d "$PCAPS" ] && cp -n "$PCAPS"/*.pcap "$2"/ 2>/dev/null ;;
	payload|tagger)
		[ -d "$PCAPS" ] && command -v tshark >/dev/null || return 0
		for f in "$PCAPS"/*.pcap; do
			tshark -r "$f" -o tcp.desegment_tcp_streams:TRUE \
				-Y 'tls.handshake.type == 1 || http.request' -T fields -e tcp.payload 2>/dev/null
		done | sort -u | head -n 200 | while read -r hex; do
			[ -n "$hex" ] || continue
			printf '%s' "$hex" | perl -ne 'print pack("H*", $_)' >"$2/seed-$(printf '%s' "$hex" | md5sum | cut -c1-16)"
		done ;;
	rules)
		printf 'header x-gray\nsni *.canary.example.com = canary\ndst 198.18.0.0/15 dport 443-8443 = c\n' >"$2/seed-rules" ;;
	h1)
		printf 'GET /a?b HTTP/1.1\r\nHost: h\r\nX-Gray: canary\r\nContent-Length: 3\r\n\r\n' >"$2/seed-req"
		printf 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nX-A: b\r\n c\r\n\r\n' >"$2/seed-resp"
		[ -d "$PCAPS" ] && command -v tshark >/dev/null || return 0
		for f in "$PCAPS"/*.pcap; do
			tshark -r "$f" -Y 'http.request || http.response' -T fields -e tcp.payload 2>/dev/null
		done | sort -u | head -n 200 | while read -r hex; do
			[ -n "$hex" ] || continue
			printf '%s' "$hex" | perl -ne 'print pack("H*", $_)' >"$2/seed-$(printf '%s' "$hex" | md5sum | cut -c1-16)"
		done ;;
	l7)	# fuzz_l7.c's record format: an HTTP/1 exchange, an h2c frame, a flow end, an expiry
		perl -e 'sub r { my ($op, $arg, $du, $do, $d) = @_; pack("CCnCC", $op, $arg, length $d, $du, $do) . $d }
			print r(0x29, 4, 1, 5, "GET / HTTP/1.1\r\nHost: a\r\nX-Gray: c\r\n\r\n"),
				r(0x0d, 4, 0, 0, "HTTP/1.1 2"), r(0x2d, 4, 1, 9, "00 OK\r\nContent-Length: 9\r\n\r\n"),
				r(0x0e, 4, 0, 0, ""), r(0x35, 4, 0, 0, pack("C*", 0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100)),
				r(0x07, 4, 0, 0, ""), r(0x03, 4, 30, 0, "")' >"$2/seed-l7" ;;
	esac
}

rc=0
for n in "${NAMES[@]}"; do
	bin=$OUT/fuzz/fuzz_$n
	if [ ! -x "$bin" ]; then
		echo "FAIL fuzz_$n: $bin not built"; rc=1; continue
	fi
	dir=$OUT/fuzz/corpus-$n
	mkdir -p "$dir"
	[ -n "$(ls -A "$dir")" ] || seed "$n" "$dir"
	log=$OUT/fuzz/fuzz_$n.log
	if "$bin" -max_total_time="$SECS" -max_len=9000 -timeout=10 -rss_limit_mb=1024 \
		-artifact_prefix="$OUT/fuzz/crash-$n-" "$dir" >"$log" 2>&1; then
		echo "PASS fuzz_$n: $(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "$log" | tail -1), corpus $(ls "$dir" | wc -l)"
	else
		echo "FAIL fuzz_$n: $(grep -m1 -E 'ERROR|SUMMARY|deadly signal' "$log"); artifact $(ls "$OUT"/fuzz/crash-"$n"-* 2>/dev/null | head -1)"
		rc=1
	fi
done
exit $rc
