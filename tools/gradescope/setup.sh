#!/bin/bash
# setup.sh - Gradescope runs this once, as root, when it builds the
# autograder's image (with the network): what grading needs, on the
# container's kernel or in the course VM.
#
# AUTOGRADER=DIR runs it elsewhere than /autograder (the lab's own test).
set -euo pipefail
src=${AUTOGRADER:-/autograder}/source
apt-get update
# The lab's own packages (make deps), and QEMU for the course VM.
make -C "$src/lab" deps
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends qemu-system-x86 util-linux gzip
# The course VM's disk, unpacked once, sparse.
gzip -dc "$src/vm/root.img.gz" >"$src/vm/root.img"
fallocate --dig-holes "$src/vm/root.img" || true
rm -f "$src/vm/root.img.gz"
