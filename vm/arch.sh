#!/bin/bash
# arch.sh ARCH - what differs between the course VM's two architectures.
#
#   vm/arch.sh arm64           prints the normalised name (amd64 or arm64),
#                              or says in one line that ARCH is not one
#   . vm/arch.sh; vm_arch ARCH sets the variables below (returns 1 when ARCH
#                              is not one), for the other scripts in vm/
#
# ARCH is a Debian architecture name (amd64, arm64) or the kernel's (x86_64,
# aarch64); empty means this machine's.

vm_host_arch() {
    local a
    a=$(dpkg --print-architecture 2>/dev/null || uname -m)
    vm_arch_name "$a" || echo "$a"
}

vm_arch_name() {
    case "$1" in
    amd64 | x86_64 | x86-64) echo amd64 ;;
    arm64 | aarch64) echo arm64 ;;
    *) return 1 ;;
    esac
}

vm_arch() {
    local want=${1:-$(vm_host_arch)}
    VM_ARCH=$(vm_arch_name "$want") || {
        echo "make vm: ARCH=$want: the course VM is built for amd64 (x86_64) or arm64 (aarch64)" >&2
        return 1
    }
    VM_HOST_ARCH=$(vm_host_arch)
    # Foreign: the guest's programs cannot run on this machine, so the
    # packages are configured inside the emulated guest (build-image.sh).
    VM_FOREIGN=no
    [ "$VM_ARCH" = "$VM_HOST_ARCH" ] || VM_FOREIGN=yes
    case "$VM_ARCH" in
    amd64)
        VM_QEMU=qemu-system-x86_64
        VM_QEMU_PKG=qemu-system-x86
        VM_MACHINE=q35
        # TCG: every feature; the guest kernel picks what it uses.
        VM_TCG_CPU=max
        VM_CONSOLE=ttyS0
        VM_LIMA_ARCH=x86_64
        VM_EFI_NAME=BOOTX64.EFI
        VM_GRUB_PLATFORM=x86_64-efi
        VM_FIRMWARE=/usr/share/OVMF/OVMF_CODE.fd
        VM_FIRMWARE_PKG=ovmf
        # The GPT type of a root partition (Discoverable Partitions Specification).
        VM_ROOT_GUID=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709
        ;;
    arm64)
        VM_QEMU=qemu-system-aarch64
        VM_QEMU_PKG=qemu-system-arm
        VM_MACHINE=virt
        # TCG: every feature but pointer authentication, whose emulation
        # makes the guest about three times slower (measured: the installer
        # boots in 10.4 s with max, 2.3 s with max,pauth=off).
        VM_TCG_CPU=max,pauth=off
        VM_CONSOLE=ttyAMA0
        VM_LIMA_ARCH=aarch64
        VM_EFI_NAME=BOOTAA64.EFI
        VM_GRUB_PLATFORM=arm64-efi
        VM_FIRMWARE=/usr/share/AAVMF/AAVMF_CODE.fd
        VM_FIRMWARE_PKG=qemu-efi-aarch64
        VM_ROOT_GUID=B921B045-1DF0-41C3-AF44-4C6F280D3FAE
        ;;
    esac
    return 0
}

# vm_accel: VM_ACCEL=kvm when QEMU can run this machine's guests with KVM,
# else VM_ACCEL=tcg (software emulation), VM_ACCEL_WHY saying why. KVM works
# if QEMU can start the machine, vCPU and all (on some hosts /dev/kvm opens
# but setting up a vCPU fails): still running after three seconds, paused,
# means it works. Needs vm_arch first.
vm_accel() {
    local probe
    VM_ACCEL=tcg VM_ACCEL_WHY="no /dev/kvm"
    if [ "$VM_FOREIGN" = yes ]; then
        VM_ACCEL_WHY="an $VM_ARCH guest on an $VM_HOST_ARCH machine"
    elif [ -e /dev/kvm ]; then
        VM_ACCEL_WHY="/dev/kvm is there but cannot run this machine"
        if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
            probe=$( { timeout 3 "$VM_QEMU" -accel kvm -machine "$VM_MACHINE" -cpu host -nodefaults \
                -display none -S -monitor none -serial none >/dev/null 2>&1; echo $?; } 2>/dev/null) || true
            [ "$probe" = 124 ] && VM_ACCEL=kvm VM_ACCEL_WHY=""
        fi
    fi
    # The harness's time limits under TCG: x10, and emulating another
    # instruction set costs about twice as much again.
    VM_SCALE=1
    [ "$VM_ACCEL" = tcg ] && VM_SCALE=10
    [ "$VM_ACCEL" = tcg ] && [ "$VM_FOREIGN" = yes ] && VM_SCALE=20
    return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    vm_arch "${1:-}" || exit 1
    echo "$VM_ARCH"
fi
