#!/bin/bash
# laptop-test.sh DEST - boots the course image DEST/lab-ARCH.qcow2
# (laptop-image.sh; ARCH is VM_ARCH) the way Lima boots an image on a
# laptop, and runs the lab's tests in it as a student would:
#
#   - QEMU's command line as Lima 1.x writes it: UEFI firmware as a read-only
#     pflash and nothing else (so the disk boots through the removable-media
#     path EFI/BOOT/), the image as the backing file of a 20 GiB qcow2, a
#     cloud-init seed (an ISO labelled cidata, on virtio-scsi) holding a user
#     with an ssh key and passwordless sudo, and user-mode networking with
#     ssh forwarded from a port of 127.0.0.1;
#   - then over ssh, in a login shell of that user (limactl shell): ~/lab is
#     there, the man pages are, and `sudo make test` passes;
#   - then powers the machine off;
#   - boots the image again without a seed, as UTM would, logs in on the
#     serial console as lab (password lab), and builds and runs step 05.
#
# KVM when it works, else TCG; under TCG the harness's time limits are
# stretched (LAB_TIMEOUT_SCALE) as in vm/run.sh. Bounded: VM_BOOT_TIMEOUT
# until ssh answers, VM_TIMEOUT for everything; QEMU never outlives this.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=vm/arch.sh
. "$here/arch.sh"
vm_arch "${VM_ARCH:-}" || exit 1
dest=$(cd "$1" && pwd)
image=$dest/lab-$VM_ARCH.qcow2
die() { echo "make vm-image-test: $*" >&2; exit 1; }
say() { echo "make vm-image-test: $*" >&2; }

[ -f "$image" ] || die "no $image: make it with sudo make vm-image ARCH=$VM_ARCH"
for t in "$VM_QEMU" qemu-img genisoimage ssh ssh-keygen; do
    command -v "$t" >/dev/null || die "$t not found: run sudo make deps-vm-image ARCH=$VM_ARCH"
done
[ -f "$VM_FIRMWARE" ] || die "no UEFI firmware $VM_FIRMWARE: run sudo make deps-vm-image ARCH=$VM_ARCH ($VM_FIRMWARE_PKG)"

work=$dest/test-$VM_ARCH
qpid=""
stop_qemu() {
    if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then
        kill -TERM "$qpid" 2>/dev/null || true
        sleep 1
        kill -KILL "$qpid" 2>/dev/null || true
    fi
    [ -z "$qpid" ] || wait "$qpid" 2>/dev/null || true
    qpid=""
}
trap 'stop_qemu; rm -f "$work/diffdisk.qcow2"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
rm -rf "$work"
mkdir -p "$work"

# ---- the seed, as Lima writes it -------------------------------------------------

user=student uid=501 home=/home/student.linux
mac=52:55:55:12:34:56
ssh-keygen -q -t ed25519 -N "" -C "lab vm-image-test" -f "$work/id"
cat >"$work/user-data" <<EOF
#cloud-config
growpart:
  mode: auto
  devices: ['/']
users:
  - name: "$user"
    uid: "$uid"
    homedir: "$home"
    shell: /bin/bash
    sudo: ALL=(ALL) NOPASSWD:ALL
    lock_passwd: true
    ssh-authorized-keys:
      - "$(cat "$work/id.pub")"
EOF
cat >"$work/meta-data" <<EOF
instance-id: lab-image-test
local-hostname: lima-lab
EOF
cat >"$work/network-config" <<EOF
version: 2
ethernets:
  eth0:
    match:
      macaddress: '$mac'
    dhcp4: true
    set-name: eth0
    dhcp-identifier: mac
EOF
genisoimage -quiet -output "$work/cidata.iso" -volid cidata -joliet -rock \
    "$work/user-data" "$work/meta-data" "$work/network-config"
qemu-img create -q -f qcow2 -F qcow2 -b "$image" "$work/diffdisk.qcow2" 20G

# ---- QEMU, as Lima runs it --------------------------------------------------------

vm_accel
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cpus=${VM_CPUS:-2}
mem=${VM_MEM:-3072}
if [ "$VM_ACCEL" = kvm ]; then
    cpu=host scale=${LAB_TIMEOUT_SCALE:-1}
    case "$VM_ARCH" in
    amd64) machine=(-machine q35,accel=kvm) ;;
    arm64) machine=(-machine virt,accel=kvm,highmem=off) ;;
    esac
    boot_limit=${VM_BOOT_TIMEOUT:-300}
    say "accelerator: KVM"
else
    # Lima's CPU types for software emulation.
    scale=${LAB_TIMEOUT_SCALE:-$VM_SCALE}
    case "$VM_ARCH" in
    amd64) cpu=qemu64 machine=(-machine q35,vmport=off -accel tcg,thread=multi,tb-size=512
        -global ICH9-LPC.disable_s3=1 -global ICH9-LPC.disable_s4=1) ;;
    arm64) cpu=cortex-a72 machine=(-machine virt,accel=tcg,highmem=off) ;;
    esac
    boot_limit=${VM_BOOT_TIMEOUT:-$((60 * VM_SCALE))}
    say "accelerator: TCG, software emulation ($VM_ACCEL_WHY): slow; the harness's time limits x$scale"
fi
limit=${VM_TIMEOUT:-5400}
boot() { # DISK SERIAL-ARGS... - starts QEMU as Lima does, in the background
    local disk=$1
    shift
    "$VM_QEMU" -m "$mem" -cpu "$cpu" "${machine[@]}" -smp "$cpus,sockets=1,cores=$cpus,threads=1" \
        -drive "if=pflash,format=raw,readonly=on,file=$VM_FIRMWARE" \
        -boot order=c,splash-time=0,menu=on \
        -drive "file=$disk,if=virtio,discard=on" \
        "${seed[@]}" \
        -netdev "user,id=net0,net=192.168.5.0/24,dhcpstart=192.168.5.15,hostfwd=tcp:127.0.0.1:$port-:22" \
        -device "virtio-net-pci,netdev=net0,mac=$mac" \
        -device virtio-rng-pci -display none -parallel none \
        "$@" -name lab-image-test >>"$work/qemu.log" 2>&1 &
}
seed=(-drive "id=cdrom0,if=none,format=raw,readonly=on,file=$work/cidata.iso"
    -device virtio-scsi-pci,id=scsi0 -device scsi-cd,bus=scsi0.0,drive=cdrom0)
serial=$work/serial.log
boot "$work/diffdisk.qcow2" -serial "file:$serial"
qpid=$!
t0=$(date +%s)
elapsed() { echo $(( $(date +%s) - t0 )); }

ssh_opts=(-q -i "$work/id" -p "$port" -o BatchMode=yes -o ConnectTimeout=20 -o ServerAliveInterval=30
    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR)
guest() { # COMMAND... - runs in a login shell of the user, as `limactl shell` does
    local cmd
    cmd=$(printf '%q ' "$@")
    ssh "${ssh_opts[@]}" "$user@127.0.0.1" "bash -lc $(printf '%q' "$cmd")"
}

say "booting $image (UEFI, cloud-init seed; ssh on 127.0.0.1:$port; up to $boot_limit s)"
until guest true </dev/null >/dev/null 2>&1; do
    kill -0 "$qpid" 2>/dev/null || { tail -n 30 "$serial" >&2; die "QEMU stopped before ssh answered (serial console: $serial)"; }
    if [ "$(elapsed)" -ge "$boot_limit" ]; then
        tail -n 30 "$serial" >&2
        die "ssh did not answer within $boot_limit s (serial console: $serial)"
    fi
    sleep 5
done
booted=$(elapsed)
say "ssh answers after $booted s"

# ---- what a student does ---------------------------------------------------------

guest sh -c 'cloud-init status --wait >/dev/null 2>&1; true' </dev/null
info=$(guest sh -c 'echo "$(uname -m) kernel $(uname -r), $(systemctl is-system-running), root $(findmnt -no SIZE /), cgroup $(stat -fc %T /sys/fs/cgroup): $(cat /sys/fs/cgroup/cgroup.controllers), user $(id -un) $(id -u), lab $(head -n 1 /usr/share/lab/VERSION)"' </dev/null)
say "guest: $info"
# The login shell unpacked the lab into ~/lab; the man pages the TODOs name.
guest test -f lab/Makefile </dev/null || die "no ~/lab/Makefile after the first login"
man=$(guest lab-man-check lab </dev/null) && man_rc=0 || man_rc=$?
say "guest: $man"

say "running sudo make test in ~/lab (LAB_TIMEOUT_SCALE=$scale)"
t1=$(date +%s)
set +e
timeout $((limit - $(elapsed))) ssh "${ssh_opts[@]}" "$user@127.0.0.1" \
    "bash -lc 'cd ~/lab && sudo LAB_TIMEOUT_SCALE=$scale make test'" </dev/null >"$work/test.log" 2>&1
rc=$?
set -e
t2=$(date +%s)
grep -E '^(FAILED|ERROR) |^=+ .*(passed|failed|error|skipped|deselected|no tests ran).* =+$|^Run Summary|^ +(tests|asserts) +[0-9]|^make(\[[0-9]+\])?: \*\*\*' \
    "$work/test.log" | tail -n 40 | sed 's/^/  /' || tail -n 15 "$work/test.log"

guest sudo poweroff </dev/null >/dev/null 2>&1 || true
for _ in $(seq 60); do kill -0 "$qpid" 2>/dev/null || break; sleep 1; done
stop_qemu
[ "$rc" = 0 ] && [ "$man_rc" != 0 ] && rc=1
say "with a seed (Lima): exit status $rc: boot to ssh $booted s, make test $((t2 - t1)) s, $(elapsed) s in all ($VM_ACCEL)"

# ---- without a seed: the console, as UTM shows it ---------------------------------

# A fresh disk from the image, no cloud-init seed: the image's own user at
# the serial console, DHCP from systemd-networkd, and the step a student
# runs first.
rm -f "$work/diffdisk.qcow2"
qemu-img create -q -f qcow2 -F qcow2 -b "$image" "$work/diffdisk.qcow2" 8G
seed=()
t3=$(date +%s)
say "booting $image again without a seed; logging in on the console as lab"
boot "$work/diffdisk.qcow2" -chardev "socket,id=con,path=$work/console.sock,server=on,wait=off,logfile=$work/console.log" \
    -serial chardev:con
qpid=$!
set +e
/usr/bin/python3 "$here/console-login.py" "$work/console.sock" lab lab "$boot_limit" \
    'test -f ~/lab/Makefile' 'sudo -n true' 'ip -4 route show default | grep -q dev' \
    "cd ~/lab && make -s && sudo ./step-05 -q --hostname lab-$VM_ARCH hostname" \
    >"$work/console-session.log" 2>&1
console_rc=$?
set -e
sed 's/^/  /' "$work/console-session.log"
grep -qx "lab-$VM_ARCH" "$work/console-session.log" || console_rc=1
printf 'sudo poweroff\r' | /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.stdin.buffer.read())' \
    "$work/console.sock" 2>/dev/null || true
for _ in $(seq 60); do kill -0 "$qpid" 2>/dev/null || break; sleep 1; done
stop_qemu
say "without a seed (UTM): exit status $console_rc, $(( $(date +%s) - t3 )) s"
[ "$rc" = 0 ] && [ "$console_rc" != 0 ] && rc=1
say "exit status $rc, $(elapsed) s in all ($VM_ACCEL); logs: $work"
exit "$rc"
