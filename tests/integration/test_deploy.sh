#!/usr/bin/env bash
# Shipping artefacts, each checked by the tool that consumes it: `make
# install`, grayprobe(8) (mandoc, man), the systemd unit (systemd-analyze,
# and the agent run under the unit's capability set, syscall filter and
# write paths, traced), the Prometheus rules (promtool), the Grafana
# dashboard and the rules against a real textfile, the Kubernetes manifest
# (its args, capabilities, mounts and probe run for real), the container
# build (its build stage re-played from exactly what it copies), and a
# fleet: two agents as two nodes, two node_exporters, one Prometheus; the
# optional HTTP endpoint scraped by a real Prometheus.
source "$(dirname "$0")/lib.sh"

VERSION=$(sed -n 's/^VERSION *:= *//p' Makefile)
RULES_YML=$PWD/deploy/prometheus/grayprobe.rules.yml
DASHBOARD=$PWD/deploy/grafana/grayprobe.json
UNIT_SRC=$PWD/deploy/systemd/grayprobe.service
DAEMONSET=$PWD/deploy/kubernetes/daemonset.yaml
CONTAINERFILE=$PWD/deploy/container/Containerfile

# Debian's python3 with python3-yaml (the test's own checks).
PY=
for p in /usr/bin/python3 python3; do
	"$p" -c 'import yaml' 2>/dev/null && { PY=$p; break; }
done
need_py() { [ -n "$PY" ] || skip "python3 with yaml not installed (Debian python3-yaml)"; }

# install_to DESTDIR [VAR=VALUE...]: make install, quietly, or fail.
install_to() {
	local d=$1
	shift
	make -s --no-print-directory OUT="$OUT" install DESTDIR="$d" "$@" >"$T/install.log" 2>&1 \
		|| fail "make install DESTDIR=$d $*: $(tail -n 5 "$T/install.log")"
}

# Names of the metrics a scrape body holds.
scrape_names() { grep -v '^#' | sed -E 's/[{ ].*//' | sort -u; }

# strace's syscall names for one process after it exec'd PROG.
traced_syscalls() {	# FILE PROG
	awk -v prog="$2" '
		!seen && index($0, "execve(\"" prog "\"") && / = 0$/ { seen = 1; next }
		seen {
			s = $2
			if (s ~ /^<\.\.\./) { s = $3 }
			sub(/\(.*/, "", s)
			if (s ~ /^[a-z0-9_]+$/) print s
		}' "$1" | sort -u
}

# Every syscall systemd lets through SystemCallFilter=ITEMS (groups expanded).
expand_syscall_filter() {
	local item
	for item; do
		case $item in
		@*)
			# shellcheck disable=SC2046
			expand_syscall_filter $(systemd-analyze syscall-filter "$item" \
				| awk 'NR > 1 && $1 !~ /^#/ && NF { print $1 }')
			;;
		*) echo "$item" ;;
		esac
	done
}

unit_value() { sed -n "s/^$1=//p" "$2" | tr '\n' ' '; }

# The installed unit's ExecStart, run from ROOT with the textfile in TFDIR
# and ARGS in place of $GRAYPROBE_ARGS.
unit_exec() {	# UNIT ROOT TFDIR ARGS
	local exec
	exec=$(unit_value ExecStart "$1")
	exec=${exec//\/usr\/local\/sbin\/grayprobe/$2/usr/local/sbin/grayprobe}
	exec=${exec//\/etc\/grayprobe\/rules/$2/etc/grayprobe/rules}
	exec=${exec//\/var\/lib\/prometheus\/node-exporter/$3}
	echo "${exec//\$GRAYPROBE_ARGS/$4}"
}

# setpriv's --bounding-set for the unit's CapabilityBoundingSet.
unit_bset() {
	local s bset=-all
	for s in $(unit_value CapabilityBoundingSet "$1"); do bset="$bset,+$(tr 'A-Z' 'a-z' <<<"${s#CAP_}")"; done
	echo "$bset"
}

# The agent's log ($T/agent.err) says the TLS source attached the host's
# libssl and kept "tls: keeping ...", and CapEff of PID is exactly that set
# (plus CAP_NET_ADMIN when NETADMIN is 1).
expect_tls_kept() {	# PID NETADMIN
	local eff
	grep -q "tls: attached OpenSSL uprobes to " "$T/agent.err" \
		|| fail "the TLS source attached nothing: $(grep tls: "$T/agent.err" | head -n 3)"
	grep -q "tls: keeping CAP_SYS_PTRACE" "$T/agent.err" \
		|| fail "no capabilities kept for TLS rescans: $(grep tls: "$T/agent.err" | head -n 3)"
	eff=$(awk '$1 == "CapEff:" { print $2 }' "/proc/$1/status")
	echo "CapEff $eff: $(grep -m1 -o 'tls: keeping .* for' "$T/agent.err")$([ "$2" = 1 ] && echo ' + CAP_NET_ADMIN')"
	expect_eq "$eff" "$(tls_caps_hex "$([ "$2" = 1 ] && echo 1000)")" "CapEff with the TLS source"
}

# make install lays out the binary, the man page, the unit (paths rewritten
# to PREFIX and SYSCONFDIR), the rules example, and never overwrites rules
# an operator changed.
t_install_layout() {
	local r=$T/root f
	install_to "$r"
	for f in usr/local/sbin/grayprobe usr/local/share/man/man8/grayprobe.8 \
		usr/local/lib/systemd/system/grayprobe.service etc/grayprobe/rules \
		usr/local/share/doc/grayprobe/rules.example usr/local/share/doc/grayprobe/grayprobe.rules.yml \
		usr/local/share/doc/grayprobe/grayprobe.json; do
		[ -f "$r/$f" ] || fail "make install did not install /$f"
	done
	expect_eq "$(stat -c %a "$r/usr/local/sbin/grayprobe")" 755 "mode of the binary"
	expect_eq "$(stat -c %a "$r/usr/local/lib/systemd/system/grayprobe.service")" 644 "mode of the unit"
	expect_eq "$("$r/usr/local/sbin/grayprobe" --version)" "grayprobe $VERSION" "installed binary's --version"
	cmp -s "$r/etc/grayprobe/rules" deploy/rules.example || fail "/etc/grayprobe/rules is not the example"
	grep -q '^ExecStart=/usr/local/sbin/grayprobe run --rules /etc/grayprobe/rules ' \
		"$r/usr/local/lib/systemd/system/grayprobe.service" || fail "unexpected ExecStart in the installed unit"

	echo "dport 8443 = mine" >"$r/etc/grayprobe/rules"
	install_to "$r"
	expect_eq "$(cat "$r/etc/grayprobe/rules")" "dport 8443 = mine" "rules after a second install"

	install_to "$T/usr" PREFIX=/usr SYSCONFDIR=/etc/gp
	f=$T/usr/usr/lib/systemd/system/grayprobe.service
	[ -x "$T/usr/usr/sbin/grayprobe" ] || fail "PREFIX=/usr: no /usr/sbin/grayprobe"
	[ -f "$T/usr/usr/share/man/man8/grayprobe.8" ] || fail "PREFIX=/usr: no man page"
	[ -f "$T/usr/etc/gp/grayprobe/rules" ] || fail "SYSCONFDIR=/etc/gp: no rules"
	grep -q '^ExecStart=/usr/sbin/grayprobe run --rules /etc/gp/grayprobe/rules ' "$f" \
		|| fail "PREFIX=/usr: ExecStart not rewritten: $(grep ExecStart= "$f")"
	grep -q '^EnvironmentFile=-/etc/gp/default/grayprobe$' "$f" || fail "SYSCONFDIR not applied to EnvironmentFile"
}

# make deps (and make run) install what building and running need, never a
# test peer: on Debian nginx and prometheus start their services on install.
# make test, unit, fuzz and soak install those too, with no service started:
# with apt-get and systemctl stubbed, the install sees a policy-rc.d that
# answers 101, gone (or the one that was there, back) afterwards, and the
# servers it installed are disabled at boot.
t_make_deps_installs_no_test_peer() {
	local target out peer fake=$T/fake rc=/usr/sbin/policy-rc.d
	for target in deps run; do
		out=$(make -n --no-print-directory OUT="$T/b" "$target" 2>&1) || fail "make -n $target: $out"
		for peer in nginx prometheus prometheus-node-exporter chromium valgrind tshark curl nftables libcmocka-dev; do
			grep -qw -- "$peer" <<<"$out" && fail "make $target would install the test peer $peer"
		done
	done
	for target in test unit fuzz soak test-kernels; do
		out=$(make -n --no-print-directory OUT="$T/b" "$target" 2>&1) || fail "make -n $target: $out"
		for peer in nginx prometheus chromium valgrind; do
			grep -qw -- "$peer" <<<"$out" || fail "make $target would not install $peer"
		done
	done
	mkdir -p "$fake"
	cat >"$fake/apt-get" <<-EOF
		#!/bin/sh
		[ "\$1" = update ] && exit 0
		$rc; echo "policy-rc.d \$?" >>"$T/seen"
		echo "apt-get \$*" >>"$T/seen"
	EOF
	printf '#!/bin/sh\necho "systemctl $*" >>"%s"\n' "$T/seen" >"$fake/systemctl"
	chmod +x "$fake/apt-get" "$fake/systemctl"
	[ ! -e "$rc" ] || cp -a "$rc" "$T/rc.before"
	PATH=$fake:$PATH make -s --no-print-directory test-deps DEB_BUILD=make DEB_TEST="gp-nosuch-peer procps" \
		DEB_TEST_SERVICES="gp-nosuch-peer procps" >"$T/out" 2>&1 || fail "make test-deps: $(cat "$T/out")"
	grep -qx 'policy-rc.d 101' "$T/seen" || fail "services could start during the install: $(cat "$T/seen")"
	grep -q '^apt-get install .* gp-nosuch-peer$' "$T/seen" || fail "not installed: $(cat "$T/seen")"
	grep -qx 'systemctl disable --quiet gp-nosuch-peer.service' "$T/seen" \
		|| fail "installed server not disabled: $(cat "$T/seen")"
	grep -q procps "$T/seen" && fail "acted on an installed package: $(cat "$T/seen")"
	if [ -e "$T/rc.before" ]; then
		cmp -s "$rc" "$T/rc.before" || fail "the policy-rc.d that was there is not back"
	else
		[ ! -e "$rc" ] || fail "policy-rc.d left behind"
	fi
}

# grayprobe(8): clean for mandoc's linter and groff's warnings, the version
# the binary reports, the sections (its options: t_man_options).
t_man_page() {
	local m=$T/root/usr/local/share/man/man8/grayprobe.8
	install_to "$T/root"
	if command -v mandoc >/dev/null; then
		mandoc -T lint "$m" >"$T/lint" 2>&1 || fail "mandoc -T lint: $(head -n 5 "$T/lint")"
	fi
	command -v man >/dev/null || skip "man not installed (Debian man-db); mandoc checked"
	LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$m" >"$T/man.txt" 2>"$T/man.err" \
		|| fail "man -l failed: $(head -n 3 "$T/man.err")"
	[ -s "$T/man.err" ] && fail "groff warnings: $(head -n 5 "$T/man.err")"
	grep -q "grayprobe $VERSION" "$T/man.txt" || fail "man page is not for version $VERSION"
	grep -q '^SIGNALS' "$T/man.txt" && grep -q '^EXIT STATUS' "$T/man.txt" || fail "sections missing"
}

# Options of `grayprobe CMD --help` (the option table) as "CMD OPTION" lines.
help_options() {
	local cmd
	for cmd; do
		"$GP" "$cmd" --help | sed -nE 's/^  (-[^ ]*( [^ ]+)*)(  .*)?$/\1/p' \
			| grep -oE -- '(^|[ ,])--?[a-z][a-z0-9.-]*' | tr -d ' ,' | sed "s/^/$cmd /"
	done | sort -u
}

# The same from grayprobe(8) (MAN CMD...): each .TP option under the OPTIONS subsections
# that name the commands ("Options of run and top", "of every command").
man_options() {
	local m=$1
	shift
	awk -v cmds="$*" '
		/^\.SH / { inopt = ($0 ~ /^\.SH OPTIONS/); who = ""; next }
		inopt && /^\.SS / {
			who = ""
			n = split(cmds, c, " ")
			for (i = 1; i <= n; i++)
				if ($0 ~ "every command" || $0 ~ ("[ \"]" c[i] "([ ,\"]|$)"))
					who = who " " c[i]
			next
		}
		inopt && /^\.TP/ { tp = 1; next }
		tp {
			tp = 0
			line = $0
			gsub(/\\f[RIB]/, "", line); gsub(/\\-/, "-", line); gsub(/[",]/, " ", line)
			n = split(line, w, " ")
			for (i = 2; i <= n; i++)
				if (w[i] ~ /^--?[a-z]/) {
					m = split(who, c, " ")
					for (j = 1; j <= m; j++) print c[j], w[i]
				}
		}' "$m" | sort -u
}

# Every option of every command's --help is in grayprobe(8) under that
# command, and the man page lists no option a command does not take.
t_man_options() {
	local cmds="run top replay check"
	# shellcheck disable=SC2086
	help_options $cmds >"$T/help.opts"
	# shellcheck disable=SC2086
	man_options man/grayprobe.8 $cmds >"$T/man.opts"
	[ "$(wc -l <"$T/help.opts")" -ge 40 ] || fail "too few options read from --help: $(cat "$T/help.opts")"
	comm -23 "$T/help.opts" "$T/man.opts" >"$T/not-in-man"
	comm -13 "$T/help.opts" "$T/man.opts" >"$T/not-in-help"
	[ -s "$T/not-in-man" ] && fail "in --help, not in grayprobe(8): $(tr '\n' ';' <"$T/not-in-man")"
	[ -s "$T/not-in-help" ] && fail "in grayprobe(8), not in --help: $(tr '\n' ';' <"$T/not-in-help")"
	return 0
}

# The unit: systemd-analyze verify and security; then the agent runs as the
# unit would start it (its ExecStart, the unit's capability bounding set, a
# 64 KiB memlock limit where BPF memory is charged to the cgroup), traced:
# every syscall it makes is one SystemCallFilter allows, every socket family
# one RestrictAddressFamilies allows, no writable+executable memory, no
# write outside the unit's writable paths; SIGHUP (ExecReload) reloads.
# A sanitizer build is not what ships: its shadow memory breaks the memory
# figures and LeakSanitizer cannot run under strace's ptrace.
not_sanitized() {
	nm -D "$GP" 2>/dev/null | grep -q __asan_init && skip "$1 checks the shipped build, not $OUT's ASan build"
	return 0
}

t_systemd_unit() {
	not_sanitized "the unit's syscall and memory limits"
	command -v systemd-analyze >/dev/null || skip "systemd-analyze not installed (Debian systemd)"
	command -v strace >/dev/null || skip "strace not installed (Debian strace)"
	local r=$T/root u caps bset fam s bad= allowed exec args netadmin=1
	install_to "$r"
	u=$r/usr/local/lib/systemd/system/grayprobe.service
	mkdir -p "$T/verify"
	# verify wants ExecStart's binary and the man page it documents to exist.
	sed "s|^ExecStart=/usr/local/sbin/grayprobe|ExecStart=$r/usr/local/sbin/grayprobe|" "$u" >"$T/verify/grayprobe.service"
	MANPATH=$r/usr/local/share/man systemd-analyze verify "$T/verify/grayprobe.service" >"$T/verify.log" 2>&1 \
		|| fail "systemd-analyze verify: $(head -n 5 "$T/verify.log")"
	# 2.6: CAP_SYS_PTRACE and CAP_SYS_ADMIN (the TLS source) add 0.3 each to 2.0.
	systemd-analyze security --offline=true --threshold=26 "$T/verify/grayprobe.service" >"$T/security.log" 2>&1 \
		|| fail "systemd-analyze security: $(grep Overall "$T/security.log")"

	expect_eq "$(unit_value ProtectSystem "$u")" "strict " "ProtectSystem"
	expect_eq "$(unit_value Restart "$u")" "on-failure " "Restart"
	expect_eq "$(unit_value StateDirectory "$u")" "prometheus/node-exporter " "StateDirectory"
	exec=$(unit_value ExecStart "$u")
	grep -q -- "--textfile /var/lib/prometheus/node-exporter/grayprobe.prom " <<<"$exec" \
		|| fail "ExecStart's textfile is not in the StateDirectory: $exec"
	caps=$(unit_value CapabilityBoundingSet "$u")
	expect_eq "$caps" "CAP_BPF CAP_PERFMON CAP_NET_ADMIN CAP_SYS_PTRACE CAP_SYS_ADMIN " "CapabilityBoundingSet"
	bset=$(unit_bset "$u")

	ns_pair 84
	listen "$NSB" "$B4" 9000
	mkdir "$T/tf"
	# With the HTTP endpoint on, so its thread's syscalls and socket are checked too.
	s=gpv${BASHPID}b	# ns_pair's, named before $() forks
	exec=$(unit_exec "$u" "$r" "$T/tf" "-i $s --netns /run/netns/$NSB --interval 1 --tag-wait 0.5 --web.listen-address 127.0.0.1:9435")
	read -ra args <<<"$exec"
	local memlock=unlimited
	# BPF memory is charged to the memory cgroup from 5.11: the rlimit is moot.
	[ "$(printf '%s\n' 5.11 "$(uname -r | cut -d- -f1)" | sort -V | head -n 1)" = 5.11 ] && memlock=65536:65536
	ip netns exec "$NSB" strace -f -qq -o "$T/strace.out" -- prlimit --memlock="$memlock" -- \
		setpriv --bounding-set "$bset" --inh-caps=-all -- "${args[@]}" >/dev/null 2>"$T/agent.err" &
	local tracer=$! agent=
	PIDS+=($tracer)
	for _ in $(seq 100); do
		[ -s "$T/tf/grayprobe.prom" ] && break
		kill -0 "$tracer" 2>/dev/null || fail "agent under the unit's limits exited: $(tail -n 3 "$T/agent.err")"
		sleep 0.1
	done
	[ -s "$T/tf/grayprobe.prom" ] || fail "no textfile under the unit's limits: $(tail -n 3 "$T/agent.err")"
	agent=$(pgrep -P "$tracer" | head -n 1)
	[ "$(readlink "/proc/$agent/exe")" = "$r/usr/local/sbin/grayprobe" ] || fail "pid $agent is not the agent"
	# A fixed -i name with tcx: no CAP_NET_ADMIN after attach.
	hook_available tcx && netadmin=0
	expect_tls_kept "$agent" "$netadmin"
	expect_eq "$(connects "$NSA" "$B4" 9000 3)" "established=3 refused=0 timeout=0 unreachable=0 other=0" "connects"
	ip netns exec "$NSB" curl -fsS --max-time 5 http://127.0.0.1:9435/metrics 2>&1 | grep -q '^grayprobe_build_info' \
		|| fail "/metrics under the unit's limits: $(tail -n 3 "$T/agent.err")"
	kill -HUP "$agent"
	for _ in $(seq 50); do grep -q "SIGHUP: .* gray rules loaded" "$T/agent.err" && break; sleep 0.1; done
	grep -q "SIGHUP: .* gray rules loaded" "$T/agent.err" || fail "ExecReload (SIGHUP) did not reload: $(tail -n 2 "$T/agent.err")"
	sleep 1.5
	kill -TERM "$agent"
	wait "$tracer" || fail "agent exited $? on SIGTERM under the unit's limits: $(tail -n 3 "$T/agent.err")"
	expect_eq "$(awk -v k="$(tag_hist inbound none stable)" '$1 == k { print $2 }' "$T/tf/grayprobe.prom")" 3 \
		"inbound connections counted under the unit's limits"

	allowed=$(expand_syscall_filter $(unit_value SystemCallFilter "$u") | sort -u)
	for s in $(traced_syscalls "$T/strace.out" "$r/usr/local/sbin/grayprobe"); do
		grep -qx "$s" <<<"$allowed" || bad="$bad $s"
	done
	[ -n "$(traced_syscalls "$T/strace.out" "$r/usr/local/sbin/grayprobe")" ] || fail "no syscall traced"
	[ -z "$bad" ] || fail "syscalls SystemCallFilter would refuse:$bad"
	fam=$(unit_value RestrictAddressFamilies "$u")
	for s in $(grep -oE 'socket\(AF_[A-Z0-9]+' "$T/strace.out" | sort -u | cut -d'(' -f2); do
		grep -qw "$s" <<<"$fam" || fail "socket family $s not in RestrictAddressFamilies ($fam)"
	done
	grep -E '(mmap|mprotect|pkey_mprotect)\(.*PROT_WRITE\|PROT_EXEC|mprotect\(.*PROT_EXEC' "$T/strace.out" \
		| grep -v 'execve' | head -n 1 | grep -q . && fail "W+X memory: MemoryDenyWriteExecute would refuse it"
	# Writes only where ProtectSystem=strict leaves it write access. libbpf
	# creates a kprobe through tracefs where the kernel has no kprobe PMU;
	# the unit's read-only /sys refuses that, so kprobe must not be the hook
	# that was chosen.
	bad=$(grep -oE '(openat\(AT_FDCWD, "[^"]+", [^)]*O_(WRONLY|RDWR|CREAT)|rename\("[^"]+", "[^"]+")' "$T/strace.out" \
		| grep -oE '"[^"]+"' | tr -d '"' | grep -vE "^($T/tf/|/run/lock/|/dev/null$)" | sort -u)
	if grep -q '^/sys/kernel/\(debug/\)\?tracing/' <<<"$bad"; then
		grep -q 'connect_hook=kprobe' "$T/agent.err" && fail "kprobe attached through tracefs, which the unit's read-only /sys refuses"
		bad=$(grep -v '^/sys/kernel/\(debug/\)\?tracing/' <<<"$bad")
	fi
	[ -z "$bad" ] || fail "writes outside the unit's writable paths: $(tr '\n' ' ' <<<"$bad")"
}

# The unit's TLS source: under its bounding set, no_new_privs and a /proc
# mounted as ProtectProc= mounts it (checked first: another user's maps
# need CAP_SYS_PTRACE, and hidepid hides nothing from it), the agent attaches the host's libssl, keeps exactly what it says, and its
# rescan finds a process of nobody's started later in a mount namespace of
# its own, with its own copy of libssl over the host's path.
t_systemd_unit_tls() {
	local r=$T/root u hide lib bset exec args pid agent
	# The unit runs the shipped build; a sanitizer's would not be what ships.
	not_sanitized "the unit's TLS source"
	need openssl openssl
	lib=$(readlink -f "$(ldd "$(command -v openssl)" | awk '$1 ~ /^libssl\.so/ { print $3 }')")
	[ -f "$lib" ] || skip "openssl links no libssl.so here"
	hook_available uprobe || skip "no uprobes here (grayprobe check)"
	install_to "$r"
	u=$r/usr/local/lib/systemd/system/grayprobe.service
	hide=$(unit_value ProtectProc "$u")
	hide=${hide% }
	expect_eq "$hide" invisible "ProtectProc"
	expect_eq "$(unit_value NoNewPrivileges "$u")" "yes " "NoNewPrivileges"
	bset=$(unit_bset "$u")
	# ProtectProc: a procfs of the unit's own, mounted with hidepid=VALUE.
	local inproc=(unshare -m --propagation private sh -c 'mount -t proc -o hidepid="$0" proc /proc && exec "$@"' "$hide")
	mkdir -p "$T/tf" "$T/lib"
	cp "$lib" "$T/lib/"
	exec=$(unit_exec "$u" "$r" "$T/tf" "-i none --interval 1")
	read -ra args <<<"$exec"
	"${inproc[@]}" setpriv --bounding-set "$bset" --inh-caps=-all --no-new-privs -- "${args[@]}" \
		>/dev/null 2>"$T/agent.err" &
	agent=$!
	PIDS+=($agent)
	for _ in $(seq 100); do [ -s "$T/tf/grayprobe.prom" ] && break; sleep 0.1; done
	[ -s "$T/tf/grayprobe.prom" ] || fail "no textfile under the unit's limits: $(tail -n 3 "$T/agent.err")"
	[ "$(readlink "/proc/$agent/exe")" = "$r/usr/local/sbin/grayprobe" ] || fail "pid $agent is not the agent"
	grep -q "tls: attached OpenSSL uprobes to $lib\$" "$T/agent.err" \
		|| fail "the host's libssl not attached: $(grep tls: "$T/agent.err" | head -n 3)"
	expect_tls_kept "$agent" 0
	# nobody's process, its libssl a copy bind-mounted over the host's path.
	unshare -m --propagation private sh -c 'mount --bind "$0" "$1" && shift && exec "$@"' "$T/lib/$(basename "$lib")" "$lib" \
		setpriv --reuid=nobody --regid=nogroup --clear-groups env LD_PRELOAD="$lib" sleep 60 &
	pid=$!
	PIDS+=($pid)
	for _ in $(seq 50); do grep -qF "$lib" "/proc/$pid/maps" 2>/dev/null && break; sleep 0.1; done
	grep -qF "$lib" "/proc/$pid/maps" || fail "nobody's process does not map libssl"
	# Without CAP_SYS_PTRACE its maps are refused, even to root; hidepid
	# hides it from a gid other than 0 (gid= of the mount, 0 by default),
	# unless that process has CAP_SYS_PTRACE.
	"${inproc[@]}" setpriv --bounding-set -all --inh-caps=-all -- head -c 1 "/proc/$pid/maps" >/dev/null 2>&1 \
		&& fail "nobody's maps readable by a root without CAP_SYS_PTRACE"
	"${inproc[@]}" setpriv --bounding-set -all --inh-caps=-all --regid=1 --clear-groups -- test -e "/proc/$pid" \
		&& fail "hidepid=$hide shows nobody's process to gid 1 without capabilities"
	"${inproc[@]}" setpriv --bounding-set -all,+sys_ptrace --inh-caps=-all --regid=1 --clear-groups -- \
		head -c 1 "/proc/$pid/maps" >/dev/null || fail "hidepid=$hide hides nobody's maps from CAP_SYS_PTRACE"
	for _ in $(seq 50); do grep -qF "uprobes to /proc/$pid/root$lib (pid $pid)" "$T/agent.err" && break; sleep 0.1; done
	grep -qF "tls: attached OpenSSL uprobes to /proc/$pid/root$lib (pid $pid)" "$T/agent.err" \
		|| fail "the rescan did not find nobody's copy: $(grep tls: "$T/agent.err" | tail -n 3)"
	grep -q "warning: tls" "$T/agent.err" && fail "TLS warnings: $(grep 'warning: tls' "$T/agent.err")"
	kill -TERM "$agent"
	wait "$agent" || fail "agent exited $? on SIGTERM: $(tail -n 3 "$T/agent.err")"
}

# The rules: promtool's checker, promtool's unit tests, and the unit tests
# have teeth (a rule with a wrong threshold fails them).
t_prometheus_rules() {
	command -v promtool >/dev/null || skip "promtool not installed (Debian prometheus)"
	promtool check rules "$RULES_YML" >"$T/check.log" 2>&1 || fail "promtool check rules: $(tail -n 5 "$T/check.log")"
	promtool test rules deploy/prometheus/grayprobe.rules.test.yml >"$T/test.log" 2>&1 \
		|| fail "promtool test rules: $(head -n 12 "$T/test.log")"
	mkdir "$T/mut"
	cp deploy/prometheus/grayprobe.rules.test.yml "$T/mut/"
	sed 's/p99_ratio_to_stable_5m > 1.2/p99_ratio_to_stable_5m > 100/' "$RULES_YML" >"$T/mut/grayprobe.rules.yml"
	cmp -s "$RULES_YML" "$T/mut/grayprobe.rules.yml" && fail "mutation did not apply"
	promtool test rules "$T/mut/grayprobe.rules.test.yml" >/dev/null 2>&1 \
		&& fail "the rules tests pass with the latency alert's threshold at 100"
	sed 's/{result!="established"}/{result!~"established|abandoned"}/' "$RULES_YML" >"$T/mut/grayprobe.rules.yml"
	cmp -s "$RULES_YML" "$T/mut/grayprobe.rules.yml" && fail "abandoned mutation did not apply"
	promtool test rules "$T/mut/grayprobe.rules.test.yml" >/dev/null 2>&1 \
		&& fail "the rules tests pass with abandoned attempts left out of the failures"
	# Requests: each mutation of an error set or a threshold fails the tests.
	rules_mutant 's/code=~"5xx|reset|none"/code=~"5xx|none"/' "resets left out of the request errors"
	rules_mutant 's/status!="OK"/status="UNAVAILABLE"/' "only UNAVAILABLE as a gRPC error"
	rules_mutant 's/p99_ratio_to_stable_5m > 1.08/p99_ratio_to_stable_5m > 100/' "request p99 alerts at 100 times"
	rules_mutant 's/ratio_minus_stable_5m < -0.02/ratio_minus_stable_5m < -0.5/' "success alerts at -50 points"
	rules_mutant 's/requests:rate5m >= 0.1/requests:rate5m >= 0/' "no traffic floor on success alerts"
	rules_mutant 's/gray!~"stable|unknown"/gray!="stable"/' "unknown grays compared with stable"
	return 0
}

# rules_mutant SED WHAT: the rules with SED applied must fail their tests.
rules_mutant() {
	sed "$1" "$RULES_YML" >"$T/mut/grayprobe.rules.yml"
	cmp -s "$RULES_YML" "$T/mut/grayprobe.rules.yml" && fail "mutation '$1' did not apply"
	promtool test rules "$T/mut/grayprobe.rules.test.yml" >/dev/null 2>&1 \
		&& fail "the rules tests pass with $2"
	return 0
}

# Every dashboard query, its variables filled in as Grafana would, is valid
# PromQL (promtool checks them as recording rules).
t_dashboard_promql() {
	need_py
	command -v promtool >/dev/null || skip "promtool not installed (Debian prometheus)"
	dashboard_exprs | "$PY" -c 'import sys, yaml
subs = {"$__rate_interval": "1m", "$__interval": "1m", "$instance": ".*", "$direction": ".*",
        "$alpn": ".*", "$gray": ".*"}
rules = []
for i, e in enumerate(l.strip() for l in sys.stdin):
    if not e or e.startswith("label_values("): continue
    for k, v in subs.items(): e = e.replace(k, v)
    if "$" in e: sys.exit("unfilled variable in " + e)
    rules.append({"record": "grayprobe_dashboard_%d:query:check" % i, "expr": e})
if len(rules) < 20: sys.exit("only %d dashboard queries" % len(rules))
yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, sys.stdout)' \
		>"$T/dash.rules.yml" 2>"$T/dash.err" || fail "dashboard queries: $(cat "$T/dash.err")"
	promtool check rules "$T/dash.rules.yml" >"$T/dcheck.log" 2>&1 \
		|| fail "dashboard queries are not valid PromQL: $(tail -n 5 "$T/dcheck.log")"
}

# The Flagger MetricTemplates and Argo Rollouts AnalysisTemplates: well-formed
# YAML of their kinds, every query (placeholders filled in) an optional unit
# factor times one series the rules record, selected by direction and gray;
# valid PromQL (promtool checks them as rules); evaluated by promtool on the
# rules tests' input series, each equals the factor times the value the rules
# tests expect, and every Argo successCondition fails the canary worse than
# stable and passes the one like stable.
FLAGGER=$PWD/deploy/flagger/metric-template.yaml
ARGO=$PWD/deploy/argo/analysis-template.yaml
t_canary_templates() {
	need_py
	command -v promtool >/dev/null || skip "promtool not installed (Debian prometheus)"
	rules_records >"$T/records"
	"$PY" - "$FLAGGER" "$ARGO" "$T/records" "$PWD/deploy/prometheus/grayprobe.rules.test.yml" \
		"$T" 2>"$T/tpl.err" <<-'PY' || fail "templates: $(tail -n 5 "$T/tpl.err")"
		import re, sys, yaml
		flagger, argo, records, rules_test, out = sys.argv[1:]
		recorded = set(open(records).read().split())
		errs, queries = [], []   # queries: (where, proto, query with placeholders filled)
		def fill(q, pat, vals, where):
		    def sub(m):
		        if m.group(1) not in vals: errs.append("%s: unknown placeholder %s" % (where, m.group(0)))
		        return vals.get(m.group(1), "")
		    q = re.sub(pat, sub, q).strip()
		    if "{{" in q: errs.append("%s: placeholder left: %s" % (where, q))
		    return q
		def proto_of(name): return "grpc" if "grpc" in name else "http"
		def dir_of(proto): return "inbound" if proto == "grpc" else "outbound"  # the rules tests' canaries
		docs = [d for d in yaml.safe_load_all(open(flagger)) if d]
		if len(docs) < 4: errs.append("flagger: %d templates" % len(docs))
		for d in docs:
		    n = d["metadata"]["name"]
		    if d.get("apiVersion") != "flagger.app/v1beta1" or d.get("kind") != "MetricTemplate":
		        errs.append("flagger %s: not a flagger.app/v1beta1 MetricTemplate" % n)
		    if d["spec"]["provider"]["type"] != "prometheus" or not d["spec"]["provider"].get("address"):
		        errs.append("flagger %s: provider" % n)
		    p = proto_of(n)
		    queries.append(("flagger " + n, p, fill(d["spec"]["query"], r"\{\{\s*variables\.([\w-]+)\s*\}\}",
		                                         {"gray": "canary", "direction": dir_of(p)}, n)))
		docs = [d for d in yaml.safe_load_all(open(argo)) if d]
		if len(docs) < 2: errs.append("argo: %d templates" % len(docs))
		conds = {}
		for d in docs:
		    n = d["metadata"]["name"]
		    if d.get("apiVersion") != "argoproj.io/v1alpha1" or d.get("kind") != "AnalysisTemplate":
		        errs.append("argo %s: not an argoproj.io/v1alpha1 AnalysisTemplate" % n)
		    args = {a["name"]: a.get("value") for a in d["spec"]["args"]}
		    p = proto_of(n)
		    vals = dict(args, gray="canary", direction=dir_of(p))
		    for m in d["spec"]["metrics"]:
		        where = "argo %s/%s" % (n, m["name"])
		        prom = m["provider"]["prometheus"]
		        fill(prom["address"], r"\{\{\s*args\.([\w-]+)\s*\}\}", vals, where)
		        queries.append((where, p, fill(prom["query"], r"\{\{\s*args\.([\w-]+)\s*\}\}", vals, where)))
		        conds[where] = m["successCondition"]
		# Each query: [FACTOR *] RECORDED{direction="...", gray="canary"}.
		shape = re.compile(r'^(?:(\d+) \* )?([a-z_]+:[a-z0-9_]+:[a-z0-9_]+)\{direction="(\w+)", gray="canary"\}$')
		parsed = []
		for where, p, q in queries:
		    m = shape.match(q)
		    if not m:
		        errs.append("%s: not a recorded series times a unit: %s" % (where, q)); continue
		    if m.group(2) not in recorded: errs.append("%s: %s is not recorded by the rules" % (where, m.group(2)))
		    if "_%s_" % p not in m.group(2): errs.append("%s: %s is not a %s series" % (where, m.group(2), p))
		    # Flagger's units as its builtin checks have them: percent, milliseconds; Argo's raw.
		    unit = 1 if where.startswith("argo") or m.group(2).endswith("p99_ratio_to_stable_5m") else \
		        1000 if m.group(2).endswith(":p99_5m") else 100
		    if float(m.group(1) or 1) != unit: errs.append("%s: unit %s, not %s" % (where, m.group(1) or 1, unit))
		    parsed.append((where, q, float(m.group(1) or 1), m.group(2), m.group(3)))
		# The rules tests' expected values of those series, per group.
		groups = {g["name"]: g for g in yaml.safe_load(open(rules_test))["tests"]}
		bad, good = "requests of a canary worse than stable", "requests of a canary like stable, and a failing gray below the traffic floor"
		def expected(group, rec, direction):
		    for t in groups[group].get("promql_expr_test", []):
		        for s in t.get("exp_samples", []):
		            if s["labels"].startswith(rec + "{") and 'gray="canary"' in s["labels"] and 'direction="%s"' % direction in s["labels"]:
		                return float(s["value"])
		    return None
		rules, tests = [], []
		for i, (where, q, k, rec, direction) in enumerate(parsed):
		    name = "grayprobe_template_%d:query:check" % i
		    rules.append({"record": name, "expr": q})
		    for g in (bad, good):
		        v = expected(g, rec, direction)
		        if v is None: continue
		        tests.append((g, {"expr": name, "eval_time": "15m", "exp_samples": [{"labels": "%s{direction=\"%s\",gray=\"canary\"}" % (name, direction), "value": k * v}]}))
		        if where in conds:
		            ok = eval(conds[where], {"__builtins__": {}}, {"result": [v]})
		            if ok != (g == good):
		                errs.append("%s: successCondition %s is %s on %s (result %s)" % (where, conds[where], ok, g, v))
		    if expected(bad, rec, direction) is None: errs.append("%s: the rules tests do not check %s" % (where, rec))
		yaml.safe_dump({"groups": [{"name": "templates", "rules": rules}]}, open(out + "/templates.rules.yml", "w"))
		suite = {"rule_files": [out + "/grayprobe.rules.yml", out + "/templates.rules.yml"], "evaluation_interval": "1m", "tests": []}
		for g in (bad, good):
		    suite["tests"].append({"name": g, "interval": "1m", "input_series": groups[g]["input_series"],
		                           "promql_expr_test": [t for gg, t in tests if gg == g]})
		yaml.safe_dump(suite, open(out + "/templates.test.yml", "w"))
		print(len(parsed), len(tests), file=open(out + "/counts", "w"))
		if errs:
		    print("; ".join(errs), file=sys.stderr)
		    sys.exit(1)
	PY
	read -r nq nt <"$T/counts"
	[ "$nq" -ge 12 ] && [ "$nt" -ge 16 ] || fail "only $nq queries, $nt evaluations: extraction broken?"
	cp "$RULES_YML" "$T/grayprobe.rules.yml"
	promtool check rules "$T/templates.rules.yml" >"$T/tcheck.log" 2>&1 \
		|| fail "template queries are not valid PromQL: $(tail -n 5 "$T/tcheck.log")"
	promtool test rules "$T/templates.test.yml" >"$T/ttest.log" 2>&1 \
		|| fail "template queries evaluate wrong: $(head -n 20 "$T/ttest.log")"
}

# Metric names referenced by PromQL (rules' expr, dashboard targets and
# variables), one a line: grayprobe_*, node_*, and recorded names (a:b:c).
promql_names() {	# reads expressions on stdin
	sed -E 's/"([^"\\]|\\.)*"//g' | grep -oE '[a-zA-Z_:][a-zA-Z0-9_:]*' \
		| grep -E '^(grayprobe_|node_)|:' | sort -u
}
rules_exprs() { "$PY" -c 'import sys, yaml
for g in yaml.safe_load(open(sys.argv[1]))["groups"]:
    for r in g["rules"]:
        print(r["expr"].replace("\n", " "))' "$RULES_YML"; }
rules_records() { "$PY" -c 'import sys, yaml
for g in yaml.safe_load(open(sys.argv[1]))["groups"]:
    for r in g["rules"]:
        if "record" in r: print(r["record"])' "$RULES_YML" | sort -u; }
dashboard_exprs() { "$PY" -c 'import sys, json
d = json.load(open(sys.argv[1]))
def walk(ps):
    for p in ps:
        yield p
        yield from walk(p.get("panels", []))
for p in walk(d["panels"]):
    for t in p.get("targets", []):
        print(t["expr"].replace("\n", " "))
for v in d["templating"]["list"]:
    if v["type"] == "query":
        q = v["query"]
        print(q["query"] if isinstance(q, dict) else q)' "$DASHBOARD"; }

# Traffic both ways between two namespaces, the agent in B: every metric
# grayprobe exports is in the textfile, node_exporter serves it (T_SCRAPE).
textfile_with_traffic() {
	ns_pair "$1"
	listen "$NSB" "$B4" 9000
	listen "$NSA" "$A4" 9000
	mkdir -p "$T/tf"
	local ifb=gpv${BASHPID}b	# not inside the background job: its own BASHPID
	ip netns exec "$NSB" "$GP" run -i "$ifb" --netns "/run/netns/$NSB" --interval 1 --tag-wait 0.5 \
		--rule 'dport 9001 = canary' --textfile "$T/tf/grayprobe.prom" >/dev/null 2>"$T/agent.err" &
	AGENT=$!
	PIDS+=($AGENT)
	for _ in $(seq 100); do [ -s "$T/tf/grayprobe.prom" ] && break; sleep 0.1; done
	[ -s "$T/tf/grayprobe.prom" ] || fail "agent wrote no textfile: $(tail -n 3 "$T/agent.err")"
	connects "$NSA" "$B4" 9000 2 >/dev/null
	connects "$NSA" "$B4" 9001 1 >/dev/null
	connects "$NSB" "$A4" 9000 2 >/dev/null
	connects "$NSB" "$A4" 9002 1 >/dev/null
	# Requests (gRPC calls are HTTP/2 requests too), stable and canary.
	grpc_peer_start "$NSB" "$B4" 50051
	grpc_peer_calls "$NSA" "$B4" 50051 Ok Unavailable Ok,x-gray=canary Deadline,x-gray=canary >/dev/null
	wait_textfile_has "$T/tf/grayprobe.prom" 'grayprobe_grpc_requests_total{direction="inbound",gray="canary",status="DEADLINE_EXCEEDED"} 1'
	agent_stop
	local port; port=$(free_port)
	node_exporter_start "$port" "$T/tf"
	T_SCRAPE=$(curl -fsS --max-time 5 "http://127.0.0.1:$port/metrics") || fail "cannot scrape node_exporter"
	grep -qx 'node_textfile_scrape_error 0' <<<"$T_SCRAPE" || fail "node_exporter: textfile scrape error"
}

# Every metric the rules and the dashboard name is one grayprobe exports (as
# node_exporter serves a real textfile), or one the rules record; the
# dashboard is well-formed for Grafana.
t_names_in_rules_and_dashboard_exist() {
	need_py
	need_grpc
	command -v prometheus-node-exporter >/dev/null || skip "prometheus-node-exporter not installed"
	textfile_with_traffic 85
	local have n bad= recorded
	have=$(scrape_names <<<"$T_SCRAPE")
	# The textfile itself: what grayprobe exports (the README's list).
	for n in grayprobe_connect_duration_seconds_bucket grayprobe_connect_duration_seconds_sum \
		grayprobe_connect_duration_seconds_count grayprobe_connections_total grayprobe_flow_bytes_total \
		grayprobe_events_total grayprobe_events_lost_total grayprobe_payload_records_lost_total \
		grayprobe_packets_malformed_total grayprobe_tags_overflow_total grayprobe_tags_retired_total \
		grayprobe_gray_values_rejected_total \
		grayprobe_textfile_write_errors_total grayprobe_build_info node_textfile_mtime_seconds; do
		grep -qx "$n" <<<"$have" || fail "node_exporter does not serve $n"
	done
	recorded=$(rules_records)
	for n in $( (rules_exprs; dashboard_exprs) | promql_names); do
		case $n in
		*:*) grep -qxF "$n" <<<"$recorded" || bad="$bad $n(not recorded)" ;;
		*) grep -qxF "$n" <<<"$have" || bad="$bad $n" ;;
		esac
	done
	[ -z "$bad" ] || fail "names in the rules or dashboard that no textfile has:$bad"
	[ "$( (rules_exprs; dashboard_exprs) | promql_names | grep -c '^grayprobe_')" -ge 8 ] \
		|| fail "too few grayprobe metrics found in the rules and dashboard: extraction broken?"

	"$PY" - "$DASHBOARD" "$T_SCRAPE" 2>"$T/dash.err" <<-'PY' || fail "dashboard: $(tail -n 3 "$T/dash.err")"
		import json, re, sys
		d = json.load(open(sys.argv[1]))
		labels = set(re.findall(r'([a-z_]+)="', sys.argv[2])) | {"instance", "job"}
		errs = []
		def walk(ps):
		    for p in ps:
		        yield p
		        yield from walk(p.get("panels", []))
		panels = list(walk(d["panels"]))
		ids = [p["id"] for p in panels]
		if len(ids) != len(set(ids)): errs.append("duplicate panel ids")
		for k in ("title", "uid", "schemaVersion", "templating", "panels"):
		    if k not in d: errs.append("no " + k)
		types = {p["type"] for p in panels}
		for t in ("timeseries", "heatmap", "row"):
		    if t not in types: errs.append("no %s panel" % t)
		names = {v["name"] for v in d["templating"]["list"]}
		for p in panels:
		    g = p.get("gridPos", {})
		    if not all(k in g for k in ("x", "y", "w", "h")) or g["x"] + g["w"] > 24:
		        errs.append("panel %s: bad gridPos" % p["id"])
		    if p["type"] == "row": continue
		    if p.get("datasource", {}).get("uid") != "${datasource}":
		        errs.append("panel %s: datasource is not the ${datasource} variable" % p["id"])
		    refs = [t["refId"] for t in p["targets"]]
		    if len(refs) != len(set(refs)) or not refs: errs.append("panel %s: refIds" % p["id"])
		    for t in p["targets"]:
		        for v in re.findall(r"\$(\w+)", t["expr"]):
		            if v not in names and not v.startswith("__"): errs.append("panel %s: unknown variable $%s" % (p["id"], v))
		        for l in re.findall(r"\{\{\s*(\w+)\s*\}\}", t.get("legendFormat", "")):
		            if l not in labels: errs.append("panel %s: legend label %s not exported" % (p["id"], l))
		    if p["type"] == "heatmap" and not all(t.get("format") == "heatmap" and "_bucket" in t["expr"] for t in p["targets"]):
		        errs.append("heatmap not fed from the buckets")
		titles = " ".join(p.get("title", "") for p in panels).lower()
		for w in ("p99", "p50", "heatmap", "connection", "fail", "lost"):
		    if w not in titles: errs.append("no panel about " + w)
		if errs:
		    print("; ".join(errs), file=sys.stderr)
		    sys.exit(1)
	PY
}

# The DaemonSet: well-formed, host network and pids, only BPF, PERFMON,
# NET_ADMIN and the TLS source's SYS_PTRACE and SYS_ADMIN, its mounts, its
# resources; then its container args run for real under those
# capabilities (no_new_privs, the mounts mapped to directories here), on a
# namespace with a veth the pattern matches; its measured memory fits the
# request, and its liveness probe passes on a fresh textfile and fails on
# a stale one.
t_kubernetes_daemonset() {
	not_sanitized "the DaemonSet's memory request"
	need_py
	"$PY" - "$DAEMONSET" "$T/k8s" >"$T/k8s.out" 2>&1 <<-'PY' || fail "daemonset.yaml: $(tail -n 5 "$T/k8s.out")"
		import os, re, sys, yaml
		docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
		out = sys.argv[2]
		kinds = {d["kind"]: d for d in docs}
		for d in docs:
		    assert d.get("apiVersion") and d.get("metadata", {}).get("name"), "object without apiVersion/name"
		ds = kinds["DaemonSet"]
		assert ds["apiVersion"] == "apps/v1"
		ns = ds["metadata"]["namespace"]
		assert all(d["metadata"].get("namespace", ns) == ns for d in docs if d["kind"] != "Namespace")
		spec, pod = ds["spec"], ds["spec"]["template"]["spec"]
		sel = spec["selector"]["matchLabels"]
		tl = ds["spec"]["template"]["metadata"]["labels"]
		assert all(tl.get(k) == v for k, v in sel.items()), "selector does not match the template's labels"
		assert pod.get("hostNetwork") is True, "hostNetwork must be true"
		assert pod.get("hostPID") is True, "hostPID: the TLS source rescans other pods' /proc/PID"
		assert not pod.get("hostIPC"), "hostIPC is not needed"
		[c] = pod["containers"]
		sc = c["securityContext"]
		assert not sc.get("privileged"), "must not be privileged"
		assert sc.get("allowPrivilegeEscalation") is False
		assert sc.get("readOnlyRootFilesystem") is True
		assert sc["capabilities"]["drop"] == ["ALL"], "drop ALL first"
		caps = sc["capabilities"]["add"]
		assert sorted(caps) == ["BPF", "NET_ADMIN", "PERFMON", "SYS_ADMIN", "SYS_PTRACE"], caps
		assert sc.get("appArmorProfile", {}).get("type") == "Unconfined", "the default profile refuses ptrace read of host processes"
		res = c["resources"]
		assert res["requests"]["cpu"] and res["requests"]["memory"] and res["limits"]["memory"]
		def mib(q):
		    m = re.fullmatch(r"(\d+)(Mi|Gi)", q); assert m, q
		    return int(m.group(1)) * (1024 if m.group(2) == "Gi" else 1)
		assert mib(res["requests"]["memory"]) <= mib(res["limits"]["memory"])
		vols = {v["name"]: v for v in pod["volumes"]}
		mounts = {m["name"]: m for m in c["volumeMounts"]}
		assert set(mounts) <= set(vols), "a volumeMount without its volume"
		hp = {v["hostPath"]["path"]: n for n, v in vols.items() if "hostPath" in v}
		assert "/sys/kernel/btf" in hp and mounts[hp["/sys/kernel/btf"]].get("readOnly"), "btf mount"
		tf = mounts[hp["/var/lib/prometheus/node-exporter"]]["mountPath"]
		args = c["args"]
		assert args[0] == "run"
		# The declared metrics port is the one the commented --web.listen-address uses.
		[port] = [p for p in c.get("ports", []) if p.get("name") == "metrics"]
		commented = re.findall(r"#\s*- --web\.listen-address\s*\n\s*#\s*- \S*:(\d+)", open(sys.argv[1]).read())
		assert commented == [str(port["containerPort"])], (commented, port)
		assert "--web.listen-address" not in args, "the HTTP endpoint is off by default"
		assert "--no-tls" not in args, "the TLS source is on by default"
		textfile = args[args.index("--textfile") + 1]
		assert os.path.dirname(textfile) == tf, "textfile %s not in the shared hostPath mount %s" % (textfile, tf)
		# Map each mount to a directory of the test; configMaps become files.
		cms = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
		maps = []
		for n, m in mounts.items():
		    v = vols[n]
		    if "hostPath" in v and v["hostPath"]["path"] in ("/sys/kernel/btf", "/run/lock"):
		        continue	# the host's own, as in the pod
		    d = os.path.join(out, n)
		    os.makedirs(d, exist_ok=True)
		    if "configMap" in v:
		        for k, text in cms[v["configMap"]["name"]]["data"].items():
		            open(os.path.join(d, k), "w").write(text)
		    maps.append((m["mountPath"], d))
		def mapped(s):
		    for mp, d in maps:
		        s = s.replace(mp, d)
		    return s
		with open(os.path.join(out, "_args"), "w") as f:
		    f.write("\0".join(mapped(a) for a in args))
		probe = c["livenessProbe"]["exec"]["command"]
		with open(os.path.join(out, "_probe"), "w") as f:
		    f.write("\0".join(mapped(a) for a in probe))
		with open(os.path.join(out, "_textfile"), "w") as f:
		    f.write(mapped(textfile))
		with open(os.path.join(out, "_bset"), "w") as f:
		    f.write(",".join(["-all"] + ["+" + c.lower() for c in caps]))
		with open(os.path.join(out, "_request_mib"), "w") as f:
		    f.write(str(mib(res["requests"]["memory"])))
		print("ok")
	PY
	local args=() probe=() tfile req bset v=veth${BASHPID} ns=gp${BASHPID}k rss maps=0 id m
	mapfile -d '' args <"$T/k8s/_args"
	mapfile -d '' probe <"$T/k8s/_probe"
	tfile=$(cat "$T/k8s/_textfile")
	req=$(cat "$T/k8s/_request_mib")
	bset=$(cat "$T/k8s/_bset")
	ip netns add "$ns" && NETNS+=("$ns") || fail "ip netns add $ns"
	ip -n "$ns" link add "$v" type veth peer name "gpk${BASHPID}" || fail "veth $v"
	ip -n "$ns" link set lo up
	ip -n "$ns" link set "$v" up
	ip -n "$ns" link set "gpk${BASHPID}" up
	ip netns exec "$ns" setpriv --bounding-set "$bset" --inh-caps=-all --no-new-privs \
		-- "$GP" "${args[@]}" >/dev/null 2>"$T/agent.err" &
	AGENT=$!
	PIDS+=($AGENT)
	for _ in $(seq 100); do [ -s "$tfile" ] && break; sleep 0.1; done
	[ -s "$tfile" ] || fail "the DaemonSet's args wrote no textfile: $(tail -n 3 "$T/agent.err")"
	grep -q "classifier=.*$v/ingress" "$T/agent.err" && grep -q "classifier=.*$v/egress" "$T/agent.err" \
		|| fail "veth $v not hooked both ways by the DaemonSet's -i patterns: $(grep attached "$T/agent.err")"
	# Patterns: CAP_NET_ADMIN stays to hook new veths.
	expect_tls_kept "$AGENT" 1
	# Memory the pod's cgroup is charged: RSS plus the agent's BPF maps.
	rss=$(awk '$1 == "VmRSS:" { print int($2 / 1024) }' "/proc/$AGENT/status")
	for id in $(awk '$1 == "map_id:" { print $2 }' /proc/"$AGENT"/fdinfo/* 2>/dev/null | sort -u); do
		m=$(bpftool map show id "$id" 2>/dev/null | grep -oE 'memlock [0-9]+B' | grep -oE '[0-9]+')
		maps=$((maps + ${m:-0}))
	done
	maps=$((maps / 1048576))
	echo "agent RSS ${rss} MiB + BPF maps ${maps} MiB; request ${req} MiB"
	[ $((rss + maps)) -le "$req" ] || fail "RSS ${rss} MiB + BPF maps ${maps} MiB exceed the memory request ${req} MiB"
	"${probe[@]}" || fail "liveness probe fails on a fresh textfile: ${probe[*]}"
	agent_stop
	touch -d '-10 min' "$tfile"
	"${probe[@]}" && fail "liveness probe passes on a 10 minutes old textfile"
	return 0
}

# The Containerfile: Debian bookworm stages; its build stage re-played on
# exactly the files it COPYs (same make commands); what the final stage
# copies exists; the final stage installs a package for every library the
# binary links.
t_container_build() {
	need_py
	"$PY" - "$CONTAINERFILE" "$T/ctx" >"$T/cf.out" 2>&1 <<-'PY' || fail "Containerfile: $(tail -n 5 "$T/cf.out")"
		import os, re, shlex, sys
		lines, cur = [], ""
		for l in open(sys.argv[1]):
		    l = l.rstrip("\n")
		    if not cur and (not l.strip() or l.lstrip().startswith("#")): continue
		    cur += l.rstrip("\\").strip() + " "
		    if not l.endswith("\\"): lines.append(cur.strip()); cur = ""
		stages, st = [], None
		for l in lines:
		    ins, _, rest = l.partition(" ")
		    ins = ins.upper()
		    if ins == "FROM":
		        st = {"from": rest.split()[0], "as": rest.split()[2] if " AS " in rest.upper() else None, "ins": []}
		        stages.append(st)
		    else:
		        st["ins"].append((ins, rest))
		assert len(stages) == 2, "two stages: build and run"
		for s in stages:
		    assert s["from"].startswith("debian:bookworm"), s["from"]
		build, final = stages
		out = sys.argv[2]
		os.makedirs(out, exist_ok=True)
		copies, runs = [], []
		for ins, rest in build["ins"]:
		    if ins == "COPY":
		        a = shlex.split(rest); copies.append((a[:-1], a[-1]))
		    if ins == "RUN": runs.append(rest)
		    if ins == "WORKDIR": workdir = rest
		def apt(runs):
		    for r in runs:
		        m = re.search(r"apt-get install ([^&]*)", r)
		        if m: return [w for w in m.group(1).split() if not w.startswith("-")]
		    return []
		with open(os.path.join(out, "copies"), "w") as f:
		    for srcs, dst in copies:
		        for s in srcs: f.write("%s\t%s\n" % (s, dst))
		make = [r for r in runs if r.startswith("make")]
		assert len(make) == 1, "one RUN with make"
		with open(os.path.join(out, "make"), "w") as f: f.write(make[0])
		with open(os.path.join(out, "workdir"), "w") as f: f.write(workdir)
		with open(os.path.join(out, "build_pkgs"), "w") as f: f.write("\n".join(apt(runs)))
		fruns = [r for i, r in final["ins"] if i == "RUN"]
		with open(os.path.join(out, "run_pkgs"), "w") as f: f.write("\n".join(apt(fruns)))
		with open(os.path.join(out, "from_build"), "w") as f:
		    for i, rest in final["ins"]:
		        if i == "COPY" and rest.startswith("--from=" + (build["as"] or "0")):
		            f.write(shlex.split(rest)[1] + "\n")
		ep = [r for i, r in final["ins"] if i == "ENTRYPOINT"]
		assert ep, "no ENTRYPOINT"
		print("ok")
	PY
	local src=$T/ctx/src wd dst s d makecmd p lib missing=
	wd=$(cat "$T/ctx/workdir")
	mkdir -p "$src"
	while IFS=$'\t' read -r s d; do
		d=${d#"$wd"}; d=${d#/}; d=${d#./}
		if [ -d "$s" ]; then mkdir -p "$src/$d" && cp -a "$s/." "$src/$d/"
		else cp -a "$s" "$src/$d"; fi || fail "COPY $s: missing in the repository"
	done <"$T/ctx/copies"
	# The build stage's packages are Makefile build dependencies, installed here.
	local deb_build
	deb_build=$(sed -n '/^DEB_BUILD *:=/,/[^\\]$/p' Makefile | sed 's/^DEB_BUILD *:=//' | tr -d '\\' | tr -s ' \t' '\n')
	for p in $(cat "$T/ctx/build_pkgs"); do
		grep -qxF "$p" <<<"$deb_build" || fail "build stage installs $p, not in the Makefile's DEB_BUILD"
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' \
			|| skip "build dependency $p not installed here (make deps)"
	done
	# RUN make ... with /out as the test's directory; a clean tree, no ccache.
	makecmd=$(sed "s|/out|$T/ctx/out|g" "$T/ctx/make")
	(cd "$src" && env -i PATH="$PATH" HOME="$HOME" bash -c "$makecmd") >"$T/ctx/build.log" 2>&1 \
		|| fail "the build stage's make fails on what it copies: $(tail -n 5 "$T/ctx/build.log")"
	# The build stage's /out is $T/ctx/out here.
	while read -r p; do
		[ -e "$T/ctx/out${p#/out}" ] || fail "final stage copies $p, which the build stage did not make"
	done <"$T/ctx/from_build"
	p=$(grep -m1 'sbin/grayprobe' "$T/ctx/from_build")
	p=/${p#/out/}
	[ -x "$T/ctx/out$p" ] || fail "the final stage copies no grayprobe binary"
	expect_eq "$("$T/ctx/out$p" --version)" "grayprobe $VERSION" "built binary's --version"
	grep -q "LINK.*grayprobe\|-o build/grayprobe" "$T/ctx/build.log" || fail "the build stage did not link grayprobe: $(tail -n 3 "$T/ctx/build.log")"
	# Each library the binary needs (NEEDED) comes from a package the final
	# stage installs, or from libc6 (in the base image).
	for lib in $(readelf -d "$T/ctx/out$p" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
		s=$(ldd "$T/ctx/out$p" | awk -v l="$lib" '$1 == l { print $3 }')
		[ -n "$s" ] || fail "ldd does not resolve $lib"
		d=$(dpkg -S "$(readlink -f "$s")" 2>/dev/null || dpkg -S "$s" 2>/dev/null)
		d=${d%%:*}
		[ "$d" = libc6 ] || grep -qx "$d" "$T/ctx/run_pkgs" || missing="$missing $d($lib)"
	done
	[ -z "$missing" ] || fail "the final stage lacks packages for:$missing"
}

# web_agent_start PORT ARGS...: grayprobe run with --web.listen-address
# 127.0.0.1:PORT, outcomes of $NSA only, returned after its first write.
web_agent_start() {
	local port=$1
	shift
	"$GP" run -i none --netns "/run/netns/$NSA" --textfile "$T/gp.prom" \
		--web.listen-address "127.0.0.1:$port" "$@" >/dev/null 2>"$T/agent.err" &
	AGENT=$!
	PIDS+=($AGENT)
	for _ in $(seq 100); do
		grep -q "^grayprobe: wrote $T/gp.prom " "$T/agent.err" && return 0
		kill -0 "$AGENT" 2>/dev/null || fail "agent exited: $(tail -n 3 "$T/agent.err")"
		sleep 0.1
	done
	fail "no first write reported: $(tail -n 3 "$T/agent.err")"
}

# --web.listen-address scraped by a real Prometheus: the target is up and
# grayprobe's series, with the connections made, are queryable.
t_web_prometheus_scrape() {
	command -v prometheus >/dev/null || skip "prometheus not installed (Debian prometheus)"
	local wp api got
	ns_pair 35
	listen "$NSB" "$B4" 8080
	wp=$(free_port)
	web_agent_start "$wp" --interval 1
	# wp listens: free_port cannot pick it.
	prometheus_start grayprobe "" "127.0.0.1:$wp"
	api=$PROM_API
	connects "$NSA" "$B4" 8080 3 >/dev/null
	# value EXPR: the single sample's value, or empty.
	value() {
		curl -fsS --max-time 2 -G "$api/query" --data-urlencode "query=$1" 2>/dev/null \
			| jq -r '.data.result[0].value[1] // empty'
	}
	for _ in $(seq 150); do
		[ "$(value 'up{job="grayprobe"}')" = 1 ] \
			&& [ "$(value 'sum(grayprobe_connections_total{job="grayprobe",result="established"})')" = 3 ] \
			&& break
		sleep 0.2
	done
	expect_eq "$(value 'up{job="grayprobe"}')" 1 "up{job=\"grayprobe\"}"
	got=$(value 'sum(grayprobe_connections_total{job="grayprobe",result="established"})')
	expect_eq "$got" 3 "established connections scraped from the endpoint"
	expect_eq "$(value 'count(grayprobe_build_info{job="grayprobe"})')" 1 "grayprobe_build_info"
	# Prometheus took the exposition as is: no sample it could not parse.
	got=$(curl -fsS -G "$api/targets" | jq -r '.data.activeTargets[] | select(.labels.job == "grayprobe") | .lastError')
	expect_eq "$got" "" "scrape error"
}

# The endpoint serves exactly the textfile's bytes of the same write, as
# text/plain; version=0.0.4 on /metrics, 404 elsewhere.
t_web_same_bytes_as_textfile() {
	local wp same=0 hdr
	ns_pair 36
	listen "$NSB" "$B4" 8080
	wp=$(free_port)
	web_agent_start "$wp" --interval 1
	# Rounds spread over several writes, with counts changing between them.
	local -A seen=()
	for i in $(seq 100); do
		connects "$NSA" "$B4" 8080 1 >/dev/null
		cp "$T/gp.prom" "$T/before"
		curl -fsS --max-time 2 -D "$T/hdr" -o "$T/body" "http://127.0.0.1:$wp/metrics" || fail "GET /metrics"
		cp "$T/gp.prom" "$T/after"
		# A rewrite between the two reads: this round proves nothing.
		if cmp -s "$T/before" "$T/after"; then
			cmp -s "$T/body" "$T/before" || fail "round $i: /metrics differs from the textfile: $(diff "$T/body" "$T/before" | head -n 4)"
			same=$((same + 1))
			seen[$(md5sum <"$T/body" | cut -c1-32)]=1
		fi
		[ "$same" -ge 5 ] && [ "${#seen[@]}" -ge 3 ] && break
		sleep 0.2
	done
	[ "$same" -ge 5 ] && [ "${#seen[@]}" -ge 3 ] || fail "only $same rounds and ${#seen[@]} writes compared"
	grep -q 'grayprobe_connections_total{.*result="established"} [1-9]' "$T/body" || fail "no connections in the body"
	hdr=$(tr -d '\r' <"$T/hdr" | sed -n 's/^Content-Type: //Ip')
	expect_eq "$hdr" "text/plain; version=0.0.4" "Content-Type"
	# The server thread came after the privileges went: it holds no more than the agent.
	[ "$(ls "/proc/$AGENT/task" | wc -l)" -ge 2 ] || fail "no server thread"
	expect_eq "$(cat /proc/"$AGENT"/task/*/status | grep -E '^Cap(Eff|Prm)' | sort -u | wc -l)" 2 \
		"capability sets differ between the agent's threads"
	expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$wp/")" 404 "GET /"
	expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$wp/metrics/x")" 404 "GET /metrics/x"
	kill -TERM "$AGENT"
	wait "$AGENT" || fail "agent exit status $?"
}

# A malformed or unresolvable address is bad usage (2); a port in use fails
# with one line (1); neither attaches anything.
t_web_listen_errors() {
	local a p rc
	for a in 9435 :0 :65536 host: '::1:9435' '[::1' 'nosuchhost.invalid:9435'; do
		"$GP" run -i none --textfile "$T/x.prom" --web.listen-address "$a" >/dev/null 2>"$T/err"
		rc=$?
		expect_eq "$rc" 2 "exit status for --web.listen-address '$a' ($(head -n 1 "$T/err"))"
		grep -q "^grayprobe: error: --web.listen-address" "$T/err" && grep -qF -- "$a" "$T/err" \
			|| fail "'$a': unclear: $(cat "$T/err")"
	done
	p=$(free_port)
	"$TCPCONN" listen 127.0.0.1 "$p" >/dev/null 2>&1 &
	PIDS+=($!)
	for _ in $(seq 100); do ss -Hltn "sport = :$p" | grep -q . && break; sleep 0.05; done
	"$GP" run -i none --textfile "$T/x.prom" --web.listen-address "127.0.0.1:$p" >/dev/null 2>"$T/err"
	rc=$?
	expect_eq "$rc" 1 "exit status with the port in use"
	expect_eq "$(cat "$T/err")" "grayprobe: error: --web.listen-address 127.0.0.1:$p: cannot listen: Address already in use" \
		"port in use"
	[ -e "$T/x.prom" ] && fail "a textfile was written"
	gp_progs_gone || fail "programs left loaded"
}

# Two nodes: each is a network namespace with its own agent (--netns: its
# sockets only; -i its veth), fed by a client namespace, and its own
# node_exporter on the host's loopback; one Prometheus scrapes both every
# second and evaluates the recording rules. Known connection counts go in,
# in two rounds (rates need an increase); through Prometheus's HTTP API:
# the fleet-wide histogram count per tag equals the sum over both nodes and
# the known total, the recording rules' p99 and ratios are there, every
# rule evaluates cleanly, every dashboard query runs.
t_fleet() {
	command -v prometheus >/dev/null || skip "prometheus not installed (Debian prometheus)"
	command -v prometheus-node-exporter >/dev/null || skip "prometheus-node-exporter not installed"
	need_py
	need_grpc
	local k ns cs ifn nodes=() clients=() ne=() api q v want got
	# Per node and round: inbound stable, inbound canary, outbound stable
	# established, outbound stable refused, outbound canary refused.
	local -A n=(
		[1,1]="2 1 1 1 1" [2,1]="1 1 1 0 1"
		[1,2]="3 2 2 1 1" [2,2]="4 1 1 2 0"
	)
	for k in 1 2; do
		ns=gp${BASHPID}n$k cs=gp${BASHPID}c$k
		ip netns add "$ns" && NETNS+=("$ns") || fail "ip netns add $ns"
		ip netns add "$cs" && NETNS+=("$cs") || fail "ip netns add $cs"
		ip link add "gpv${BASHPID}n$k" netns "$ns" type veth peer name "gpv${BASHPID}c$k" netns "$cs" \
			|| fail "veth for node $k"
		ip -n "$ns" addr add "198.18.8$k.2/24" dev "gpv${BASHPID}n$k"
		ip -n "$cs" addr add "198.18.8$k.1/24" dev "gpv${BASHPID}c$k"
		for x in "$ns" "$cs"; do ip -n "$x" link set lo up; done
		ip -n "$ns" link set "gpv${BASHPID}n$k" up
		ip -n "$cs" link set "gpv${BASHPID}c$k" up
		nodes+=("$ns") clients+=("$cs")
		listen "$ns" "198.18.8$k.2" 9000
		listen "$ns" "198.18.8$k.2" 9001
		listen "$cs" "198.18.8$k.1" 9000
		grpc_peer_start "$ns" "198.18.8$k.2" 50051
		mkdir -p "$T/tf$k"
		ifn=gpv${BASHPID}n$k	# not inside the background job: its own BASHPID
		ip netns exec "$ns" "$GP" run --netns "/run/netns/$ns" -i "$ifn" --interval 1 \
			--tag-wait 0.5 --rule 'dport 9001 = canary' --textfile "$T/tf$k/grayprobe.prom" \
			>/dev/null 2>"$T/agent$k.err" &
		PIDS+=($!)
		ne+=("$(free_port)")
		node_exporter_start "${ne[-1]}" "$T/tf$k"
	done
	for k in 1 2; do
		for _ in $(seq 100); do [ -s "$T/tf$k/grayprobe.prom" ] && break; sleep 0.1; done
		[ -s "$T/tf$k/grayprobe.prom" ] || fail "agent $k wrote no textfile: $(tail -n 3 "$T/agent$k.err")"
	done

	prometheus_start node "$RULES_YML" "127.0.0.1:${ne[0]}" "127.0.0.1:${ne[1]}"
	api=$PROM_API

	# query EXPR: the result vector as "labels-json value" lines, sorted.
	query() {
		curl -fsS --max-time 5 -G "$api/query" --data-urlencode "query=$1" >"$T/q.json" 2>/dev/null || return 1
		jq -r 'if .status != "success" then error("status") else .data.result[] | "\(.metric | del(.__name__) | to_entries | sort_by(.key) | map("\(.key)=\(.value)") | join(",")) \(.value[1])" end' "$T/q.json" | sort
	}
	# scalar EXPR: one value, or empty.
	scalar() { query "$1" | awk 'NR == 1 { print $NF }'; }
	# wait_value EXPR WANT: until EXPR's single value is WANT (20 s at most).
	wait_value() {
		for _ in $(seq 100); do
			[ "$(scalar "$1")" = "$2" ] && return 0
			sleep 0.2
		done
		fail "$1: expected $2, got '$(scalar "$1")'"
	}

	local -A tot=()
	round() {
		local r=$1 k c
		for k in 1 2; do
			read -r -a c <<<"${n[$k,$r]}"
			connects "${clients[k-1]}" "198.18.8$k.2" 9000 "${c[0]}" >/dev/null
			connects "${clients[k-1]}" "198.18.8$k.2" 9001 "${c[1]}" >/dev/null
			connects "${nodes[k-1]}" "198.18.8$k.1" 9000 "${c[2]}" >/dev/null
			connects "${nodes[k-1]}" "198.18.8$k.1" 9002 "${c[3]}" >/dev/null
			connects "${nodes[k-1]}" "198.18.8$k.1" 9001 "${c[4]}" >/dev/null
			# Requests for the request panels and rules: gRPC calls, stable and canary.
			grpc_peer_calls "${clients[k-1]}" "198.18.8$k.2" 50051 Ok Unavailable Ok,x-gray=canary \
				Ok,x-gray=canary Deadline,x-gray=canary >/dev/null
			tot[$k,in_s]=$((${tot[$k,in_s]:-0} + c[0])) tot[$k,in_c]=$((${tot[$k,in_c]:-0} + c[1]))
			tot[$k,out_s]=$((${tot[$k,out_s]:-0} + c[2])) tot[$k,out_sr]=$((${tot[$k,out_sr]:-0} + c[3]))
			tot[$k,out_cr]=$((${tot[$k,out_cr]:-0} + c[4]))
		done
	}
	H=grayprobe_connect_duration_seconds_count
	round 1
	# Round 1 in Prometheus, from both nodes, before round 2 adds to it.
	wait_value "sum($H{direction=\"inbound\",alpn=\"none\",gray=\"stable\"})" $((tot[1,in_s] + tot[2,in_s]))
	wait_value "count(grayprobe_build_info)" 2
	sleep 2
	round 2
	want=$(sort <<-WANT
		alpn=none,direction=inbound,gray=canary $((tot[1,in_c] + tot[2,in_c]))
		alpn=none,direction=inbound,gray=stable $((tot[1,in_s] + tot[2,in_s]))
		alpn=none,direction=outbound,gray=canary 0
		alpn=none,direction=outbound,gray=stable $((tot[1,out_s] + tot[2,out_s]))
	WANT
	)
	# The raw TCP connects' tags (the gRPC calls' connections are h2c).
	q="sum by (direction, alpn, gray) ($H{alpn=\"none\"})"
	for _ in $(seq 100); do
		got=$(query "$q")
		[ "$got" = "$want" ] && break
		sleep 0.2
	done
	[ "$got" = "$want" ] || fail "fleet-wide $q: expected [$want], got [$got]"
	# The same, as the sum of each node's own series.
	got=$(query "sum by (direction, alpn, gray) ($H{instance=\"127.0.0.1:${ne[0]}\",alpn=\"none\"}) + sum by (direction, alpn, gray) ($H{instance=\"127.0.0.1:${ne[1]}\",alpn=\"none\"})")
	[ "$got" = "$want" ] || fail "node 1 + node 2: expected [$want], got [$got]"
	# And each node's series is its own textfile's.
	for k in 1 2; do
		v=$(awk -v s="$(tag_hist inbound none canary)" '$1 == s { print $2 }' "$T/tf$k/grayprobe.prom")
		expect_eq "$v" "${tot[$k,in_c]}" "node $k textfile: inbound canary"
		expect_eq "$(scalar "$H{instance=\"127.0.0.1:${ne[k-1]}\",direction=\"inbound\",gray=\"canary\"}")" \
			"${tot[$k,in_c]}" "node $k in Prometheus: inbound canary"
	done
	wait_value "sum(grayprobe_connections_total{direction=\"outbound\",result=\"refused\"})" \
		$((tot[1,out_sr] + tot[2,out_sr] + tot[1,out_cr] + tot[2,out_cr]))

	# Recording rules: fleet p99 and p50 for every tag with traffic, the
	# canary/stable ratios, the failure ratio.
	local R=direction_alpn_gray
	for _ in $(seq 100); do
		[ "$(query "$R:grayprobe_connect_duration_seconds:p99_5m{direction=\"inbound\",alpn=\"none\",gray=\"canary\"} > 0" | wc -l)" = 1 ] \
			&& [ "$(query "$R:grayprobe_connect_duration_seconds:p99_ratio_to_stable_5m{direction=\"inbound\",gray=\"canary\"} > 0" | wc -l)" = 1 ] \
			&& break
		sleep 0.2
	done
	for v in "inbound stable" "inbound canary" "outbound stable"; do
		set -- $v
		got=$(scalar "$R:grayprobe_connect_duration_seconds:p99_5m{direction=\"$1\",alpn=\"none\",gray=\"$2\"}")
		"$PY" -c "import sys; v = float(sys.argv[1]); sys.exit(not (0 < v < 1))" "${got:-nan}" \
			|| fail "recorded p99 for $1/none/$2: '$got' (want 0 < p99 < 1 s)"
		got=$(scalar "$R:grayprobe_connect_duration_seconds:p50_5m{direction=\"$1\",alpn=\"none\",gray=\"$2\"}")
		"$PY" -c "import sys; v = float(sys.argv[1]); sys.exit(not (0 < v < 1))" "${got:-nan}" \
			|| fail "recorded p50 for $1/none/$2: '$got'"
	done
	got=$(scalar "$R:grayprobe_connect_duration_seconds:p99_ratio_to_stable_5m{direction=\"inbound\",alpn=\"none\",gray=\"canary\"}")
	"$PY" -c "import sys, math; v = float(sys.argv[1]); sys.exit(not (v > 0 and math.isfinite(v)))" "${got:-nan}" \
		|| fail "recorded p99 ratio canary/stable: '$got'"
	# Outbound canary: every attempt refused.
	wait_value "$R:grayprobe_connections_failed:ratio_rate5m{direction=\"outbound\",alpn=\"none\",gray=\"canary\"}" 1
	got=$(scalar "$R:grayprobe_connections_failed:ratio_minus_stable_5m{direction=\"outbound\",alpn=\"none\",gray=\"canary\"}")
	"$PY" -c "import sys; v = float(sys.argv[1]); sys.exit(not (0 < v < 1))" "${got:-nan}" \
		|| fail "recorded failure ratio minus stable's: '$got'"

	# Every rule evaluated without error.
	curl -fsS --max-time 5 "$api/rules" >"$T/rules.json" || fail "GET /api/v1/rules"
	got=$(jq -r '[.data.groups[].rules[]] | length' "$T/rules.json")
	expect_eq "$got" "$(rules_exprs | wc -l)" "rules loaded by Prometheus"
	got=$(jq -r '.data.groups[].rules[] | select(.health != "ok") | "\(.name): \(.lastError)"' "$T/rules.json")
	[ -z "$got" ] || fail "rules with errors: $got"

	# Every dashboard query, its variables set to "All".
	local empty=
	while IFS= read -r q; do
		case $q in label_values*) continue ;; esac
		q=${q//\$__rate_interval/1m}
		q=$(sed -E 's/\$(instance|direction|alpn|gray)/.*/g' <<<"$q")
		query "$q" >"$T/dq" || fail "dashboard query refused by Prometheus: $q"
		[ -s "$T/dq" ] || empty="$empty [$q]"
	done < <(dashboard_exprs)
	[ -z "$empty" ] || fail "dashboard queries with no data:$empty"
}

run_tests "$@"
