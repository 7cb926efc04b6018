#!/bin/bash
# PID 1 inside a matrix guest (after the initramfs's switch_root): mounts
# what a booted system has, loads the test modules from the kernel's own
# tree, prints what `grayprobe check` chose, runs the job's integration tests
# and powers off. The host reads the GP-* lines on the serial console.
# $1: the job file (REPO OUT KVER MODDIR TESTS TRACEFS), written by run.sh.
set -u
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH HOME=/root LANG=C.UTF-8

poweroff_now() { sync; echo o >/proc/sysrq-trigger; sleep 30; }
trap poweroff_now EXIT

mounts() {
	mount -t proc proc /proc && mount -t sysfs sys /sys || return 1
	ln -sfn /proc/self/fd /dev/fd && ln -sf fd/0 /dev/stdin && ln -sf fd/1 /dev/stdout && ln -sf fd/2 /dev/stderr
	mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts && mount -t tmpfs shm /dev/shm || return 1
	mount -t tmpfs -o mode=0755 run /run && mkdir -p /run/lock || return 1
	# A checkout under /tmp (CI's may be) stays reachable under the guest's own /tmp.
	mkdir -p /mnt/hosttmp && mount --bind /tmp /mnt/hosttmp || return 1
	mount -t tmpfs -o mode=1777 tmp /tmp || return 1
	case $REPO in /tmp/*) REPO=/mnt/hosttmp/${REPO#/tmp/} ;; esac
	case $OUT in /tmp/*) OUT=/mnt/hosttmp/${OUT#/tmp/} ;; esac
	mount -t bpf bpf /sys/fs/bpf && mount -t cgroup2 cgroup2 /sys/fs/cgroup || return 1
	[ "$TRACEFS" = 0 ] || mount -t tracefs tracefs /sys/kernel/tracing
}

# The kernel's own modules where modprobe (and autoload) look for them.
modules() {
	local m
	mkdir -p "/lib/modules/$KVER" && mount --bind "$MODDIR" "/lib/modules/$KVER" || return 1
	for m in veth sch_ingress cls_bpf cls_u32 nf_tables nft_reject_inet nft_numgen; do
		modprobe "$m" 2>/dev/null || grep -qw "$m" "/lib/modules/$KVER/modules.builtin" \
			|| echo "GP-WARN cannot load module $m"
	done
}

main() {
	# shellcheck source=/dev/null
	. "$1" || { echo "GP-ERROR cannot read job $1"; return 1; }
	mounts || { echo "GP-ERROR cannot mount the system filesystems"; return 1; }
	modules || { echo "GP-ERROR cannot bind the kernel's modules from $MODDIR"; return 1; }
	ip link set lo up
	hostname gpguest
	cd "$REPO" || { echo "GP-ERROR no repository at $REPO"; return 1; }
	echo "GP-KERNEL $(uname -r)"
	"$OUT/grayprobe" check 2>&1 | sed 's/^/GP-CHECK /'
	# shellcheck disable=SC2086
	OUT=$OUT tests/run.sh $TESTS 2>&1 | sed 's/^/GP-TEST /'
	echo "GP-DONE"
}
main "$@"
