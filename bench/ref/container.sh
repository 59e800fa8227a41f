#!/bin/sh
# container.sh - the reference for steps 06-08: what a shell would run to get
# the same container as the step, with unshare(1), ip(8), a cgroup file write,
# mount(8) and chroot(8). bench/run.py times it beside the step.
#
#   container.sh [--net] [--cgroup DIR --cgroup-version 1|2] [--volume HOST]
#                FIFODIR ROOTFS
#
#   --netns     a network namespace with only lo, up (steps 06-08 without --net)
#   --net       a veth pair: vb<pid> on the host (10.201.255.1/30), eth0 in the
#               container (10.201.255.2/30, lo up, default route), as step 06;
#               deleted after the container exits, so that, as after a step,
#               no link of it is left when the script returns
#   --leave-veth  with --net: do not delete the pair; the kernel removes it
#               with the container's network namespace, in a worker, after
#               the script has returned (for comparison only)
#   --cgroup    a new group under the cpu controller's hierarchy DIR holding the
#               container, capped at 0.5 CPU (quota 50000 of period 100000 us),
#               as step 07 --cpus 0.5; removed after the container exits
#   --volume    HOST bind-mounted on /data in the container, as step 08 -v
#   FIFODIR     holds two named pipes, "ready" and "go" (made by run.py once):
#               the container says it exists, the host says its part is done;
#               the shell's equivalent of the steps' sync pipe
#
# The container is `unshare --pid --fork --mount-proc=ROOTFS/proc --uts
# [--net] sh -c '...; exec chroot ROOTFS /bin/true'`. Its addresses are
# outside the lab's pool (10.200.0.0/16) so that it never meets a lab veth.
# A container never sends a packet: nothing here does more than configure.
set -eu

net="" netns="" leave_veth="" cg_root="" cg_ver="" vol=""
while [ $# -gt 2 ]; do
    case $1 in
    --net) net=1 netns=1 ;;
    --netns) netns=1 ;;
    --leave-veth) leave_veth=1 ;;
    --cgroup) cg_root=$2; shift ;;
    --cgroup-version) cg_ver=$2; shift ;;
    --volume) vol=$2; shift ;;
    *) echo "container.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
[ $# -eq 2 ] || { echo "usage: container.sh [OPTIONS] FIFODIR ROOTFS" >&2; exit 2; }
dir=$1 root=$2

# What runs inside, in the new namespaces: wait for the host, then the
# container's side of the work, then chroot and the command.
nl='
'
inner="set -e${nl}echo ready >&4${nl}exec 4>&-${nl}read go <&3${nl}exec 3<&-"
if [ -n "$vol" ]; then
    inner="$inner${nl}mount --bind '$vol' '$root/data'"
fi
if [ -n "$netns" ] && [ -z "$net" ]; then
    inner="$inner${nl}ip link set lo up"
fi
if [ -n "$net" ]; then
    inner="$inner${nl}ip -batch - <<EOF
link set lo up
addr add 10.201.255.2/30 dev eth0
link set eth0 up
route add default via 10.201.255.1
EOF"
fi
inner="$inner${nl}exec chroot '$root' /bin/true"

set -- --pid --fork --mount-proc="$root/proc" --uts
[ -n "$netns" ] && set -- "$@" --net
unshare "$@" /bin/sh -c "$inner" 3<>"$dir/go" 4>"$dir/ready" &
upid=$!
cg=""

fail() {
    echo "container.sh: $*" >&2
    # Kill the container first (it is PID 1 of its namespace: everything in
    # it goes too), so that no stray reader is left on the "go" pipe.
    k=""
    read -r k _ <"/proc/$upid/task/$upid/children" 2>/dev/null || true
    [ -z "$k" ] || kill -9 "$k" 2>/dev/null || true
    kill -9 "$upid" 2>/dev/null || true
    wait "$upid" 2>/dev/null || true
    [ -z "$cg" ] || rmdir "$cg" 2>/dev/null || true
    exit 125
}

read -r ready <"$dir/ready" || fail "the container did not start"

if [ -n "$cg_root" ]; then
    # unshare forked the container before we could move unshare itself:
    # move its child, the container, as the step's parent does.
    # (the file has no newline at its end: read "fails" yet fills kid)
    kid=""
    read -r kid _ <"/proc/$upid/task/$upid/children" || [ -n "$kid" ] || fail "no container process"
    cg="$cg_root/bench-ref-$$"
    mkdir "$cg" || fail "mkdir $cg"
    if [ "$cg_ver" = 2 ]; then
        echo "50000 100000" >"$cg/cpu.max" || fail "write $cg/cpu.max"
    else
        echo 100000 >"$cg/cpu.cfs_period_us" || fail "write $cg/cpu.cfs_period_us"
        echo 50000 >"$cg/cpu.cfs_quota_us" || fail "write $cg/cpu.cfs_quota_us"
    fi
    echo "$kid" >"$cg/cgroup.procs" || fail "write $cg/cgroup.procs"
fi

if [ -n "$net" ]; then
    # unshare(1) unshared its own network namespace before it forked: its pid
    # names the container's namespace.
    ip -batch - <<EOF || fail "ip: veth"
link add vb$$ type veth peer name eth0 netns $upid
addr add 10.201.255.1/30 dev vb$$
link set vb$$ up
EOF
fi

echo go >"$dir/go"
status=0
wait "$upid" || status=$?

# The kernel removes the veth pair with the container's network namespace,
# but later, in a worker; a step deletes it before it returns, and so does
# this script (if the worker was faster, there is nothing left to delete).
if [ -n "$net" ] && [ -z "$leave_veth" ]; then
    ip link del "vb$$" 2>/dev/null || true
fi
# The cgroup is ours to remove (the kernel may still hold the exited task
# for a moment).
if [ -n "$cg" ]; then
    n=0
    until rmdir "$cg" 2>/dev/null; do
        n=$((n + 1))
        [ $n -lt 2000 ] || { echo "container.sh: rmdir $cg failed" >&2; exit 125; }
    done
fi
exit $status
