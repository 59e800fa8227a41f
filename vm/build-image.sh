#!/bin/bash
# build-image.sh OUT ARCH [--key] PACKAGE... - builds the course VM image for ARCH
# (amd64 or arm64) from Debian packages, into OUT (build/vm/ARCH):
#
#   vmlinuz, initrd.img   Debian 12's kernel (linux-image-ARCH) and its initramfs
#   root.img              the root file system: ext4, raw, sparse
#   image.key             what it was built from (see below)
#   image.info            kernel and package versions, mirror, build times
#
# mmdebstrap installs Debian 12 (bookworm) with the given packages, plus those
# in vm/packages, into a directory; vm/guest/ is copied over it (the VM's init,
# the initramfs configuration) and vm/customize.sh run in it; mke2fs -d turns
# the directory into the disk image. No loop devices, no mounts outside a
# private mount namespace.
#
# When ARCH is not this machine's (arm64 on an x86-64 machine), the guest's
# programs cannot run here, and nothing here is set up to emulate them
# (binfmt_misc). Then mmdebstrap only downloads the packages and unpacks the
# Essential ones (its "extract" variant); the rest of mmdebstrap's work -
# dpkg --install of the Essential set, apt-get install of everything else,
# customize.sh - runs in the guest itself: a throw-away QEMU machine of that
# architecture boots Debian's kernel with a small initramfs (vm/installer/init)
# and does it in the directory, shared over 9p. See docs/course-vm.md.
#
# The image is rebuilt only when its recipe changes: image.key is a hash of
# the scripts, vm/packages, vm/guest/, the architecture and the package list.
# The packages come from the mirror apt on this machine uses (apt-get
# indextargets), or from VM_MIRROR / VM_SECURITY_MIRROR; the downloaded .deb
# files are kept in OUT/debs so that a rebuild downloads only what changed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=vm/arch.sh
. "$here/arch.sh"
out=$1
vm_arch "$2" || exit 1
shift 2
# --key (anywhere after ARCH): print the image key and stop.
want_key=no
packages=()
for a in "$@"; do
    if [ "$a" = --key ]; then want_key=yes; else packages+=("$a"); fi
done
set -- "${packages[@]}"
suite=bookworm
die() { echo "make vm: $*" >&2; exit 1; }
say() { echo "make vm: $*" >&2; }

# ---- the recipe and its key ----------------------------------------------------

pkgs=$( { printf '%s\n' "$@"; sed 's/#.*//' "$here/packages"; } | sed "s/@ARCH@/$VM_ARCH/g" |
    tr -s ' \t' '\n\n' | grep -v '^$' | sort -u | tr '\n' ' ')
key=$( {
    echo "suite $suite"
    echo "arch $VM_ARCH foreign $VM_FOREIGN"
    echo "packages $pkgs"
    cd "$here" && find build-image.sh arch.sh customize.sh packages guest installer -type f -print0 |
        sort -z | xargs -0 sha256sum
    find guest -print0 | sort -z | xargs -0 stat -c '%a %n'
} | sha256sum | cut -c1-16)

if [ "$want_key" = yes ]; then echo "$key"; exit 0; fi
if [ -f "$out/image.key" ] && [ "$(cat "$out/image.key")" = "$key" ] &&
    [ -f "$out/root.img" ] && [ -f "$out/vmlinuz" ] && [ -f "$out/initrd.img" ]; then
    exit 0 # up to date
fi

# ---- what building needs ----------------------------------------------------

[ "$(id -u)" = 0 ] || die "building the VM image needs root (mmdebstrap, a root-owned tree): run it as: sudo make vm"
tools=(mmdebstrap mke2fs unshare)
[ "$VM_FOREIGN" = yes ] && tools+=("$VM_QEMU" cpio dpkg-deb)
for t in "${tools[@]}"; do
    command -v "$t" >/dev/null || die "$t not found: run sudo make deps-vm ARCH=$VM_ARCH"
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
# The unpacked tree (about 1.2 GiB) and the image holding a copy of it, plus
# the package cache: 4 GiB is ample.
need_mib=4096
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

# What dpkg leaves out, in the image and in whatever is installed in it
# later: documentation but the copyright files, translations, and the man
# pages in other languages than English. The English man pages stay: every
# TODO of the handout names some.
dpkgopts=(
    --dpkgopt='path-exclude=/usr/share/man/*'
    --dpkgopt='path-include=/usr/share/man/man[1-9]/*'
    --dpkgopt='path-exclude=/usr/share/info/*'
    --dpkgopt='path-exclude=/usr/share/locale/*'
    --dpkgopt='path-include=/usr/share/locale/locale.alias'
    --dpkgopt='path-exclude=/usr/share/doc/*'
    --dpkgopt='path-include=/usr/share/doc/*/copyright'
)

# ---- build ---------------------------------------------------------------------

tree=$out/rootfs.tmp
qpid=""
cleanup() {
    # mmdebstrap runs in its own mount namespace (below): nothing of it stays
    # mounted here. The installer's QEMU goes, then the half-built files.
    if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then
        kill -KILL "$qpid" 2>/dev/null || true
        wait "$qpid" 2>/dev/null || true
    fi
    rm -rf "$tree" "$out"/*.tmp
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
rm -rf "$tree" "$out"/*.tmp
mkdir -p "$out/debs"

how="Debian $suite, $VM_ARCH"
[ "$VM_FOREIGN" = yes ] && how+=", installed by an emulated $VM_ARCH machine"
say "building the course VM image ($how; first time: a few minutes)"
t0=$(date +%s)
log=$out/build.log
# The package cache: copied in before apt runs, the new downloads copied
# back out after; the image itself keeps no .deb files.
common=(--mode=root --format=directory "${aptopts[@]}" "${dpkgopts[@]}"
    --setup-hook='mkdir -p "$1/var/cache/apt/archives"'
    --setup-hook="sync-in '$out/debs' /var/cache/apt/archives")
if [ "$VM_FOREIGN" = no ]; then
    step="mmdebstrap"
    unshare --mount --propagation private -- mmdebstrap "${common[@]}" \
        --variant=apt --include="$pkgs" \
        --skip=essential/unlink \
        --essential-hook="cp -r --preserve=mode '$here/guest/.' \"\$1/\"" \
        --customize-hook="copy-in '$here/customize.sh' /tmp" \
        --customize-hook='chroot "$1" /bin/sh /tmp/customize.sh && rm -f "$1/tmp/customize.sh"' \
        --customize-hook="sync-out /var/cache/apt/archives '$out/debs'" \
        "$suite" "$tree" "${mirrors[@]}" >"$log" 2>&1 || step=failed
else
    # Only download and unpack (mmdebstrap's extract variant); merged /usr
    # set up as debootstrap does, since usrmerge's conversion cannot run here.
    step="mmdebstrap (download, unpack)"
    LAB_VM_PACKAGES="$pkgs usr-is-merged" unshare --mount --propagation private -- mmdebstrap "${common[@]}" \
        --variant=extract --architectures="$VM_ARCH" --skip=check/qemu \
        --include='?essential' --include='apt usr-is-merged' \
        --setup-hook=/usr/share/mmdebstrap/hooks/merged-usr/setup00.sh \
        --extract-hook="$here/installer/prepare.sh" \
        --skip=cleanup/apt \
        "$suite" "$tree" "${mirrors[@]}" >"$log" 2>&1 || step=failed
fi
if [ "$step" = failed ]; then
    tail -n 25 "$log" >&2
    die "mmdebstrap failed (log: $log)"
fi
t1=$(date +%s)

if [ "$VM_FOREIGN" = no ]; then
    t2=$t1
    dpkg-query --admindir="$tree/var/lib/dpkg" -W -f '${Package} ${Version}\n' >"$tree/etc/lab-vm-packages"
    # The disk: the tree, and room to build and test in (the file is sparse,
    # and QEMU opens it as a throw-away snapshot, so it stays as built).
    used_kib=$(du -skx "$tree" | cut -f1)
    size_mib=$(( used_kib * 12 / 10 / 1024 + ${VM_DISK_FREE_MIB:-2048} ))
    mke2fs -q -F -t ext4 -L lab-vm -m 0 -d "$tree" "$out/root.img.tmp" "${size_mib}M" >>"$log" 2>&1 ||
        die "mke2fs failed (log: $log)"
    kver=$(cd "$tree/boot" && ls vmlinuz-* | sed 's/^vmlinuz-//' | sort -V | tail -n 1)
    [ -n "$kver" ] && [ -f "$tree/boot/initrd.img-$kver" ] || die "the image has no kernel and initramfs in /boot (log: $log)"
    cp "$tree/boot/vmlinuz-$kver" "$out/vmlinuz.tmp"
    cp "$tree/boot/initrd.img-$kver" "$out/initrd.img.tmp"
    cp "$tree/etc/lab-vm-packages" "$out/packages.tmp"
    cp "$tree/etc/debian_version" "$out/debian_version.tmp"
else
    # The installer: Debian's kernel for ARCH, and an initramfs holding
    # vm/installer/init, the static busybox of busybox-static and the
    # modules it needs for virtio and ext4. Its disk is the root file
    # system as mmdebstrap left it (mke2fs -d), with room for what apt
    # installs; it becomes the image.
    archives=$tree/var/cache/apt/archives
    cp -a -n "$archives"/*.deb "$out/debs/"
    ktmp=$out/kernel.tmp
    itmp=$out/initramfs.tmp
    mkdir -p "$ktmp" "$itmp/bin"
    dpkg-deb -x "$archives/$(cat "$tree/lab-vm-build/kernel")" "$ktmp"
    dpkg-deb --fsys-tarfile "$archives/$(cat "$tree/lab-vm-build/busybox")" |
        tar -xOf - ./bin/busybox >"$itmp/bin/busybox"
    chmod 0755 "$itmp/bin/busybox"
    install -m 0755 "$here/installer/init" "$itmp/init"
    kmods=$(cd "$ktmp/lib/modules" && ls | head -n 1)
    mkdir -p "$itmp/lib/modules/$kmods"
    (cd "$ktmp/lib/modules/$kmods" &&
        cp -a --parents kernel/drivers/virtio kernel/drivers/char/hw_random/virtio-rng.ko \
            kernel/drivers/block/virtio_blk.ko kernel/fs/ext4 kernel/fs/jbd2 kernel/fs/mbcache.ko \
            kernel/lib/crc16.ko kernel/crypto/crc32c_generic.ko \
            modules.order modules.builtin "$itmp/lib/modules/$kmods/")
    (cd "$itmp" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/installer.img.tmp"

    # Room for the packages apt installs: about as much again as the .deb
    # files take (they go once installed).
    used_kib=$(du -skx "$tree" | cut -f1)
    size_mib=$(( used_kib * 2 / 1024 + 1024 + ${VM_DISK_FREE_MIB:-2048} ))
    mke2fs -q -F -t ext4 -L lab-vm -m 0 -E discard -d "$tree" "$out/root.img.tmp" "${size_mib}M" >>"$log" 2>&1 ||
        die "mke2fs failed (log: $log)"
    rm -rf "$tree"

    step="the installer"
    install_limit=${VM_INSTALL_TIMEOUT:-3600}
    say "installing the packages in an emulated $VM_ARCH machine (TCG; up to $install_limit s)"
    echo "---- the installer ($VM_QEMU) ----" >>"$log"
    "$VM_QEMU" -machine "$VM_MACHINE" -accel tcg,thread=multi -cpu "$VM_TCG_CPU" \
        -smp "${VM_CPUS:-2}" -m 2048 -nodefaults -no-reboot -display none \
        -kernel "$ktmp/boot/vmlinuz-$kmods" -initrd "$out/installer.img.tmp" \
        -append "console=$VM_CONSOLE panic=-1 quiet" \
        -drive "file=$out/root.img.tmp,format=raw,if=none,id=target,cache=unsafe,discard=unmap" \
        -device virtio-blk-pci,drive=target \
        -device virtio-rng-pci -serial "file:$out/install.log.tmp" &
    qpid=$!
    waited=0
    while kill -0 "$qpid" 2>/dev/null && [ "$waited" -lt "$install_limit" ]; do
        sleep 2
        waited=$((waited + 2))
    done
    if kill -0 "$qpid" 2>/dev/null; then
        kill -KILL "$qpid"
        step="the installer (killed after $install_limit s)"
    fi
    wait "$qpid" || true
    qpid=""
    tr -d '\r' <"$out/install.log.tmp" >>"$log"
    if ! tr -d '\r' <"$out/install.log.tmp" | grep -qx 'installer: status 0'; then
        tail -n 25 "$out/install.log.tmp" >&2
        die "$step failed (log: $log)"
    fi
    e2fsck -f -n "$out/root.img.tmp" >>"$log" 2>&1 || die "the installer left a damaged file system (log: $log)"
    t2=$(date +%s)
    # What the host needs from the image: the kernel and its initramfs, the
    # package list.
    kver=$(debugfs -R 'ls -p /boot' "$out/root.img.tmp" 2>/dev/null | awk -F/ '$6 ~ /^vmlinuz-/ { sub(/^vmlinuz-/, "", $6); print $6 }' | sort -V | tail -n 1)
    [ -n "$kver" ] || die "the image has no kernel in /boot (log: $log)"
    for f in "boot/vmlinuz-$kver vmlinuz" "boot/initrd.img-$kver initrd.img" \
        "etc/lab-vm-packages packages" "etc/debian_version debian_version"; do
        set -- $f
        debugfs -R "dump /$1 $out/$2.tmp" "$out/root.img.tmp" >/dev/null 2>&1
        [ -s "$out/$2.tmp" ] || die "the image has no /$1 (log: $log)"
    done
    used_kib=$(dumpe2fs -h "$out/root.img.tmp" 2>/dev/null |
        awk -F: '/^Block count/ { n = $2 } /^Free blocks/ { f = $2 } /^Block size/ { b = $2 } END { print int((n - f) * b / 1024) }')
fi
rm -f "$out/debs/lock" && rm -rf "$out/debs/partial"
t3=$(date +%s)

times="packages $((t1 - t0)) s"
[ "$VM_FOREIGN" = yes ] && times="download and unpack $((t1 - t0)) s, install in the guest $((t2 - t1)) s"
{
    echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) in $((t3 - t0)) s ($times, disk $((t3 - t2)) s)"
    echo "key $key"
    echo "arch $VM_ARCH (built on $VM_HOST_ARCH$([ "$VM_FOREIGN" = yes ] && echo ", installed in an emulated guest"))"
    echo "kernel $kver ($(awk '$1 == "linux-image-'"$kver"'" { print $2 }' "$out/packages.tmp"))"
    echo "debian $(cat "$out/debian_version.tmp")"
    echo "disk ${size_mib} MiB, $((used_kib / 1024)) MiB used"
    printf 'mirror %s\n' "${mirrors[@]}"
    echo "packages:"
    sed 's/^/  /' "$out/packages.tmp"
} >"$out/image.info.tmp"

for f in vmlinuz initrd.img root.img image.info; do
    mv -f "$out/$f.tmp" "$out/$f"
done
echo "$key" >"$out/image.key"
say "$VM_ARCH image built in $((t3 - t0)) s ($times, disk $((t3 - t2)) s): kernel $kver, $size_mib MiB disk"
