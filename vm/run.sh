#!/bin/bash
# run.sh test|shell - boots the course VM built by build-image.sh
# (build/vm/ARCH), for the architecture VM_ARCH (amd64 or arm64; default this
# machine's).
#
#   test    copies a snapshot of this repository (what git tracks, plus new
#           files; no build outputs) onto a second disk, boots, and inside
#           runs `make -j2 test LAB_MATRIX=last` (or $VM_TEST_COMMAND) in
#           /lab: the build on both vCPUs, then every test on the last step,
#           whose code holds every step's blocks; prints the guest's test
#           summary, exits with its status
#   shell   boots to a root shell in /lab on this terminal, /lab being this
#           repository shared read-write over 9p (VM_SHARE=copy: a copy)
#
# KVM when /dev/kvm works and the guest is of this machine's architecture,
# software emulation (TCG) when not; which one is said. Under TCG every time
# limit of the harness is multiplied (LAB_TIMEOUT_SCALE, default 10, and 20
# for a guest of another architecture). A guest that has not booted within
# VM_BOOT_TIMEOUT seconds, or not finished within VM_TIMEOUT, is killed and
# reported; QEMU is never left running.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=vm/arch.sh
. "$here/arch.sh"
vm_arch "${VM_ARCH:-}" || exit 1
out=${VM_OUT:-$repo/build/vm/$VM_ARCH}
mode=${1:-}
die() { echo "make vm: $*" >&2; exit 1; }
say() { echo "make vm: $*" >&2; }

case "$mode" in test | shell) ;; *) die "usage: run.sh test|shell" ;; esac
command -v "$VM_QEMU" >/dev/null ||
    die "$VM_QEMU not found: install it with sudo make deps-vm ARCH=$VM_ARCH (Debian: $VM_QEMU_PKG)"
for f in vmlinuz initrd.img root.img; do
    [ -f "$out/$f" ] || die "no $VM_ARCH VM image in $out (missing $f): build it with sudo make vm ARCH=$VM_ARCH"
done

# ---- the accelerator ------------------------------------------------------------

vm_accel
accel=$VM_ACCEL
if [ "$accel" = kvm ]; then
    accel_args=(-accel kvm -cpu host)
    scale=${LAB_TIMEOUT_SCALE:-1}
    say "accelerator: KVM ($VM_ARCH)"
else
    accel_args=(-accel tcg,thread=multi -cpu "$VM_TCG_CPU")
    scale=${LAB_TIMEOUT_SCALE:-$VM_SCALE}
    say "accelerator: TCG, software emulation ($VM_ACCEL_WHY): slow; the harness's time limits x$scale"
fi

cpus=${VM_CPUS:-2}
mem=${VM_MEM:-3072}
cmdline="console=$VM_CONSOLE root=/dev/vda rw init=/usr/local/sbin/lab-init cgroup_no_v1=all"
cmdline+=" quiet loglevel=3 panic=-1 lab.mode=$mode lab.scale=$scale lab.accel=$accel"
qemu=("$VM_QEMU" "${accel_args[@]}" -machine "$VM_MACHINE" -smp "$cpus" -m "$mem"
    -nodefaults -no-reboot -display none
    -kernel "$out/vmlinuz" -initrd "$out/initrd.img"
    # The root disk in the first PCI slot, so that the guest names it vda
    # (disks are named in the order their slots are probed).
    -drive "file=$out/root.img,format=raw,if=none,id=root,snapshot=on"
    -device virtio-blk-pci,drive=root,addr=0x3
    -device virtio-rng-pci,addr=0x6)
# The status line for the host (lab-init writes it): the second serial port
# on x86-64; arm64's machine has only one, so a virtio console port there.
status_to() { # FILE, or "" for nowhere
    local chardev=null
    [ -n "$1" ] && chardev="file,path=$1"
    if [ "$VM_ARCH" = amd64 ]; then
        status_args=(-serial "${chardev/,path=/:}")
    else
        status_args=(-device virtio-serial-pci,addr=0x5 -chardev "$chardev,id=status"
            -device virtserialport,chardev=status,name=lab.status)
    fi
}

# ---- shell: this terminal is the console ------------------------------------

if [ "$mode" = shell ]; then
    share=${VM_SHARE:-9p}
    extra=()
    if [ "$share" = 9p ]; then
        extra=(-virtfs "local,path=$repo,mount_tag=lab,security_model=passthrough,id=lab")
    else
        share=copy
    fi
    rows=$(stty size 2>/dev/null | cut -d' ' -f1 || true)
    cols=$(stty size 2>/dev/null | cut -d' ' -f2 || true)
    cmdline+=" lab.share=$share lab.rows=${rows:-24} lab.cols=${cols:-80} lab.term=${TERM:-vt100}"
    say "booting; the shell starts in /lab (Ctrl-A x kills the VM)"
    if [ "$share" = copy ]; then
        "$here/snapshot.sh" "$repo" "$out/labtree.tar" "bash -l"
        extra+=(-drive "file=$out/labtree.tar,format=raw,if=none,id=labtree,readonly=on"
            -device virtio-blk-pci,drive=labtree,serial=labtree,addr=0x4)
    fi
    status_to ""
    exec "${qemu[@]}" "${extra[@]}" -append "$cmdline" -serial mon:stdio "${status_args[@]}"
fi

# ---- test: boot, run, report -----------------------------------------------------

"$here/snapshot.sh" "$repo" "$out/labtree.tar" "${VM_TEST_COMMAND:-make -j2 test LAB_MATRIX=last}"
console=$out/console.log status=$out/status.log
: >"$console"
: >"$status"
boot_limit=${VM_BOOT_TIMEOUT:-180}
limit=${VM_TIMEOUT:-3600}

status_to "$status"
"${qemu[@]}" -append "$cmdline lab.share=copy" \
    -drive "file=$out/labtree.tar,format=raw,if=none,id=labtree,readonly=on" \
    -device virtio-blk-pci,drive=labtree,serial=labtree,addr=0x4 \
    -serial "file:$console" "${status_args[@]}" &
qpid=$!
# Whatever happens to us, QEMU goes too.
stop_qemu() {
    if kill -0 "$qpid" 2>/dev/null; then
        kill -TERM "$qpid" 2>/dev/null || true
        sleep 1
        kill -KILL "$qpid" 2>/dev/null || true
    fi
    wait "$qpid" 2>/dev/null || true
}
trap stop_qemu EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

t0=$(date +%s)
booted=""
while kill -0 "$qpid" 2>/dev/null; do
    now=$(date +%s)
    if [ -z "$booted" ] && grep -q '^lab-vm: booted' "$status"; then
        booted=$((now - t0))
        say "$(grep -m1 '^lab-vm: booted' "$status" | sed 's/^lab-vm: //') (after ${booted} s); running the tests"
    fi
    if [ -z "$booted" ] && [ $((now - t0)) -ge "$boot_limit" ]; then
        stop_qemu
        tail -n 20 "$console" >&2
        die "the guest did not boot within $boot_limit s: killed (console: $console)"
    fi
    if [ $((now - t0)) -ge "$limit" ]; then
        stop_qemu
        tail -n 20 "$console" >&2
        die "the guest did not finish within $limit s: killed (console: $console)"
    fi
    grep -q '^lab-vm: exit ' "$status" && break
    sleep 1
done
stop_qemu
trap - EXIT

sed -n '/^lab-vm: summary-begin/,/^lab-vm: summary-end/p' "$status" |
    sed '1d;$d; s/^lab-vm: | /  /'
result=$(grep -m1 '^lab-vm: exit ' "$status" || true)
[ -n "$result" ] || { tail -n 20 "$console" >&2; die "the guest stopped without a result (console: $console)"; }
rc=$(echo "$result" | awk '{print $3}')
secs=$(echo "$result" | sed -n 's/.*seconds=//p')
# A failure shows why here: CI keeps this output, not the console.
if [ "$rc" != 0 ]; then
    awk '/^=* (FAILURES|ERRORS) =*/ { on = 1 } /^=* short test summary/ { on = 0 } on && n++ < 150' "$console" |
        sed 's/^/  | /' >&2 || true
fi
say "guest finished: exit status $rc, $secs s inside, $(( $(date +%s) - t0 )) s in all ($accel); console: $console"
exit "$rc"
