#!/bin/sh
# container.sh - the reference for steps 06-16: what a shell would run to get
# the same container as the step, with unshare(1), nsenter(1), ip(8), cgroup
# file writes, mount(8), setpriv(1) or bwrap(1), and chroot(8). bench/run.py
# times it beside the step.
#
#   container.sh [OPTIONS] FIFODIR ROOTFS
#
#   --netns     a network namespace with only lo, up (steps 06-16 without --net)
#   --net       a veth pair: vb<pid> on the host (10.201.255.1/30), eth0 in the
#               container (10.201.255.2/30, lo up, default route), as step 06;
#               deleted after the container exits, so that, as after a step,
#               no link of it is left when the script returns
#   --leave-veth  with --net: do not delete the pair; the kernel removes it
#               with the container's network namespace, in a worker, after
#               the script has returned (for comparison only)
#   --ipc       an IPC namespace, and a new mqueue on /dev/mqueue (step 09)
#   --cgroup DIR --cgroup-version 1|2
#               a new group under the cpu controller's hierarchy DIR holding the
#               container, capped at 0.5 CPU (quota 50000 of period 100000 us),
#               as step 07 --cpus 0.5
#   --memory-cgroup DIR --memory BYTES
#               a group under the memory controller's hierarchy (on v2 the same
#               group), limited to BYTES, and as much swap again, as step 10 -m
#   --pids-cgroup DIR --pids-limit N
#               the same under the pids controller's, at most N processes
#   --cgroupns  a cgroup namespace, and its view of the groups read-only on
#               /sys/fs/cgroup (step 10 on)
#   --volume HOST  HOST bind-mounted on /mnt in the container, as step 08 -v HOST:/mnt
#   --overlay   the container's root is an overlay: ROOTFS as the image layer,
#               an init layer (/etc/hostname, hosts, resolv.conf), a fresh
#               upper and work dir (step 11); made in FIFODIR/layers, and
#               removed at the end
#   --userns    a user namespace: uid and gid 0 inside are 100000 outside, 65536
#               of each (step 12); the host's /dev/null, zero, full, random,
#               urandom and tty bound into /dev, its own layers given to 100000
#   --masks     a read-only sysfs on /sys, and runc's masked and read-only paths
#               of /proc and /sys (step 13)
#   --caps      Docker's 14 capabilities and no_new_privs, with setpriv(1)
#               (step 13)
#   --seccomp FILE  the same with bwrap(1), which also loads the seccomp filter
#               in FILE (classic BPF, made by bench/seccomp.c) (step 14)
#   --init      the container's first process stays, and runs the command as
#               its child (step 15 --init)
#   --name NAME  a record FIFODIR/NAME, claimed with noclobber (O_EXCL) before
#               the start, the container's pid written to it, removed at the
#               end (step 15 --name)
#   --pod RECORD  join the user, network, IPC and UTS namespaces of a pod's
#               infra, whose pid the pod's RECORD holds (a line infra=PID),
#               with nsenter(1), instead of making them (step 16 --pod)
#   FIFODIR     holds two named pipes, "ready" and "go" (made by run.py once):
#               the container says it exists, the host says its part is done;
#               the shell's equivalent of the steps' sync pipe. The script
#               writes its fstab there too: like the pipes, one FIFODIR serves
#               one container at a time
#
# The container is `unshare --pid --fork --mount-proc=ROOTFS/proc --uts
# [--net] ... sh -c '...; exec chroot ROOTFS /bin/true'`. Its groups are
# joined before unshare runs (a subshell writes 0, itself, to each
# cgroup.procs), so that a cgroup namespace made by unshare has the
# container's group as its root. Every mount inside is one line of an fstab,
# mounted by one `mount --all`, as `ip -batch` makes the links in one exec.
# Its addresses are outside the lab's pool (10.200.0.0/16) so that it never
# meets a lab veth. A container never sends a packet: nothing here does more
# than configure.
set -eu

net="" netns="" leave_veth="" ipc="" cgns="" vol="" overlay="" userns="" masks="" caps=""
seccomp="" init="" name="" pod="" cg_ver="" cpu_cg="" mem_cg="" mem="" pids_cg="" pids=""
while [ $# -gt 2 ]; do
    case $1 in
    --net) net=1 netns=1 ;;
    --netns) netns=1 ;;
    --leave-veth) leave_veth=1 ;;
    --ipc) ipc=1 ;;
    --cgroup) cpu_cg=$2; shift ;;
    --cgroup-version) cg_ver=$2; shift ;;
    --memory-cgroup) mem_cg=$2; shift ;;
    --memory) mem=$2; shift ;;
    --pids-cgroup) pids_cg=$2; shift ;;
    --pids-limit) pids=$2; shift ;;
    --cgroupns) cgns=1 ;;
    --volume) vol=$2; shift ;;
    --overlay) overlay=1 ;;
    --userns) userns=1 ;;
    --masks) masks=1 ;;
    --caps) caps=1 ;;
    --seccomp) seccomp=$2; shift ;;
    --init) init=1 ;;
    --name) name=$2; shift ;;
    --pod) pod=$2; shift ;;
    *) echo "container.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
[ $# -eq 2 ] || { echo "usage: container.sh [OPTIONS] FIFODIR ROOTFS" >&2; exit 2; }
dir=$1 root=$2

upid="" groups="" remove=""
fail() {
    echo "container.sh: $*" >&2
    # Kill the container first (it is PID 1 of its namespace: everything in
    # it goes too), so that no stray reader is left on the "go" pipe.
    if [ -n "$upid" ]; then
        k=""
        read -r k _ <"/proc/$upid/task/$upid/children" 2>/dev/null || true
        [ -z "$k" ] || kill -9 "$k" 2>/dev/null || true
        kill -9 "$upid" 2>/dev/null || true
        wait "$upid" 2>/dev/null || true
    fi
    unmake || true
    exit 125
}
# The groups are ours to remove (the kernel may still hold the exited task
# for a moment); then the layers and the record.
unmake() {
    for g in $groups; do
        n=0
        until rmdir "$g" 2>/dev/null; do
            n=$((n + 1))
            [ $n -lt 2000 ] || { echo "container.sh: rmdir $g failed" >&2; return 1; }
        done
    done
    [ -z "$remove" ] || rm -rf $remove
}

# ---- on the host, before the container: the pod's infra, the container's
# groups, its layers, its record

enter=""
if [ -n "$pod" ]; then
    infra=""
    [ -r "$pod" ] || fail "no pod record $pod"
    while IFS== read -r k v; do
        [ "$k" != infra ] || infra=$v
    done <"$pod"
    [ -n "$infra" ] || fail "$pod: no infra"
    enter="nsenter --target $infra --user --net --ipc --uts --"
fi

# The container's group under the hierarchy $1 (made once: on v2 every
# controller shares one), in $g; on v2 the controller $2 enabled for it.
group() {
    if [ "$cg_ver" = 2 ]; then
        read -r ctl <"$1/cgroup.subtree_control" || true
        case " $ctl " in
        *" $2 "*) ;;
        *) echo "+$2" >"$1/cgroup.subtree_control" || fail "enable $2 in $1" ;;
        esac
    fi
    g="$1/bench-ref-$$"
    case " $groups " in *" $g "*) return ;; esac
    mkdir "$g" || fail "mkdir $g"
    groups="$groups $g"
}
put() { # FILE VALUE
    echo "$2" >"$1" || fail "write $1"
}
if [ -n "$cpu_cg" ]; then
    group "$cpu_cg" cpu
    if [ "$cg_ver" = 2 ]; then
        put "$g/cpu.max" "50000 100000"
    else
        put "$g/cpu.cfs_period_us" 100000
        put "$g/cpu.cfs_quota_us" 50000
    fi
fi
if [ -n "$mem_cg" ]; then
    group "$mem_cg" memory
    if [ "$cg_ver" = 2 ]; then
        put "$g/memory.max" "$mem"
        [ ! -e "$g/memory.swap.max" ] || put "$g/memory.swap.max" "$mem"
    else
        put "$g/memory.limit_in_bytes" "$mem"
        f="$g/memory.memsw.limit_in_bytes"
        [ ! -e "$f" ] || put "$f" $((2 * mem))
    fi
fi
if [ -n "$pids_cg" ]; then
    group "$pids_cg" pids
    put "$g/pids.max" "$pids"
fi

if [ -n "$name" ]; then
    rec="$dir/$name"
    set -C
    true >"$rec" || fail "$name: in use"
    set +C
    remove="$remove $rec"
fi

# The mounts the container makes, in order, as fstab lines.
fstab=""
mnt() {
    fstab="$fstab$*
"
}
if [ -n "$overlay" ]; then
    s="$dir/layers"
    remove="$remove $s"
    mkdir "$s" "$s/upper" "$s/work" "$s/init" "$s/init/etc" "$s/merged" || fail "mkdir $s"
    echo "ref$$" >"$s/init/etc/hostname"
    printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n127.0.1.1\tref%s\n' $$ \
        >"$s/init/etc/hosts"
    echo "# no name server" >"$s/init/etc/resolv.conf"
    opts="lowerdir=$s/init:$root,upperdir=$s/upper,workdir=$s/work"
    if [ -n "$userns" ]; then
        chown -R 100000:100000 "$s/upper" "$s/work" "$s/init" "$s/merged" || fail "chown $s"
        opts="$opts,userxattr"
    fi
    mnt overlay "$s/merged" overlay "$opts"
    root="$s/merged"
fi
[ -z "$vol" ] || mnt "$vol" "$root/mnt" none bind
if [ -n "$userns" ]; then
    for d in null zero full random urandom tty; do
        mnt "/dev/$d" "$root/dev/$d" none bind
    done
fi
# unshare mounts the proc, unless the root is made inside (an overlay).
[ -z "$overlay" ] || mnt proc "$root/proc" proc nosuid,nodev,noexec
[ -z "$masks" ] || mnt sysfs "$root/sys" sysfs ro,nosuid,nodev,noexec
[ -z "$ipc" ] || mnt mqueue "$root/dev/mqueue" mqueue nosuid,nodev,noexec
if [ -n "$cgns" ] && [ "$cg_ver" = 2 ]; then
    mnt cgroup2 "$root/sys/fs/cgroup" cgroup2 ro,nosuid,nodev,noexec
elif [ -n "$cgns" ]; then
    # a tmpfs with a directory for each of the container's hierarchies,
    # then read-only (a second source name, or mount -a would skip it)
    mnt cgview "$root/sys/fs/cgroup" tmpfs nosuid,nodev,noexec,mode=755
    for h in $cpu_cg $mem_cg $pids_cg; do
        h=${h##*/}
        mnt cgroup "$root/sys/fs/cgroup/$h" cgroup "ro,nosuid,nodev,noexec,$h,X-mount.mkdir"
    done
    mnt cgview-ro "$root/sys/fs/cgroup" tmpfs remount,ro,nosuid,nodev,noexec
fi
if [ -n "$masks" ]; then
    for p in /proc/asound /proc/acpi /proc/kcore /proc/keys /proc/latency_stats \
        /proc/timer_list /proc/timer_stats /proc/sched_debug /proc/scsi /sys/firmware \
        /sys/devices/virtual/powercap; do
        if [ -d "$p" ]; then
            mnt tmpfs "$root$p" tmpfs ro,size=0
        elif [ -e "$p" ]; then
            mnt /dev/null "$root$p" none bind
        fi
    done
    for p in /proc/bus /proc/fs /proc/irq /proc/sys /proc/sysrq-trigger; do
        [ ! -e "$p" ] || mnt "$root$p" "$root$p" none rbind,ro,nosuid,nodev,noexec
    done
fi
[ -z "$fstab" ] || printf '%s' "$fstab" >"$dir/fstab"

# ---- the container: what runs inside, in the new namespaces: wait for the
# host, then the container's side of the work, then chroot and the command.
nl='
'
inner="set -e${nl}echo ready >&4${nl}exec 4>&-${nl}read go <&3${nl}exec 3<&-"
[ -z "$fstab" ] || inner="$inner${nl}mount --all --fstab '$dir/fstab'"
if [ -n "$netns" ] && [ -z "$net" ] && [ -z "$pod" ]; then
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
run="chroot '$root' /bin/true"
# Docker's capabilities, as setpriv's bounding set and bwrap's options
bset="-all" bcaps=""
for c in CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW \
    SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP; do
    bset="$bset,+$c" bcaps="$bcaps --cap-add CAP_$c"
done
if [ -n "$seccomp" ]; then
    # bwrap: its own mount namespace with ROOTFS as /, instead of chroot
    run="bwrap --dev-bind '$root' / --cap-drop ALL$bcaps --seccomp 5 /bin/true 5<'$seccomp'"
elif [ -n "$caps" ]; then
    run="setpriv --bounding-set=$bset --inh-caps=-all --no-new-privs $run"
fi
if [ -n "$init" ]; then
    inner="$inner${nl}$run"
else
    inner="$inner${nl}exec $run"
fi

set -- --pid --fork
if [ -n "$overlay" ]; then
    set -- "$@" --mount
else
    set -- "$@" --mount-proc="$root/proc"
fi
[ -n "$pod" ] || set -- "$@" --uts
[ -z "$netns" ] || [ -n "$pod" ] || set -- "$@" --net
[ -z "$ipc" ] || [ -n "$pod" ] || set -- "$@" --ipc
[ -z "$cgns" ] || set -- "$@" --cgroup
if [ -n "$userns" ] && [ -z "$pod" ]; then
    # unshare writes the maps with newuidmap(1) and newgidmap(1), which take
    # only the ranges /etc/subuid gives the caller: bench/ref/idmap has two
    # that write them as the step's parent does (root may).
    case $0 in */*) PATH="${0%/*}/idmap:$PATH" ;; *) PATH="idmap:$PATH" ;; esac
    set -- "$@" --user --map-users=100000,0,65536 --map-groups=100000,0,65536 --setuid 0 --setgid 0
fi
(
    for g in $groups; do echo 0 >"$g/cgroup.procs"; done
    exec $enter unshare "$@" /bin/sh -c "$inner"
) 3<>"$dir/go" 4>"$dir/ready" &
upid=$!

read -r ready <"$dir/ready" || fail "the container did not start"

if [ -n "$name" ]; then
    # (the file has no newline at its end: read "fails" yet fills kid)
    kid=""
    read -r kid _ <"/proc/$upid/task/$upid/children" || [ -n "$kid" ] || fail "no container process"
    echo "pid=$kid" >|"$rec"
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
unmake || exit 125
exit $status
