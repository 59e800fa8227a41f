#!/bin/sh
# demo-image.sh ROOTFS DEST - a two-layer image for step 11's lesson: layer 1
# is the busybox rootfs itself; layer 2, made here in DEST/layer2, adds a
# file and deletes one of layer 1, as overlayfs records a deletion: a
# whiteout, a character device 0/0 of the same name (mknod needs root).
#
#   sudo ./step-11 --layer ROOTFS --layer DEST/layer2 sh -c 'cat /hello; ls /bin/vi'
set -eu
rootfs=$1 dest=$2
die() { echo "make demo-image: $*" >&2; exit 1; }

[ -d "$rootfs/bin" ] || die "$rootfs is not a rootfs: run make rootfs first"
[ "$(id -u)" = 0 ] || die "a whiteout is a device node, and mknod needs root: run it as root"
tmp="$dest.tmp.$$"
trap 'rm -rf "$tmp"' EXIT
rm -rf "$tmp"
mkdir -p "$tmp/layer2/bin" "$tmp/layer2/etc"
echo "hello from layer 2" >"$tmp/layer2/hello"
echo "layer 2 was here" >"$tmp/layer2/etc/motd"
mknod "$tmp/layer2/bin/vi" c 0 0   # the whiteout: layer 1's /bin/vi is gone
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
