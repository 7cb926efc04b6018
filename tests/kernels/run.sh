#!/usr/bin/env bash
# The kernel matrix: for each kernel in tests/kernels/list, download its
# Debian package (once, into the cache), unpack it without installing,
# extract the uncompressed vmlinux and build a busybox initramfs, boot it
# under QEMU with the host's root read-only (9p, or virtiofs where the
# kernel has no 9p) and run the line's integration tests inside. Prints each
# kernel's hook choice and closing line, then a table; exits 1 if any failed.
#   KERNELS_CACHE   downloads and built images (default /var/cache/grayprobe-kernels)
#   KERNELS_ACCEL   auto (default: kvm when a probe boot works, else tcg), kvm or tcg
#   KERNELS_TIMEOUT seconds one guest may take before it is killed (default 900)
#   KERNELS_ONLY    run only the lines whose package contains this string
#   KERNELS_LIST    another list file (default tests/kernels/list)
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/kernels/lib.sh
OUT=${OUT:-build}
CACHE=${KERNELS_CACHE:-/var/cache/grayprobe-kernels}
ACCEL=${KERNELS_ACCEL:-auto}
TIMEOUT=${KERNELS_TIMEOUT:-900}
REPO=$PWD
LIST=${KERNELS_LIST:-tests/kernels/list}

[ "$(id -u)" -eq 0 ] || { echo "kernels: needs root (QEMU's host share, apt-get download)"; exit 1; }
[ -x "$OUT/grayprobe" ] && [ -x "$OUT/tests/tcpconn" ] || { echo "kernels: build first: make all (missing $OUT/grayprobe or $OUT/tests/tcpconn)"; exit 1; }
mkdir -p "$CACHE/debs" || { echo "kernels: cannot create $CACHE"; exit 1; }
TMP=$(mktemp -d /tmp/gpkernels.XXXXXX) || exit 1
trap 'kill_guests; rm -rf "$TMP"' EXIT
trap 'echo "kernels: interrupted"; exit 1' HUP INT TERM

ROWS=() bad=0
# No -r: a trailing backslash continues a line of the list.
# shellcheck disable=SC2162
while read pkg rest; do
	case $pkg in ''|'#'*) continue ;; esac
	[ -z "${KERNELS_ONLY:-}" ] || [[ $pkg == *"$KERNELS_ONLY"* ]] || continue
	# shellcheck disable=SC2086 # the list splits into options and test names
	run_kernel "$pkg" $rest || bad=1
done <"$LIST"
summary
[ ${#ROWS[@]} -gt 0 ] || { echo "kernels: no kernel in $LIST matched"; exit 1; }
exit $bad
