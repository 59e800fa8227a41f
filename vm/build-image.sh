#!/bin/bash
# build-image.sh OUT PACKAGE... - builds the course VM image from Debian
# packages, into OUT (build/vm):
#
#   vmlinuz, initrd.img   Debian 12's kernel (linux-image-amd64) and its initramfs
#   root.img              the root file system: ext4, raw, sparse
#   image.key             what it was built from (see below)
#   image.info            kernel and package versions, mirror, build time
#
# mmdebstrap installs Debian 12 (bookworm) with the given packages, plus those
# in vm/packages, into a directory; vm/guest/ is copied over it (the VM's init,
# the initramfs configuration); mke2fs -d turns the directory into the disk
# image. No loop devices, no mounts outside a private mount namespace.
#
# The image is rebuilt only when its recipe changes: image.key is a hash of
# this script, vm/packages, vm/guest/ and the package list. The packages come
# from the mirror apt on this machine uses (apt-get indextargets), or from
# VM_MIRROR / VM_SECURITY_MIRROR; the downloaded .deb files are kept in
# OUT/debs so that a rebuild downloads only what changed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=$1
shift
suite=bookworm
die() { echo "make vm: $*" >&2; exit 1; }
say() { echo "make vm: $*" >&2; }

# ---- the recipe and its key ----------------------------------------------------

pkgs=$( { printf '%s\n' "$@"; sed 's/#.*//' "$here/packages"; } | tr -s ' \t' '\n\n' | grep -v '^$' | sort -u | tr '\n' ' ')
key=$( {
    echo "suite $suite"
    echo "packages $pkgs"
    cd "$here" && find build-image.sh packages guest -type f -print0 | sort -z |
        xargs -0 sha256sum
    find guest -print0 | sort -z | xargs -0 stat -c '%a %n'
} | sha256sum | cut -c1-16)

if [ "${1:-}" = --key ]; then echo "$key"; exit 0; fi
if [ -f "$out/image.key" ] && [ "$(cat "$out/image.key")" = "$key" ] &&
    [ -f "$out/root.img" ] && [ -f "$out/vmlinuz" ] && [ -f "$out/initrd.img" ]; then
    exit 0 # up to date
fi

# ---- what building needs ----------------------------------------------------

[ "$(id -u)" = 0 ] || die "building the VM image needs root (mmdebstrap, a root-owned tree): run it as: sudo make vm"
for t in mmdebstrap mke2fs unshare; do
    command -v "$t" >/dev/null || die "$t not found: run sudo make deps-vm"
done
mkdir -p "$out"
# The unpacked tree (about 1 GiB) and the image holding a copy of it, plus
# the package cache: 3 GiB is ample.
need_mib=3072
have_mib=$(( $(df -Pk "$out" | awk 'NR == 2 { print $4 }') / 1024 ))
[ "$have_mib" -ge "$need_mib" ] ||
    die "not enough disk space for the VM image in $out: need $need_mib MiB, have $have_mib MiB"

# ---- the mirror --------------------------------------------------------------

# The bookworm sources apt on this machine uses, as sources.list lines.
mirrors=()
if [ -n "${VM_MIRROR:-}" ]; then
    mirrors=("deb $VM_MIRROR $suite main" "deb $VM_MIRROR $suite-updates main"
        "deb ${VM_SECURITY_MIRROR:-http://deb.debian.org/debian-security} $suite-security main")
elif command -v apt-get >/dev/null; then
    while read -r site release; do
        mirrors+=("deb $site $release main")
    done < <(apt-get indextargets --format '$(SITE) $(RELEASE) $(COMPONENT) $(TARGET_OF) $(IDENTIFIER)' 2>/dev/null |
        awk -v s="$suite" '$3 == "main" && $4 == "deb" && $5 == "Packages" &&
            ($2 == s || $2 == s "-updates" || $2 == s "-security") { print $1, $2 }' | sort -u)
fi
# None found (not a Debian 12 host): mmdebstrap's default, deb.debian.org
# with the updates and security suites.
[ ${#mirrors[@]} -gt 0 ] || mirrors=(http://deb.debian.org/debian)

# apt settings of this machine that fetching needs too (a proxy; a mirror
# snapshot whose Release files are past their Valid-Until).
aptopts=()
for opt in Acquire::http::Proxy Acquire::https::Proxy Acquire::Check-Valid-Until Acquire::Check-Date; do
    v=$(apt-config dump "$opt" 2>/dev/null | awk -v k="$opt" '$1 == k { print $2 }' | tr -d '";' || true)
    [ -n "$v" ] && aptopts+=("--aptopt=$opt \"$v\"")
done

# ---- build ---------------------------------------------------------------------

tree=$out/rootfs.tmp
cleanup() {
    # mmdebstrap runs in its own mount namespace (below): nothing of it stays
    # mounted here. Only the half-built files go.
    rm -rf "$tree" "$out"/*.tmp
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
rm -rf "$tree" "$out"/*.tmp
mkdir -p "$out/debs"

say "building the course VM image (Debian $suite; first time: a few minutes)"
t0=$(date +%s)
log=$out/build.log
# The package cache: copied in before apt runs, the new downloads copied
# back out after; the image itself keeps no .deb files.
if ! unshare --mount --propagation private -- mmdebstrap \
    --mode=root --variant=apt --format=directory \
    --include="$pkgs" \
    "${aptopts[@]}" \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --skip=essential/unlink \
    --setup-hook='mkdir -p "$1/var/cache/apt/archives"' \
    --setup-hook="sync-in '$out/debs' /var/cache/apt/archives" \
    --essential-hook="cp -r --preserve=mode '$here/guest/.' \"\$1/\"" \
    --customize-hook="sync-out /var/cache/apt/archives '$out/debs'" \
    --customize-hook='mkdir -p "$1/lab" && echo "127.0.1.1 lab-vm" >>"$1/etc/hosts"' \
    --customize-hook='chroot "$1" dpkg-query -W -f "\${Package} \${Version}\n" >"$1/etc/lab-vm-packages"' \
    "$suite" "$tree" "${mirrors[@]}" >"$log" 2>&1; then
    tail -n 25 "$log" >&2
    die "mmdebstrap failed (log: $log)"
fi
rm -f "$out/debs/lock" && rm -rf "$out/debs/partial"
t1=$(date +%s)

kver=$(cd "$tree/boot" && ls vmlinuz-* | sed 's/^vmlinuz-//' | sort -V | tail -n 1)
[ -n "$kver" ] && [ -f "$tree/boot/initrd.img-$kver" ] || die "the image has no kernel and initramfs in /boot (log: $log)"
cp "$tree/boot/vmlinuz-$kver" "$out/vmlinuz.tmp"
cp "$tree/boot/initrd.img-$kver" "$out/initrd.img.tmp"

# The disk: the tree, and room to build and test in (the file is sparse, and
# QEMU opens it as a throw-away snapshot, so it stays as built).
used_kib=$(du -skx "$tree" | cut -f1)
size_mib=$(( used_kib * 12 / 10 / 1024 + ${VM_DISK_FREE_MIB:-2048} ))
mke2fs -q -F -t ext4 -L lab-vm -m 0 -d "$tree" "$out/root.img.tmp" "${size_mib}M" >>"$log" 2>&1 ||
    die "mke2fs failed (log: $log)"
t2=$(date +%s)

{
    echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) in $((t2 - t0)) s (mmdebstrap $((t1 - t0)) s, mke2fs $((t2 - t1)) s)"
    echo "key $key"
    echo "kernel $kver ($(awk '$1 == "linux-image-'"$kver"'" { print $2 }' "$tree/etc/lab-vm-packages"))"
    echo "debian $(cat "$tree/etc/debian_version")"
    echo "disk ${size_mib} MiB, $((used_kib / 1024)) MiB used"
    printf 'mirror %s\n' "${mirrors[@]}"
    echo "packages:"
    sed 's/^/  /' "$tree/etc/lab-vm-packages"
} >"$out/image.info.tmp"

for f in vmlinuz initrd.img root.img image.info; do
    mv -f "$out/$f.tmp" "$out/$f"
done
echo "$key" >"$out/image.key"
say "image built in $((t2 - t0)) s (packages $((t1 - t0)) s, disk $((t2 - t1)) s): kernel $kver, $size_mib MiB disk"
