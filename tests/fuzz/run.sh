#!/usr/bin/env bash
# Runs each libFuzzer harness for SECONDS (default 60) and prints one line per
# harness: "PASS fuzz_X: ..." or "FAIL fuzz_X: ...", the runner's format.
#   tests/fuzz/run.sh [SECONDS] [NAME...]
# Corpora live in $OUT/fuzz/corpus-NAME, seeded from ../shared/corpus/pcap
# (the captures themselves for fuzz_pcap; their TLS ClientHellos and HTTP
# requests, as tshark reassembles them, for fuzz_payload and fuzz_tagger;
# RFC 7541 blocks and an h2c exchange for fuzz_hpack and fuzz_h2; HTTP/1 heads
# for fuzz_h1, an L7 record sequence for fuzz_l7, HTTP/1 and h2 sessions' calls for
# fuzz_plain).
set -u
cd "$(dirname "$0")/../.."
OUT=${OUT:-build}
SECS=${1:-60}
shift 2>/dev/null
NAMES=("$@")
[ ${#NAMES[@]} -gt 0 ] || NAMES=(event payload rules pcap tagger hpack h2 h1 l7 request plain ssllib tls)
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
	hpack|h2)
		# RFC 7541 C.3 and C.6 blocks; a short h2c exchange (SETTINGS,
		# HEADERS, CONTINUATION, gRPC trailers, RST_STREAM, GOAWAY).
		grep "^$1 " <<'SEEDS' | while read -r _ hex; do
hpack 000014828684410f7777772e6578616d706c652e636f6d00000e828684be58086e6f2d636163686500001d828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565
hpack 800010000036488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d30000084883640effc1c0bf00004f88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007
h2 00000f00000604000000000000010000100001000f000006040000000000000100000100000040000037010500000001828600053a70617468062f613f623d31400a3a617574686f726974790b6578616d706c652e636f6d0006782d677261790663616e61727901002900002001040000000188400c636f6e74656e742d74797065106170706c69636174696f6e2f6772706301000900000000010000000100000e000005010100000003828600053a00003b00003209040000000370617468062f613f623d31400a3a617574686f726974790b6578616d706c652e636f6d0006782d677261790663616e61727901001a00001101050000000388be000b677270632d737461747573013100000d000004030000000005000000080300110000080700000000000000000500000000
SEEDS
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
	ssllib)	# a process's maps as show_map_vma() prints them
		printf '%s\n' \
			'55d0c0a00000-55d0c0a02000 r--p 00000000 fd:01 1837 /usr/bin/python3.11' \
			'7f1c2b020000-7f1c2b07b000 r-xp 00020000 fd:01 2753561                    /usr/lib/x86_64-linux-gnu/libssl.so.3' \
			'7f1c2c000000-7f1c2c020000 r--p 00000000 fd:01 77 /usr/lib/x86_64-linux-gnu/libssl.so.3 (deleted)' \
			'7ffd1b3f0000-7ffd1b411000 rw-p 00000000 00:00 0                          [stack]' >"$2/seed-maps" ;;
	plain)	# fuzz_plain.c's calls: an HTTP/1 exchange in pieces, then an h2 session (preface, SETTINGS, HEADERS, DATA)
		perl -e 'sub c { my ($op, $aux, $d) = @_; pack("CnC", $op, length $d, $aux) . $d }
			print "\0", c(0, 0, "GET / HTTP/1.1\r\nHost: a\r\n\r\nHEAD /h HTTP/1.1\r\n\r\n"),
				c(1, 0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"),
				c(3, 4, "lo\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n")' >"$2/seed-h1"
		perl -e 'sub c { my ($op, $aux, $d) = @_; pack("CnC", $op, length $d, $aux) . $d }
			sub f { my ($t, $fl, $sid, $p) = @_; substr(pack("N", length $p), 1) . pack("CCN", $t, $fl, $sid) . $p }
			print "\0", c(0, 0, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" . f(4, 0, 0, "")),
				c(1, 0, f(4, 0, 0, pack("nN", 3, 100)) . f(4, 1, 0, "")),
				c(0, 0, f(1, 5, 1, pack("C*", 0x82, 0x86, 0x84, 0x41, 1, 0x61))),
				c(1, 0, f(1, 4, 1, pack("C", 0x88)) . f(0, 1, 1, "ok") . f(7, 0, 0, pack("NN", 1, 0)))' >"$2/seed-h2" ;;
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
