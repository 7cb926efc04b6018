#!/usr/bin/env bash
# The README, run as a new user would: its quick-start commands exactly as
# shown (build/ read as $OUT/, "sudo" dropped: the tests run as root) around
# docs/demo.sh, their output checked against what the README shows; and its
# metrics table against every metric the textfile holds.
# shellcheck disable=SC2016  # jq programs, in single quotes on purpose
source "$(dirname "$0")/lib.sh"

README=$PWD/README.md
GOLDEN_PROM=$PWD/tests/unit/golden/basic.prom

# The README's "## Quick start" section.
quick_start() { awk '/^## / { q = ($0 ~ /^## Quick start/) } q' "$README"; }

# quick_cmds CMD: the quick start's commands ("$ [sudo ]COMMAND" in a code
# block, without "$ " and "sudo ") that are CMD, or start with it when CMD
# ends with a space; with OUT=1, the output shown under them instead (up to
# the next command or the end of the code block).
quick_cmds() {
	quick_start | awk -v p="$1" -v out="${OUT_SHOWN:-0}" '
		function is(c) { return substr(p, length(p)) == " " ? index(c, p) == 1 : c == p }
		/^```/ { on = 0; next }
		/^\$ / { c = substr($0, 3); sub(/^sudo /, "", c); on = is(c); if (on && !out) print c; next }
		on && out'
}
readme_out() { OUT_SHOWN=1 quick_cmds "$1"; }

# readme_cmd CMD: the one quick-start command quick_cmds finds.
readme_cmd() {
	local c
	c=$(quick_cmds "$1")
	[ -n "$c" ] && [ "$(wc -l <<<"$c")" -eq 1 ] \
		|| fail "README quick start: expected one command '$1', found: '$c'"
	printf '%s\n' "$c"
}

# readme_argv PREFIX: the command's words in ARGV, parsed as the shell would,
# the binary taken from $OUT.
readme_argv() {
	local c
	c=$(readme_cmd "$1") || exit 1
	eval "ARGV=(${c//build\/grayprobe/$OUT/grayprobe})"
}

# Fields of an event or replay line that are the same on every run.
STABLE='{type, direction, family, saddr, daddr, dport, comm, result, error, alpn, alpn_offered, sni, gray,
	http_marker, http_method, tunnel, marker, method, path, status, code}'

# expect_json_lines SHOWN REAL WHAT: every JSON line the README shows (SHOWN)
# has the keys of a real line (REAL), in their order, and a real line has its
# stable fields.
expect_json_lines() {
	local shown=$1 real=$2 line keys proj n=0
	while IFS= read -r line; do
		case $line in '{'*) ;; *) continue ;; esac
		n=$((n + 1))
		keys=$(jq -c 'keys_unsorted' <<<"$line") || fail "$3: README line is not JSON: $line"
		jq -se --argjson k "$keys" 'any(.[]; keys_unsorted == $k)' "$real" >/dev/null \
			|| fail "$3: no real line has the keys of the README's $line; real: $(head -n 1 "$real")"
		proj=$(jq -c "$STABLE" <<<"$line")
		jq -se --argjson p "$proj" 'any(.[]; . as $l | $p | to_entries | all(.value == $l[.key]))' \
			"$real" >/dev/null || fail "$3: no real line like the README's $proj"
	done <"$shown"
	[ "$n" -ge 3 ] || fail "$3: the README shows $n JSON lines (extraction broken?)"
}

demo_gone() {
	[ ! -e /run/netns/gpdemo-srv ] && [ ! -e /run/netns/gpdemo-cli ] && [ ! -e /run/gpdemo ] \
		&& ! ip link show gpdemo0 >/dev/null 2>&1 && ! ip link show gpdemo1 >/dev/null 2>&1
}

t_docs_quick_start() {
	local out inos d rc pid traffic agent2 missing
	need curl curl
	need openssl openssl
	need tcpdump tcpdump
	need jq jq
	[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 not installed (Debian package python3)"
	demo_gone || skip "the demo is up already (docs/demo.sh down removes it)"

	# Set up, and taken down again whatever happens.
	trap 'docs/demo.sh down >/dev/null 2>&1; cleanup' EXIT
	NETNS+=(gpdemo-srv gpdemo-cli)
	readme_argv "docs/demo.sh up"
	"${ARGV[@]}" >"$T/up.out" 2>&1 || fail "docs/demo.sh up: $(tail -n 3 "$T/up.out")"
	inos="[$(stat -L -c %i /run/netns/gpdemo-cli), $(stat -L -c %i /run/netns/gpdemo-srv)]"

	# The agent with JSON events, the traffic, ^C.
	readme_argv "ip netns exec gpdemo-srv build/grayprobe run "
	"${ARGV[@]}" >"$T/events.all" 2>"$T/agent.err" &
	AGENT=$!
	PIDS+=("$AGENT")
	for _ in $(seq 300); do
		grep -q "attached" "$T/agent.err" && break
		kill -0 "$AGENT" 2>/dev/null || fail "agent exited: $(tail -n 3 "$T/agent.err")"
		sleep 0.1
	done
	grep -q "attached: .*classifier=gpdemo0/ingress" "$T/agent.err" \
		|| fail "agent did not attach to gpdemo0 in 30 s: $(tail -n 3 "$T/agent.err")"
	readme_argv "docs/demo.sh traffic"
	"${ARGV[@]}" >"$T/traffic.out" 2>&1 || fail "docs/demo.sh traffic: $(tail -n 3 "$T/traffic.out")"
	# 9 established connections seen from both ends, 1 refused connect.
	for _ in $(seq 200); do
		[ "$(jq -s --argjson i "$inos" '[.[] | select(.netns | IN($i[]))] | length' "$T/events.all")" -ge 19 ] \
			&& break
		sleep 0.1
	done
	agent_stop INT
	grep -q "stopped by Interrupt; detached" "$T/agent.err" || fail "no stop line: $(tail -n 2 "$T/agent.err")"
	jq -c --argjson i "$inos" 'select(.netns | IN($i[]))' "$T/events.all" >"$T/events.json" \
		|| fail "events are not JSON lines: $(head -c 300 "$T/events.all")"
	expect_eq "$(wc -l <"$T/events.json")" 19 "demo events"
	expect_eq "$(jq -s '[.[] | select(.gray == "canary" and .http_marker == "x-canary")] | length' \
		"$T/events.json")" 4 "events tagged canary by X-Canary"
	expect_eq "$(jq -s '[.[] | select(.alpn == "h2" and .sni == "shop.example.com")] | length' \
		"$T/events.json")" 6 "events tagged h2 with SNI shop.example.com"
	expect_eq "$(jq -s '[.[] | select(.result == "refused")] | length' "$T/events.json")" 1 "refused events"
	# The 4 plain HTTP requests and the 5 HTTPS ones (OpenSSL's plaintext
	# in curl and the Python server), each seen from both ends: their own tags.
	jq -c 'select(.type == "request" and .daddr == "198.18.0.2")' "$T/events.all" >"$T/requests.json"
	expect_eq "$(wc -l <"$T/requests.json")" 18 "demo request lines"
	expect_eq "$(jq -s '[.[] | select(.tls and .dport == 8443 and .alpn_negotiated == "http/1.1" and .code == "2xx")] | length' \
		"$T/requests.json")" 10 "HTTPS request lines (curl offered h2, the server agreed on http/1.1)"
	expect_eq "$(jq -s '[.[] | select(.gray == "canary" and .marker == "x-canary" and .code == "2xx")] | length' \
		"$T/requests.json")" 4 "requests tagged canary by X-Canary"
	readme_out "ip netns exec gpdemo-srv build/grayprobe run " >"$T/shown.events"
	jq -c 'select(.type == "tls_handshake" and .daddr == "198.18.0.2")' "$T/events.all" >"$T/handshakes.json"
	expect_eq "$(wc -l <"$T/handshakes.json")" 10 "demo TLS handshake lines (5 connections, both ends)"
	cat "$T/events.json" "$T/requests.json" "$T/handshakes.json" >"$T/lines.json"
	expect_json_lines "$T/shown.events" "$T/lines.json" "run --events json"

	# The textfile lines the README shows: exactly, but for alpn="none",
	# which also counts the host's other connections.
	readme_argv "grep "
	"${ARGV[@]}" >"$T/prom.out" 2>&1 || fail "README grep of the textfile failed: $(head -n 3 "$T/prom.out")"
	out=$(readme_out "grep ")
	[ "$(grep -c . <<<"$out")" -ge 4 ] || fail "README shows too few textfile lines: $out"
	while IFS= read -r d; do
		case $d in
		*'alpn="none"'*) grep -qF "${d% *} " "$T/prom.out" || fail "textfile: no ${d% *}" ;;
		*) grep -qxF "$d" "$T/prom.out" || fail "textfile: no '$d'; got: $(grep -F "${d%\} *}" "$T/prom.out")" ;;
		esac
	done <<<"$out"

	# replay on the capture the traffic left.
	readme_argv "build/grayprobe replay "
	"${ARGV[@]}" >"$T/replay.json" 2>"$T/replay.err"
	rc=$?
	expect_eq "$rc" 0 "replay exit status ($(tail -n 2 "$T/replay.err"))"
	expect_eq "$(jq -s '[.[] | select(.type != "request")] | length' "$T/replay.json")" 10 "replay flows"
	expect_eq "$(jq -s '[.[] | select(.type == "request" and .code == "2xx")] | length' "$T/replay.json")" 4 \
		"replayed requests"
	grep -q "demo.pcap: [0-9]* frames (EN10MB), 10 flows classified" "$T/replay.err" \
		|| fail "replay summary: $(cat "$T/replay.err")"
	expect_eq "$(jq -s '[.[] | select(.sni == "v2.canary.example.com" and .gray == "canary")] | length' \
		"$T/replay.json")" 2 "replayed flows made canary by the SNI rule"
	readme_out "build/grayprobe replay " >"$T/shown.replay"
	expect_json_lines "$T/shown.replay" "$T/replay.json" "replay"

	# top, while traffic runs (stdout a file: top prints one snapshot of one
	# second). Each row and verdict the README shows (direction, alpn, gray)
	# must be there; on a loaded machine a round of traffic can outlast the
	# second, so top gets a few tries.
	out=$(readme_out "ip netns exec gpdemo-srv build/grayprobe top " \
		| awk '/^(out|in) / && $4 ~ /^([0-9.]+k?|ok|P99!|FAIL!)$/ { print $1, $2, $3, ($4 ~ /^[0-9]/ ? "row" : "verdict") }')
	[ "$(grep -c row <<<"$out")" -ge 6 ] && [ "$(grep -c verdict <<<"$out")" -ge 2 ] \
		|| fail "README top: too few rows or verdicts found (extraction broken?): $out"
	readme_argv "docs/demo.sh traffic "
	"${ARGV[@]}" >"$T/traffic2.out" 2>&1 &
	traffic=$!
	PIDS+=("$traffic")
	readme_argv "ip netns exec gpdemo-srv build/grayprobe top "
	for _ in 1 2 3 4 5; do
		COLUMNS=120 timeout 60 "${ARGV[@]}" >"$T/top.txt" 2>"$T/top.err" </dev/null
		rc=$?
		expect_eq "$rc" 0 "top exit status ($(tail -n 2 "$T/top.err"))"
		missing=$(while read -r d a g kind; do
			awk -v d="$d" -v a="$a" -v g="$g" -v k="$kind" \
				'$1 == d && $2 == a && $3 == g && (k == "row") == ($4 ~ /^[0-9]/) { f = 1 } END { exit !f }' \
				"$T/top.txt" || echo "$kind $d $a $g;"
		done <<<"$out")
		[ -z "$missing" ] && break
	done
	kill -TERM "$traffic"
	wait "$traffic"
	sed 's/^/  top| /' "$T/top.txt"
	[ -z "$missing" ] || fail "top, 5 tries: missing $(tr "\n" " " <<<"$missing")"
	pgrep -f "tcpdump .*-i gpdemo0" >/dev/null && fail "tcpdump still runs after traffic was stopped"

	# down also stops an agent left running in the demo's namespace.
	readme_argv "ip netns exec gpdemo-srv build/grayprobe run "
	"${ARGV[@]}" >/dev/null 2>"$T/agent2.err" &
	agent2=$!
	PIDS+=("$agent2")
	for _ in $(seq 300); do grep -q attached "$T/agent2.err" && break; sleep 0.1; done
	grep -q attached "$T/agent2.err" || fail "second agent did not attach: $(tail -n 3 "$T/agent2.err")"
	pid=$(cat /run/gpdemo/server.pid)
	readme_argv "docs/demo.sh down"
	"${ARGV[@]}" >"$T/down.out" 2>&1 || fail "docs/demo.sh down: $(tail -n 3 "$T/down.out")"
	demo_gone || fail "left after docs/demo.sh down: $(ip netns list | grep gpdemo; ip -br link | grep gpdemo; ls -d /run/gpdemo 2>/dev/null)"
	# An exited process whose parent never reaps it (the server's is pid 1) is gone too.
	[ -e "/proc/$pid" ] && [ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" != Z ] \
		&& fail "the demo's server (pid $pid) still runs"
	kill -0 "$agent2" 2>/dev/null && [ "$(awk '{ print $3 }' "/proc/$agent2/stat")" != Z ] \
		&& fail "the agent in gpdemo-srv still runs after down"
	wait "$agent2"
	rc=$?
	expect_eq "$rc" 0 "exit status of the agent down stopped ($(tail -n 2 "$T/agent2.err"))"
	grep -q "stopped by Terminated; detached" "$T/agent2.err" \
		|| fail "agent in gpdemo-srv not stopped cleanly by down: $(tail -n 2 "$T/agent2.err")"
	"${ARGV[@]}" >/dev/null 2>&1 || fail "docs/demo.sh down a second time failed"
}

# Every metric of the textfile has its row in the README's metrics table,
# with its type and every label it carries.
t_docs_metrics_table() {
	local name type labels l row n=0
	while read -r _ _ name type; do
		n=$((n + 1))
		row=$(grep -F "| \`$name\` |" "$README") || fail "README metrics table: no row for $name"
		grep -qF "| \`$name\` | $type |" <<<"$row" || fail "README metrics table: $name is a $type: $row"
		labels=$(grep -E "^${name}(_bucket|_sum|_count)?\{" "$GOLDEN_PROM" \
			| sed 's/^[^{]*{//; s/}.*//' | tr ',' '\n' | sed 's/=.*//' | grep -vx le | sort -u)
		for l in $labels; do
			grep -qF "\`$l\`" <<<"$row" || fail "README metrics table: $name's label $l is not in its row"
		done
	done < <(grep '^# TYPE ' "$GOLDEN_PROM")
	[ "$n" -ge 10 ] || fail "only $n metrics in $GOLDEN_PROM"
	for name in $(grep -o '"grayprobe_[a-z_]*' user/export/prom.c | tr -d '"' | sort -u); do
		grep -qF "\`$name\`" "$README" || fail "README does not name $name (user/export/prom.c)"
	done
}

run_tests "$@"
