#!/bin/sh
# user-rootfs.sh ROOTFS DEST - a copy of the rootfs that you own, for a
# rootless container (step 12): run as yourself, not root. Files of the
# host's root are nobody's inside a rootless container, and read-only; your
# own files are root's there. Device files cannot be made without root, and
# a rootless container binds the host's own anyway: /dev is left empty.
set -eu
src=$1 dest=$2
die() { echo "make user-rootfs: $*" >&2; exit 1; }

[ -d "$src/bin" ] || die "$src is not a rootfs: run make rootfs first (as root)"
[ "$(id -u)" != 0 ] || die "run it as the user who will own the rootfs, not as root"
tmp="$dest.tmp.$$"
trap 'rm -rf "$tmp"' EXIT
rm -rf "$tmp"
mkdir -p "$tmp"
tar -C "$src" --exclude='./dev/*' --exclude='./root' -cf - . | tar -C "$tmp" --no-same-owner -xf -
mkdir -p "$tmp/root" "$tmp/dev/mqueue" "$tmp/dev/pts" "$tmp/dev/shm"
(cd "$src/dev" && find . -maxdepth 1 -type l -exec cp -P {} "$tmp/dev/" \;)
chmod 0700 "$tmp/root"
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
echo "make user-rootfs: $dest (yours: --rootfs $dest)"
