#!/bin/bash
# prepare.sh TREE - mmdebstrap's extract hook of a foreign-architecture build
# (build-image.sh), on the build machine. mmdebstrap has downloaded the
# Essential set (and apt) and unpacked it into TREE without running anything;
# this downloads the rest into TREE's apt cache and leaves in
# TREE/lab-vm-build what the installer in the guest needs:
#
#   essential   the .deb files of the Essential set, for dpkg --install
#   packages    the packages to install with apt (LAB_VM_PACKAGES)
#   kernel, busybox   the .deb files the installer's initramfs is made from
#   install.sh, customize.sh
#
# and copies vm/guest/ over TREE, as the native build does.
set -euo pipefail
tree=$1
here=$(cd "$(dirname "$0")" && pwd)
export APT_CONFIG=$MMDEBSTRAP_APT_CONFIG
archives=$tree/var/cache/apt/archives

# The .deb files apt would install for these packages, as apt names them in
# its cache: NAME_VERSION_ARCH.deb, the epoch's colon written %3a.
debs() {
    apt-get --simulate --quiet install "$@" | sed -n -f "$here/inst-debs.sed"
}

mkdir -p "$tree/lab-vm-build"
debs '?essential' apt usr-is-merged >"$tree/lab-vm-build/essential"
echo "$LAB_VM_PACKAGES" >"$tree/lab-vm-build/packages"
# shellcheck disable=SC2086
apt-get install --download-only --yes --quiet $LAB_VM_PACKAGES >/dev/null
# shellcheck disable=SC2086
all=$(debs $LAB_VM_PACKAGES)
grep -m1 '^linux-image-[0-9]' <<<"$all" >"$tree/lab-vm-build/kernel"
grep -m1 '^busybox-static_' <<<"$all" >"$tree/lab-vm-build/busybox"
for f in $(cat "$tree/lab-vm-build/essential" "$tree/lab-vm-build/kernel" "$tree/lab-vm-build/busybox"); do
    [ -f "$archives/$f" ] || { echo "prepare.sh: $f is not in the apt cache" >&2; exit 1; }
done

cp "$here/install.sh" "$here/../customize.sh" "$tree/lab-vm-build/"
cp -r --preserve=mode "$here/../guest/." "$tree/"
