// oci-validate drives OCI runtimes through the runtime-spec's lifecycle and
// configs (make check-oci) and prints, for each program, how many of its
// assertions each runtime passed:
//
//	oci-validate -rootfs DIR -runtimetest BIN -work DIR NAME=RUNTIME...
//
// The configs are made by runtime-tools' generate package, as its
// validation programs make theirs; the checks inside a container are the
// lab's runtimetest (tools/oci-validate/runtimetest). Debian packages
// runtime-tools' libraries (golang-github-opencontainers-runtime-tools-dev)
// but not its validation programs, so these are the lab's own, written
// after runtime.md and config.md.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	multierror "github.com/hashicorp/go-multierror"
	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-tools/generate"
	"github.com/opencontainers/runtime-tools/validate"
)

var (
	rootfs      = flag.String("rootfs", "", "the rootfs each bundle copies")
	runtimetest = flag.String("runtimetest", "", "the static runtimetest binary")
	work        = flag.String("work", "", "a directory for the bundles and states")
)

type runtime struct {
	name, path, root string
}

// One program's result: its assertions, and those that failed.
type result struct {
	total  int
	failed []string
}

func (r *result) check(ok bool, what string) bool {
	r.total++
	if !ok {
		r.failed = append(r.failed, what)
	}
	return ok
}

func (rt *runtime) cmd(args ...string) *exec.Cmd {
	return exec.Command(rt.path, append([]string{"--root", rt.root}, args...)...)
}

// A command's output goes to a file: the process create leaves behind
// keeps create's stdout and stderr, and a pipe would never see its end.
func (rt *runtime) run(args ...string) (string, error) {
	f, err := os.CreateTemp(*work, "out-")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	c := rt.cmd(args...)
	c.Stdout, c.Stderr = f, f
	err = c.Run()
	out, _ := os.ReadFile(f.Name())
	return string(out), err
}

func (rt *runtime) state(id string) (rspec.State, error) {
	var st rspec.State
	out, err := rt.cmd("state", id).Output()
	if err == nil {
		err = json.Unmarshal(out, &st)
	}
	return st, err
}

func (rt *runtime) waitStatus(id string, status rspec.ContainerState) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if st, err := rt.state(id); err == nil && st.Status == status {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

var serial int

// A bundle: a copy of the rootfs with runtimetest in it, and g's config.
func bundle(g *generate.Generator) (string, string, error) {
	serial++
	dir := filepath.Join(*work, fmt.Sprintf("bundle-%d", serial))
	id := fmt.Sprintf("ocival-%d-%d", os.Getpid(), serial)
	if err := os.MkdirAll(dir, 0755); err != nil {
		return "", "", err
	}
	if out, err := exec.Command("cp", "-a", *rootfs, filepath.Join(dir, "rootfs")).CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("cp: %v: %s", err, out)
	}
	if out, err := exec.Command("cp", *runtimetest, filepath.Join(dir, "rootfs", "runtimetest")).CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("cp: %v: %s", err, out)
	}
	opts := generate.ExportOptions{}
	for _, path := range []string{filepath.Join(dir, "config.json"), filepath.Join(dir, "rootfs", "config.json")} {
		if err := g.SaveToFile(path, opts); err != nil {
			return "", "", err
		}
	}
	return dir, id, nil
}

// runtime-tools' defaults, made to run here: no terminal, the program given.
func base(args ...string) *generate.Generator {
	g, err := generate.New("linux")
	if err != nil {
		panic(err)
	}
	g.SetProcessTerminal(false)
	g.SetProcessArgs(args)
	g.SetRootPath("rootfs")
	return &g
}

// runtime-tools' checks of a bundle, but its JSON schema's: that one
// fetches the schema from GitHub, and the lab sends nothing off the machine.
func valid(g *generate.Generator, dir string) error {
	v, err := validate.NewValidator(g.Config, dir, true, "linux")
	if err != nil {
		return err
	}
	for _, check := range []func() error{v.CheckPlatform, v.CheckRoot, v.CheckMandatoryFields,
		v.CheckSemVer, v.CheckMounts, v.CheckProcess, v.CheckLinux, v.CheckAnnotations,
		v.CheckHooks} {
		// Each returns a *multierror.Error, nil or empty when all is well.
		if me, ok := check().(*multierror.Error); ok && me != nil && len(me.Errors) > 0 {
			return me
		}
	}
	return nil
}

// The container's TAP lines, by create and start as the clients run it.
func runTap(rt *runtime, g *generate.Generator, r *result) {
	dir, id, err := bundle(g)
	if !r.check(err == nil, fmt.Sprintf("the bundle: %v", err)) {
		return
	}
	r.check(valid(g, dir) == nil, fmt.Sprintf("runtime-tools' validate accepts the config: %v",
		valid(g, dir)))
	out, _ := os.Create(filepath.Join(dir, "out"))
	create := rt.cmd("create", "--bundle", dir, id)
	create.Stdout, create.Stderr = out, out
	err = create.Run()
	out.Close()
	defer rt.run("delete", "--force", id)
	if !r.check(err == nil, fmt.Sprintf("create: %v", err)) {
		text, _ := os.ReadFile(filepath.Join(dir, "out"))
		fmt.Fprintf(os.Stderr, "%s: create: %s\n", rt.name, strings.TrimSpace(string(text)))
		return
	}
	if _, err := rt.run("start", id); !r.check(err == nil, "start") {
		return
	}
	r.check(rt.waitStatus(id, rspec.StateStopped), "the program ends")
	f, _ := os.Open(filepath.Join(dir, "out"))
	defer f.Close()
	s := bufio.NewScanner(f)
	seen := false
	for s.Scan() {
		line := s.Text()
		switch {
		case strings.HasPrefix(line, "ok "):
			seen = true
			r.check(true, line)
		case strings.HasPrefix(line, "not ok "):
			seen = true
			r.check(false, line)
		}
	}
	r.check(seen, "runtimetest printed its checks")
}

// runtime.md's operations, and their states.
func lifecycle(rt *runtime) result {
	var r result
	g := base("sleep", "30")
	dir, id, err := bundle(g)
	if !r.check(err == nil, fmt.Sprintf("the bundle: %v", err)) {
		return r
	}
	defer rt.run("delete", "--force", id)
	_, err = rt.run("create", "--bundle", dir, id)
	r.check(err == nil, "create succeeds")
	st, err := rt.state(id)
	r.check(err == nil && st.Status == rspec.StateCreated, "state after create: created")
	r.check(st.ID == id, "state.id is the id")
	r.check(st.Pid > 0, "state.pid is the process's, created")
	r.check(st.Bundle == dir, "state.bundle is the bundle's absolute path")
	r.check(st.Version != "", "state.ociVersion is set")
	_, err = rt.run("start", id)
	r.check(err == nil, "start succeeds")
	st, err = rt.state(id)
	r.check(err == nil && st.Status == rspec.StateRunning, "state after start: running")
	_, err = rt.run("kill", id, "KILL")
	r.check(err == nil, "kill succeeds")
	r.check(rt.waitStatus(id, rspec.StateStopped), "state after the process ends: stopped")
	_, err = rt.run("delete", id)
	r.check(err == nil, "delete of a stopped container succeeds")
	_, err = rt.state(id)
	r.check(err != nil, "state after delete: an error")
	return r
}

// What runtime.md says a runtime must refuse.
func refusals(rt *runtime) result {
	var r result
	dir, id, err := bundle(base("sleep", "30"))
	if !r.check(err == nil, fmt.Sprintf("the bundle: %v", err)) {
		return r
	}
	defer rt.run("delete", "--force", id)
	_, err = rt.run("state", id)
	r.check(err != nil, "state of an unknown id: an error")
	_, err = rt.run("start", id)
	r.check(err != nil, "start of an unknown id: an error")
	_, err = rt.run("kill", id, "TERM")
	r.check(err != nil, "kill of an unknown id: an error")
	_, err = rt.run("delete", id)
	r.check(err != nil, "delete of an unknown id: an error")
	_, err = rt.run("create", "--bundle", dir, id)
	r.check(err == nil, "create succeeds")
	_, err = rt.run("create", "--bundle", dir, id)
	r.check(err != nil, "create with an id in use: an error")
	_, err = rt.run("start", id)
	r.check(err == nil, "start succeeds")
	_, err = rt.run("start", id)
	r.check(err != nil, "start of a running container: an error")
	_, err = rt.run("delete", id)
	r.check(err != nil, "delete of a running container: an error")
	st, _ := rt.state(id)
	r.check(st.Status == rspec.StateRunning, "which left it running")
	_, err = rt.run("delete", "--force", id)
	r.check(err == nil, "delete --force of a running container succeeds")
	missing, mid, err := bundle(base("true"))
	if err == nil {
		os.RemoveAll(filepath.Join(missing, "rootfs"))
		_, err = rt.run("create", "--bundle", missing, mid)
		r.check(err != nil, "create without the rootfs: an error")
		rt.run("delete", "--force", mid)
	}
	return r
}

func defaultConfig(rt *runtime) result {
	var r result
	runTap(rt, base("/runtimetest"), &r)
	return r
}

func processConfig(rt *runtime) result {
	var r result
	g := base("/runtimetest")
	g.SetHostname("runtimetest")
	g.AddProcessEnv("GREETING", "hello from the bundle")
	g.SetProcessCwd("/tmp")
	g.SetProcessUID(1000)
	g.SetProcessGID(1000)
	g.AddProcessAdditionalGid(5)
	g.AddProcessAdditionalGid(6)
	g.SetProcessUmask(027)
	g.AddProcessRlimits("RLIMIT_CORE", 8192, 4096) // not NOFILE: Go raises its soft limit
	g.SetProcessOOMScoreAdj(200)
	g.SetProcessNoNewPrivileges(true)
	g.Config.Process.Capabilities = &rspec.LinuxCapabilities{
		Bounding:  []string{"CAP_CHOWN", "CAP_KILL"},
		Effective: []string{"CAP_CHOWN", "CAP_KILL"},
		Permitted: []string{"CAP_CHOWN", "CAP_KILL"},
	}
	runTap(rt, g, &r)
	return r
}

func filesystemConfig(rt *runtime) result {
	var r result
	g := base("/runtimetest")
	g.SetRootReadonly(true)
	g.AddMount(rspec.Mount{Destination: "/mnt", Type: "tmpfs", Source: "tmpfs",
		Options: []string{"nosuid", "nodev", "size=1m"}})
	g.AddLinuxSysctl("net.ipv4.ip_forward", "1")
	g.Config.Linux.MaskedPaths = append(g.Config.Linux.MaskedPaths, "/proc/kcore", "/proc/keys")
	runTap(rt, g, &r)
	return r
}

// The groups of a running container's process, as its cgroup file names them.
func groupFile(pid int, controller, file string) string {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) < 3 {
			continue
		}
		for _, c := range strings.Split(f[1], ",") {
			if c == controller {
				text, _ := os.ReadFile(filepath.Join("/sys/fs/cgroup", controller, f[2], file))
				return strings.TrimSpace(string(text))
			}
		}
		if f[0] == "0" && f[1] == "" { // cgroup v2
			if text, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", f[2], file)); err == nil {
				return strings.TrimSpace(string(text))
			}
		}
	}
	return ""
}

func resources(rt *runtime) result {
	var r result
	g := base("sleep", "30")
	g.SetLinuxResourcesMemoryLimit(64 << 20)
	g.SetLinuxResourcesPidsLimit(50)
	dir, id, err := bundle(g)
	if !r.check(err == nil, fmt.Sprintf("the bundle: %v", err)) {
		return r
	}
	defer rt.run("delete", "--force", id)
	_, err = rt.run("create", "--bundle", dir, id)
	r.check(err == nil, "create succeeds")
	st, _ := rt.state(id)
	memory := groupFile(st.Pid, "memory", "memory.limit_in_bytes")
	if memory == "" {
		memory = groupFile(st.Pid, "memory", "memory.max")
	}
	r.check(memory == fmt.Sprint(64<<20), "linux.resources.memory.limit: "+memory)
	r.check(groupFile(st.Pid, "pids", "pids.max") == "50", "linux.resources.pids.limit")
	return r
}

// config.md's hooks, each where runtime.md puts it, given the state.
func hooks(rt *runtime) result {
	var r result
	out := filepath.Join(*work, fmt.Sprintf("hooks-%s", rt.name))
	os.RemoveAll(out)
	os.MkdirAll(out, 0777)
	g := base("true")
	hook := func(name, dir string) rspec.Hook {
		return rspec.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "cat > " + dir + "/" + name}}
	}
	g.AddPreStartHook(hook("prestart", out))
	g.AddPostStartHook(hook("poststart", out))
	g.AddPostStopHook(hook("poststop", out))
	g.Config.Hooks.CreateRuntime = []rspec.Hook{hook("createRuntime", out)}
	g.Config.Hooks.CreateContainer = []rspec.Hook{hook("createContainer", out)}
	g.Config.Hooks.StartContainer = []rspec.Hook{hook("startContainer", "/hooks")}
	g.AddMount(rspec.Mount{Destination: "/hooks", Type: "bind", Source: out,
		Options: []string{"rbind", "rw"}})
	dir, id, err := bundle(g)
	if !r.check(err == nil, fmt.Sprintf("the bundle: %v", err)) {
		return r
	}
	defer rt.run("delete", "--force", id)
	_, err = rt.run("create", "--bundle", dir, id)
	r.check(err == nil, "create succeeds")
	_, err = rt.run("start", id)
	r.check(err == nil, "start succeeds")
	rt.waitStatus(id, rspec.StateStopped)
	_, err = rt.run("delete", id)
	r.check(err == nil, "delete succeeds")
	for _, h := range []struct {
		name   string
		status rspec.ContainerState
	}{{"prestart", rspec.StateCreating}, {"createRuntime", rspec.StateCreating},
		{"createContainer", rspec.StateCreating}, {"startContainer", rspec.StateCreated},
		{"poststart", rspec.StateRunning}, {"poststop", rspec.StateStopped}} {
		var st rspec.State
		data, err := os.ReadFile(filepath.Join(out, h.name))
		if err == nil {
			err = json.Unmarshal(data, &st)
		}
		if r.check(err == nil, h.name+" ran, given the state") {
			r.check(st.ID == id && st.Status == h.status,
				fmt.Sprintf("%s: its state's id and status %q (%q)", h.name, h.status, st.Status))
		}
	}
	return r
}

var programs = []struct {
	name string
	run  func(*runtime) result
}{
	{"lifecycle", lifecycle},
	{"refusals", refusals},
	{"config-default", defaultConfig},
	{"config-process", processConfig},
	{"config-filesystems", filesystemConfig},
	{"resources", resources},
	{"hooks", hooks},
}

func main() {
	flag.Parse()
	if *rootfs == "" || *runtimetest == "" || *work == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: oci-validate -rootfs DIR -runtimetest BIN -work DIR NAME=RUNTIME...")
		os.Exit(2)
	}
	var runtimes []*runtime
	for _, arg := range flag.Args() {
		name, path, ok := strings.Cut(arg, "=")
		if !ok {
			fmt.Fprintf(os.Stderr, "oci-validate: %s: not NAME=RUNTIME\n", arg)
			os.Exit(2)
		}
		root := filepath.Join(*work, "state-"+name)
		os.MkdirAll(root, 0700)
		runtimes = append(runtimes, &runtime{name, path, root})
	}
	passed := map[string][2]int{}
	worse := 0
	for _, p := range programs {
		fmt.Println(p.name)
		var first *result
		for i, rt := range runtimes {
			r := p.run(rt)
			good := r.total - len(r.failed)
			fmt.Printf("  %-9s %3d / %d\n", rt.name, good, r.total)
			for _, f := range r.failed {
				fmt.Printf("            failed: %s\n", f)
			}
			t := passed[rt.name]
			passed[rt.name] = [2]int{t[0] + good, t[1] + r.total}
			if i == 0 {
				first = &r
			} else if rt.name == "runc" && len(first.failed) > len(r.failed) {
				worse++
			}
		}
	}
	fmt.Println("total")
	for _, rt := range runtimes {
		fmt.Printf("  %-9s %3d / %d\n", rt.name, passed[rt.name][0], passed[rt.name][1])
	}
	if worse > 0 {
		fmt.Printf("oci-validate: %s fails more than runc in %d program(s)\n", runtimes[0].name, worse)
		os.Exit(1)
	}
}
