#!/bin/sh
# build.sh BUSYBOX DEST [HELPER...] - builds the container's root filesystem.
#
# A rootfs is only the files of an operating system, without a kernel: every
# container still runs on the host's kernel. This one holds a single static
# busybox binary, one symlink per applet (ls, ps, ip, ...), the directories
# the steps mount things on, the few files in /etc that tools expect, and
# the lab's static helpers (rootfs/helpers/), each as /bin/<name>.
#
# It is built in a temporary directory and renamed into place, so that an
# interrupted build never leaves a half rootfs that looks complete.
set -eu

bb=$1 dest=$2
shift 2
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

mkdir -p "$tmp/proc" "$tmp/sys/fs/cgroup" "$tmp/dev/mqueue" "$tmp/etc" "$tmp/tmp" "$tmp/root" "$tmp/mnt"
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

# What runc makes in every container's /dev besides the nodes
# (libcontainer/rootfs_linux.go, setupDevSymlinks; the mount points of
# config.json's /dev/pts and /dev/shm): the fd and std links, ptmx into the
# container's own devpts. The lab's /dev is the image's, so the image holds
# them; step 09 mounts a devpts and a tmpfs on the two directories.
mkdir -p "$tmp/dev/pts" "$tmp/dev/shm"
ln -s /proc/self/fd "$tmp/dev/fd"
ln -s /proc/self/fd/0 "$tmp/dev/stdin"
ln -s /proc/self/fd/1 "$tmp/dev/stdout"
ln -s /proc/self/fd/2 "$tmp/dev/stderr"
ln -s pts/ptmx "$tmp/dev/ptmx"

# The device files every program expects (2>/dev/null above all). Making
# device nodes takes root; without it the rootfs is built without them, and
# is built again the next time, as root or not, until they are there.
complete=yes
if [ "$(id -u)" = 0 ]; then
    mknod -m 666 "$tmp/dev/null" c 1 3
    mknod -m 666 "$tmp/dev/zero" c 1 5
    mknod -m 666 "$tmp/dev/full" c 1 7
    mknod -m 666 "$tmp/dev/random" c 1 8
    mknod -m 666 "$tmp/dev/urandom" c 1 9
    mknod -m 666 "$tmp/dev/tty" c 5 0
else
    complete=no
    echo "make rootfs: not root: built without /dev/null and the other device files (sudo make rootfs adds them)" >&2
fi

# The helpers of the lessons (chroot-escape for steps 03 and 04, ...).
for helper in "$@"; do
    install -m 0755 "$helper" "$tmp/bin/$(basename "$helper")"
done

rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
# The stamp make looks at: only a complete rootfs gets one.
if [ "$complete" = yes ]; then
    "$bb" | head -n 1 > "$dest/.lab-rootfs"
fi
