#!/bin/sh
# customize.sh - the last step of building the course VM's root file system,
# run inside it (chroot) once every package is installed: by mmdebstrap on
# the build machine, or by the guest itself when it is built for another
# architecture (vm/installer/). See docs/course-vm.md.
set -eu

# The lab's place in the test VM; the VM's name.
mkdir -p /lab /usr/share/lab
grep -q '^127.0.1.1 lab-vm' /etc/hosts || echo "127.0.1.1 lab-vm" >>/etc/hosts

# The laptop image's own user, for a hypervisor that brings none (UTM, or
# any VM without a cloud-init seed): lab, password lab, sudo without one.
# ssh does not take passwords (vm/guest/etc/ssh/sshd_config.d/lab.conf);
# Lima logs in with its own user and key.
id lab >/dev/null 2>&1 ||
    useradd --create-home --shell /bin/bash --groups sudo --comment "Container lab" lab
echo lab:lab | chpasswd
echo 'lab ALL=(ALL) NOPASSWD:ALL' >/etc/sudoers.d/lab
chmod 0440 /etc/sudoers.d/lab

# DHCP on the first network card (vm/guest/etc/systemd/network/), names from
# systemd-resolved.
systemctl enable systemd-networkd.service systemd-resolved.service >/dev/null 2>&1

# Each machine made from the image gets its own identity at its first boot:
# the machine id (systemd) and the ssh host keys (cloud-init, or
# ssh.service's ssh-keygen -A).
rm -f /etc/ssh/ssh_host_*
: >/etc/machine-id
rm -f /var/lib/dbus/machine-id

# GRUB finds the kernel through these (Debian makes them on most systems,
# and a kernel upgrade keeps them current).
kver=$(cd /boot && ls vmlinuz-* | sed 's/^vmlinuz-//' | sort -V | tail -n 1)
[ -e /vmlinuz ] || ln -s "boot/vmlinuz-$kver" /vmlinuz
[ -e /initrd.img ] || ln -s "boot/initrd.img-$kver" /initrd.img

cat >/etc/motd <<'EOF'

Container lab course image (Debian 12). The lab is in ~/lab:

    cd ~/lab && make && sudo ./step-05 --hostname lab hostname
    sudo make test

Every step's TODO names its man pages: man 2 pivot_root.

EOF
