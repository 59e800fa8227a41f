#!/bin/bash
# laptop-files.sh DEST - the files beside the course images in DEST
# (build/vm/laptop), for the images there are (lab-amd64.qcow2,
# lab-arm64.qcow2):
#
#   lima.yaml    a Lima template: `limactl start --name=lab lima.yaml`
#   SHA256SUMS   the images' digests
#   README.txt   how to boot them (docs/laptops.md says more)
#
# The template finds the images in ~/lab-vm/ (where README.txt says to put
# them), or at VM_IMAGE_URL when the instructor serves them from a web
# server: Lima then downloads and caches them, checking their digests.
set -euo pipefail
dest=$1
cd "$dest"
images=$(ls lab-amd64.qcow2 lab-arm64.qcow2 2>/dev/null || true)
[ -n "$images" ] || { echo "laptop-files.sh: no lab-*.qcow2 in $dest" >&2; exit 1; }
base=${VM_IMAGE_URL:-"~/lab-vm"}
base=${base%/}

sha256sum $images >SHA256SUMS

{
    cat <<'EOF'
# Lima template for the container lab's course image (Debian 12, cgroup v2,
# the lab in ~/lab). Made by `make vm-image`; see docs/laptops.md.
#
#   limactl start --name=lab lima.yaml
#   limactl shell lab              then: cd ~/lab && sudo make test
#
# The images come from the lab's own build, not from a cloud: they boot by
# UEFI with GRUB, systemd and cloud-init, like Debian's cloud images.
minimumLimaVersion: "1.0.0"
# Tested with QEMU (vm/laptop-test.sh boots the image with Lima's QEMU
# command line). Apple's Virtualization.framework ("vz", Lima's default on
# macOS 13.5+) boots UEFI disks too, but was not tried.
vmType: "qemu"
images:
EOF
    for f in $images; do
        case "$f" in
        lab-amd64.qcow2) arch=x86_64 ;;
        lab-arm64.qcow2) arch=aarch64 ;;
        esac
        echo "- location: \"$base/$f\""
        echo "  arch: \"$arch\""
        echo "  digest: \"sha256:$(awk -v f="$f" '$2 == f { print $1 }' SHA256SUMS)\""
    done
    cat <<'EOF'
cpus: 2
memory: "3GiB"
disk: "20GiB"
# Nothing of the host is shared: the lab is in the image, and a container lab
# is best kept away from your files. (Add a mount here to share a directory.)
mounts: []
containerd:
  system: false
  user: false
message: |
  The container lab is ready:
    limactl shell lab
    cd ~/lab && make && sudo ./step-05 --hostname lab hostname
    sudo make test
EOF
} >lima.yaml

{
    echo "Container lab: course images (Debian 12, the lab in ~/lab)"
    echo
    for f in $images; do
        echo "  $f  $(du -m --apparent-size "$f" | cut -f1) MiB  ($(cat "${f%.qcow2}.version" 2>/dev/null | head -n 1))"
    done
    cat <<'EOF'

Put them in ~/lab-vm/ with lima.yaml, then:

  Lima (macOS, Linux):  limactl start --name=lab lima.yaml && limactl shell lab
  UTM (macOS):          new virtual machine, Emulate or Virtualize, Linux,
                        "Boot from drive", QEMU backend, UEFI; import the
                        qcow2 as its disk. Log in as lab, password lab.
  QEMU:                 see docs/laptops.md for the command line.

Then: cd ~/lab && sudo make test
EOF
} >README.txt
