#!/bin/bash
# podman-fixture.sh setup ROOTFS_DIR | run ARGS... | teardown   -- a private podman 4.3 for tests.
# env: BASE (state dir), CG (cgroup parent name, default ocitest-podman)
# Writes only under $BASE and /sys/fs/cgroup/*/$CG. Uses file locks (no /dev/shm/libpod_lock),
# hides /var/lib during import (containers/image's blob-info cache is hard-coded to
# /var/lib/containers/cache for root), and always names the image fully
# (a short name writes /var/cache/containers/short-name-aliases.conf.lock).
set -eu
BASE=${BASE:?set BASE}; CG=${CG:-ocitest-podman}
IMG=localhost/lab-busybox:latest PAUSE_IMG=localhost/lab-pause:latest
export CONTAINERS_CONF=$BASE/containers.conf TMPDIR=$BASE/vartmp
PODMAN="podman --root $BASE/root --runroot $BASE/runroot --tmpdir $BASE/tmp
  --network-config-dir $BASE/net --volumepath $BASE/vol
  --cgroup-manager cgroupfs --events-backend file --storage-driver overlay"
case "$1" in
setup)
  mkdir -p "$BASE"/{tmp,vartmp,net,vol}
  cat > "$CONTAINERS_CONF" <<EOF
# CONTAINERS_CONF replaces all system files: repeat Debian's [containers] defaults
[containers]
default_capabilities = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL",
  "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"]
default_sysctls = ["net.ipv4.ping_group_range=0 0"]
# podman's defaults exceed this sandbox's hard limits (what `--ulimit` gives a run; kube play
# has no such option)
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
lock_type = "file"
tmp_dir = "$BASE/tmp"
volume_path = "$BASE/vol"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$BASE/tmp/events.log"
# A pod's infra container (kube play): the lab's rootfs with /bin/pause as its command,
# rather than podman's own pause image, which it builds from catatonit (not installed here)
infra_image = "$PAUSE_IMG"
# runtime_supports_json = ["crun", "runc", "step-17"]   # uncomment (per source, untested): podman then passes --log-format=json --log FILE
[network]
network_config_dir = "$BASE/net"
EOF
  rootfs=$2
  for image in "$IMG sh" "$PAUSE_IMG /bin/pause"; do set -- $image
    tar -C "$rootfs" -c . | unshare -m --propagation private sh -c \
      'mount -t tmpfs -o size=16m vl /var/lib && exec "$@"' sh \
      $PODMAN import --change "CMD [\"$2\"]" - "$1" > /dev/null
  done ;;
run)   # podman-fixture.sh run --runtime RT run --rm IMAGE-ARGS...  (adds the needed flags)
  shift; exec $PODMAN "$@" ;;
teardown)
  timeout 30 $PODMAN rm -a -f -t 0 > /dev/null 2>&1 || true
  for f in /sys/fs/cgroup/*/"$CG"/*/cgroup.procs; do   # what a broken runtime left running
    [ -f "$f" ] && for p in $(cat "$f"); do kill -KILL "$p" 2>/dev/null || true; done
  done
  # conmon and its exit command (podman container cleanup) finish asynchronously; they hold
  # the overlay driver's mount and the <CG>/conmon cgroup: wait until none of them is left
  for i in $(seq 1 100); do
    busy=; for p in /proc/[0-9]*; do
      case "$( { tr '\0' ' ' < $p/cmdline; } 2>/dev/null)" in *" $BASE/"*) busy=1; break ;; esac
    done
    [ -z "$busy" ] && break; sleep 0.1
  done
  grep -o " $BASE/[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m"; done
  for d in /sys/fs/cgroup/*/"$CG"; do [ -d "$d" ] || continue
    for s in "$d"/*/; do [ -d "$s" ] && rmdir "$s" 2>/dev/null || true; done
    rmdir "$d" 2>/dev/null || true
  done
  rm -rf "$BASE" ;;
*) echo "usage: $0 setup ROOTFS | run PODMAN-ARGS... | teardown" >&2; exit 2 ;;
esac
