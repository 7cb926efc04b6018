# Functions of tests/kernels/run.sh. Each kernel has $CACHE/PKG/: root/ (the
# unpacked package, depmod run), vmlinux, initrd.gz, and per boot job,
# console.log. Errors are one line on stdout, "kernels: PKG: why".

say() { echo "kernels: $*"; }

# fetch PKG: the newest .deb of PKG in $CACHE/debs, downloaded once.
fetch() {
	local deb
	deb=$(ls "$CACHE/debs/$1"_*.deb 2>/dev/null | tail -n 1)
	if [ -z "$deb" ]; then
		# Download needs the archive's lists: a fresh machine may have none yet.
		(cd "$CACHE/debs" && { apt-get download -q=2 "$1" || { apt-get update -qq && apt-get download -q=2 "$1"; }; } \
			>"$TMP/apt.log" 2>&1) \
			|| { say "$1: apt-get download failed: $(tail -n 1 "$TMP/apt.log")"; return 1; }
		deb=$(ls "$CACHE/debs/$1"_*.deb 2>/dev/null | tail -n 1)
	fi
	[ -n "$deb" ] && echo "$deb"
}

# unpack DEB DIR: DIR/root, the package's files, and their modules.dep.
unpack() {
	local kver
	[ -e "$2/root/.unpacked" ] && return 0
	rm -rf "$2/root" && mkdir -p "$2/root" || return 1
	dpkg-deb -x "$1" "$2/root" || { say "dpkg-deb -x $1 failed"; return 1; }
	kver=$(ls "$2/root/lib/modules")
	depmod -b "$2/root" "$kver" || { say "depmod for $kver failed"; return 1; }
	touch "$2/root/.unpacked"
}

kver_of() { ls "$1/root/lib/modules"; }

# le32 FILE OFFSET / u8 FILE OFFSET: fields of the bzImage's setup header.
le32() { od -An -t u4 -j "$2" -N 4 "$1" | tr -d ' '; }
u8() { od -An -t u1 -j "$2" -N 1 "$1" | tr -d ' '; }

decompress() {
	case $1 in
	fd377a585a00) xz -dc ;;
	02214c18*) lz4 -dc ;;
	28b52ffd*) zstd -dcq ;;
	1f8b*) gzip -dc ;;
	*) return 1 ;;
	esac
}

# extract_vmlinux BZIMAGE OUT: the ELF kernel inside a bzImage. Its payload
# sits at payload_offset (0x248) past the setup sectors (0x1f1), and ends
# with the 4-byte uncompressed size that the decompressors must not see.
extract_vmlinux() {
	local bz=$1 sects start len magic
	[ -s "$2" ] && return 0
	sects=$(u8 "$bz" $((0x1f1)))
	[ "$sects" -ne 0 ] || sects=4
	start=$(( (sects + 1) * 512 + $(le32 "$bz" $((0x248))) ))
	len=$(le32 "$bz" $((0x24c)))
	magic=$(od -An -t x1 -j "$start" -N 6 "$bz" | tr -d ' ')
	tail -c +$((start + 1)) "$bz" | head -c $((len - 4)) | decompress "$magic" >"$2.tmp" \
		|| { say "$bz: cannot decompress its payload (magic $magic)"; rm -f "$2.tmp"; return 1; }
	[ "$(head -c 4 "$2.tmp" | od -An -t x1 | tr -d ' ')" = 7f454c46 ] \
		|| { say "$bz: the payload is not an ELF kernel"; rm -f "$2.tmp"; return 1; }
	mv "$2.tmp" "$2"
}

# root_fs DIR: how the guest reaches the host's root: 9p, else virtiofs
# (Debian's cloud kernels have no 9p).
root_fs() {
	local m
	m=$(modprobe -d "$1/root" -S "$(kver_of "$1")" --show-depends 9p 2>/dev/null) && [ -n "$m" ] \
		&& { echo 9p; return; }
	echo virtiofs
}

# initrd DIR FS: busybox, tests/kernels/init and the modules that mount the
# host's root, uncompressed for busybox's insmod; built again only when the
# init script or the way in changes (DIR/initrd.key).
initrd() {
	local dir=$1 fs=$2 kver ird=$TMP/initrd m f want key
	key="$fs $(cat tests/kernels/init /bin/busybox | sha256sum)"
	[ -s "$dir/initrd.gz" ] && [ "$(cat "$dir/initrd.key" 2>/dev/null)" = "$key" ] && return 0
	kver=$(kver_of "$dir")
	want="virtio_pci overlay"
	if [ "$fs" = 9p ]; then want="$want 9pnet_virtio 9p"; else want="$want virtiofs"; fi
	rm -rf "$ird" && mkdir -p "$ird"/{bin,mod,proc,sys,dev} || return 1
	cp /bin/busybox "$ird/bin/busybox" && cp tests/kernels/init "$ird/init" || return 1
	: >"$ird/modules"
	# shellcheck disable=SC2086
	modprobe -d "$dir/root" -S "$kver" --show-depends -a $want 2>"$TMP/modprobe.err" \
		| awk '$1 == "insmod" && !seen[$2]++ { print $2 }' >"$TMP/mods"
	[ ! -s "$TMP/modprobe.err" ] || { say "$kver: $(head -n 1 "$TMP/modprobe.err")"; return 1; }
	while read -r m; do
		f=$(basename "$m") && f=${f%.xz} && f=${f%.zst}
		case $m in
		*.xz) xz -dc "$m" ;;
		*.zst) zstd -dcq "$m" ;;
		*) cat "$m" ;;
		esac >"$ird/mod/$f" || return 1
		echo "$f" >>"$ird/modules"
	done <"$TMP/mods"
	(cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) >"$dir/initrd.gz.tmp" || return 1
	mv "$dir/initrd.gz.tmp" "$dir/initrd.gz" && echo "$fs" >"$dir/initrd.fs" && echo "$key" >"$dir/initrd.key"
}

# prepare PKG DIR: everything a boot needs, from the cache where it is there.
prepare() {
	local deb
	mkdir -p "$2" || return 1
	deb=$(fetch "$1") || return 1
	unpack "$deb" "$2" || return 1
	extract_vmlinux "$(ls "$2"/root/boot/vmlinuz-*)" "$2/vmlinux" || return 1
	initrd "$2" "$(root_fs "$2")"
}

GUEST_PIDS=()
kill_guests() {
	local p
	for p in "${GUEST_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${GUEST_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	GUEST_PIDS=()
}

# kvm_works VMLINUX: a probe boot under KVM reaches the kernel's own "no
# root" panic within 20 s (nested KVM can fail on stock kernels, or crawl).
kvm_works() {
	local q
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
	timeout -k 5 20 qemu-system-x86_64 -accel kvm -cpu host -m 512 -nodefaults -display none \
		-no-reboot -serial "file:$TMP/kvm.log" -kernel "$1" -append "console=ttyS0 panic=-1" \
		>"$TMP/kvm.err" 2>&1 &
	q=$!
	GUEST_PIDS+=("$q")
	{ wait "$q"; } 2>/dev/null	# no "Aborted" from the shell: the log says why
	kill_guests
	grep -q 'Unable to mount root fs' "$TMP/kvm.log"
}

# choose_accel VMLINUX: settles KERNELS_ACCEL=auto once.
choose_accel() {
	local why
	[ "$ACCEL" = auto ] || return 0
	if kvm_works "$1"; then
		ACCEL=kvm
		say "accelerator: KVM (a probe boot worked)"
	else
		ACCEL=tcg
		why=$(grep -m 1 -v '^$' "$TMP/kvm.err" 2>/dev/null)
		say "accelerator: TCG (a probe boot under KVM failed: ${why:-no kernel boot within 20 s})"
	fi
}

accel() {
	case $ACCEL in
	kvm) echo "-accel kvm -cpu host" ;;
	*) echo "-accel tcg,thread=multi -cpu max" ;;
	esac
}

# share_args DIR FS: QEMU's device for the host's root; starts virtiofsd
# for virtiofs.
share_args() {
	if [ "$2" = 9p ]; then
		echo "-fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap"
		echo "-device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot"
		return
	fi
	echo "-chardev socket,id=vfs,path=$TMP/vfs.sock -device vhost-user-fs-pci,chardev=vfs,tag=hostroot"
	echo "-object memory-backend-memfd,id=mem,size=${GUEST_MB}M,share=on -numa node,memdev=mem"
}

# chroot: its namespace sandbox cannot pivot_root onto the host's own /.
start_virtiofsd() {
	rm -f "$TMP/vfs.sock"
	/usr/lib/qemu/virtiofsd --socket-path="$TMP/vfs.sock" -o source=/ -o cache=always -o sandbox=chroot \
		>"$TMP/virtiofsd.log" 2>&1 &
	GUEST_PIDS+=("$!")
	for _ in $(seq 100); do [ -S "$TMP/vfs.sock" ] && return 0; sleep 0.1; done
	say "virtiofsd did not come up: $(tail -n 1 "$TMP/virtiofsd.log")"
	return 1
}

GUEST_MB=${KERNELS_GUEST_MB:-2048}

# boot DIR FS: the guest under QEMU, its console in DIR/console.log, killed
# after $TIMEOUT s. Returns QEMU's status (124 on the timeout).
boot() {
	local dir=$1 fs=$2 q rc
	[ "$fs" = 9p ] || start_virtiofsd || return 1
	# shellcheck disable=SC2046
	timeout -k 10 "$TIMEOUT" qemu-system-x86_64 $(accel) -smp 2 -m "$GUEST_MB" -nodefaults \
		-display none -no-reboot -serial "file:$dir/console.log" $(share_args "$dir" "$fs") \
		-kernel "$dir/vmlinux" -initrd "$dir/initrd.gz" \
		-append "console=ttyS0 quiet panic=-1 mitigations=off gp.fs=$fs gp.guest=$REPO/tests/kernels/guest.sh gp.job=$dir/job" \
		>"$TMP/qemu.log" 2>&1 &
	q=$!
	GUEST_PIDS+=("$q")
	wait "$q"; rc=$?
	kill_guests
	[ "$rc" -eq 0 ] || [ "$rc" -eq 124 ] || say "qemu exited $rc: $(tail -n 1 "$TMP/qemu.log")"
	return "$rc"
}

# write_job DIR TRACEFS TESTS...: what guest.sh sources.
write_job() {
	local dir=$1 tracefs=$2
	shift 2
	{
		printf 'REPO=%q OUT=%q KVER=%q TRACEFS=%q\n' "$REPO" "$OUT" "$(kver_of "$dir")" "$tracefs"
		printf 'MODDIR=%q\n' "$dir/root/lib/modules/$(kver_of "$dir")"
		printf 'TESTS=%q\n' "$*"
	} >"$dir/job"
}

# console DIR TAG: the console's GP-TAG lines, without the tag.
console() { tr -d '\r' <"$1/console.log" | sed -n "s/^GP-$2 //p"; }

# report PKG DIR WALL RC: the kernel's lines and its row of the table;
# fails unless the guest finished with a clean closing line.
report() {
	local pkg=$1 dir=$2 wall=$3 rc=$4 kver hooks tc closing status=ok
	kver=$(console "$dir" KERNEL)
	hooks=$(console "$dir" CHECK | sed -n 's/^run would use: //p')
	tc=$(console "$dir" CHECK | sed -n 's/^classifier: //p')
	closing=$(console "$dir" TEST | grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' | tail -n 1)
	console "$dir" CHECK | sed 's/^/    /'
	console "$dir" TEST | grep -E '^ *(PASS|FAIL|SKIP) |^ *\| |^failed: ' | sed 's/^ */    /'
	grep -h '^GP-\(WARN\|ERROR\)\|^gp-init: \|Kernel panic' "$dir/console.log" | sed 's/^/    /'
	if [ "$rc" -eq 124 ]; then status="timeout after ${TIMEOUT}s"
	elif ! grep -q '^GP-DONE' "$dir/console.log"; then status="guest did not finish (console: $dir/console.log)"
	elif [ -z "$closing" ]; then status="no closing line"
	elif ! [[ $closing =~ ^[1-9][0-9]*\ passed,\ 0\ failed ]]; then status=failed
	fi
	echo "  ${kver:-$pkg}: ${closing:-no closing line} ($status, ${wall}s)"
	ROWS+=("${kver:-?}|${hooks:-?}|${tc:-?}|${closing:-?}|${wall}s|$status")
	[ "$status" = ok ]
}

# known_tests TEST...: every name is a test function (a typo in the list
# would otherwise run nothing in its place).
known_tests() {
	local t
	for t in "$@"; do
		grep -q "^$t() " tests/integration/test_*.sh || { say "$t: no such test in tests/integration"; return 1; }
	done
}

# run_kernel PKG [tracefs=1] TEST...: one line of the list.
run_kernel() {
	local pkg=$1 dir=$CACHE/$1 tracefs=0 fs t0 rc
	shift
	case ${1:-} in tracefs=*) tracefs=${1#tracefs=}; shift ;; esac
	echo "== $pkg"
	known_tests "$@" || { ROWS+=("$pkg|?|?|?|0s|unknown test in the list"); return 1; }
	prepare "$pkg" "$dir" || { ROWS+=("$pkg|?|?|?|0s|cannot prepare the kernel"); return 1; }
	fs=$(cat "$dir/initrd.fs")
	choose_accel "$dir/vmlinux"
	write_job "$dir" "$tracefs" "$@"
	: >"$dir/console.log"
	t0=$(date +%s)
	boot "$dir" "$fs"; rc=$?
	report "$pkg" "$dir" $(($(date +%s) - t0)) "$rc"
}

# summary: the table, then the matrix's closing line; a kernel that failed
# without a failed test (a timeout, a guest that did not finish) counts one.
summary() {
	local r k h t c w st p=0 f=0 s=0 nf
	echo
	printf '%-26s %-62s %-16s %-32s %6s %s\n' kernel "run would use" classifier result wall status
	for r in "${ROWS[@]}"; do
		IFS='|' read -r k h t c w st <<<"$r"
		printf '%-26s %-62s %-16s %-32s %6s %s\n' "$k" "$h" "$t" "$c" "$w" "$st"
		nf=0
		if [[ $c =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped$ ]]; then
			p=$((p + BASH_REMATCH[1])) nf=${BASH_REMATCH[2]} s=$((s + BASH_REMATCH[3]))
		fi
		[ "$st" = ok ] || [ "$nf" -gt 0 ] || nf=1
		f=$((f + nf))
	done
	echo "kernels: $p passed, $f failed, $s skipped"
}
