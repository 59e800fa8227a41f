#!/bin/sh
# build.sh BUSYBOX DEST ESCAPE - builds the container's root filesystem.
#
# A rootfs is only the files of an operating system, without a kernel: every
# container still runs on the host's kernel. This one holds a single static
# busybox binary, one symlink per applet (ls, ps, ip, ...), the directories
# the steps mount things on, and the few files in /etc that tools expect.
#
# It is built in a temporary directory and renamed into place, so that an
# interrupted build never leaves a half rootfs that looks complete.
set -eu

bb=$1 dest=$2 escape=$3
die() { echo "make rootfs: $*" >&2; exit 1; }

[ -n "$bb" ] || die "no busybox found: run 'sudo make deps' (busybox-static) or set BUSYBOX=/path/to/busybox"
[ -f "$bb" ] || die "$bb: no such file"
[ "$(head -c 4 "$bb" | tail -c 3)" = ELF ] || die "$bb is not an ELF executable"
command -v readelf >/dev/null || die "readelf not found: run 'sudo make deps' (binutils, from build-essential)"
# A dynamically linked program names its loader in a PT_INTERP header; the
# rootfs has no loader and no libc, so such a busybox could not start there.
if readelf -l "$bb" | grep -q 'program interpreter'; then
    die "$bb is dynamically linked; the rootfs has no libc, so it needs a static busybox (Debian: busybox-static)"
fi

tmp="$dest.tmp.$$"
trap 'rm -rf "$tmp"' EXIT
rm -rf "$tmp"
mkdir -p "$tmp/bin"
cp "$bb" "$tmp/bin/busybox"
chmod 0755 "$tmp/bin/busybox"

# One relative symlink per applet: bin/ls -> ../bin/busybox, usr/bin/awk ->
# ../../bin/busybox. Relative, so they work in the container and on the host.
"$bb" --list-full | while read -r applet; do
    [ "$applet" = bin/busybox ] && continue
    up=$(echo "$applet" | sed 's|[^/]*/|../|g; s|[^/]*$||')
    mkdir -p "$tmp/$(dirname "$applet")"
    ln -sf "${up}bin/busybox" "$tmp/$applet"
done

mkdir -p "$tmp/proc" "$tmp/sys" "$tmp/dev" "$tmp/etc" "$tmp/tmp" "$tmp/root" "$tmp/mnt"
chmod 1777 "$tmp/tmp"
chmod 0700 "$tmp/root"
cat > "$tmp/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > "$tmp/etc/group" <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP
echo lab > "$tmp/etc/hostname"

# The helper of the chroot-escape lesson (steps 03 and 04).
install -m 0755 "$escape" "$tmp/bin/chroot-escape"

"$bb" | head -n 1 > "$tmp/.lab-rootfs"
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
