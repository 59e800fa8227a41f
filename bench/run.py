#!/usr/bin/python3
"""bench/run.py - measures every built step's start-up beside the tools people
would use instead, and writes build/bench/results.json, then docs/benchmarks.md
and docs/benchmarks.svg (through bench/report.py).

    sudo make bench                       # everything: deps, build, this, the guard
    sudo /usr/bin/python3 bench/run.py --help

What it does, in order:
  1. finds ./step-NN at the top of the repository, and what each is compared with
     (bench/cases.py); prepares the OCI bundles, the volume, the named pipes;
  2. runs every command once, to report the ones that cannot run here (with
     their error) instead of dropping them;
  3. single-start latency: hyperfine, in ROUNDS rounds, each round every command
     in a rotated order, so that a burst of load elsewhere hits all of them;
  4. back-to-back throughput: bench/loop.c starts each command 100 times in a row;
  5. where the time goes: the last step with --timings, many times, the median
     of each narrated phase; bench/kcost.c times the kernel operations alone;
  6. checks that the host holds no leftover mount, cgroup, link or process;
  7. times `make` from clean in a copy of the tree (and, with --suites, make
     test and make check).
"""

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cases  # noqa: E402

REPO = cases.REPO
BUILD = REPO / "build" / "bench"
ROOTFS = REPO / "rootfs" / "busybox"
DEFAULT_RESULTS = BUILD / "results.json"
CC_FLAGS = ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-O2"]


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def read(path, default=""):
    try:
        return Path(path).read_text()
    except OSError:
        return default


def sh(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, **kw)


# ---- the machine ------------------------------------------------------------------

def kernel_config():
    rel = platform.release()
    text = read(f"/boot/config-{rel}")
    if not text and Path("/proc/config.gz").exists():
        import gzip
        try:
            text = gzip.decompress(Path("/proc/config.gz").read_bytes()).decode()
        except OSError:
            text = ""
    conf = {}
    for line in text.splitlines():
        m = re.match(r"(CONFIG_\w+)=(.*)", line)
        if m:
            conf[m.group(1)] = m.group(2)
    return conf


def virtualisation():
    out = {}
    if shutil.which("systemd-detect-virt"):
        r = sh(["systemd-detect-virt"])
        out["systemd-detect-virt"] = r.stdout.strip() or "none"
        r = sh(["systemd-detect-virt", "--vm"])
        out["systemd-detect-virt --vm"] = r.stdout.strip() or "none"
    out["cpuinfo hypervisor flag"] = bool(re.search(r"^flags\s*:.*\bhypervisor\b",
                                                    read("/proc/cpuinfo"), re.M))
    dmi = [read(f"/sys/class/dmi/id/{f}").strip() for f in ("sys_vendor", "product_name")]
    out["dmi"] = " ".join(d for d in dmi if d) or "(no /sys/class/dmi)"
    return out


def cgroup_layout():
    """(controller dirs by name, version of each hierarchy), from mountinfo."""
    hier = []
    for line in read("/proc/self/mountinfo").splitlines():
        left, right = line.split(" - ", 1)
        fstype, _src, sopts = (right.split() + ["", ""])[:3]
        mnt = left.split()[4]
        if fstype == "cgroup":
            ctrls = [o for o in sopts.split(",") if o not in ("rw", "ro") and "=" not in o]
            hier.append((mnt, 1, ctrls))
        elif fstype == "cgroup2":
            ctrls = read(f"{mnt}/cgroup.controllers").split()
            hier.append((mnt, 2, ctrls))
    return hier


def cpu_cgroup():
    """Where a CPU limit goes: a v1 hierarchy holding cpu wins, as in the lab."""
    hier = cgroup_layout()
    for mnt, ver, ctrls in hier:
        if ver == 1 and "cpu" in ctrls:
            return mnt, 1
    for mnt, ver, ctrls in hier:
        if ver == 2 and "cpu" in ctrls:
            return mnt, 2
    return None, None


def crun_needs_v2_hidden():
    """crun 1.x refuses hybrid cgroups whose v2 side holds a controller."""
    u = Path("/sys/fs/cgroup/unified")
    if not u.is_dir() or not (u / "cgroup.controllers").exists():
        return False
    return bool(read(u / "cgroup.controllers").strip())


def cpu_busy(interval=1.0):
    """The fraction of all CPUs busy over interval seconds."""
    def snap():
        f = [int(x) for x in read("/proc/stat").splitlines()[0].split()[1:]]
        idle = f[3] + (f[4] if len(f) > 4 else 0)
        return sum(f), idle
    t0, i0 = snap()
    time.sleep(interval)
    t1, i1 = snap()
    return 1 - (i1 - i0) / max(1, t1 - t0)


def processes():
    """pid -> (comm, cpu ticks, cmdline) of every process."""
    out = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        f = stat[stat.rindex(")") + 2:].split()
        out[int(d.name)] = (comm, int(f[11]) + int(f[12]), cmd)
    return out


def competitors(procs=None):
    """Processes that load the machine or change the host while we measure."""
    procs = procs or processes()
    found = []
    for pid, (comm, _, cmd) in procs.items():
        if pid == os.getpid():
            continue
        if "qemu" in comm or re.search(r"\bpytest\b", cmd) or re.search(r"\bmake (test|check|grade)\b", cmd):
            found.append(f"{pid} {cmd[:100] or comm}")
    return sorted(found)


def machine_info():
    conf = kernel_config()
    cpu = re.search(r"^model name\s*:\s*(.*)$", read("/proc/cpuinfo"), re.M)
    mem = re.search(r"^MemTotal:\s*(\d+)", read("/proc/meminfo"), re.M)
    preempt = [k[len("CONFIG_PREEMPT_"):].lower() for k in
               ("CONFIG_PREEMPT_NONE", "CONFIG_PREEMPT_VOLUNTARY", "CONFIG_PREEMPT",
                "CONFIG_PREEMPT_LAZY", "CONFIG_PREEMPT_RT") if conf.get(k) == "y"]
    if conf.get("CONFIG_PREEMPT") == "y":
        preempt = ["full"]
    hier = cgroup_layout()
    v1 = sorted({c for m, v, cs in hier if v == 1 for c in cs})
    v2 = [(m, cs) for m, v, cs in hier if v == 2]
    if not v1 and v2:
        cg = "v2 (unified)"
    elif v1 and v2:
        cg = f"hybrid: v1 {','.join(v1)}; v2 at {v2[0][0]} holds {','.join(v2[0][1]) or 'nothing'}"
    else:
        cg = f"v1: {','.join(v1)}"
    preempt_mode = read("/sys/kernel/debug/sched/preempt").strip()
    versions = {}
    for tool in ("hyperfine", "bwrap", "runc", "crun", "unshare", "cc"):
        if shutil.which(tool):
            out = sh([tool, "--version"]).stdout.splitlines()
            versions[tool] = out[0] if out else "?"
    versions["busybox"] = read(ROOTFS / ".lab-rootfs").strip()
    git = sh(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]).stdout.strip()
    dirty = bool(sh(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"]).stdout.strip())
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "kernel": platform.release(),
        "kernel_version": platform.version(),
        "hz": conf.get("CONFIG_HZ", "unknown"),
        "preemption": (preempt_mode or ",".join(preempt) or "unknown")
                      + (" (dynamic)" if conf.get("CONFIG_PREEMPT_DYNAMIC") == "y" else ""),
        "rcu_expedited": read("/sys/kernel/rcu_expedited").strip() or "unknown",
        "rcu_normal": read("/sys/kernel/rcu_normal").strip() or "unknown",
        "rcu_lazy": conf.get("CONFIG_RCU_LAZY", "n"),
        "cgroup_favor_dynmods": conf.get("CONFIG_CGROUP_FAVOR_DYNMODS", "n"),
        "virtualisation": virtualisation(),
        "host_mounts": len(read("/proc/self/mountinfo").splitlines()),
        "cpu": cpu.group(1) if cpu else platform.machine(),
        "cpus": os.cpu_count(),
        "mem_gib": round(int(mem.group(1)) / 2**20, 1) if mem else None,
        "cgroups": cg,
        "distro": re.search(r'PRETTY_NAME="?([^"\n]*)', read("/etc/os-release")).group(1)
                  if "PRETTY_NAME" in read("/etc/os-release") else "unknown",
        "versions": versions,
        "git": git + (" (with uncommitted changes)" if dirty else ""),
    }


# ---- the host must not change ------------------------------------------------------

def host_state(marker):
    cgroups = set()
    for mnt, _, _ in cgroup_layout():
        try:
            tops = [e for e in os.scandir(mnt) if e.is_dir() and
                    (e.name.startswith("lab") or e.name.startswith("bench"))]
        except OSError:
            continue
        for top in tops:
            for dirpath, _, _ in os.walk(top.path):
                cgroups.add(dirpath)
    mounts = set()
    for line in read("/proc/self/mountinfo").splitlines():
        left, right = line.split(" - ", 1)
        f = left.split()
        mounts.add(f"{f[4]} {right.split()[0]}")
    state = set()
    for d in ("/run/runc", "/run/crun"):
        try:
            state |= {f"{d}/{e}" for e in os.listdir(d)}
        except OSError:
            pass
    procs = {f"{pid} {cmd[:120]}" for pid, (_, _, cmd) in processes().items()
             if marker in cmd and pid != os.getpid()}
    return {"links": sorted(os.listdir("/sys/class/net")), "cgroups": sorted(cgroups),
            "mounts": sorted(mounts), "runtime_state": sorted(state), "processes": sorted(procs)}


def host_diff(before, after):
    out = []
    for key in ("links", "cgroups", "mounts", "runtime_state", "processes"):
        new = sorted(set(after[key]) - set(before[key]))
        out += [f"new {key[:-1] if key != 'processes' else 'process'}: {x}" for x in new]
    return out


# ---- running things -----------------------------------------------------------------

def run_group(argv, timeout):
    """Runs argv in its own session; on timeout kills that session."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        return 124, out, err + f"\n(timed out after {timeout} s)"
    return p.returncode, out, err


def probe(cmd):
    """Runs a command once; None if it works, else its error in one line."""
    missing = [n for n in cmd.needs if n != "cgroup" and not shutil.which(n)]
    if missing:
        return f"not installed: {', '.join(missing)} (make deps-bench installs it)"
    rc, out, err = run_group((cmd.wrap or []) + cmd.argv, timeout=60)
    if rc == 0:
        return None
    lines = [l.strip() for l in (err + "\n" + out).splitlines() if l.strip()]
    why = lines[-1] if lines else "no message"
    # runc and crun print JSON-ish log lines; keep the message
    m = re.search(r'"msg":"([^"]*)"', why) or re.search(r'msg="([^"]*)"', why)
    if m:
        why = m.group(1)
    return f"exit {rc}: {why}"


def hyperfine(cmds, runs, warmup, wrap, timeout):
    fd, path = tempfile.mkstemp(prefix="hyperfine-", suffix=".json", dir=BUILD)
    os.close(fd)
    argv = list(wrap or []) + ["hyperfine", "-N", "--style", "none", "-i",
                               "--warmup", str(warmup), "--runs", str(runs),
                               "--export-json", path]
    for c in cmds:
        argv += ["-n", c.id, shlex.join(c.argv)]
    rc, out, err = run_group(argv, timeout)
    try:
        data = json.loads(Path(path).read_text()) if rc == 0 else None
    finally:
        os.unlink(path)
    if data is None:
        raise RuntimeError(f"hyperfine failed (exit {rc}): {err.strip()[-500:]}")
    return {r["command"]: (r["times"], r.get("exit_codes") or [0] * len(r["times"]))
            for r in data["results"]}


def stats(times_s):
    ms = [t * 1000 for t in times_s]
    return {
        "n": len(ms),
        "mean": statistics.fmean(ms),
        "sd": statistics.stdev(ms) if len(ms) > 1 else 0.0,
        "median": statistics.median(ms),
        "min": min(ms),
        "max": max(ms),
        "p90": sorted(ms)[int(0.9 * (len(ms) - 1))],
    }


def throughput(loop_bin, cmd, count, batches, timeout):
    rates, fails, slowest = [], 0, 0.0
    for _ in range(batches):
        rc, out, err = run_group((cmd.wrap or []) + [str(loop_bin), str(count)] + cmd.argv, timeout)
        m = re.search(r"runs=(\d+) failures=(\d+) elapsed_ns=(\d+) slowest_ns=(\d+)", out)
        if rc != 0 or not m:
            return {"error": (err.strip().splitlines() or [f"exit {rc}"])[-1]}
        runs, f, ns, slow = (int(x) for x in m.groups())
        rates.append(runs / (ns / 1e9))
        fails += f
        slowest = max(slowest, slow / 1e6)
    return {"count": count, "batches": batches, "per_s": statistics.median(rates),
            "rates": rates, "failures": fails, "slowest_ms": slowest}


# ---- --timings ---------------------------------------------------------------------

LINE = re.compile(r"^(?P<who>step-\d+) \[(?P<proc>parent|child)\]: (?P<text>.*?)\s+"
                  r"\(\+(?P<d>[0-9.]+) ms(?:,\s*(?:at|t=|@)\s*(?P<at>[0-9.]+) ms)?\)\s*$")


def normalise(text):
    """A phase's key: the narration with its numbers (pids, addresses) blanked."""
    return re.sub(r"(?<![A-Za-z_])\d+(?:[.:/]\d+)*", "#", text)


def parse_timings(stderr):
    """One run's narration: [(proc, text, delta_ms, at_ms)]. at_ms is since the
    program started (lab_init): printed by the step when it can, else rebuilt:
    the parent's lines add up; the child inherits the parent's clock at clone,
    so its lines add up from the last parent line before the clone."""
    lines = []
    for raw in stderr.splitlines():
        m = LINE.match(raw.strip())
        if m:
            lines.append((m["proc"], m["text"], float(m["d"]),
                          float(m["at"]) if m["at"] else None))
    if lines and all(l[3] is not None for l in lines):
        return lines, "printed"
    out, t_parent, before_clone, seen_clone = [], 0.0, 0.0, False
    for proc, text, d, _ in lines:
        if proc == "parent":
            if not seen_clone and re.search(r"\bclone3?\b", text, re.I):
                seen_clone = True
            elif not seen_clone:
                before_clone = t_parent + d
            t_parent += d
            out.append((proc, text, d, t_parent))
    t_child = before_clone
    for proc, text, d, _ in lines:
        if proc == "child":
            t_child += d
            out.append((proc, text, d, t_child))
    return out, "rebuilt"


def phases(cmd, runs, timeout):
    argv = [a for a in cmd.argv if a != "-q"]
    argv.insert(1, "--timings")
    per_key, order, examples, method, walls, fails = {}, {}, {}, set(), [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        rc, _, err = run_group(argv, timeout)
        walls.append((time.perf_counter() - t0) * 1000)
        if rc != 0:
            fails.append((err.strip().splitlines() or [f"exit {rc}"])[-1])
            continue
        lines, how = parse_timings(err)
        method.add(how)
        seen = {}
        for i, (proc, text, d, at) in enumerate(lines):
            k = (proc, normalise(text))
            seen[k] = seen.get(k, 0) + 1
            key = f"{proc}|{k[1]}|{seen[k]}"
            per_key.setdefault(key, {"d": [], "at": []})
            per_key[key]["d"].append(d)
            per_key[key]["at"].append(at)
            examples.setdefault(key, (proc, text))
    good = runs - len(fails)
    rows = []
    for key, v in per_key.items():
        proc, text = examples[key]
        rows.append({"proc": proc, "text": text, "n": len(v["d"]),
                     "median_ms": statistics.median(v["d"]), "min_ms": min(v["d"]),
                     "max_ms": max(v["d"]), "at_ms": statistics.median(v["at"])})
    rows.sort(key=lambda r: r["at_ms"])
    return {"step": cmd.id, "argv": argv, "runs": runs, "ok_runs": good,
            "failures": fails[:3], "rows": rows, "clock": sorted(method),
            "wall_ms_median": statistics.median(walls) if walls else None}


# ---- building helpers ---------------------------------------------------------------

def build_helper(name):
    """bench/NAME.c, linked with the lab's common/ (build/libcommon.a, which make builds)."""
    src, out, lib = REPO / "bench" / f"{name}.c", BUILD / name, REPO / "build" / "libcommon.a"
    if not lib.exists():
        raise SystemExit(f"bench: no {lib}: run make")
    if not out.exists() or out.stat().st_mtime < max(src.stat().st_mtime, lib.stat().st_mtime):
        cc = os.environ.get("CC", "cc")
        r = sh([cc, *CC_FLAGS, "-I", str(REPO / "common"), "-o", str(out), str(src), str(lib)])
        if r.returncode:
            raise SystemExit(f"bench: cannot build {out}: {r.stderr.strip()}")
    return out


def clean_build_time():
    """`make` from clean, in a copy of the tree, so that the working tree's
    build is not disturbed."""
    dst = BUILD / "clean-build"
    shutil.rmtree(dst, ignore_errors=True)
    dst.mkdir(parents=True)

    def ignore(d, names):
        skip = {"build", ".git", "handout", "__pycache__", ".pytest_cache", "docs"}
        if Path(d).resolve() == (REPO / "rootfs").resolve():
            skip |= {n for n in names if n.startswith("busybox")}
        return [n for n in names if n in skip or re.fullmatch(r"step-\d\d", n)]
    for entry in REPO.iterdir():
        if entry.name in ("build", ".git", "handout", "docs") or re.fullmatch(r"step-\d\d", entry.name):
            continue
        if entry.is_dir():
            shutil.copytree(entry, dst / entry.name, ignore=ignore, symlinks=True)
        elif entry.is_file():
            shutil.copy2(entry, dst / entry.name)
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    t0 = time.perf_counter()
    r = subprocess.run(["make"], cwd=dst, capture_output=True, text=True, env=env)
    took = time.perf_counter() - t0
    shutil.rmtree(dst, ignore_errors=True)
    res = {"seconds": round(took, 2), "command": "make (one job, from clean, in a copy of the tree)"}
    if r.returncode:
        res["error"] = (r.stderr.strip().splitlines() or ["?"])[-1]
    return res


def suite_time(target):
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    t0 = time.perf_counter()
    r = subprocess.run(["make", target], cwd=REPO, capture_output=True, text=True, env=env)
    took = time.perf_counter() - t0
    out = {"seconds": round(took, 1), "rc": r.returncode}
    text = r.stdout + r.stderr
    if f"No rule to make target '{target}'" in text:
        return {"error": f"no `make {target}` yet"}
    m = re.findall(r"=+ (.*(?:passed|failed).*) =+", text)
    if m:
        out["summary"] = m[-1]
    if r.returncode:
        out["error"] = (r.stderr.strip().splitlines() or ["?"])[-1]
    return out


# ---- main -----------------------------------------------------------------------------

def discover_steps():
    found = []
    for p in sorted(REPO.glob("step-[0-9][0-9]")):
        if p.is_file() and os.access(p, os.X_OK):
            found.append((int(p.name[5:]), p))
    return found


def wait_quiet(limit):
    if limit <= 0:
        return None
    t_end = time.monotonic() + limit
    while True:
        busy = cpu_busy(1.0)
        others = competitors()
        if busy < 0.15 and not others:
            return None
        if time.monotonic() >= t_end:
            return f"not quiet after waiting {limit} s: CPUs {busy:.0%} busy; {'; '.join(others) or 'no known competitor'}"
        log(f"waiting for a quiet machine (CPUs {busy:.0%} busy{'; ' + others[0] if others else ''})")
        time.sleep(5)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=200, help="hyperfine runs per command, all rounds (200)")
    ap.add_argument("--rounds", type=int, default=5, help="rounds of hyperfine (5)")
    ap.add_argument("--warmup", type=int, default=3, help="warm-up runs per command per round (3)")
    ap.add_argument("--throughput", type=int, default=100, help="containers in a row (100)")
    ap.add_argument("--batches", type=int, default=3, help="throughput batches; the median is shown (3)")
    ap.add_argument("--phase-runs", type=int, default=100, help="runs of the last step with --timings (100)")
    ap.add_argument("--guard-only", action="store_true",
                    help="only the steps and their references (what the regression guard needs)")
    ap.add_argument("--no-clean-build", action="store_true", help="do not time `make` from clean")
    ap.add_argument("--suites", action="store_true", help="also time `make test` and `make check`")
    ap.add_argument("--wait-quiet", type=int, default=0, metavar="S",
                    help="wait up to S seconds for an idle machine first (no qemu, no pytest, <15%% CPU)")
    ap.add_argument("--out", type=Path, default=DEFAULT_RESULTS, help="results file")
    ap.add_argument("--no-docs", action="store_true", help="do not write docs/benchmarks.md")
    ap.add_argument("--timeout", type=int, default=900, help="seconds for one hyperfine call")
    args = ap.parse_args()

    if os.geteuid() != 0:
        raise SystemExit("bench: needs root (the steps, runc and crun do): sudo make bench")
    if not shutil.which("hyperfine"):
        raise SystemExit("bench: hyperfine not found: sudo make deps-bench")
    if not (ROOTFS / "bin" / "true").exists():
        raise SystemExit(f"bench: no rootfs at {ROOTFS}: run make")
    steps = discover_steps()
    if not steps:
        raise SystemExit("bench: no ./step-NN built: run make")
    BUILD.mkdir(parents=True, exist_ok=True)

    quiet_note = wait_quiet(args.wait_quiet)
    procs0 = processes()
    meta = machine_info()
    meta["load_start"] = read("/proc/loadavg").split()[:3]
    meta["busy_start"] = round(cpu_busy(1.0), 3)
    meta["competitors_start"] = competitors(procs0)
    meta["quiet_wait"] = quiet_note
    t_start = time.monotonic()

    # ---- what to run
    run_id = str(os.getpid())
    work = BUILD / f"run-{run_id}"
    shutil.rmtree(work, ignore_errors=True)
    (work / "fifo").mkdir(parents=True)
    for f in ("go", "ready"):
        os.mkfifo(work / "fifo" / f)
    vol = work / "vol"
    vol.mkdir()
    cg_dir, cg_ver = cpu_cgroup()
    bundles = work / "oci"
    for rt in ("runc", "crun"):
        (bundles / rt).mkdir(parents=True)
        cfg = cases.oci_config(ROOTFS.resolve(), vol, f"/bench-oci-{rt}-{run_id}")
        (bundles / rt / "config.json").write_text(json.dumps(cfg, indent=1))
    data_dir = ROOTFS / "data"
    data_existed = data_dir.exists()
    data_dir.mkdir(exist_ok=True)

    ctx = cases.Context(ROOTFS.resolve(), vol, work / "fifo", bundles, cg_dir, cg_ver,
                        hide_v2=crun_needs_v2_hidden(), run_id=run_id)
    refs = cases.ref_cmds(ctx)
    rows, comparisons = [], []
    wanted = ["floor"] if args.guard_only else ["floor", "floor-host"]
    for n, binary in steps:
        cfg, _ = cases.step_config(n)
        rows.append(cases.step_cmd(n, binary, ctx))
        for rid in [cfg["ref"]] + ([] if args.guard_only else cfg.get("also", [])):
            if rid not in wanted:
                wanted.append(rid)
    if not args.guard_only:
        wanted += [t for t in ("bwrap", "runc", "crun", "crun-v1") if t in refs]
    rows = [refs[w] for w in wanted if refs[w].kind == "floor"] + \
        [r for r in rows] + [refs[w] for w in wanted if refs[w].kind != "floor"]

    before = host_state(str(work))

    # ---- 2. can each run here?
    log(f"{len(steps)} steps ({', '.join(f'{n:02d}' for n, _ in steps)}); "
        f"checking that {len(rows)} commands run")
    status = {}
    for c in rows:
        if "cgroup" in c.needs and not cg_dir:
            status[c.id] = "no cpu cgroup controller on this machine"
            continue
        status[c.id] = probe(c)
        if status[c.id]:
            log(f"  {c.id}: cannot run: {status[c.id]}")
    if "crun-v1" in status and status.get("crun") is None:
        rows = [r for r in rows if r.id != "crun-v1"]   # crun runs as installed: no workaround
    ok = [c for c in rows if status[c.id] is None]

    # ---- 3. latency
    times = {c.id: [] for c in ok}
    codes = {c.id: [] for c in ok}
    round_medians = {c.id: [] for c in ok}
    per_round = max(1, args.runs // args.rounds)
    for r in range(args.rounds):
        order = ok[r % len(ok):] + ok[:r % len(ok)] if ok else []
        if r % 2:
            order = order[::-1]
        groups = {}
        for c in order:
            groups.setdefault(tuple(c.wrap or ()), []).append(c)
        log(f"latency round {r + 1}/{args.rounds}: {len(order)} commands x {per_round} runs")
        for wrap, cmds in groups.items():
            res = hyperfine(cmds, per_round, args.warmup, list(wrap), args.timeout)
            for cid, (t, e) in res.items():
                times[cid] += t
                codes[cid] += e
                round_medians[cid].append(statistics.median(t) * 1000)

    # ---- 4. throughput
    loop_bin = build_helper("loop")
    tput = {}
    if not args.guard_only and args.throughput > 0:
        log(f"throughput: {len(ok)} commands x {args.batches} batches of {args.throughput} in a row")
        for c in ok:
            tput[c.id] = throughput(loop_bin, c, args.throughput, args.batches, args.timeout)

    # ---- 5. where the time goes
    phase = None
    ok_steps = [c for c in ok if c.kind == "step"]
    if ok_steps and not args.guard_only and args.phase_runs > 0:
        last = ok_steps[-1]
        log(f"phases: {last.id} --timings x {args.phase_runs}")
        phase = phases(last, args.phase_runs, 60)
        phase["display"] = ctx.show(["./" + Path(phase["argv"][0]).name, *phase["argv"][1:]])
    kcost = None
    if not args.guard_only:
        log("kernel costs (bench/kcost.c)")
        kc_bin = build_helper("kcost")
        (work / "mnt").mkdir()
        rc, out, err = run_group([str(kc_bin), str(work / "mnt"), cg_dir or "-", str(cg_ver or 0)], 300)
        try:
            kcost = json.loads(out)
        except ValueError:
            kcost = {"errors": {"kcost": f"exit {rc}: {err.strip()[-300:]}"}}

    # ---- 6. the host
    log("checking that the host is as before")
    deadline = time.monotonic() + 15   # network namespaces die in a kernel worker, later
    while True:
        after = host_state(str(work))
        leftovers = host_diff(before, after)
        if not leftovers or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if not data_existed:
        try:
            data_dir.rmdir()
        except OSError as e:
            leftovers.append(f"could not remove {data_dir}: {e.strerror}")
    for line in leftovers:
        log(f"  LEFTOVER {line}")

    procs1 = processes()
    meta["load_end"] = read("/proc/loadavg").split()[:3]
    meta["competitors_end"] = competitors(procs1)
    meta["measure_seconds"] = round(time.monotonic() - t_start, 1)
    hz = os.sysconf("SC_CLK_TCK")
    hogs = []
    for pid, (comm, ticks, cmd) in procs1.items():
        if pid in procs0 and pid != os.getpid():
            dt = (ticks - procs0[pid][1]) / hz
            if dt >= 0.5:
                hogs.append((dt, f"{comm} (pid {pid})"))
    hogs.sort(reverse=True)
    meta["other_cpu_seconds"] = [f"{w}: {dt:.1f} s" for dt, w in hogs[:5]]
    meta["other_cpu_share"] = round(sum(dt for dt, _ in hogs) /
                                    max(1e-9, meta["measure_seconds"] * (os.cpu_count() or 1)), 3)

    # ---- 7. build and suites
    build = {}
    if not args.no_clean_build and not args.guard_only:
        log("timing `make` from clean (in a copy of the tree)")
        build["make"] = clean_build_time()
    if args.suites:
        for target in ("test", "check"):
            log(f"timing `make {target}`")
            build[f"make {target}"] = suite_time(target)

    # ---- results
    out_rows = []
    by_id = {}
    for c in rows:
        row = {"id": c.id, "kind": c.kind, "label": c.label, "display": c.display,
               "note": c.note, "step": c.step, "argv": c.argv, "wrap": c.wrap}
        if status[c.id]:
            row["status"] = "error"
            row["error"] = status[c.id]
        else:
            bad = sum(1 for e in codes[c.id] if e != 0)
            row["status"] = "ok" if not bad else "error"
            if bad:
                row["error"] = f"{bad} of {len(codes[c.id])} runs failed"
            row["stats"] = stats(times[c.id])
            row["round_medians"] = round_medians[c.id]
            if c.id in tput:
                row["throughput"] = tput[c.id]
        out_rows.append(row)
        by_id[c.id] = row
    floor = by_id.get("floor", {}).get("stats", {}).get("median")
    for row in out_rows:
        if floor and row.get("stats"):
            row["x_floor"] = row["stats"]["median"] / floor
    for n, _ in steps:
        sid = f"step-{n:02d}"
        cfg, inherited = cases.step_config(n)
        comp = {"step": n, "row": sid, "ref": cfg["ref"], "guard": cases.GUARD_RATIO,
                "target": cases.TARGET_RATIO if n in cases.TARGET_RATIO_STEPS else None,
                "inherited_from": inherited}
        s, ref = by_id.get(sid), by_id.get(cfg["ref"])
        if not s or s.get("status") != "ok":
            comp["error"] = f"{sid} did not run: {s.get('error') if s else 'missing'}"
        elif not ref or ref.get("status") != "ok":
            comp["error"] = f"reference {cfg['ref']} did not run: {ref.get('error') if ref else 'missing'}"
        else:
            comp["ratio"] = s["stats"]["median"] / ref["stats"]["median"]
            rm = [a / b for a, b in zip(s["round_medians"], ref["round_medians"])]
            comp["round_ratios"] = rm
            comp["paired_ratio"] = statistics.median(rm)
            s["x_ref"] = comp["ratio"]
            s["ref"] = cfg["ref"]
        for other in cfg.get("also", []):
            o = by_id.get(other)
            if s and s.get("stats") and o and o.get("stats"):
                comp.setdefault("also", {})[other] = s["stats"]["median"] / o["stats"]["median"]
        comparisons.append(comp)

    results = {
        "version": 1,
        "meta": meta,
        "config": {"runs": per_round * args.rounds, "rounds": args.rounds, "warmup": args.warmup,
                   "throughput": args.throughput, "batches": args.batches,
                   "phase_runs": args.phase_runs, "guard_only": args.guard_only},
        "steps": [n for n, _ in steps],
        "rows": out_rows,
        "comparisons": comparisons,
        "phases": phase,
        "kcost": kcost,
        "host": {"leftovers": leftovers, "cpu_cgroup": cg_dir, "cpu_cgroup_version": cg_ver},
        "build": build,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=1))
    tmp.replace(args.out)
    shutil.rmtree(work, ignore_errors=True)
    log(f"results in {args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out}")

    for comp in comparisons:
        if "ratio" in comp:
            log(f"  step-{comp['step']:02d}: {comp['ratio']:.2f}x {comp['ref']} (median), "
                f"{comp['paired_ratio']:.2f}x (median of the rounds)")
        else:
            log(f"  step-{comp['step']:02d}: {comp['error']}")

    if not args.no_docs and not args.guard_only:
        import report
        md, svg = report.write(results, REPO / "docs")
        log(f"wrote {md.relative_to(REPO)} and {svg.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
