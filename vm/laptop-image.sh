#!/bin/bash
# laptop-image.sh VMDIR DEST - the course image students download, for the
# architecture VM_ARCH (amd64 or arm64), made from the course VM's root file
# system in VMDIR (build-image.sh) and written to DEST (build/vm/laptop):
#
#   lab-ARCH.qcow2   a disk a laptop's hypervisor boots by UEFI (Lima, UTM,
#                    QEMU, Parallels, ...): a GPT with an EFI system
#                    partition holding GRUB (a standalone EFI program, at the
#                    removable-media path EFI/BOOT/BOOT{X64,AA64}.EFI, so no
#                    boot entry is needed) and the root file system, in
#                    which /usr/share/lab/lab.tar.gz is this repository
#                    (or VM_LAB=DIR, e.g. the handout): each user finds it
#                    unpacked in ~/lab at the first login
#   lima.yaml        a Lima template naming the images there are, with
#                    their digests (locations: ~/lab-vm/, or VM_IMAGE_URL)
#   SHA256SUMS, README.txt
#
# The image boots systemd; cloud-init takes a user and a key from Lima's
# seed; without a seed the user is lab, password lab. See docs/laptops.md.
# No loop devices and no mounts: the partitions are built as files (mkfs.vfat
# and mtools for the EFI partition, debugfs to add the lab to a copy of the
# root file system) and copied into the disk file. The image is rebuilt only
# when the root file system, this script or the repository changed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=vm/arch.sh
. "$here/arch.sh"
vm_arch "${VM_ARCH:-}" || exit 1
vmdir=$1 dest=$2
die() { echo "make vm-image: $*" >&2; exit 1; }
say() { echo "make vm-image: $*" >&2; }

[ -f "$vmdir/root.img" ] && [ -f "$vmdir/image.key" ] ||
    die "no $VM_ARCH root file system in $vmdir: build it with sudo make vm-root ARCH=$VM_ARCH"
for t in debugfs sfdisk mkfs.vfat mcopy grub-mkstandalone qemu-img; do
    command -v "$t" >/dev/null || die "$t not found: run sudo make deps-vm-image ARCH=$VM_ARCH"
done
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
work=$dest/$VM_ARCH.tmp
image=$dest/lab-$VM_ARCH.qcow2
trap 'rm -rf "$work"' EXIT
rm -rf "$work"
mkdir -p "$work"

# ---- the lab, and the key ------------------------------------------------------

# The repository as its author has it: what git tracks, plus new files that
# are not ignored; no build outputs (as vm/snapshot.sh). Or, with VM_LAB=DIR,
# that directory: the student handout (make handout; VM_LAB=handout).
mkdir -p "$work/lab"
if [ -n "${VM_LAB:-}" ]; then
    [ -f "$VM_LAB/Makefile" ] || die "VM_LAB=$VM_LAB: no lab there (no Makefile)"
    tar -C "$VM_LAB" --exclude=./build --exclude=./rootfs/busybox --exclude='./step-[0-9][0-9]' -cf - . |
        tar -C "$work/lab" -xf -
    version="$(basename "$(cd "$VM_LAB" && pwd)") ($(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown))"
elif [ -d "$repo/.git" ] || [ -f "$repo/.git" ]; then
    git -C "$repo" ls-files -co --exclude-standard -z |
        (cd "$repo" && xargs -0 cp --parents -a -t "$work/lab" 2>/dev/null || true)
    version=$(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown)
else
    tar -C "$repo" --exclude=./build --exclude=./rootfs/busybox --exclude='./step-[0-9][0-9]' -cf - . |
        tar -C "$work/lab" -xf -
    version=unknown
fi
tar -C "$work/lab" --sort=name --owner=0 --group=0 --mtime=@0 -cf - . | gzip -n -9 >"$work/lab.tar.gz"
key=$( {
    cat "$vmdir/image.key"
    sha256sum "$here/laptop-image.sh" "$here/arch.sh" "$work/lab.tar.gz" | cut -d' ' -f1
} | sha256sum | cut -c1-16)
if [ -f "$image" ] && [ "$(cat "$dest/lab-$VM_ARCH.key" 2>/dev/null)" = "$key" ]; then
    say "$image is up to date"
    exit 0
fi
say "making the $VM_ARCH course image"
t0=$(date +%s)

# ---- the root file system: the course VM's, with the lab in it -------------------

cp --sparse=always "$vmdir/root.img" "$work/root.img"
printf '%s\n' "lab $version" "arch $VM_ARCH" "built $(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    "root $(cat "$vmdir/image.key")" >"$work/VERSION"
debugfs -w -f - "$work/root.img" >"$work/debugfs.log" 2>&1 <<EOF
write $work/lab.tar.gz /usr/share/lab/lab.tar.gz
write $work/VERSION /usr/share/lab/VERSION
EOF
for f in lab.tar.gz VERSION; do
    debugfs -R "stat /usr/share/lab/$f" "$work/root.img" 2>/dev/null | grep -q 'Mode: *0644' ||
        die "could not add /usr/share/lab/$f to the root file system (log: $work/debugfs.log)"
done

# ---- the boot loader -------------------------------------------------------------

# GRUB as one EFI program, its configuration inside: it finds the root file
# system by its label and boots Debian's kernel through the /vmlinuz and
# /initrd.img links, which a kernel upgrade in the guest keeps current. Its
# modules come from the image itself (grub-efi-ARCH-bin). The kernel's
# messages go to the screen, to a virtio console (Apple's Virtualization
# framework has no serial port) and to the serial port, the last one being
# /dev/console where there is one.
debugfs -R "rdump /usr/lib/grub/$VM_GRUB_PLATFORM $work" "$work/root.img" >/dev/null 2>&1
[ -f "$work/$VM_GRUB_PLATFORM/linux.mod" ] || die "the root file system has no /usr/lib/grub/$VM_GRUB_PLATFORM"
cat >"$work/grub.cfg" <<EOF
set timeout=1
search --no-floppy --label lab-vm --set=root
menuentry "Container lab (Debian 12, $VM_ARCH)" {
    linux /vmlinuz root=LABEL=lab-vm ro console=tty0 console=hvc0 console=$VM_CONSOLE
    initrd /initrd.img
}
EOF
grub-mkstandalone -O "$VM_GRUB_PLATFORM" -d "$work/$VM_GRUB_PLATFORM" \
    --modules="part_gpt ext2 search_label linux gzio normal echo" \
    --locales= --fonts= --themes= \
    -o "$work/$VM_EFI_NAME" "boot/grub/grub.cfg=$work/grub.cfg"

# The EFI system partition: FAT32, 64 MiB.
esp_mib=64
mkfs.vfat -C -F 32 -n LAB-EFI "$work/esp.img" $((esp_mib * 1024)) >/dev/null
mmd -i "$work/esp.img" ::/EFI ::/EFI/BOOT
mcopy -i "$work/esp.img" "$work/$VM_EFI_NAME" "::/EFI/BOOT/$VM_EFI_NAME"

# ---- the disk --------------------------------------------------------------------

# 1 MiB for the GPT, the EFI partition, the root partition, and the backup
# GPT at the end.
root_bytes=$(stat -c %s "$work/root.img")
root_mib=$(( (root_bytes + 1048575) / 1048576 ))
disk_mib=$((1 + esp_mib + root_mib + 1))
truncate -s "${disk_mib}M" "$work/disk.raw"
sfdisk --quiet "$work/disk.raw" <<EOF
label: gpt
start=1MiB, size=${esp_mib}MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI system"
start=$((1 + esp_mib))MiB, size=${root_mib}MiB, type=$VM_ROOT_GUID, name="lab-vm"
EOF
dd if="$work/esp.img" of="$work/disk.raw" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$work/root.img" of="$work/disk.raw" bs=1M seek=$((1 + esp_mib)) conv=notrunc,sparse status=none

# qcow2, compressed (zlib: what every qemu-img reads).
qemu-img convert -c -O qcow2 "$work/disk.raw" "$image.tmp"
mv -f "$image.tmp" "$image"
echo "$key" >"$dest/lab-$VM_ARCH.key"
cp "$work/VERSION" "$dest/lab-$VM_ARCH.version"
t1=$(date +%s)

# ---- what a laptop needs besides the disk -------------------------------------------

"$here/laptop-files.sh" "$dest"
size=$(du -m --apparent-size "$image" | cut -f1)
say "$image: $size MiB (a ${disk_mib} MiB disk), made in $((t1 - t0)) s; Lima template: $dest/lima.yaml"
