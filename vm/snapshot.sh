#!/bin/bash
# snapshot.sh REPO TAR COMMAND - the disk the course VM finds its work on: a
# tar archive of the repository as the author has it (what git tracks, plus
# new files that are not ignored; no build outputs) under lab/, and the
# command to run there in lab-vm/command. The guest reads it straight from
# the block device.
set -euo pipefail
repo=$1 tar=$2 command=$3

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/lab" "$stage/lab-vm"
printf '%s\n' "$command" >"$stage/lab-vm/command"
if [ -d "$repo/.git" ]; then
    git -C "$repo" ls-files -co --exclude-standard -z |
        (cd "$repo" && xargs -0 cp --parents -a -t "$stage/lab" 2>/dev/null || true)
else
    tar -C "$repo" --exclude=./build --exclude=./rootfs/busybox --exclude='./step-[0-9][0-9]' -cf - . |
        tar -C "$stage/lab" -xf -
fi
tar -C "$stage" --owner=0 --group=0 -cf "$tar.tmp" lab lab-vm
mv "$tar.tmp" "$tar"
