#!/usr/bin/env bash
# grayprobe replay: captures run frame by frame through the compiled TC
# program (BPF_PROG_TEST_RUN), flows reassembled and classified in user
# space, one JSON line per flow. Checked against tshark on the shared corpus,
# on crafted frames (tests/tools/mkpcap.c), and for its errors.
# shellcheck disable=SC2016  # jq programs, in single quotes on purpose
source "$(dirname "$0")/lib.sh"

MKPCAP=$PWD/$OUT/tests/mkpcap
CORPUS=$PWD/../shared/corpus/pcap
# The keys of a flow line, in their order.
KEYS='["frame","ts","family","saddr","sport","daddr","dport","alpn","alpn_offered","sni","gray","http_marker","http_method","tunnel","bytes_classified"]'

# replay NAME ARGS...: grayprobe replay ARGS; its flow lines in $T/NAME.json,
# its request lines ("type":"request") in $T/NAME.req.json, stderr in
# $T/NAME.err, the exit status in RC.
replay() {
	local n=$1
	shift
	"$GP" replay "$@" >"$T/$n.out" 2>"$T/$n.err"
	RC=$?
	grep -v '^{"type":"request"' "$T/$n.out" >"$T/$n.json" || true
	grep '^{"type":"request"' "$T/$n.out" >"$T/$n.req.json" || true
}

# crafted NAME "SCENARIO..." [REPLAY_ARGS...]: mkpcap writes the scenarios to
# $T/NAME.pcap, replay reads it; it must exit 0 with well-formed flow lines
# (keys in order; ts the time mkpcap gave the frame named by "frame") and
# its summary on stderr.
crafted() {
	local n=$1 scen=$2 opt=() bad
	shift 2
	[ -x "$MKPCAP" ] || fail "$MKPCAP not built (make $OUT/tests/mkpcap)"
	case $scen in -i\ *) opt=(-i) scen=${scen#-i } ;; esac
	# shellcheck disable=SC2086
	"$MKPCAP" "${opt[@]}" "$T/$n.pcap" $scen 2>"$T/mkpcap.err" || fail "mkpcap $scen: $(cat "$T/mkpcap.err")"
	replay "$n" "$@" "$T/$n.pcap"
	[ "$RC" -eq 0 ] || fail "replay of '$scen' exited $RC: $(tail -n 3 "$T/$n.err")"
	bad=$(jq -c --argjson keys "$KEYS" 'select((keys_unsorted != $keys) or
		(.ts != "2024-01-01T00:00:00." + ("00000000" + (.frame * 1000001 | tostring))[-9:] + "Z"))' \
		"$T/$n.json" 2>&1 | head -n 3)
	[ -z "$bad" ] || fail "replay of '$scen': malformed lines: $bad"
	grep -qE "^grayprobe: $T/$n.pcap: [0-9]+ frames \(EN10MB\), [0-9]+ flows classified; .*, 0 bad records$" \
		"$T/$n.err" || fail "replay of '$scen': no summary line: $(tail -n 2 "$T/$n.err")"
}

# Client port of a scenario (the flow's other end may be taken as client).
port() { "$MKPCAP" --list | awk -v n="$1" '$1 == n { print $2 }'; }

# flow_is NAME SCENARIO JQ_OBJECT: the one line of $T/NAME.json of the
# scenario's flow has exactly these fields (ts and the key set are checked
# by crafted). In JQ_OBJECT, $p is the scenario's client port and $tls what
# most TLS scenarios share.
flow_is() {
	local n=$1 p got diff
	p=$(port "$2")
	[ -n "$p" ] || fail "mkpcap has no scenario '$2'"
	got=$(jq -c --argjson p "$p" 'select(.sport == $p or .dport == $p)' "$T/$n.json")
	[ -n "$got" ] || fail "$2: no line for port $p; replay printed: $(head -c 600 "$T/$n.json")"
	[ "$(wc -l <<<"$got")" -eq 1 ] || fail "$2: $(wc -l <<<"$got") lines for port $p: $got"
	diff=$(jq -nr --argjson got "$got" --argjson p "$p" '
		{family: "ipv4", saddr: "198.18.7.1", sport: $p, daddr: "198.19.7.2", dport: 443,
		 alpn: "h2", alpn_offered: "h2,http/1.1", gray: "stable", http_marker: "",
		 http_method: "", tunnel: false} as $tls
		| ('"$3"') as $want
		| (($got | keys) - ($want | keys) - ["ts"] | map("expected value missing for \(.)")[]),
		  ($want | to_entries[] | select($got[.key] != .value)
		   | "\(.key) \(.value | tojson), got \($got[.key] | tojson)")' 2>&1)
	[ -z "$diff" ] || fail "$2: $(tr '\n' ';' <<<"$diff") (line: $got)"
}

# lines NAME: how many lines replay printed.
lines() { grep -c . "$T/$1.json"; }

# ---- the corpus against tshark ----------------------------------------------

# tshark -T json -x --no-duplicate-keys of the ClientHello frames -> one object
# per ClientHello with its 5-tuple, whether it is inside an HTTP CONNECT
# tunnel, and its ALPN list and server_name as replay prints them. tshark's
# own strings cannot be used as they are: -T fields prints each byte >= 0x80
# as U+FFFD (0xba 0xad comes out as two U+FFFD, which could be any two bytes)
# and joins names with ',' (a name may hold one). So the names are rebuilt
# from their raw bytes (the *_raw arrays: hex, offset, length, ...) the way
# gp_sanitize_label does: 0x20..0x7e but '\' as is, any other byte \xHH
# (lowercase); GREASE (0x?a?a, both bytes equal) skipped; whole names joined
# up to 1024 bytes (alpn_offered); server_name cut at 255, never inside an
# escape.
TSHARK_HELLOS='
def one: if type == "array" then last else . end;
def hexval: if . >= 97 then . - 87 elif . >= 65 then . - 55 else . - 48 end;
def bytes: if . == "" then [] else [explode | _nwise(2) | (.[0] | hexval) * 16 + (.[1] | hexval)] end;
def hex2: [(. / 16 | floor), (. % 16)] | map(if . < 10 then . + 48 else . + 87 end) | implode;
def pieces: map(if . >= 32 and . <= 126 and . != 92 then [.] | implode else "\\x" + hex2 end);
def upto($max): reduce .[] as $x ({s: "", full: false};
	if .full or (.s + $x | length) > $max then .full = true else .s += $x end) | .s;
def joined($max): reduce .[] as $x ({s: "", full: false};
	if .full or ($x | length) + (if .s == "" then 0 else 1 end) > $max - (.s | length)
	then .full = true else .s += (if .s == "" then "" else "," end) + $x end) | .s;
def grease: length == 2 and .[0] == .[1] and (.[0] % 16) == 10;
def raws($k): [.. | objects | .[$k]? // empty | if (.[0] | type) == "array" then .[] else . end | .[0]];
.[] | ._source.layers as $l
| ($l.frame["frame.number"] | tonumber) as $frame
| ($l.frame["frame.protocols"] | split(":") | map(select(. == "ip" or . == "ipv6")) | last) as $fam
| ($l[$fam] | one) as $ip | ($l.tcp | one) as $tcp
| [$l.tls | .. | objects | select(.["tls.handshake.type"]? == "1")] as $hellos
| if ($hellos | length) == 0 then {frame: $frame, error: "no ClientHello in its JSON"} else
  $hellos[]
  | {frame: $frame, family: (if $fam == "ipv6" then "ipv6" else "ipv4" end),
     saddr: $ip["\($fam).src"], sport: ($tcp["tcp.srcport"] | tonumber),
     daddr: $ip["\($fam).dst"], dport: ($tcp["tcp.dstport"] | tonumber),
     tunnel: (($l.http | one | .["http.proxy_connect_host"]?) != null),
     alpn_offered: (raws("tls.handshake.extensions_alpn_str_raw")
        | map(bytes | select(grease | not) | pieces | add // "") | joined(1024)),
     sni: (raws("tls.handshake.extensions_server_name_raw") | (first // "") | bytes | pieces | upto(255))}
  end'

# Each tshark hello against replay's line for its 5-tuple (client first):
# one "FILE frame N: why" per mismatch.
COMPARE='
($r | group_by([.family, .saddr, .sport, .daddr, .dport])
 | map({key: (.[0] | [.family, .saddr, .sport, .daddr, .dport] | tojson), value: .}) | from_entries) as $by
| $h[] | . as $x
| if .error then "\($f) frame \(.frame): tshark: \(.error)" else
  ($by[[.family, .saddr, .sport, .daddr, .dport] | tojson] // []) as $m
  | if ($m | length) != 1 then
      "\($f) frame \(.frame) \(.saddr):\(.sport) -> \(.daddr):\(.dport): \($m | length) replay lines"
    else $m[0] as $g
      | ([("alpn_offered", "sni", "tunnel") | select($g[.] != $x[.])
          | "\(.) tshark \($x[.] | tojson) replay \($g[.] | tojson)"] | join(", ")) as $d
      | if $d == "" then empty
        else "\($f) frame \(.frame) \(.saddr):\(.sport) -> \(.daddr):\(.dport): \($d)" end
    end
  end'

t_replay_corpus_matches_tshark() {
	local f b n total=0 files=0 start=$SECONDS
	[ -d "$CORPUS" ] || skip "no corpus at $CORPUS"
	command -v tshark >/dev/null || skip "tshark not installed (Debian package tshark)"
	: >"$T/mismatches"
	for f in "$CORPUS"/*.pcap; do
		[ -e "$f" ] || skip "no *.pcap in $CORPUS"
		b=$(basename "$f")
		tshark -n -r "$f" -Y 'tls.handshake.type == 1 && tcp' -T json -x --no-duplicate-keys \
			2>"$T/tshark.err" >"$T/$b.tshark" || fail "tshark on $b: $(tail -n 2 "$T/tshark.err")"
		jq -c "$TSHARK_HELLOS" "$T/$b.tshark" >"$T/$b.hellos" 2>"$T/jq.err" \
			|| fail "reading tshark's JSON of $b: $(head -n 2 "$T/jq.err")"
		replay "$b" "$f"
		[ "$RC" -eq 0 ] || fail "replay $b exited $RC: $(tail -n 2 "$T/$b.err")"
		jq -e . "$T/$b.json" >/dev/null 2>&1 || [ ! -s "$T/$b.json" ] \
			|| fail "replay $b: stdout is not JSON lines"
		jq -nr --arg f "$b" --slurpfile h "$T/$b.hellos" --slurpfile r "$T/$b.json" "$COMPARE" \
			>>"$T/mismatches" 2>&1 || fail "comparing $b failed: $(tail -n 2 "$T/mismatches")"
		n=$(grep -c . "$T/$b.hellos")
		echo "$b: $n ClientHellos compared, $(grep -c . "$T/$b.json") flow lines"
		total=$((total + n)) files=$((files + 1))
	done
	echo "corpus: $total ClientHellos in $files captures compared with tshark in $((SECONDS - start)) s"
	[ "$total" -gt 0 ] || fail "tshark reported no ClientHello in the whole corpus"
	if [ -s "$T/mismatches" ]; then
		head -n 10 "$T/mismatches"
		fail "$(grep -c . "$T/mismatches") of $total ClientHellos differ from tshark: $(head -n 10 "$T/mismatches" | tr '\n' ';')"
	fi
	# The one hello inside an HTTP CONNECT tunnel is reported as tunnelled.
	if [ -e "$T/https-connect.pcap.hellos" ]; then
		expect_eq "$(jq -s 'map(select(.tunnel)) | length' "$T/https-connect.pcap.hellos")" 1 \
			"https-connect.pcap: tunnelled hellos per tshark"
	fi
	if [ -e "$T/tls-non-ascii-alpn.pcap.json" ]; then
		expect_eq "$(jq -r .alpn "$T/tls-non-ascii-alpn.pcap.json")" '\xba\xad' \
			"tls-non-ascii-alpn.pcap: alpn tag"
	fi
}

# ---- crafted frames -----------------------------------------------------------

# A ClientHello whole, across segments (ALPN in the second), out of order,
# retransmitted and overlapping, across TLS records, half in a TFO SYN.
t_replay_tls_reassembly() {
	local s
	for s in baseline split2 ooo retrans records tfo; do
		crafted "$s" "$s"
		expect_eq "$(lines "$s")" 1 "$s: lines"
	done
	flow_is baseline baseline '$tls + {frame: 4, sni: "baseline.example.com", bytes_classified: 356}'
	expect_eq "$(jq -r .ts "$T/baseline.json")" 2024-01-01T00:00:00.004000004Z "baseline: ns timestamp"
	flow_is split2 split2 '$tls + {frame: 5, sni: "split2.example.com", bytes_classified: 354}'
	flow_is ooo ooo '$tls + {frame: 5, sni: "ooo.example.com", bytes_classified: 351}'
	flow_is retrans retrans '$tls + {frame: 6, sni: "retrans.example.com", bytes_classified: 355}'
	flow_is records records '$tls + {frame: 5, sni: "records.example.com", bytes_classified: 365}'
	flow_is tfo tfo '$tls + {frame: 3, sni: "tfo.example.com", bytes_classified: 351}'
}

# Lengths that lie, cut-off hellos, a bad ALPN list: no crash; "unknown" at
# once when malformed, at FIN when still incomplete. A record longer than the
# packet whose handshake message is complete inside it is classified.
t_replay_malformed_tls() {
	local s
	for s in truncated len-ext-past len-hs-huge len-rec-past len-rec-over len-past-fin \
		alpn-empty tiny-segs; do
		crafted "$s" "$s"
	done
	local u='$tls + {alpn: "unknown", alpn_offered: "", sni: ""}'
	flow_is truncated truncated "$u"' + {frame: 5, bytes_classified: 329}'
	flow_is len-ext-past len-ext-past "$u"' + {frame: 4, bytes_classified: 351}'
	flow_is len-hs-huge len-hs-huge "$u"' + {frame: 4, bytes_classified: 350}'
	flow_is len-rec-past len-rec-past '$tls + {frame: 4, sni: "recpast.example.com", bytes_classified: 355}'
	flow_is len-rec-over len-rec-over "$u"' + {frame: 4, bytes_classified: 355}'
	flow_is len-past-fin len-past-fin "$u"' + {frame: 5, bytes_classified: 300}'
	# RFC 7301: a zero-length name makes the hello malformed (payload.c).
	flow_is alpn-empty alpn-empty "$u"' + {frame: 4, bytes_classified: 345}'
	# 16 payload records per flow (GP_CAPTURE_SEGS_MAX): 16 x 20 bytes, then FIN.
	flow_is tiny-segs tiny-segs "$u"' + {frame: 22, bytes_classified: 320}'
}

# Label sanitizing: \xHH for non-printable bytes and '\', the tag cut at 32
# bytes before an escape that would not fit, GREASE skipped.
t_replay_alpn_labels() {
	crafted long alpn-255
	crafted odd alpn-nonascii
	local p30 q224
	p30=$(printf 'p%.0s' $(seq 30)) q224=$(printf 'q%.0s' $(seq 224))
	flow_is long alpn-255 '$tls + {frame: 4, alpn: "'"$p30"'", alpn_offered: "'"$p30"'\\xff'"$q224"',h2",
		sni: "long.example.com", bytes_classified: 599}'
	flow_is odd alpn-nonascii '$tls + {frame: 4, alpn: "\\xba\\xad",
		alpn_offered: "\\xba\\xad,http/1.1,a\\x5cb,\\x7f\\x00 ~", sni: "caf\\xc3\\xa9.example.com",
		bytes_classified: 365}'
}

# IPv6 extension headers, 802.1Q, QinQ, IPv4 options.
t_replay_encapsulations() {
	local s
	for s in ipv6-ext vlan qinq ipv4-opts; do
		crafted "$s" "$s"
		expect_eq "$(lines "$s")" 1 "$s: lines"
	done
	flow_is ipv6-ext ipv6-ext '$tls + {frame: 4, family: "ipv6", saddr: "fd00:198:18:7::1",
		daddr: "fd00:198:18:7::2", sni: "v6ext.example.com", bytes_classified: 353}'
	flow_is vlan vlan '$tls + {frame: 4, sni: "vlan.example.com", bytes_classified: 352}'
	flow_is qinq qinq '$tls + {frame: 4, sni: "qinq.example.com", bytes_classified: 352}'
	flow_is ipv4-opts ipv4-opts '$tls + {frame: 4, sni: "ipopts.example.com", bytes_classified: 354}'
}

# A non-first IPv4 fragment, frames cut short of their headers, TCP data
# offsets under 5 and past the segment: nothing printed for them, and the
# flow after them is classified as usual.
t_replay_bad_frames_ignored() {
	crafted bad "frag short doff baseline"
	expect_eq "$(lines bad)" 1 "lines"
	# 1 + 6 + 2 frames before the baseline's fourth.
	flow_is bad baseline '$tls + {frame: 13, sni: "baseline.example.com", bytes_classified: 356}'
	grep -q ": 15 frames (EN10MB), 1 flows classified; skipped: 0 truncated, 1 unsupported, " "$T/bad.err" \
		|| fail "summary: $(tail -n 1 "$T/bad.err")"
	crafted frag frag
	crafted doff doff
	expect_eq "$(lines frag)$(lines doff)" 00 "lines for the fragment and the bad offsets alone"
	# The kernel side counts what it skipped; the summary says so.
	grep -qE ", [1-9][0-9]* malformed, " "$T/doff.err" || fail "doff: no malformed count: $(tail -n 1 "$T/doff.err")"
}

# A 4-tuple reused by a new connection (new SYN, new ISN) is a new flow: the
# old one keeps its tag, decided with what it had if it was still undecided.
t_replay_reused_tuple() {
	crafted reuse reuse
	expect_eq "$(lines reuse)" 2 "reuse: lines"
	expect_eq "$(jq -r '[.frame, .alpn, .sni] | join(" ")' "$T/reuse.json" | tr '\n' '|')" \
		"4 h2 reuse1.example.com|11 http/1.1 reuse2.example.com|" "reuse: the two connections"
	crafted undecided reuse-undecided
	expect_eq "$(jq -r '.alpn' "$T/undecided.json" | tr '\n' '|')" "unknown|http/1.1|" \
		"reuse-undecided: the cut-off first connection, then the second"
}

# Frames over the test-run limit are cut into segments by replay: a 7900-byte
# request, a 7000-byte one over 802.1Q + IPv6 extension headers, a 6000-byte
# SYN (sequence numbers after the SYN's own).
t_replay_big_frames() {
	local s
	for s in big-http big-v6-vlan tfo-big; do
		crafted "$s" "$s"
		grep -q ", 0 oversized, 0 malformed, 0 test-run errors, " "$T/$s.err" || fail "$s: $(tail -n 1 "$T/$s.err")"
	done
	local h='$tls + {dport: 80, alpn: "http/1.1", alpn_offered: "", sni: "", gray: "canary",
		http_marker: "x-traffic-tag", http_method: "GET"}'
	flow_is big-http big-http "$h"' + {frame: 4, bytes_classified: 7846}'
	flow_is big-v6-vlan big-v6-vlan "$h"' + {frame: 4, family: "ipv6", saddr: "fd00:198:18:7::1",
		daddr: "fd00:198:18:7::2", bytes_classified: 6906}'
	flow_is tfo-big tfo-big "$h"' + {frame: 1, bytes_classified: 5946}'
}

# h2c prior knowledge; flows caught without their SYN (the first sender of
# payload is the client, even a server's banner); no payload at all.
t_replay_h2c_adoption_empty() {
	local s
	for s in h2c adopt adopt-server-first empty; do
		crafted "$s" "$s"
	done
	flow_is h2c h2c '$tls + {frame: 5, dport: 80, alpn: "h2c", alpn_offered: "", sni: "", bytes_classified: 33}'
	flow_is adopt adopt '$tls + {frame: 3, sni: "adopt.example.com", bytes_classified: 353}'
	flow_is adopt-server-first adopt-server-first '$tls + {frame: 1, saddr: "198.19.7.2", sport: 25,
		daddr: "198.18.7.1", dport: $p, alpn: "unknown", alpn_offered: "", sni: "", bytes_classified: 24}'
	flow_is empty empty '$tls + {frame: 4, alpn: "none", alpn_offered: "", sni: "", bytes_classified: 0}'
}

# Every scenario in one capture, frames interleaved round-robin: the same
# lines (frame and ts aside) as each scenario alone.
t_replay_interleaved_same_as_alone() {
	local s
	crafted mixed "-i all"
	for s in $("$MKPCAP" --list | cut -d' ' -f1); do
		crafted "alone-$s" "$s"
		cat "$T/alone-$s.json"
	done >"$T/alone.json"
	jq -c 'del(.frame, .ts)' "$T/mixed.json" | sort >"$T/a"
	jq -c 'del(.frame, .ts)' "$T/alone.json" | sort >"$T/b"
	[ -s "$T/b" ] || fail "no lines at all"
	diff "$T/a" "$T/b" >"$T/diff" || fail "interleaved differs from alone: $(head -n 4 "$T/diff" | tr '\n' ';')"
}

# The same frames as pcapng (nanosecond timestamps kept) and as microsecond
# pcap (timestamps cut to the microsecond): the same lines.
t_replay_capture_formats() {
	command -v editcap >/dev/null || skip "editcap not installed (Debian package wireshark-common)"
	crafted ns all
	editcap -F pcapng "$T/ns.pcap" "$T/ng.pcapng" 2>"$T/editcap.err" || fail "editcap: $(cat "$T/editcap.err")"
	editcap -F pcap "$T/ns.pcap" "$T/us.pcap" 2>"$T/editcap.err" || fail "editcap: $(cat "$T/editcap.err")"
	replay ng "$T/ng.pcapng"
	expect_eq "$RC" 0 "exit status for pcapng"
	cmp -s "$T/ns.json" "$T/ng.json" || fail "pcapng differs: $(diff "$T/ns.json" "$T/ng.json" | head -n 3)"
	replay us "$T/us.pcap"
	expect_eq "$RC" 0 "exit status for microsecond pcap"
	jq -c '.ts |= .[:26] + "000Z"' "$T/ns.json" >"$T/ns-us.json"
	cmp -s "$T/ns-us.json" "$T/us.json" || fail "microsecond pcap differs: $(diff "$T/ns-us.json" "$T/us.json" | head -n 3)"
}

# --rule on the SNI, next to the default header rules.
t_replay_sni_rule() {
	crafted rule "sni-canary baseline big-http" --rule 'sni *.canary.example.com = canary'
	expect_eq "$(lines rule)" 3 "lines"
	flow_is rule sni-canary '$tls + {frame: 4, sni: "api.canary.example.com", gray: "canary",
		bytes_classified: 358}'
	flow_is rule baseline '$tls + {frame: 10, sni: "baseline.example.com", bytes_classified: 356}'
	flow_is rule big-http '$tls + {frame: 16, dport: 80, alpn: "http/1.1", alpn_offered: "", sni: "",
		gray: "canary", http_marker: "x-traffic-tag", http_method: "GET", bytes_classified: 7846}'
}

# A bad rule: exit 2 before anything is read, "ORIGIN:LINE:" first.
t_replay_bad_rules_refused() {
	[ -x "$MKPCAP" ] || fail "$MKPCAP not built"
	"$MKPCAP" "$T/b.pcap" baseline || fail "mkpcap"
	printf '# rules\nsni *.beta.example.com = beta\ndport 99999 = x\n' >"$T/bad.rules"
	replay out --rules "$T/bad.rules" "$T/b.pcap"
	expect_eq "$RC" 2 "exit status with a bad rules file"
	grep -q "^grayprobe: error: $T/bad.rules:3: " "$T/out.err" || fail "no FILE:LINE: $(cat "$T/out.err")"
	[ ! -s "$T/out.json" ] || fail "stdout not empty: $(head -c 300 "$T/out.json")"
	replay out --rule 'bogus x = y' "$T/b.pcap"
	expect_eq "$RC" 2 "exit status with a bad --rule"
	grep -q "^grayprobe: error: --rule: unknown condition 'bogus'" "$T/out.err" || fail "unclear: $(cat "$T/out.err")"
	[ ! -s "$T/out.json" ] || fail "stdout not empty: $(head -c 300 "$T/out.json")"
	replay out --rules "$T/none.rules" "$T/b.pcap"
	expect_eq "$RC" 2 "exit status with a missing rules file"
	grep -q "$T/none.rules: No such file or directory" "$T/out.err" || fail "unclear: $(cat "$T/out.err")"
}

# ---- errors -------------------------------------------------------------------

t_replay_unreadable_inputs() {
	[ -x "$MKPCAP" ] || fail "$MKPCAP not built"
	replay out "$T/missing.pcap"
	expect_eq "$RC" 2 "exit status for a missing file"
	grep -q "^grayprobe: error: $T/missing.pcap: No such file or directory$" "$T/out.err" \
		|| fail "missing file: $(cat "$T/out.err")"
	echo "not a capture" >"$T/text.pcap"
	replay out "$T/text.pcap"
	expect_eq "$RC" 2 "exit status for a text file"
	grep -q "^grayprobe: error: $T/text.pcap: " "$T/out.err" || fail "text file: $(cat "$T/out.err")"
	replay out "$T"
	expect_eq "$RC" 2 "exit status for a directory"
	grep -q "^grayprobe: error: $T: " "$T/out.err" || fail "directory: $(cat "$T/out.err")"
	# pcap, nanosecond magic, link type 147 (USER0).
	printf '\x4d\x3c\xb2\xa1\x02\x00\x04\x00\0\0\0\0\0\0\0\0\xff\xff\0\0\x93\0\0\0' >"$T/user0.pcap"
	replay out "$T/user0.pcap"
	expect_eq "$RC" 2 "exit status for an unsupported link type"
	grep -q "link type .*(147) is not supported" "$T/out.err" || fail "link type: $(cat "$T/out.err")"
	replay out
	expect_eq "$RC" 2 "exit status without a file"
	grep -q "replay needs a capture file" "$T/out.err" || fail "no file: $(cat "$T/out.err")"
	# Cut inside the last record: a read error, exit 1, naming the file.
	"$MKPCAP" "$T/whole.pcap" baseline || fail "mkpcap"
	head -c -10 "$T/whole.pcap" >"$T/cut.pcap"
	replay out "$T/cut.pcap"
	expect_eq "$RC" 1 "exit status for a truncated capture"
	grep -q "^grayprobe: error: $T/cut.pcap: truncated dump file" "$T/out.err" || fail "cut: $(cat "$T/out.err")"
}

# Without CAP_BPF/CAP_PERFMON (or CAP_SYS_ADMIN): exit 1, a clear reason.
t_replay_unprivileged_refused() {
	[ -x "$MKPCAP" ] || fail "$MKPCAP not built"
	chmod 0777 "$T"
	"$MKPCAP" "$T/b.pcap" baseline || fail "mkpcap"
	chmod 0644 "$T/b.pcap"
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
		"$GP" replay "$T/b.pcap" >"$T/out" 2>"$T/err"
	expect_eq "$?" 1 "exit status as nobody"
	grep -q "missing CAP_BPF and CAP_PERFMON" "$T/err" || fail "unclear: $(cat "$T/err")"
	[ ! -s "$T/out" ] || fail "stdout not empty as nobody"
	setpriv --inh-caps=-all --bounding-set=-all "$GP" replay "$T/b.pcap" >"$T/out" 2>"$T/err"
	expect_eq "$?" 1 "exit status as root without capabilities"
	grep -q "missing CAP_BPF and CAP_PERFMON" "$T/err" || fail "unclear: $(cat "$T/err")"
}

run_tests "$@"
