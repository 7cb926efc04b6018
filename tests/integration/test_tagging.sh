#!/usr/bin/env bash
# ALPN and gray tagging end to end: real TLS and HTTP peers (nginx, curl,
# openssl s_client/s_server, Chromium) and tlshello's hand-made ClientHellos
# in private namespaces, the agent inside B with TC on B's veth, so every flow
# is seen twice: A's client socket (outbound) and B's server socket (inbound),
# both with the flow's tag. Expected ALPN lists are what these peers put on
# the wire (checked with tshark when written): curl --http2 offers
# "h2,http/1.1", curl --http1.1 "http/1.1". Where a test needs the wire's
# own word (segments, records, bytes), tcpdump captures it in B and tshark
# reads it.
source "$(dirname "$0")/lib.sh"

NAME=canary.example.com

# est SADDR DADDR DPORT: jq condition for an established connection.
est() { echo ".result == \"established\" and .error == null and .latency_ns > 0 and .saddr == \"$1\" and .daddr == \"$2\" and .dport == $3"; }

# curl from A with $T's certificate trusted; prints the HTTP version used.
curl_a() { ip netns exec "$NSA" curl -sS --max-time 5 -o /dev/null -w '%{http_version}' --cacert "$T/cert.pem" "$@"; }

agent_in_b() { agent_start_in "$NSB" -i "$IFB" --tag-wait 1 --events json "$@"; }

# 1. TLS with ALPN h2 and http/1.1: the first offered name is the tag, the
# whole list and the SNI ride along, gray stays "stable".
t_tls_alpn_curl_nginx() {
	need nginx nginx
	need curl curl
	need openssl openssl
	tag_pair 40
	nginx_tls_b
	agent_in_b --ingress-only
	tc_attached "$NSB" "$IFB" ingress || fail "no TC program on $IFB ingress"
	tc_attached "$NSB" "$IFB" egress && fail "a TC program on $IFB egress with --ingress-only"
	expect_eq "$(curl_a --http2 --resolve $NAME:443:$B4 https://$NAME/)" 2 "curl --http2: HTTP version"
	expect_eq "$(curl_a --http1.1 --resolve $NAME:443:$B4 https://$NAME/)" 1.1 "curl --http1.1: HTTP version"
	wait_events 4
	agent_stop
	tc_detached "$NSB" "$IFB" || fail "TC programs left on $IFB after the agent stopped: $TC_LINKS"

	local c h2 h1
	c="$(est "$A4" "$B4" 443) and .family == \"ipv4\" and .sni == \"$NAME\" and .gray == \"stable\" and .http_marker == \"\""
	h2='.alpn == "h2" and .alpn_offered == "h2,http/1.1"'
	h1='.alpn == "http/1.1" and .alpn_offered == "http/1.1"'
	expect_events 1 "$c and $h2 and .direction == \"outbound\" and .comm == \"curl\" and .netns == $INOA"
	expect_events 1 "$c and $h2 and .direction == \"inbound\" and .netns == $INOB"
	expect_events 1 "$c and $h1 and .direction == \"outbound\" and .comm == \"curl\" and .netns == $INOA"
	expect_events 1 "$c and $h1 and .direction == \"inbound\" and .netns == $INOB"
	expect_events 4 true
	local d
	for d in outbound inbound; do
		expect_tag $d h2 stable 1
		expect_tag $d http/1.1 stable 1
	done
	# Ingress only: the client's bytes, at least curl's ClientHello (517
	# bytes with OpenSSL 3.0, more with a post-quantum key share).
	expect_bytes_ge h2 stable 517
	expect_bytes_ge http/1.1 stable 517
}

# 2. openssl's own ALPN list: the tag is the client's first choice ("foo"),
# not what the server picked ("bar"); an SNI rule turns gray.
t_tls_alpn_openssl_sni_rule() {
	need openssl openssl
	tag_pair 41
	tls_cert $NAME
	s_server_start "$NSB" "$B4" 443 -alpn bar
	agent_in_b --rule "sni *.$NAME = canary"
	local sni
	for sni in x.$NAME www.example.org; do
		ip netns exec "$NSA" openssl s_client -connect "$B4:443" -alpn foo,bar -servername "$sni" \
			-CAfile "$T/cert.pem" </dev/null >"$T/s_client.out" 2>&1 || fail "s_client to $sni: $(tail -n 3 "$T/s_client.out")"
		grep -qx 'ALPN protocol: bar' "$T/s_client.out" || fail "s_server did not select bar for $sni"
	done
	wait_events 4
	agent_stop

	local c d
	c="$(est "$A4" "$B4" 443) and .alpn == \"foo\" and .alpn_offered == \"foo,bar\" and .http_marker == \"\""
	for d in outbound inbound; do
		expect_events 1 "$c and .direction == \"$d\" and .sni == \"x.$NAME\" and .gray == \"canary\""
		expect_events 1 "$c and .direction == \"$d\" and .sni == \"www.example.org\" and .gray == \"stable\""
		expect_tag $d foo canary 1
		expect_tag $d foo stable 1
	done
	expect_events 2 '.direction == "outbound" and .comm == "openssl"'
	expect_events 4 true
}

# 3a. Plaintext HTTP/1: a gray header decides gray and is named in http_marker.
t_plain_http1_gray_headers() {
	need nginx nginx
	need curl curl
	tag_pair 42
	nginx_start "$NSB" 8080 <<-NGX
		server { listen $B4:8080; location / { return 200 "ok\n"; } }
	NGX
	agent_in_b
	local i u=http://$B4:8080/
	for i in 1 2 3; do
		expect_eq "$(curl_a --http1.1 -H 'X-Traffic-Tag: canary' $u)" 1.1 "curl with X-Traffic-Tag"
	done
	for i in 1 2; do
		expect_eq "$(curl_a --http1.1 $u)" 1.1 "curl without a gray header"
	done
	expect_eq "$(curl_a --http1.1 -H 'X-Gray: blue' $u)" 1.1 "curl with X-Gray"
	wait_events 12
	agent_stop

	local c d
	c="$(est "$A4" "$B4" 8080) and .alpn == \"http/1.1\" and (.sni // \"\") == \"\""
	for d in outbound inbound; do
		expect_events 3 "$c and .direction == \"$d\" and .gray == \"canary\" and .http_marker == \"x-traffic-tag\""
		expect_events 2 "$c and .direction == \"$d\" and .gray == \"stable\" and .http_marker == \"\""
		expect_events 1 "$c and .direction == \"$d\" and .gray == \"blue\" and .http_marker == \"x-gray\""
		expect_tag $d http/1.1 canary 3
		expect_tag $d http/1.1 stable 2
		expect_tag $d http/1.1 blue 1
	done
	expect_events 6 '.direction == "outbound" and .comm == "curl"'
	expect_events 12 true
	# Each request is at least 80 bytes ("GET / HTTP/1.1", Host, User-Agent, Accept).
	expect_bytes_ge http/1.1 canary $((3 * 80))
	expect_bytes_ge http/1.1 stable $((2 * 80))
}

# 3b. HTTP/2 with prior knowledge, no TLS: the connection preface says h2c.
t_plain_h2c_prior_knowledge() {
	need nginx nginx
	need curl curl
	tag_pair 43
	nginx_start "$NSB" 8081 <<-NGX
		server { listen $B4:8081 http2; location / { return 200 "ok\n"; } }
	NGX
	agent_in_b
	expect_eq "$(curl_a --http2-prior-knowledge http://$B4:8081/)" 2 "curl --http2-prior-knowledge, first"
	expect_eq "$(curl_a --http2-prior-knowledge http://$B4:8081/)" 2 "curl --http2-prior-knowledge, second"
	wait_events 4
	agent_stop

	local c d
	c="$(est "$A4" "$B4" 8081) and .alpn == \"h2c\" and .gray == \"stable\" and .http_marker == \"\""
	for d in outbound inbound; do
		expect_events 2 "$c and .direction == \"$d\""
		expect_tag $d h2c stable 2
	done
	expect_events 4 true
	# The preface alone is 24 bytes.
	expect_bytes_ge h2c stable $((2 * 24))
}

# tlshello's "key=value" output.
hv() { grep -o "\b$1=[^ ]*" <<<"$2" | cut -d= -f2; }

# 4a. A ClientHello in two TCP segments: 1800 bytes of padding first, SNI and
# ALPN after it, so the names only arrive in the second segment. Segmentation
# offloads are off on A's veth, so the wire really carries MSS-sized segments.
t_hello_across_tcp_segments() {
	need openssl openssl
	need ethtool ethtool
	need tcpdump tcpdump
	need tshark tshark
	[ -x "$TLSHELLO" ] || fail "$TLSHELLO not built"
	tag_pair 44
	tls_cert $NAME
	ip netns exec "$NSA" ethtool -K "$IFA" tso off gso off || fail "ethtool -K $IFA tso off gso off"
	s_server_start "$NSB" "$B4" 443 -alpn h2
	capture_start "$NSB" "$IFB" "tcp port 443"
	agent_in_b --ingress-only
	local out
	out=$(ip netns exec "$NSA" "$TLSHELLO" -p 1800 -s split.$NAME -a h2,http/1.1 "$B4" 443) \
		|| fail "tlshello failed"
	expect_eq "$(hv server "$out")" handshake "s_server's answer to the hello (it must parse it)"
	wait_events 2
	agent_stop
	capture_stop

	# What the wire carried: the client's payload segments, in order.
	local segs first sum sent alpn_at
	segs=$(cap_fields "tcp.dstport == 443 && tcp.len > 0" tcp.len)
	first=$(head -n 1 <<<"$segs") sum=$(awk '{ s += $1 } END { print s }' <<<"$segs")
	sent=$(hv sent "$out") alpn_at=$(hv alpn_at "$out")
	echo "tlshello: $out; client segments: $(paste -sd' ' <<<"$segs")"
	expect_eq "$sum" "$sent" "client payload bytes on the wire"
	[ "$(wc -l <<<"$segs")" -ge 2 ] || fail "the hello ($sent bytes) went out in one segment: offloads still on?"
	[ "$alpn_at" -ge "$first" ] || fail "ALPN at byte $alpn_at is inside the first segment ($first bytes)"
	[ -n "$(cap_fields "tcp.dstport == 443 && tcp.len > 0" tcp.reassembled_in | head -n 1)" ] \
		|| fail "tshark does not reassemble the first segment into a later frame"
	expect_eq "$(cap_fields 'tls.handshake.type == 1' tls.handshake.extensions_alpn_str tls.handshake.extensions_server_name)" \
		"$(printf 'h2,http/1.1\tsplit.%s' $NAME)" "tshark's reading of the reassembled hello"

	local c d
	c="$(est "$A4" "$B4" 443) and .alpn == \"h2\" and .alpn_offered == \"h2,http/1.1\" and .sni == \"split.$NAME\" and .gray == \"stable\""
	for d in outbound inbound; do
		expect_events 1 "$c and .direction == \"$d\""
		expect_tag $d h2 stable 1
	done
	expect_events 1 '.direction == "outbound" and .comm == "tlshello"'
	expect_events 2 true
	# Ingress alone: exactly the client's bytes, the hello.
	expect_bytes h2 stable "$sent"
}

# 4b. A ClientHello cut into TLS records: two records that each also cross
# the TCP segment boundary, then three records inside one segment.
t_hello_across_tls_records() {
	need openssl openssl
	need ethtool ethtool
	need tcpdump tcpdump
	need tshark tshark
	[ -x "$TLSHELLO" ] || fail "$TLSHELLO not built"
	tag_pair 45
	tls_cert $NAME
	ip netns exec "$NSA" ethtool -K "$IFA" tso off gso off || fail "ethtool -K $IFA tso off gso off"
	s_server_start "$NSB" "$B4" 443 -alpn h2,http/1.1
	capture_start "$NSB" "$IFB" "tcp port 443"
	agent_in_b --ingress-only
	local out2 out3
	out2=$(ip netns exec "$NSA" "$TLSHELLO" -r 2 -p 1800 -s rec2.$NAME -a h2,http/1.1 "$B4" 443) \
		|| fail "tlshello -r 2 failed"
	out3=$(ip netns exec "$NSA" "$TLSHELLO" -r 3 -p 100 -s rec3.$NAME -a http/1.1,h2 "$B4" 443) \
		|| fail "tlshello -r 3 failed"
	expect_eq "$(hv server "$out2")" handshake "s_server's answer to the 2-record hello"
	expect_eq "$(hv server "$out3")" handshake "s_server's answer to the 3-record hello"
	wait_events 4
	agent_stop
	capture_stop

	# tcp.stream 0 is the first connection, 1 the second.
	local recs segs
	echo "tlshello: $out2 / $out3"
	recs=$(cap_fields "tcp.stream == 0 && tcp.dstport == 443" tls.record.length | tr '\t,' '\n\n' | grep -c .)
	segs=$(cap_fields "tcp.stream == 0 && tcp.dstport == 443 && tcp.len > 0" tcp.len | wc -l)
	expect_eq "$recs" 2 "TLS records of the first hello"
	[ "$segs" -ge 2 ] || fail "the first hello went out in one segment"
	recs=$(cap_fields "tcp.stream == 1 && tcp.dstport == 443" tls.record.length | tr '\t,' '\n\n' | grep -c .)
	segs=$(cap_fields "tcp.stream == 1 && tcp.dstport == 443 && tcp.len > 0" tcp.len | wc -l)
	expect_eq "$recs" 3 "TLS records of the second hello"
	expect_eq "$segs" 1 "TCP segments of the second hello"
	expect_eq "$(cap_fields 'tls.handshake.type == 1' tls.handshake.extensions_alpn_str tls.handshake.extensions_server_name | paste -sd' ')" \
		"$(printf 'h2,http/1.1\trec2.%s http/1.1,h2\trec3.%s' $NAME $NAME)" "tshark's reading of the two hellos"

	local c d
	c=$(est "$A4" "$B4" 443)
	for d in outbound inbound; do
		expect_events 1 "$c and .direction == \"$d\" and .alpn == \"h2\" and .alpn_offered == \"h2,http/1.1\" and .sni == \"rec2.$NAME\""
		expect_events 1 "$c and .direction == \"$d\" and .alpn == \"http/1.1\" and .alpn_offered == \"http/1.1,h2\" and .sni == \"rec3.$NAME\""
		expect_tag $d h2 stable 1
		expect_tag $d http/1.1 stable 1
	done
	expect_events 4 true
	expect_bytes h2 stable "$(hv sent "$out2")"
	expect_bytes http/1.1 stable "$(hv sent "$out3")"
}

# 4c. A real client, segmented by the path: B advertises MSS 200, so curl's
# ClientHello (517 bytes with OpenSSL 3.0) leaves A in three segments or
# more, its ALPN past the first.
t_hello_small_mss_curl() {
	need nginx nginx
	need curl curl
	need openssl openssl
	need ethtool ethtool
	need tcpdump tcpdump
	need tshark tshark
	tag_pair 46
	ip netns exec "$NSA" ethtool -K "$IFA" tso off gso off || fail "ethtool -K $IFA tso off gso off"
	ip -n "$NSB" route replace 198.18.46.0/24 dev "$IFB" src "$B4" advmss 200 || fail "advmss route"
	nginx_tls_b
	capture_start "$NSB" "$IFB" "tcp port 443"
	agent_in_b --ingress-only
	expect_eq "$(curl_a --http2 --resolve mss.$NAME:443:$B4 https://mss.$NAME/)" 2 "curl --http2: HTTP version"
	wait_events 2
	agent_stop
	capture_stop

	# The hello's frame (where tshark completes it) and the client's data frames before it.
	local hello first alpn_at segs
	hello=$(cap_fields 'tls.handshake.type == 1' frame.number tls.record.length tls.handshake.extensions_alpn_str)
	segs=$(cap_fields "tcp.dstport == 443 && tcp.len > 0 && frame.number <= $(cut -f1 <<<"$hello")" tcp.len)
	first=$(head -n 1 <<<"$segs")
	alpn_at=$(tshark -2 -n -r "$T/cap.pcap" -Y 'tls.handshake.type == 1' -T pdml 2>/dev/null \
		| sed -n 's/.*name="tls.handshake.extension.type".*pos="\([0-9]*\)" show="16".*/\1/p' | head -n 1)
	echo "hello frame: $hello; client segments up to it: $(paste -sd' ' <<<"$segs"); ALPN extension at byte $alpn_at"
	expect_eq "$(cut -f3 <<<"$hello")" h2,http/1.1 "tshark: ALPN offered by curl"
	[ "$(cut -f2 <<<"$hello")" -gt 188 ] || fail "curl's hello record is only $(cut -f2 <<<"$hello") bytes"
	[ "$(wc -l <<<"$segs")" -ge 3 ] || fail "curl's hello did not take three segments"
	[ "$first" -le 188 ] || fail "first segment of $first bytes: the MSS clamp did not hold"
	[ -n "$alpn_at" ] && [ "$alpn_at" -ge "$first" ] || fail "ALPN at byte '$alpn_at' is inside the first segment ($first)"

	local c d
	c="$(est "$A4" "$B4" 443) and .alpn == \"h2\" and .alpn_offered == \"h2,http/1.1\" and .sni == \"mss.$NAME\" and .gray == \"stable\""
	for d in outbound inbound; do
		expect_events 1 "$c and .direction == \"$d\""
		expect_tag $d h2 stable 1
	done
	expect_events 2 true
	expect_bytes h2 stable "$(cap_bytes 'tcp.dstport == 443')"
}

# 4d. A real post-quantum ClientHello: Chromium's (X25519MLKEM768 key share,
# GREASE, extensions in random order) is about 2 KB, so it always crosses
# a 1448-byte MSS. Chromium may open a second, speculative connection: every
# hello tshark sees must give one tagged event per side.
t_hello_chromium_pq() {
	need chromium chromium
	need nginx nginx
	need openssl openssl
	need ethtool ethtool
	need tcpdump tcpdump
	need tshark tshark
	tag_pair 53
	ip netns exec "$NSA" ethtool -K "$IFA" tso off gso off || fail "ethtool -K $IFA tso off gso off"
	nginx_tls_b pq-ok
	capture_start "$NSB" "$IFB" "tcp port 443"
	agent_in_b
	# Chromium fails a load with ERR_NETWORK_CHANGED when an address changes
	# meanwhile: wait until A's link-local address has finished DAD.
	local _i
	for _i in $(seq 200); do
		[ -z "$(ip -n "$NSA" addr show tentative)" ] && break
		sleep 0.1
	done
	[ -z "$(ip -n "$NSA" addr show tentative)" ] || fail "addresses in $NSA still tentative after 20 s"
	# HOME and the profile in $T: Chromium writes nothing elsewhere.
	mkdir "$T/chrome"
	HOME=$T/chrome timeout -k 2 20 ip netns exec "$NSA" chromium --headless --no-sandbox --disable-gpu \
		--user-data-dir="$T/chrome/profile" --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync --ignore-certificate-errors \
		--host-resolver-rules="MAP pq.$NAME $B4" --dump-dom "https://pq.$NAME/" >"$T/chrome.out" 2>"$T/chrome.err"
	grep -q pq-ok "$T/chrome.out" || fail "chromium did not load the page: $(grep -v dbus "$T/chrome.err" | tail -n 3)"
	capture_stop

	# One line per hello: stream, record length, offered ALPN, SNI; then the
	# first client segment of that stream.
	local hellos n line stream rec first
	hellos=$(cap_fields 'tls.handshake.type == 1' tcp.stream tls.record.length tls.handshake.extensions_alpn_str tls.handshake.extensions_server_name)
	n=$(grep -c . <<<"$hellos")
	echo "chromium hellos (stream, record length, ALPN, SNI):"; echo "$hellos"
	[ "$n" -ge 1 ] || fail "no ClientHello in the capture"
	while IFS=$'\t' read -r stream rec _ _; do
		first=$(cap_fields "tcp.stream == $stream && tcp.dstport == 443 && tcp.len > 0" tcp.len | head -n 1)
		[ "$((rec + 5))" -gt "$first" ] || fail "stream $stream: the hello ($((rec + 5)) bytes) fit in one segment ($first)"
	done <<<"$hellos"
	expect_eq "$(cut -f3,4 <<<"$hellos" | sort -u)" "$(printf 'h2,http/1.1\tpq.%s' $NAME)" "tshark: Chromium's ALPN list and SNI"
	wait_events $((2 * n))
	agent_stop

	local c d
	c="$(est "$A4" "$B4" 443) and .alpn == \"h2\" and .alpn_offered == \"h2,http/1.1\" and .sni == \"pq.$NAME\" and .gray == \"stable\""
	for d in outbound inbound; do
		expect_events "$n" "$c and .direction == \"$d\""
		expect_tag $d h2 stable "$n"
	done
	expect_events $((2 * n)) true
}

# 5. The same over IPv6.
t_tls_alpn_ipv6() {
	need nginx nginx
	need curl curl
	need openssl openssl
	tag_pair 47
	tls_cert $NAME
	nginx_start "$NSB" 443 <<-NGX
		server {
			listen [$B6]:443 ssl http2;
			ssl_certificate $T/cert.pem;
			ssl_certificate_key $T/key.pem;
			location / { return 200 "ok\n"; }
		}
	NGX
	agent_in_b
	expect_eq "$(curl_a --http2 -g --resolve "v6.$NAME:443:[$B6]" https://v6.$NAME/)" 2 "curl --http2 over IPv6"
	expect_eq "$(curl_a --http1.1 -g --resolve "v6.$NAME:443:[$B6]" https://v6.$NAME/)" 1.1 "curl --http1.1 over IPv6"
	wait_events 4
	agent_stop

	local c d
	c="$(est "$A6" "$B6" 443) and .family == \"ipv6\" and .sni == \"v6.$NAME\" and .gray == \"stable\""
	for d in outbound inbound; do
		expect_events 1 "$c and .direction == \"$d\" and .alpn == \"h2\" and .alpn_offered == \"h2,http/1.1\""
		expect_events 1 "$c and .direction == \"$d\" and .alpn == \"http/1.1\" and .alpn_offered == \"http/1.1\""
		expect_tag $d h2 stable 1
		expect_tag $d http/1.1 stable 1
	done
	expect_events 4 true
}

# Connections closed before the client sent a byte are "none".
t_none_without_payload() {
	tag_pair 48
	listen "$NSB" "$B4" 8080
	agent_in_b
	expect_eq "$(connects "$NSA" "$B4" 8080 5)" "established=5 refused=0 timeout=0 unreachable=0 other=0" "client"
	wait_events 10
	agent_stop
	local c d
	c="$(est "$A4" "$B4" 8080) and .alpn == \"none\" and .gray == \"stable\""
	for d in outbound inbound; do
		expect_events 5 "$c and .direction == \"$d\""
	done
	expect_events 10 true
	# Inbound flows are only those TC saw; outbound "none" also counts
	# connects elsewhere on this host.
	expect_tag inbound none stable 5
	local n; n=$(prom "$(tag_conn outbound none stable)")
	[ "$n" != absent ] && [ "$n" -ge 5 ] || fail "textfile: outbound none/stable: expected >= 5, got $n"
}

# A client silent for longer than --tag-wait is "none", reported while the
# connection is still open; what it sends later changes nothing.
t_tag_wait_expires_none() {
	need nginx nginx
	tag_pair 49
	nginx_start "$NSB" 8080 <<-NGX
		server { listen $B4:8080; location / { return 200 "ok\n"; } }
	NGX
	agent_in_b
	ip netns exec "$NSA" bash -c 'exec 3<>"/dev/tcp/$1/8080" || exit 1; sleep 3
		printf "GET / HTTP/1.1\r\nHost: late\r\nX-Traffic-Tag: late\r\nConnection: close\r\n\r\n" >&3
		head -c 12 <&3' sh "$B4" >"$T/late.out" 2>&1 &
	local client=$!
	PIDS+=($client)
	# --tag-wait 1: both events well before the request at 3 s.
	for _ in $(seq 25); do
		[ "$(ev_count true)" = 2 ] && break
		sleep 0.1
	done
	expect_eq "$(ev_count true)" 2 "events 2.5 s into a silent connection"
	kill -0 $client 2>/dev/null || fail "the silent client ended early: $(cat "$T/late.out")"
	wait $client || fail "the late request failed: $(cat "$T/late.out")"
	expect_eq "$(cat "$T/late.out")" "HTTP/1.1 200" "answer to the late request"
	sleep 0.5
	agent_stop
	local c d
	c="$(est "$A4" "$B4" 8080) and .alpn == \"none\" and .gray == \"stable\""
	for d in outbound inbound; do
		expect_events 1 "$c and .direction == \"$d\""
	done
	expect_tag inbound none stable 1
	expect_events 2 true
}

# --rules FILE: a destination rule, a header rule and an ALPN rule, each on
# a flow only it matches, and a flow that matches none.
t_rules_file() {
	need nginx nginx
	need curl curl
	need openssl openssl
	tag_pair 50
	tls_cert $NAME
	nginx_start "$NSB" 8080 8443 443 <<-NGX
		server { listen $B4:8080; listen $B4:8443; location / { return 200 "ok\n"; } }
		server {
			listen $B4:443 ssl http2;
			ssl_certificate $T/cert.pem;
			ssl_certificate_key $T/key.pem;
			location / { return 200 "ok\n"; }
		}
	NGX
	cat >"$T/rules" <<-RULES
		dst $B4/32 dport 8443 = canary
		header x-user = beta
		alpn h2 = h2canary
	RULES
	agent_in_b --rules "$T/rules"
	expect_eq "$(curl_a --http1.1 -H 'X-User: 42' http://$B4:8080/)" 1.1 "curl with X-User"
	expect_eq "$(curl_a --http1.1 http://$B4:8443/)" 1.1 "curl to 8443"
	expect_eq "$(curl_a --http2 --resolve $NAME:443:$B4 https://$NAME/)" 2 "curl --http2"
	expect_eq "$(curl_a --http1.1 --resolve $NAME:443:$B4 https://$NAME/)" 1.1 "curl --http1.1"
	wait_events 8
	agent_stop
	local d
	for d in outbound inbound; do
		expect_events 1 "$(est "$A4" "$B4" 8080) and .direction == \"$d\" and .alpn == \"http/1.1\" and .gray == \"beta\" and .http_marker == \"x-user\""
		expect_events 1 "$(est "$A4" "$B4" 8443) and .direction == \"$d\" and .alpn == \"http/1.1\" and .gray == \"canary\" and .http_marker == \"\""
		expect_events 1 "$(est "$A4" "$B4" 443) and .direction == \"$d\" and .alpn == \"h2\" and .gray == \"h2canary\""
		expect_events 1 "$(est "$A4" "$B4" 443) and .direction == \"$d\" and .alpn == \"http/1.1\" and .gray == \"stable\""
		expect_tag $d http/1.1 beta 1
		expect_tag $d http/1.1 canary 1
		expect_tag $d h2 h2canary 1
		expect_tag $d http/1.1 stable 1
	done
	expect_events 8 true
}

# --egress: TC on B's egress too, so a flow's bytes are counted both ways,
# and the server's packets create no second flow or event.
t_egress_counts_both_ways() {
	need nginx nginx
	need curl curl
	need openssl openssl
	need tcpdump tcpdump
	need tshark tshark
	tag_pair 51
	nginx_tls_b
	capture_start "$NSB" "$IFB" "tcp port 443"
	agent_in_b --egress
	tc_attached "$NSB" "$IFB" ingress || fail "no TC program on $IFB ingress"
	tc_attached "$NSB" "$IFB" egress || fail "no TC program on $IFB egress with --egress"
	expect_eq "$(curl_a --http2 --resolve $NAME:443:$B4 https://$NAME/)" 2 "curl --http2"
	expect_eq "$(curl_a --http1.1 --resolve $NAME:443:$B4 https://$NAME/)" 1.1 "curl --http1.1"
	wait_events 4
	agent_stop
	capture_stop
	tc_detached "$NSB" "$IFB" || fail "TC programs left on $IFB after the agent stopped: $TC_LINKS"

	local c d
	c="$(est "$A4" "$B4" 443) and .sni == \"$NAME\" and .gray == \"stable\""
	for d in outbound inbound; do
		expect_events 1 "$c and .direction == \"$d\" and .alpn == \"h2\" and .alpn_offered == \"h2,http/1.1\""
		expect_events 1 "$c and .direction == \"$d\" and .alpn == \"http/1.1\""
		expect_tag $d h2 stable 1
		expect_tag $d http/1.1 stable 1
	done
	expect_events 4 true
	# tcp.stream 0 is the h2 connection, 1 the HTTP/1.1 one: all their payload, both ways.
	expect_bytes h2 stable "$(cap_bytes 'tcp.stream == 0')"
	expect_bytes http/1.1 stable "$(cap_bytes 'tcp.stream == 1')"
	[ "$(cap_bytes 'tcp.stream == 0 && tcp.srcport == 443')" -gt 0 ] || fail "the capture shows no server bytes"
}

# Two -i: flows through either interface are tagged, each by its own traffic.
t_two_interfaces() {
	need nginx nginx
	need curl curl
	need openssl openssl
	tag_pair 52
	third_ns 52
	tls_cert $NAME
	nginx_start "$NSB" 443 8080 <<-NGX
		server {
			listen $B4:443 ssl http2;
			listen $D4:443 ssl http2;
			ssl_certificate $T/cert.pem;
			ssl_certificate_key $T/key.pem;
			location / { return 200 "ok\n"; }
		}
		server { listen $D4:8080; location / { return 200 "ok\n"; } }
	NGX
	agent_start_in "$NSB" -i "$IFB" -i "$IFD" --tag-wait 1 --events json
	tc_attached "$NSB" "$IFB" ingress || fail "no TC program on $IFB ingress"
	tc_attached "$NSB" "$IFD" ingress || fail "no TC program on $IFD ingress"
	expect_eq "$(curl_a --http2 --resolve $NAME:443:$B4 https://$NAME/)" 2 "curl --http2 from A"
	expect_eq "$(ip netns exec "$NSC" curl -sS --max-time 5 -o /dev/null -w '%{http_version}' --cacert "$T/cert.pem" \
		--http1.1 --resolve c.$NAME:443:$D4 https://c.$NAME/)" 1.1 "curl --http1.1 from C"
	expect_eq "$(ip netns exec "$NSC" curl -sS --max-time 5 -o /dev/null -w '%{http_version}' \
		-H 'X-Canary: yes' http://$D4:8080/)" 1.1 "plaintext curl from C"
	wait_events 6
	agent_stop
	local d
	for d in outbound inbound; do
		expect_events 1 "$(est "$A4" "$B4" 443) and .direction == \"$d\" and .alpn == \"h2\" and .sni == \"$NAME\""
		expect_events 1 "$(est "$C4" "$D4" 443) and .direction == \"$d\" and .alpn == \"http/1.1\" and .sni == \"c.$NAME\""
		expect_events 1 "$(est "$C4" "$D4" 8080) and .direction == \"$d\" and .alpn == \"http/1.1\" and .gray == \"yes\" and .http_marker == \"x-canary\""
		expect_tag $d h2 stable 1
		expect_tag $d http/1.1 stable 1
		expect_tag $d http/1.1 yes 1
	done
	expect_events 3 ".direction == \"outbound\" and (.netns == $INOA or .netns == $INOC)"
	expect_events 6 true
}

# TLS handshake time: grayprobe_tls_handshake_duration_seconds, one
# observation per socket direction of each TLS connection, under its tag.
hs_count() { prom "grayprobe_tls_handshake_duration_seconds_count{direction=\"$1\",alpn=\"$2\",gray=\"stable\"}"; }
hs_sum() { prom "grayprobe_tls_handshake_duration_seconds_sum{direction=\"$1\",alpn=\"$2\",gray=\"stable\"}"; }
# expect_hs ALPN N WALL_NS: N handshakes in each direction, their sum in
# (0, N x WALL_NS), and N JSON lines a direction, each in (0, WALL_NS).
expect_hs() {
	local d sum n
	for d in outbound inbound; do
		expect_eq "$(hs_count $d "$1")" "$2" "textfile: handshakes $d alpn=$1"
		sum=$(hs_sum $d "$1")
		awk -v s="$sum" -v n="$2" -v w="$3" 'BEGIN { exit !(s > 0 && s < n * w / 1e9) }' \
			|| fail "textfile: handshake sum $d alpn=$1 is '$sum' s, not in (0, $2 x ${3} ns)"
		n=$(jq -s "[.[] | select(.type == \"tls_handshake\" and .direction == \"$d\" and .alpn == \"$1\"
			and .saddr == \"$A4\" and .daddr == \"$B4\" and .dport == 443
			and .duration_ns > 0 and .duration_ns < $3)] | length" "$T/events.json")
		expect_eq "$n" "$2" "tls_handshake lines $d alpn=$1 with 0 < duration_ns < $3"
	done
}
# The measured times, to the test's log.
hs_show() {
	jq -r 'select(.type == "tls_handshake") | "handshake: \(.direction) \(.alpn) \(.duration_ns) ns"' "$T/events.json"
}

# TLS 1.3 (curl and nginx, OpenSSL 3): ClientHello to the client's
# Finished, its first application-data record.
t_tls_handshake_time_tls13() {
	need nginx nginx
	need curl curl
	need openssl openssl
	need jq jq
	command -v promtool >/dev/null || skip "promtool not installed (Debian prometheus)"
	tag_pair 76
	tls_cert "$NAME"
	nginx_start "$NSB" 443 <<-NGX
		server {
			listen $B4:443 ssl http2;
			ssl_protocols TLSv1.3;
			ssl_certificate $T/cert.pem;
			ssl_certificate_key $T/key.pem;
			location / { return 200 "ok\n"; }
		}
	NGX
	agent_in_b
	local t0 wall i
	t0=$(date +%s%N)
	for i in 1 2 3; do
		expect_eq "$(curl_a --http2 --tlsv1.3 --resolve $NAME:443:$B4 https://$NAME/)" 2 "curl --http2 #$i"
	done
	for i in 1 2; do
		expect_eq "$(curl_a --http1.1 --tlsv1.3 --resolve $NAME:443:$B4 https://$NAME/)" 1.1 "curl --http1.1 #$i"
	done
	wall=$(( $(date +%s%N) - t0 ))
	wait_events 10
	agent_stop
	hs_show
	expect_hs h2 3 "$wall"
	expect_hs http/1.1 2 "$wall"
	expect_events 10 '.type == "connection"'
	promtool check metrics <"$T/gp.prom" >"$T/lint" 2>&1 || fail "promtool: $(head -n 5 "$T/lint")"
}

# TLS 1.2 (curl --tls-max 1.2, openssl s_client -tls1_2): the first
# application-data record follows the encrypted Finished.
t_tls_handshake_time_tls12() {
	need nginx nginx
	need curl curl
	need openssl openssl
	need jq jq
	command -v promtool >/dev/null || skip "promtool not installed (Debian prometheus)"
	tag_pair 77
	nginx_tls_b
	agent_in_b
	local t0 wall i
	t0=$(date +%s%N)
	for i in 1 2; do
		expect_eq "$(curl_a --http1.1 --tls-max 1.2 --resolve $NAME:443:$B4 https://$NAME/)" 1.1 "curl --tls-max 1.2 #$i"
	done
	printf 'GET / HTTP/1.0\r\nHost: %s\r\n\r\n' "$NAME" | ip netns exec "$NSA" timeout 5 \
		openssl s_client -tls1_2 -connect "$B4:443" -servername "$NAME" -CAfile "$T/cert.pem" \
		-ign_eof >"$T/s_client.out" 2>&1 || fail "s_client -tls1_2: $(tail -n 3 "$T/s_client.out")"
	grep -q 'Protocol *: TLSv1.2' "$T/s_client.out" || fail "s_client did not use TLS 1.2"
	grep -q '^HTTP/1.1 200' "$T/s_client.out" || fail "s_client got no answer"
	wall=$(( $(date +%s%N) - t0 ))
	wait_events 6
	agent_stop
	hs_show
	expect_hs http/1.1 2 "$wall"
	expect_hs tls 1 "$wall"
	promtool check metrics <"$T/gp.prom" >"$T/lint" 2>&1 || fail "promtool: $(head -n 5 "$T/lint")"
}

# s_client_get ARGS...: one HTTP/1.0 GET over openssl s_client from A to
# $B4:443 with $T's certificate trusted; its output in $T/s_client.out.
s_client_get() {
	printf 'GET / HTTP/1.0\r\nHost: %s\r\n\r\n' "$NAME" | ip netns exec "$NSA" timeout 5 \
		openssl s_client -connect "$B4:443" -servername "$NAME" -CAfile "$T/cert.pem" \
		-ign_eof "$@" >"$T/s_client.out" 2>&1 || fail "s_client $*: $(tail -n 3 "$T/s_client.out")"
	grep -q '^HTTP/1.1 200' "$T/s_client.out" || fail "s_client $*: no answer"
}

# Flights longer than the ClientHello's slack (GP_TLS_RECORD_SLACK, 256
# bytes): TLS 1.2 with a client certificate, TLS 1.3 after a
# HelloRetryRequest (a second ClientHello). The classifier walks the
# client's records to the first application-data header; the capture
# shows that header lies that far past the first hello.
t_tls_handshake_time_long_flight() {
	need nginx nginx
	need openssl openssl
	need jq jq
	need tshark tshark
	need tcpdump tcpdump
	tag_pair 78
	tls_cert "$NAME"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=client.$NAME" \
		-keyout "$T/ckey.pem" -out "$T/ccert.pem" 2>"$T/req.err" || fail "client certificate"
	nginx_start "$NSB" 443 <<-NGX
		server {
			listen $B4:443 ssl;
			ssl_protocols TLSv1.2 TLSv1.3;
			ssl_ecdh_curve X25519;
			ssl_verify_client optional_no_ca;
			ssl_certificate $T/cert.pem;
			ssl_certificate_key $T/key.pem;
			location / { return 200 "ok\n"; }
		}
	NGX
	capture_start "$NSB" "$IFB" "tcp port 443"
	agent_in_b
	local t0 wall
	t0=$(date +%s%N)
	s_client_get -tls1_2 -cert "$T/ccert.pem" -key "$T/ckey.pem"
	# A long ALPN list (repeated in the second hello) takes the flight past the slack.
	s_client_get -tls1_3 -groups P-256:X25519 -alpn "http/1.1,$(printf 'x%.0s' $(seq 100))"
	wall=$(( $(date +%s%N) - t0 ))
	wait_events 4
	agent_stop
	capture_stop
	hs_show
	expect_hs tls 1 "$wall"
	expect_hs http/1.1 1 "$wall"
	# Per flow: the first hello's end, and the first client frame with a type-23 record.
	local flows
	flows=$(cap_fields "tcp.dstport == 443 && (tls.handshake.type == 1 || tls.record.content_type == 23 || tls.record.opaque_type == 23)" \
		tcp.stream tcp.seq tls.record.length tls.handshake.type tls.record.content_type tls.record.opaque_type \
		| awk -F'\t' '!($1 in h) && $4 ~ /(^|,)1(,|$)/ { split($3, l, ","); h[$1] = l[1] + 5; n[$1] = 0; next }
			($1 in h) && !d[$1] && ($5 ~ /(^|,)23(,|$)/ || $6 ~ /(^|,)23(,|$)/) { d[$1] = 1; print $1, $2 - 1 - h[$1] }')
	echo "first application-data frame, bytes past the first hello: $flows"
	expect_eq "$(wc -l <<<"$flows")" 2 "capture: flows with application data"
	awk '$2 <= 256 { exit 1 }' <<<"$flows" || fail "a flight within the slack: not what this test is for: $flows"
	expect_eq "$(cap_fields 'tcp.dstport == 443 && tls.handshake.type == 1' tcp.stream | wc -l)" 3 \
		"capture: ClientHellos (one retried)"
}

run_tests "$@"
