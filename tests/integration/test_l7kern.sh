#!/usr/bin/env bash
# The TC program's HTTP records (GP_EV_L7): tests/tools/l7dump runs crafted
# TCP streams (SYN, SYN-ACK, ACK, then data both ways, IPv4 and IPv6) through
# gp_tc with BPF_PROG_TEST_RUN in chosen segmentations; each test compares
# the records with a list written by hand from the streams' layout (the
# offsets are worked out in the comments), and a randomized differential
# compares thousands of random HTTP/1 and HTTP/2 flows with a reference
# cutter. L7_SEED=N picks another seed for it. t_l7_live_nginx checks real
# curl/nginx traffic between namespaces, hooked as the agent hooks it.
source "$(dirname "$0")/lib.sh"

L7DUMP=$PWD/$OUT/tests/l7dump
# as printf formats take it: l7dump unescapes \r\n itself
PREFACE='PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n'

# l7 NAME [ARGS]: the script on stdin through l7dump; records in $T/NAME
# ($T/NAME.full with proto and data).
l7() {
	local name=$1
	shift
	[ -x "$L7DUMP" ] || fail "$L7DUMP not built (make $OUT/tests/l7dump)"
	"$L7DUMP" "$@" >"$T/$name.full" 2>"$T/$name.err" || fail "$name: l7dump failed: $(head -c 300 "$T/$name.err")"
	cut -d' ' -f1-7 "$T/$name.full" >"$T/$name"
}

# expect_recs NAME: the records of NAME are exactly the lines on stdin
# (dir kind unit off len flags reason).
expect_recs() {
	local want
	want=$(cat)
	[ "$(cat "$T/$1")" = "$want" ] || fail "$1: records differ:
$(diff <(echo "$want") "$T/$1" | head -20)"
}

r() { printf 'dir=%s kind=%s unit=%s off=%s len=%s flags=%s reason=%s\n' "$@"; }

# HTTP/2 with prior knowledge, both ways: HEADERS + CONTINUATION, SETTINGS
# and its ACK, DATA skipped, END_STREAM on DATA; IPv4 and IPv6.
t_l7_h2_prior_knowledge() {
	local v
	for v in "" -6; do
		# client: preface 0..24, SETTINGS(6) 24..39, HEADERS(20) 39..68,
		# CONTINUATION(5) 68..82, DATA(100, END_STREAM) 82..191.
		# server: SETTINGS 0..9, SETTINGS ACK 9..18, HEADERS(10) 18..37,
		# DATA(2000) 37..2046, DATA(5, END_STREAM) at 2046.
		{
			printf "open\nc $PREFACE\nc.h2 4 0 0 6\nc.h2 1 0 1 20\nc.h2 9 4 1 5\nc.h2 0 1 1 100\nc.send\n"
			printf '%s\n' "s.h2 4 0 0 0" "s.h2 4 1 0 0" "s.h2 1 4 1 10" "s.h2 0 0 1 2000" "s.h2 0 1 1 5" "s.send"
		} | l7 h2pk$v $v
		expect_recs h2pk$v <<-EOF
		$(r 0 UNIT 24 24 15 1 0)
		$(r 0 UNIT 39 39 29 1 0)
		$(r 0 UNIT 68 68 14 1 0)
		$(r 0 END 82 82 9 0 0)
		$(r 1 UNIT 0 0 9 1 0)
		$(r 1 UNIT 9 9 9 1 0)
		$(r 1 UNIT 18 18 19 1 0)
		$(r 1 END 2046 2046 9 0 0)
		EOF
	done
	grep -q 'unit=39 .* proto=2 data="\\x00\\x00\\x14\\x01\\x00\\x00\\x00\\x00\\x01wxyzabcdefghijklmnop"$' "$T/h2pk.full" \
		|| fail "HEADERS bytes wrong: $(grep unit=39 "$T/h2pk.full")"
	grep -q 'kind=END unit=82 .*data="\\x00\\x00d\\x00\\x01\\x00\\x00\\x00\\x01"$' "$T/h2pk.full" \
		|| fail "END carries the DATA frame's header: $(grep END "$T/h2pk.full")"
}

# A frame header split across segments, and a frame in 1-byte segments.
t_l7_h2_split_frames() {
	# HEADERS(12) 24..45: its header arrives as 5 + 4 of the 7 bytes of the
	# second segment, then 1-byte segments; DATA(30) 45..84; DATA(3, ES) at 84.
	printf "open\nc $PREFACE\nc.send\nc.h2 1 4 1 12\nc.h2 0 0 1 30\nc.h2 0 1 1 3\nc.send 5,7,1,1,1,1,2,30\n" | l7 split
	expect_recs split <<-EOF
	$(r 0 UNIT 24 24 12 0 0)
	$(r 0 UNIT 24 36 1 0 0)
	$(r 0 UNIT 24 37 1 0 0)
	$(r 0 UNIT 24 38 1 0 0)
	$(r 0 UNIT 24 39 1 0 0)
	$(r 0 UNIT 24 40 2 0 0)
	$(r 0 UNIT 24 42 3 1 0)
	$(r 0 END 84 84 9 0 0)
	EOF
	# Everything, the preface too, in 1-byte segments: HEADERS(3) 24..36, DATA(2, ES) at 36.
	printf "open\nc $PREFACE\nc.h2 1 4 1 3\nc.h2 0 1 1 2\nc.send 1\n" | l7 bytes
	expect_recs bytes <<-EOF
	$(r 0 UNIT 24 24 9 0 0)
	$(r 0 UNIT 24 33 1 0 0)
	$(r 0 UNIT 24 34 1 0 0)
	$(r 0 UNIT 24 35 1 1 0)
	$(r 0 END 36 36 9 0 0)
	EOF
}

# Big DATA frames are skipped, never copied; RST_STREAM whole, GOAWAY cut to
# its fixed part, a HEADERS frame past GP_L7_FRAME_MAX cut, SETTINGS ACK.
t_l7_h2_skip_and_truncate() {
	# DATA(20000) 24..20033, RST(4) 20033..20046, PING 20046..20063,
	# WINDOW_UPDATE 20063..20076, GOAWAY(40) 20076..20125 (17 sent),
	# HEADERS(17000) 20125..37134 (16393 sent, in 1400-byte segments),
	# SETTINGS ACK at 37134.
	{ printf "open\nc $PREFACE\n"; printf '%s\n' "c.h2 0 0 1 20000" "c.h2 3 0 1 4" "c.h2 6 0 0 8" "c.h2 8 0 0 4" \
		"c.h2 7 0 0 40" "c.h2 1 4 3 17000" "c.h2 4 1 0 0" "c.send"; } | l7 big
	local seg mid=""
	for seg in 21000 22400 23800 25200 26600 28000 29400 30800 32200 33600 35000; do
		mid+="$(r 0 UNIT 20125 $seg 1400 0 0)"$'\n'
	done
	expect_recs big <<-EOF
	$(r 0 UNIT 20033 20033 13 1 0)
	$(r 0 UNIT 20076 20076 17 3 0)
	$(r 0 UNIT 20125 20125 875 0 0)
	${mid%$'\n'}
	$(r 0 UNIT 20125 36400 118 3 0)
	$(r 0 UNIT 37134 37134 9 1 0)
	EOF
	# Bytes forwarded: the forwarded frames' sizes, nothing of the 20000 DATA bytes.
	expect_eq "$(($(sed 's/.*len=\([0-9]*\).*/\1/' "$T/big" | paste -sd+)))" $((13 + 17 + 16393 + 9)) "bytes forwarded"
}

# HTTP/1.1 keep-alive: Content-Length bodies, requests pipelined in one
# segment, a HEAD response without body, 100 Continue then 200 chunked,
# responses in small segments.
t_l7_h1_keepalive() {
	# requests: GET 0..28; POST 28..67 + body 5 -> 72; HEAD 72..92.
	# responses: 200 head 0..38 + 3 -> END at 41; 100 head 41..66 (no END);
	# 200 chunked head 66..113, body "5..0.." -> END at 128; the HEAD's
	# 200 with Content-Length 1000: head 128..169, no body, END at 169.
	l7 keep <<-'EOF'
	open
	c GET /a HTTP/1.1\r\nHost: x\r\n\r\n
	c POST /b HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloHEAD /c HTTP/1.1\r\n\r\n
	c.send
	s HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc
	s HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n
	s HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n
	s.send 10,3,7,1,2,40,5,6,1,1,1,100
	EOF
	expect_recs keep <<-EOF
	$(r 0 UNIT 0 0 28 1 0)
	$(r 0 UNIT 28 28 39 1 0)
	$(r 0 UNIT 72 72 20 1 0)
	$(r 1 UNIT 0 0 10 0 0)
	$(r 1 UNIT 0 10 3 0 0)
	$(r 1 UNIT 0 13 7 0 0)
	$(r 1 UNIT 0 20 1 0 0)
	$(r 1 UNIT 0 21 2 0 0)
	$(r 1 UNIT 0 23 15 1 0)
	$(r 1 END 0 41 0 0 0)
	$(r 1 UNIT 41 41 22 0 0)
	$(r 1 UNIT 41 63 3 1 0)
	$(r 1 UNIT 66 66 2 0 0)
	$(r 1 UNIT 66 68 6 0 0)
	$(r 1 UNIT 66 74 1 0 0)
	$(r 1 UNIT 66 75 1 0 0)
	$(r 1 UNIT 66 76 1 0 0)
	$(r 1 UNIT 66 77 36 1 0)
	$(r 1 END 66 128 0 0 0)
	$(r 1 UNIT 128 128 41 1 0)
	$(r 1 END 128 169 0 0 0)
	EOF
	grep -q 'unit=28 .*data="POST /b HTTP/1.1\\r\\nContent-Length: 5\\r\\n\\r\\n"$' "$T/keep.full" \
		|| fail "POST head bytes: $(grep unit=28 "$T/keep.full")"
}

# Chunked bodies whose chunk-size lines (with extensions) and trailers are
# split across segments; 204 with a Content-Length has no body; IPv6.
t_l7_h1_chunked_split() {
	# POST head 0..48; "1a;ext=1\r\n" 48..58 in four pieces, data + CRLF
	# 58..86, "0\r\n" 86..89, trailer "X-T: 1\r\n\r\n" 89..99; GET at 99.
	# 200 head 0..53, "3\r\nabc\r\n0\r\n\r\n" -> END at 66; 204 head 66..112, END at 112.
	l7 chunk -6 <<-'EOF'
	open
	c POST /u HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-T: 1\r\n\r\nGET /n HTTP/1.1\r\n\r\n
	c.send 50,3,2,1,1,20,5,3,4,100
	s HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nHTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n
	s.send
	EOF
	expect_recs chunk <<-EOF
	$(r 0 UNIT 0 0 48 1 0)
	$(r 0 UNIT 99 99 19 1 0)
	$(r 1 UNIT 0 0 53 1 0)
	$(r 1 END 0 66 0 0 0)
	$(r 1 UNIT 66 66 46 1 0)
	$(r 1 END 66 112 0 0 0)
	EOF
}

# 304 has no body; 101 switches the server to HTTP/2 right after its head
# and the client's preface switches the client.
t_l7_h1_upgrade_h2c() {
	# GET 0..36, GET (Upgrade) 36..70, then the preface 70..94 and SETTINGS ACK at 94.
	# 304 head 0..49 (END 49); 101 head 49..99 (END 99); SETTINGS(6) 99..114, HEADERS(7) 114..130.
	l7 up <<-'EOF'
	open
	c GET / HTTP/1.1\r\nIf-None-Match: x\r\n\r\nGET /up HTTP/1.1\r\nUpgrade: h2c\r\n\r\n
	c.send
	s HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\nHTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n
	s.h2 4 0 0 6
	s.h2 1 4 1 7
	s.send
	c PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n
	c.h2 4 1 0 0
	c.send
	EOF
	expect_recs up <<-EOF
	$(r 0 UNIT 0 0 36 1 0)
	$(r 0 UNIT 36 36 34 1 0)
	$(r 1 UNIT 0 0 49 1 0)
	$(r 1 END 0 49 0 0 0)
	$(r 1 UNIT 49 49 50 1 0)
	$(r 1 END 49 99 0 0 0)
	$(r 1 UNIT 99 99 15 1 0)
	$(r 1 UNIT 114 114 16 1 0)
	$(r 0 UNIT 94 94 9 1 0)
	EOF
	grep -q 'unit=114 .*proto=2 ' "$T/up.full" || fail "the server's HEADERS is not HTTP/2: $(grep unit=114 "$T/up.full")"
}

# 17 pipelined requests: one more than the kinds kept for their responses,
# so the responses are lost (MALFORMED), never framed wrong; without the
# server's direction (no SYN-ACK seen) the client's requests go on unbounded.
t_l7_h1_fifo() {
	local i reqs=""
	for i in $(seq 17); do reqs+="GET /$(printf %02d $i) HTTP/1.1\\r\\n\\r\\n"; done
	printf 'open\nc %s\nc.send\ns HTTP/1.1 200 OK\\r\\n\\r\\n\ns.send\n' "$reqs" | l7 fifo
	# each request 20 bytes: the 17th at 320, then the server's direction at 0
	expect_eq "$(wc -l <"$T/fifo")" 18 "records"
	expect_eq "$(sed -n 17p "$T/fifo")" "$(r 0 UNIT 320 320 20 1 0)" "the 17th request"
	expect_eq "$(sed -n 18p "$T/fifo")" "$(r 1 LOST 0 0 0 0 4)" "the responses"
	printf 'open nosynack\nc %s%s\nc.send\n' "$reqs" "$reqs" | l7 nosa34
	expect_eq "$(grep -c 'dir=0 kind=UNIT' "$T/nosa34")" 34 "requests without the server's direction"
	expect_eq "$(head -n 1 "$T/nosa34")" "$(r 1 LOST 0 0 0 0 3)" "the server's direction"
}

# A 1 GB Content-Length is skipped; one past 2^31 is beyond what offsets
# compare safely: the direction is lost there, not framed wrong.
t_l7_h1_big_length() {
	printf 'open\nc GET / HTTP/1.1\\r\\n\\r\\nGET / HTTP/1.1\\r\\n\\r\\n\nc.send\n%s\n%s\n' \
		's HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n' 's.send' | l7 gig
	expect_recs gig <<-EOF
	$(r 0 UNIT 0 0 18 1 0)
	$(r 0 UNIT 18 18 18 1 0)
	$(r 1 UNIT 0 0 47 1 0)
	EOF
	printf 'open\nc GET / HTTP/1.1\\r\\n\\r\\n\nc.send\n%s\n%s\n' \
		's HTTP/1.1 200 OK\r\nContent-Length: 3000000000\r\n\r\n' 's.send' | l7 huge
	expect_recs huge <<-EOF
	$(r 0 UNIT 0 0 18 1 0)
	$(r 1 UNIT 0 0 47 1 0)
	$(r 1 LOST 47 47 0 0 4)
	EOF
}

# CONNECT + 200: a tunnel, nothing more either way.
t_l7_h1_connect_tunnel() {
	l7 tun <<-'EOF'
	open
	c CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n
	c.send
	s HTTP/1.1 200 Connection Established\r\n\r\n
	s.send
	c \x16\x03\x01\x00\x05hello GET / HTTP/1.1\r\n\r\n
	c.send
	s HTTP/1.1 200 OK\r\n\r\n
	s.send
	EOF
	expect_recs tun <<-EOF
	$(r 0 UNIT 0 0 39 1 0)
	$(r 1 UNIT 0 0 39 1 0)
	$(r 1 END 0 39 0 0 0)
	EOF
}

# A HEAD request line past 256 bytes, a GET pipelined after it: the first
# line's start is kept (its count stops at 12, a wrap at 256 would write
# the URL over "HEAD "), so the HEAD's response has no body.
t_l7_h1_head_long_line() {
	# requests: HEAD 0..319, GET 319..338. responses: 0..38 (END 38), 38..76 + 5 (END 81).
	{
		printf 'open\nc HEAD /'
		head -c 300 /dev/zero | tr '\0' x
		printf ' HTTP/1.1\\r\\n\\r\\nGET /b HTTP/1.1\\r\\n\\r\\n\nc.send\n'
		printf 's HTTP/1.1 200 OK\\r\\nContent-Length: 5\\r\\n\\r\\n'
		printf 'HTTP/1.1 200 OK\\r\\nContent-Length: 5\\r\\n\\r\\nhello\ns.send\n'
	} | l7 longhead
	expect_recs longhead <<-EOF
	$(r 0 UNIT 0 0 319 1 0)
	$(r 0 UNIT 319 319 19 1 0)
	$(r 1 UNIT 0 0 38 1 0)
	$(r 1 END 0 38 0 0 0)
	$(r 1 UNIT 38 38 38 1 0)
	$(r 1 END 38 81 0 0 0)
	EOF
}

# A head longer than GP_L7_HEAD_MAX: its first 4096 bytes, then LOST MALFORMED.
t_l7_h1_head_too_long() {
	{
		printf 'open\nc GET / HTTP/1.1\\r\\nX: '
		head -c 5000 /dev/zero | tr '\0' a
		printf '\\r\\n\\r\\n\nc.send\n'
	} | l7 long
	expect_recs long <<-EOF
	$(r 0 UNIT 0 0 1400 0 0)
	$(r 0 UNIT 0 1400 1400 0 0)
	$(r 0 UNIT 0 2800 1296 0 0)
	$(r 0 LOST 0 0 0 0 4)
	EOF
}

# Retransmits and overlaps add nothing; a missed segment loses the direction.
t_l7_gap_and_retransmit() {
	# HEADERS(10) 24..43 and 43..62; resent whole and in part; 5 bytes of
	# the third frame (62..81) never sent: LOST GAP at 62, then silence.
	{ printf "open\nc $PREFACE\n"; printf '%s\n' "c.h2 1 4 1 10" "c.send" "c.resend 0 43" "c.resend 30 13" \
		"c.h2 1 4 3 10" "c.send" "c.resend 40 10" "c.h2 1 4 5 10" "c.skip 5" "c.send" "c.h2 1 4 7 10" \
		"c.send"; } | l7 gap
	expect_recs gap <<-EOF
	$(r 0 UNIT 24 24 19 1 0)
	$(r 0 UNIT 43 43 19 1 0)
	$(r 0 LOST 62 62 0 0 1)
	EOF
}

# TLS: no L7 record at all. Adopted mid-stream: HTTP/2 is joined at a
# segment that starts with a frame header (LOST MIDSTREAM, then its units),
# HTTP/1 only reported (LOST MIDSTREAM, at its stream offset), TLS not at
# all. A server whose SYN-ACK was not seen: its direction is LOST
# MIDSTREAM once the client speaks HTTP.
t_l7_tls_midstream() {
	printf 'open\nc \\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xfc\\x03\\x03\nc.fill 500\nc.send\ns \\x16\\x03\\x03\\x00\\x40\ns.fill 300\ns.send\n' | l7 tls
	expect_recs tls </dev/null
	printf 'open nosyn\nc.h2 1 4 9 10\nc.send\ns HTTP/1.1 200 OK\\r\\n\\r\\n\ns.send\nc.h2 1 4 11 10\nc.send\n' | l7 mid
	expect_recs mid <<-EOF
	$(r 0 LOST 0 0 0 0 3)
	$(r 0 UNIT 0 0 19 1 0)
	$(r 1 LOST 305419896 305419896 0 0 3)
	$(r 0 UNIT 19 19 19 1 0)
	EOF
	# Segments that start inside a DATA payload are passed over; so is one
	# whose first frame header is followed by bytes that are none.
	printf 'open nosyn\nc.h2 0 0 1 3000\nc.h2 1 4 3 10\nc.skip 100\nc.send 1400,1400,109,19\n' | l7 midjoin
	expect_recs midjoin <<-EOF
	$(r 0 LOST 2909 2909 0 0 3)
	$(r 0 UNIT 2909 2909 19 1 0)
	EOF
	printf 'open nosyn\nc.h2 0 0 1 5\nc.fill 20\nc.send\nc.h2 1 4 3 10\nc.send\n' | l7 midnext
	expect_recs midnext <<-EOF
	$(r 0 LOST 34 34 0 0 3)
	$(r 0 UNIT 34 34 19 1 0)
	EOF
	printf 'open nosyn\nc \\x17\\x03\\x03\\x00\\x10\nc.fill 16\nc.send\ns \\x17\\x03\\x03\\x00\\x10\ns.fill 16\ns.send\n' | l7 midtls
	expect_recs midtls </dev/null
	printf 'open nosynack\nc GET / HTTP/1.1\\r\\n\\r\\n\nc.send\ns HTTP/1.1 200 OK\\r\\n\\r\\n\ns.send\n' | l7 nosa
	expect_recs nosa <<-EOF
	$(r 1 LOST 0 0 0 0 3)
	$(r 0 UNIT 0 0 18 1 0)
	EOF
}

# A full ring: GP_STAT_L7_LOST counts it, the direction owes a LOST RINGBUF
# sent with a later packet, and nothing follows the hole.
t_l7_ringbuf_full() {
	{
		printf "open\nc $PREFACE\nc.send\nnodrain\n"
		for i in 1 3 5 7 9 11 13 15 17 19; do printf 'c.h2 1 4 %d 500\nc.send\n' $i; done
		printf 'drain\nc.h2 1 4 99 5\nc.send\nstats\n'
	} | l7 ring -r 4
	# HEADERS of 509 bytes at 24, 533, 1042, ...: the ring (4 KiB, with the
	# flow's payload capture) takes three; the fourth's loss is reported at
	# the next segment (the walk at 2060), in the room an 80-byte record
	# still finds, and so is each request refused after it: a LOST's unit
	# is the count of requests (HEADERS on a new stream) refused. Framing
	# is kept: once drained, stream 99's HEADERS at 24 + 10 * 509 = 5114
	# comes, after the LOST that counts all seven.
	expect_recs ring <<-EOF
	$(r 0 UNIT 24 24 509 1 0)
	$(r 0 UNIT 533 533 509 1 0)
	$(r 0 UNIT 1042 1042 509 1 0)
	$(r 0 LOST 1 2060 0 0 2)
	$(r 0 LOST 2 2569 0 0 2)
	$(r 0 LOST 3 3078 0 0 2)
	$(r 0 LOST 4 3587 0 0 2)
	$(r 0 LOST 5 4096 0 0 2)
	$(r 0 LOST 7 5114 0 0 2)
	$(r 0 UNIT 5114 5114 14 1 0)
	l7_lost=7
	EOF
}


# Records the ring refused, both directions: the LOST a
# direction owes comes before the flow's next record, of either direction;
# a refused frame that is not a request (trailers on stream 1, a response)
# counts none; a refused unit split across segments is not resumed midway.
t_l7_ringbuf_walks_on() {
	{
		printf "open\nc $PREFACE\nc.send\nnodrain\n"
		for i in 1 3 5 1; do printf 'c.h2 1 5 %d 500\nc.send\n' $i; done
		printf 'drain\ns.h2 4 0 0 0\ns.send\nnodrain\n'
		printf 's.h2 1 4 1 1500\ns.h2 1 4 3 1500\ns.h2 1 4 5 1500\ns.send 1400\n'
		printf 'drain\nc.h2 1 5 7 5\nc.send\nstats\n'
	} | l7 walk -r 4
	# client: HEADERS(500) at 24, 533, 1042 (the ring's three), 1551
	# (stream 1 again: trailers; refused, no request: LOST counts 0), then
	# stream 7 at 2060. Once drained, the server's SETTINGS at 0 comes after
	# the client's LOST. server: HEADERS(1500) at 9, 1518, 3027 in 1400-byte
	# segments; the ring takes the first two, refuses 3027's first part
	# (1400..) and its LOST comes before the frame's rest at 4209 (which
	# user space skips: off is not its unit's start).
	expect_recs walk <<-EOF
	$(r 0 UNIT 24 24 509 1 0)
	$(r 0 UNIT 533 533 509 1 0)
	$(r 0 UNIT 1042 1042 509 1 0)
	$(r 0 LOST 0 2060 0 0 2)
	$(r 1 UNIT 0 0 9 1 0)
	$(r 1 UNIT 9 9 1400 0 0)
	$(r 1 UNIT 9 1409 109 1 0)
	$(r 1 UNIT 1518 1518 1291 0 0)
	$(r 1 UNIT 1518 2809 218 1 0)
	$(r 1 LOST 4209 4209 0 0 2)
	$(r 1 UNIT 3027 4209 327 1 0)
	$(r 0 UNIT 2060 2060 14 1 0)
	l7_lost=2
	EOF
}
# HTTP/1 walks on past heads the ring refused: the 4 KiB ring holds the
# first 1028-byte request head; heads 2, 3 and 4 are refused, and after
# each completes a LOST carries the running count (unit 1, 2, 3), so user
# space keeps the FIFO: the responses and the fifth request follow as ever.
t_l7_h1_ringbuf_walks_on() {
	local i
	{
		printf 'open\nnodrain\n'
		for i in 1 2 3 4; do
			printf 'c GET /%d HTTP/1.1\\r\\nx-pad: \nc.fill 1000\nc \\r\\n\\r\\n\nc.send\n' $i
		done
		printf 'drain\n'
		for i in 1 2 3 4; do printf 's HTTP/1.1 200 OK\\r\\nContent-Length: 0\\r\\n\\r\\n\n'; done
		printf 's.send\nc GET /5 HTTP/1.1\\r\\n\\r\\n\nc.send\n'
		printf 's HTTP/1.1 404 NF\\r\\nContent-Length: 0\\r\\n\\r\\n\ns.send\nstats\n'
	} | l7 h1walk -r 4
	expect_recs h1walk <<-EOF
	$(r 0 UNIT 0 0 1028 1 0)
	$(r 0 LOST 1 2056 0 0 2)
	$(r 0 LOST 2 3084 0 0 2)
	$(r 0 LOST 3 4112 0 0 2)
	$(r 1 UNIT 0 0 38 1 0)
	$(r 1 END 0 38 0 0 0)
	$(r 1 UNIT 38 38 38 1 0)
	$(r 1 END 38 76 0 0 0)
	$(r 1 UNIT 76 76 38 1 0)
	$(r 1 END 76 114 0 0 0)
	$(r 1 UNIT 114 114 38 1 0)
	$(r 1 END 114 152 0 0 0)
	$(r 0 UNIT 4112 4112 19 1 0)
	$(r 1 UNIT 152 152 38 1 0)
	$(r 1 END 152 190 0 0 0)
	l7_lost=3
	EOF
}

# live_start: l7dump hooks B's veth (ingress and egress, as the agent now
# does by default); returns once attached. live_stop: its records in $T/live.
live_start() {
	ip netns exec "$NSB" "$L7DUMP" --live "$IFB" >"$T/live" 2>"$T/live.err" &
	LIVE=$!
	PIDS+=($LIVE)
	for _ in $(seq 100); do
		grep -q "^l7dump: attached" "$T/live.err" && return 0
		kill -0 $LIVE 2>/dev/null || break
		sleep 0.1
	done
	fail "l7dump --live did not attach: $(tail -n 3 "$T/live.err")"
}
live_stop() {
	kill -TERM $LIVE
	wait $LIVE || fail "l7dump --live failed: $(tail -n 3 "$T/live.err")"
	cat "$T/live"
}

# Real traffic between namespaces through nginx: HTTP/1.1 keep-alive (two
# requests on one connection) and h2c with prior knowledge (curl, nghttp),
# seen at B's veth ingress (requests) and egress (responses).
t_l7_live_nginx() {
	need nginx nginx
	need curl curl
	tag_pair 61
	nginx_start "$NSB" 8080 8081 <<-NGX
		server { listen $B4:8080; location / { return 200 "hello\n"; } location /nf { return 404; } }
		server { listen $B4:8081 http2; location / { return 200 "ok\n"; } }
	NGX
	live_start
	ip netns exec "$NSA" curl -sS --max-time 5 -o /dev/null http://$B4:8080/a http://$B4:8080/nf \
		|| fail "curl HTTP/1.1"
	ip netns exec "$NSA" curl -sS --max-time 5 -o /dev/null --http2-prior-knowledge http://$B4:8081/x \
		|| fail "curl h2c"
	live_stop
	grep -q "reason=[1-9]" "$T/live" && fail "records lost: $(grep 'reason=[1-9]' "$T/live")"
	local h1 h2
	h1=$(grep 'proto=1' "$T/live" | head -n 1 | sed 's/ .*//')
	[ -n "$h1" ] || fail "no HTTP/1 records"
	# HTTP/1.1: two request heads, two response heads, two ends, on one connection.
	expect_eq "$(grep -c "^$h1 dir=0 kind=UNIT unit=0 off=0 .* flags=1 .*data=\"GET /a HTTP/1.1" "$T/live")" 1 "first request head"
	expect_eq "$(grep -c "^$h1 dir=0 kind=UNIT .* flags=1 .*data=\"GET /nf HTTP/1.1" "$T/live")" 1 "second request head"
	expect_eq "$(grep -c "^$h1 dir=1 kind=UNIT unit=0 .*data=\"HTTP/1.1 200 OK" "$T/live")" 1 "first response head"
	expect_eq "$(grep -c "^$h1 dir=1 kind=UNIT .*data=\"HTTP/1.1 404 Not Found" "$T/live")" 1 "second response head"
	expect_eq "$(grep -c "^$h1 dir=1 kind=END " "$T/live")" 2 "response ends"
	# h2c: SETTINGS both ways, the request's HEADERS (type 1), the response's HEADERS and its end.
	h2=$(grep 'proto=2' "$T/live" | head -n 1 | sed 's/ .*//')
	[ -n "$h2" ] || fail "no HTTP/2 records"
	expect_eq "$(grep -c "^$h2 dir=0 kind=UNIT unit=24 off=24 " "$T/live")" 1 "the client's SETTINGS after the preface"
	expect_eq "$(grep -cE "^$h2 dir=0 kind=UNIT .*data=\"(\\\\x[0-9a-f]{2}|\\\\.|[^\\\\]){3}\\\\x01" "$T/live")" 1 "the request's HEADERS"
	expect_eq "$(grep -c "^$h2 dir=1 kind=UNIT unit=0 off=0 " "$T/live")" 1 "the server's SETTINGS"
	expect_eq "$(grep -cE "^$h2 dir=1 kind=UNIT .*data=\"(\\\\x[0-9a-f]{2}|\\\\.|[^\\\\]){3}\\\\x01" "$T/live")" 1 "the response's HEADERS"
	expect_eq "$(grep -c "^$h2 dir=1 kind=END " "$T/live")" 1 "the response's end"
}

# h2load: 200 requests over 2 connections, 10 streams at a time: every
# request's HEADERS and every response's HEADERS and end, nothing lost.
t_l7_live_h2load() {
	need nginx nginx
	need h2load nghttp2-client
	tag_pair 62
	nginx_start "$NSB" 8081 <<-NGX
		server { listen $B4:8081 http2; location / { return 200 "ok\n"; } }
	NGX
	live_start
	ip netns exec "$NSA" h2load -n 200 -c 2 -m 10 http://$B4:8081/ >"$T/h2load" 2>&1 \
		|| fail "h2load: $(tail -n 3 "$T/h2load")"
	grep -q "200 succeeded" "$T/h2load" || fail "h2load: $(grep requests: "$T/h2load")"
	live_stop >/dev/null
	grep -q "reason=[1-9]" "$T/live" && fail "records lost: $(grep -m3 'reason=[1-9]' "$T/live")"
	# a byte of data: \xHH, an escape (\" \\ \r \n) or itself; the 4th is the frame type
	local hdr='kind=UNIT .*data="(\\x[0-9a-f]{2}|\\.|[^\\]){3}\\x01'
	expect_eq "$(grep -cE "dir=0 $hdr" "$T/live")" 200 "request HEADERS"
	expect_eq "$(grep -cE "dir=1 $hdr" "$T/live")" 200 "response HEADERS"
	expect_eq "$(grep -c "dir=1 kind=END " "$T/live")" 200 "response ends"
	expect_eq "$(grep -o "cport=[0-9]*" "$T/live" | sort -u | wc -l)" 2 "connections"
}

# Random HTTP/1 and HTTP/2 flows in random segmentations against the
# reference cutter in tests/tools/l7ref.h.
t_l7_random_differential() {
	local seed=${L7_SEED:-20261203}
	[ -x "$L7DUMP" ] || fail "$L7DUMP not built (make $OUT/tests/l7dump)"
	timeout 300 "$L7DUMP" --random 3000 -s "$seed" >"$T/out" 2>"$T/err"
	local rc=$?
	cat "$T/out"
	[ "$rc" -eq 0 ] || fail "seed $seed: exit $rc: $(grep -a -m2 -E 'MISMATCH|was' "$T/err" | cut -c1-300)"
	grep -qE "^l7dump: seed $seed: 3000 flows, [0-9]+ stream bytes, [1-9][0-9]* forwarded, 0 mismatches$" "$T/out" \
		|| fail "seed $seed: $(cat "$T/out")"
}

run_tests "$@"
