// runtimetest runs inside a container as its program, reads the
// config.json it was made from (copied to the container's /config.json)
// and checks that the runtime applied it, one TAP line per check. It is
// the lab's own, written for make check-oci: runtime-tools' runtimetest,
// which plays this part upstream, is not in Debian's package of
// runtime-tools (its validate and generate libraries are).
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
)

var n, failed int

func report(ok bool, what string, detail string) {
	n++
	if ok {
		fmt.Printf("ok %d - %s\n", n, what)
		return
	}
	failed++
	fmt.Printf("not ok %d - %s # %s\n", n, what, detail)
}

// The capability names of the kernel's numbering (capability.h).
var capNames = []string{"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL",
	"SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST",
	"NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT",
	"SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME",
	"SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
	"MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ",
	"PERFMON", "BPF", "CHECKPOINT_RESTORE"}

func capMask(names []string) uint64 {
	var m uint64
	for _, name := range names {
		for i, c := range capNames {
			if "CAP_"+c == name {
				m |= 1 << uint(i)
			}
		}
	}
	return m
}

func status() map[string]string {
	out := map[string]string{}
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return out
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), ":"); ok {
			out[k] = strings.TrimSpace(v)
		}
	}
	return out
}

// The mount points, and each one's options, from /proc/self/mountinfo.
func mounts() map[string]string {
	out := map[string]string{}
	data, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 5 {
			out[f[4]] = f[5]
		}
	}
	return out
}

var rlimitTypes = map[string]int{"RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2,
	"RLIMIT_STACK": 3, "RLIMIT_CORE": 4, "RLIMIT_RSS": 5, "RLIMIT_NPROC": 6,
	"RLIMIT_NOFILE": 7, "RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9, "RLIMIT_LOCKS": 10,
	"RLIMIT_SIGPENDING": 11, "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13, "RLIMIT_RTPRIO": 14,
	"RLIMIT_RTTIME": 15}

func checkProcess(spec *rspec.Spec) {
	p := spec.Process
	if spec.Hostname != "" {
		h, _ := os.Hostname()
		report(h == spec.Hostname, "hostname", fmt.Sprintf("%q, not %q", h, spec.Hostname))
	}
	wd, _ := os.Getwd()
	report(wd == p.Cwd, "process.cwd", fmt.Sprintf("%q, not %q", wd, p.Cwd))
	for _, e := range p.Env {
		k, v, _ := strings.Cut(e, "=")
		report(os.Getenv(k) == v, "process.env "+k, fmt.Sprintf("%q", os.Getenv(k)))
	}
	report(uint32(os.Getuid()) == p.User.UID, "process.user.uid", strconv.Itoa(os.Getuid()))
	report(uint32(os.Getgid()) == p.User.GID, "process.user.gid", strconv.Itoa(os.Getgid()))
	groups, _ := os.Getgroups()
	for _, g := range p.User.AdditionalGids {
		found := false
		for _, have := range groups {
			found = found || uint32(have) == g
		}
		report(found, fmt.Sprintf("process.user.additionalGids %d", g), fmt.Sprint(groups))
	}
	if p.User.Umask != nil {
		old := syscall.Umask(0)
		syscall.Umask(old)
		report(uint32(old) == *p.User.Umask, "process.user.umask", fmt.Sprintf("%o", old))
	}
	for _, r := range p.Rlimits {
		var got syscall.Rlimit
		err := syscall.Getrlimit(rlimitTypes[r.Type], &got)
		report(err == nil && got.Cur == r.Soft && got.Max == r.Hard, "process.rlimits "+r.Type,
			fmt.Sprintf("soft %d hard %d", got.Cur, got.Max))
	}
	st := status()
	nnp := st["NoNewPrivs"] == "1"
	report(nnp == p.NoNewPrivileges, "process.noNewPrivileges", "NoNewPrivs "+st["NoNewPrivs"])
	if c := p.Capabilities; c != nil {
		sets := []struct {
			field string
			names []string
		}{{"CapBnd", c.Bounding}, {"CapEff", c.Effective}, {"CapPrm", c.Permitted},
			{"CapInh", c.Inheritable}, {"CapAmb", c.Ambient}}
		// Past execve, a process that is not root keeps only its ambient
		// capabilities (which must be inheritable and permitted too).
		kept := capMask(c.Ambient) & capMask(c.Inheritable) & capMask(c.Permitted)
		for i, s := range sets {
			have, _ := strconv.ParseUint(st[s.field], 16, 64)
			want := capMask(s.names)
			if os.Getuid() != 0 && (i == 1 || i == 2) {
				want = kept
			}
			report(have == want, "process.capabilities "+s.field,
				fmt.Sprintf("%x, not %x", have, want))
		}
	}
	if p.OOMScoreAdj != nil {
		data, _ := os.ReadFile("/proc/self/oom_score_adj")
		got := strings.TrimSpace(string(data))
		report(got == strconv.Itoa(*p.OOMScoreAdj), "process.oomScoreAdj", got)
	}
}

func checkFilesystems(spec *rspec.Spec) {
	f, err := os.Create("/.runtimetest-write")
	if err == nil {
		f.Close()
		os.Remove("/.runtimetest-write")
	}
	if spec.Root.Readonly {
		report(errors.Is(err, syscall.EROFS), "root.readonly", fmt.Sprint(err))
	} else if os.Getuid() == 0 { // the rootfs's / is root's
		report(err == nil, "root writable", fmt.Sprint(err))
	}
	have := mounts()
	for _, m := range spec.Mounts {
		_, ok := have[filepath.Clean(m.Destination)]
		report(ok, "mounts "+m.Destination, "not a mount point")
	}
	for _, path := range spec.Linux.MaskedPaths {
		info, err := os.Stat(path)
		if err != nil {
			continue // not on this kernel: nothing to mask
		}
		if info.IsDir() {
			entries, _ := os.ReadDir(path)
			report(len(entries) == 0, "linux.maskedPaths "+path, "lists entries")
		} else {
			data, _ := os.ReadFile(path)
			report(len(data) == 0, "linux.maskedPaths "+path, "reads bytes")
		}
	}
	for _, path := range spec.Linux.ReadonlyPaths {
		if _, err := os.Stat(path); err != nil {
			continue
		}
		opts, ok := have[path]
		report(ok && strings.HasPrefix(opts, "ro"), "linux.readonlyPaths "+path, opts)
	}
	for key, value := range spec.Linux.Sysctl {
		data, _ := os.ReadFile("/proc/sys/" + strings.ReplaceAll(key, ".", "/"))
		got := strings.TrimSpace(string(data))
		report(got == value, "linux.sysctl "+key, got)
	}
	for _, dev := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		info, err := os.Stat("/dev/" + dev)
		report(err == nil && info.Mode()&os.ModeCharDevice != 0, "default device /dev/"+dev,
			fmt.Sprint(err))
	}
	for link, target := range map[string]string{"/dev/fd": "/proc/self/fd",
		"/dev/stdin": "/proc/self/fd/0", "/dev/stdout": "/proc/self/fd/1",
		"/dev/stderr": "/proc/self/fd/2"} {
		got, _ := os.Readlink(link)
		report(got == target, "default link "+link, got)
	}
}

func main() {
	data, err := os.ReadFile("/config.json")
	var spec rspec.Spec
	if err == nil {
		err = json.Unmarshal(data, &spec)
	}
	if err != nil || spec.Process == nil || spec.Root == nil || spec.Linux == nil {
		fmt.Printf("Bail out! /config.json: %v\n", err)
		os.Exit(2)
	}
	checkProcess(&spec)
	checkFilesystems(&spec)
	fmt.Printf("1..%d\n", n)
	if failed > 0 {
		os.Exit(1)
	}
}
