#!/usr/bin/python3
"""bench/run.py - measures every step's start-up beside the tools people
would use instead, and writes build/bench/results.json, then docs/benchmarks.md
and docs/benchmarks.svg (through bench/report.py).

    sudo make bench                       # everything: deps, build, this, the guard
    sudo /usr/bin/python3 bench/run.py --help

What it does, in order:
  1. finds the steps (steps/step-NN-*.c, built as ./step-NN), and what each is
     compared with (bench/cases.py); prepares the OCI bundles, the volume, the
     named pipes, empty image layers, step 14's seccomp filter (bench/seccomp.c);
     starts the containers some rows need running (step 15's for exec, a
     member of step 16's pod), and ends them when all is measured;
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
import contextlib
import glob
import gzip
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
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent / "tests")]
import cases  # noqa: E402
import labtest  # noqa: E402  (the harness's steps, host state and cgroup discovery)

REPO = labtest.REPO
BUILD = REPO / "build" / "bench"
ROOTFS = labtest.default_rootfs()
CC_FLAGS = ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-O2"]


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def read(path):
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def sh(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, **kw)


def last_line(text, default):
    return (text.strip().splitlines() or [default])[-1]


# ---- the machine --------------------------------------------------------------------

def kernel_config():
    text = read(f"/boot/config-{platform.release()}")
    if not text:
        try:
            text = gzip.decompress(Path("/proc/config.gz").read_bytes()).decode()
        except OSError:
            pass
    return dict(re.findall(r"^(CONFIG_\w+)=(.*)$", text, re.M))


def preemption(conf):
    mode = read("/sys/kernel/debug/sched/preempt").strip()
    if not mode and conf.get("CONFIG_PREEMPT") == "y":
        mode = "full"
    elif not mode:
        mode = ",".join(k.lower() for k in ("NONE", "VOLUNTARY", "LAZY", "RT")
                        if conf.get(f"CONFIG_PREEMPT_{k}") == "y") or "unknown"
    return mode + (" (dynamic)" if conf.get("CONFIG_PREEMPT_DYNAMIC") == "y" else "")


def virtualisation():
    out = {}
    if shutil.which("systemd-detect-virt"):
        out["systemd-detect-virt"] = sh(["systemd-detect-virt"]).stdout.strip() or "none"
        out["systemd-detect-virt --vm"] = (sh(["systemd-detect-virt", "--vm"]).stdout.strip()
                                           or "none")
    out["cpuinfo hypervisor flag"] = bool(re.search(r"^flags\s*:.*\bhypervisor\b",
                                                    read("/proc/cpuinfo"), re.M))
    dmi = [read(f"/sys/class/dmi/id/{f}").strip() for f in ("sys_vendor", "product_name")]
    out["dmi"] = " ".join(d for d in dmi if d) or "(no /sys/class/dmi)"
    return out


def cgroup_summary():
    """The v1 controllers (bound to a hierarchy in /proc/cgroups) and what the
    v2 hierarchy holds."""
    v1 = sorted(f[0] for f in (l.split() for l in read("/proc/cgroups").splitlines()[1:])
                if f[1] != "0")
    v2 = [r for r in labtest.cgroup_roots() if Path(r, "cgroup.controllers").exists()]
    if not v2:
        return f"v1: {','.join(v1)}"
    if not v1:
        return "v2 (unified)"
    held = read(Path(v2[0], "cgroup.controllers")).split()
    return f"hybrid: v1 {','.join(v1)}; v2 at {v2[0]} holds {','.join(held) or 'nothing'}"


def tool_versions():
    out = {t: (sh([t, "--version"]).stdout.splitlines() or ["?"])[0]
           for t in ("hyperfine", "bwrap", "runc", "crun", "unshare", "cc") if shutil.which(t)}
    out["busybox"] = read(ROOTFS / ".lab-rootfs").strip()
    return out


def machine_info():
    conf = kernel_config()
    cpu = re.search(r"^model name\s*:\s*(.*)$", read("/proc/cpuinfo"), re.M)
    mem = re.search(r"^MemTotal:\s*(\d+)", read("/proc/meminfo"), re.M)
    distro = re.search(r'^PRETTY_NAME="?([^"\n]*)', read("/etc/os-release"), re.M)
    git = sh(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]).stdout.strip()
    dirty = sh(["git", "-C", str(REPO), "status", "--porcelain", "-uno"]).stdout.strip()
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "kernel": platform.release(),
        "kernel_version": platform.version(),
        "hz": conf.get("CONFIG_HZ", "unknown"),
        "preemption": preemption(conf),
        "rcu_expedited": read("/sys/kernel/rcu_expedited").strip() or "unknown",
        "rcu_normal": read("/sys/kernel/rcu_normal").strip() or "unknown",
        "rcu_lazy": conf.get("CONFIG_RCU_LAZY", "n"),
        "cgroup_favor_dynmods": conf.get("CONFIG_CGROUP_FAVOR_DYNMODS", "n"),
        "virtualisation": virtualisation(),
        "host_mounts": len(read("/proc/self/mountinfo").splitlines()),
        "cpu": cpu.group(1) if cpu else platform.machine(),
        "cpus": os.cpu_count(),
        "mem_gib": round(int(mem.group(1)) / 2**20, 1) if mem else None,
        "cgroups": cgroup_summary(),
        "distro": distro.group(1) if distro else "unknown",
        "versions": tool_versions(),
        "git": git + (" (with uncommitted changes)" if dirty else ""),
    }


# ---- what else runs -------------------------------------------------------------------

def cpu_busy(interval=1.0):
    """The fraction of all CPUs busy over interval seconds."""
    def snap():
        f = [int(x) for x in read("/proc/stat").splitlines()[0].split()[1:]]
        return sum(f), f[3] + (f[4] if len(f) > 4 else 0)
    t0, i0 = snap()
    time.sleep(interval)
    t1, i1 = snap()
    return 1 - (i1 - i0) / max(1, t1 - t0)


def processes():
    """pid -> (comm, cpu ticks, cmdline) of every process but this one."""
    out = {}
    for d in Path("/proc").glob("[0-9]*"):
        try:
            stat = (d / "stat").read_text()
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        comm, f = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        out[int(d.name)] = (comm, int(f[11]) + int(f[12]), cmd)
    out.pop(os.getpid(), None)
    return out


def competitors(procs):
    """Processes that load the machine or change the host while we measure."""
    return sorted(f"{pid} {cmd[:100] or comm}" for pid, (comm, _, cmd) in procs.items()
                  if "qemu" in comm or re.search(r"\bpytest\b|\bmake (test|check|grade)\b", cmd))


def wait_quiet(limit):
    t_end = time.monotonic() + limit
    while limit > 0:
        busy, others = cpu_busy(1.0), competitors(processes())
        if busy < 0.15 and not others:
            return None
        if time.monotonic() >= t_end:
            return (f"not quiet after waiting {limit} s: CPUs {busy:.0%} busy; "
                    f"{'; '.join(others) or 'no known competitor'}")
        log(f"waiting for a quiet machine (CPUs {busy:.0%} busy"
            f"{'; ' + others[0] if others else ''})")
        time.sleep(5)
    return None


def other_cpu(procs0, procs1, seconds):
    """The processes that used the most CPU between two snapshots, and the
    share of the machine all of them used."""
    hz = os.sysconf("SC_CLK_TCK")
    hogs = sorted(((ticks - procs0[pid][1]) / hz, f"{comm} (pid {pid})")
                  for pid, (comm, ticks, _) in procs1.items() if pid in procs0)
    hogs = [h for h in reversed(hogs) if h[0] >= 0.5]
    share = sum(dt for dt, _ in hogs) / max(1e-9, seconds * (os.cpu_count() or 1))
    return [f"{w}: {dt:.1f} s" for dt, w in hogs[:5]], round(share, 3)


# ---- the host must not change ------------------------------------------------------

def host_state(marker):
    """labtest's HostState (mounts, lab cgroups, links, hostname), and what it
    does not cover: the bench's own cgroups, runc's and crun's state, and
    processes still running from this run's directory."""
    extra = {f"runtime state: {p}" for p in glob.glob("/run/runc/*") + glob.glob("/run/crun/*")}
    for root in labtest.cgroup_roots():
        for top in glob.glob(f"{root}/bench*/"):
            extra |= {f"cgroup: {d.rstrip('/')}" for d, _, _ in os.walk(top)}
    extra |= {f"process: {pid} {cmd[:120]}" for pid, (_, _, cmd) in processes().items()
              if marker in cmd}
    return labtest.HostState.now(), extra


def host_leftovers(before, marker):
    """What is on the host now and was not before; network namespaces die in
    a kernel worker, later, so this waits up to 15 s for the host to settle."""
    left = []

    def settled():
        after = host_state(marker)
        left[:] = [l for l in before[0].diff(after[0]) if l.startswith("new ")]
        left.extend(f"new {x}" for x in sorted(after[1] - before[1]))
        return not left
    labtest.wait_until(settled, timeout=15, interval=0.2)
    return left


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


def probe(row, cg_dir):
    """Runs a row's command once; None if it works, else its error in one line."""
    if row["needs_cgroup"] and not cg_dir:
        return "no cpu cgroup controller on this machine"
    if not shutil.which(row["argv"][0]):
        return f"not installed: {row['argv'][0]} (make deps-bench installs it)"
    rc, out, err = run_group((row["wrap"] or []) + row["argv"], timeout=60)
    if rc == 0:
        return None
    why = last_line(err + "\n" + out, "no message").strip()
    # runc and crun print JSON-ish log lines; keep the message
    m = re.search(r'"msg":"([^"]*)"', why) or re.search(r'msg="([^"]*)"', why)
    return f"exit {rc}: {m.group(1) if m else why}"


def hyperfine(rows, runs, warmup, wrap, timeout):
    """{id: (times in s, exit codes)}"""
    fd, path = tempfile.mkstemp(prefix="hyperfine-", suffix=".json", dir=BUILD)
    os.close(fd)
    argv = wrap + ["hyperfine", "-N", "--style", "none", "-i", "--warmup", str(warmup),
                   "--runs", str(runs), "--export-json", path]
    for r in rows:
        argv += ["-n", r["id"], shlex.join(r["argv"])]
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
    ms = sorted(t * 1000 for t in times_s)
    return {"n": len(ms), "mean": statistics.fmean(ms),
            "sd": statistics.stdev(ms) if len(ms) > 1 else 0.0,
            "median": statistics.median(ms), "min": ms[0], "max": ms[-1],
            "p90": ms[int(0.9 * (len(ms) - 1))]}


def latency(ok, args):
    """hyperfine in rounds: each round runs every row, in an order rotated by
    one row per round and reversed every other round. Sets each row's stats,
    its median in each round and its ratio to the floor; returns the runs per
    round."""
    times, codes, medians = ({r["id"]: [] for r in ok} for _ in range(3))
    per_round = max(1, args.runs // args.rounds)
    for i in range(args.rounds if ok else 0):
        order = ok[i % len(ok):] + ok[:i % len(ok)]
        groups = {}
        for r in (order[::-1] if i % 2 else order):
            groups.setdefault(tuple(r["wrap"] or ()), []).append(r)
        log(f"latency round {i + 1}/{args.rounds}: {len(order)} commands x {per_round} runs")
        for wrap, rows in groups.items():
            res = hyperfine(rows, per_round, args.warmup, list(wrap), args.timeout)
            for rid, (t, e) in res.items():
                times[rid] += t
                codes[rid] += e
                medians[rid].append(statistics.median(t) * 1000)
    for r in ok:
        bad = sum(1 for e in codes[r["id"]] if e != 0)
        r.update(status="error" if bad else "ok", stats=stats(times[r["id"]]),
                 round_medians=medians[r["id"]])
        if bad:
            r["error"] = f"{bad} of {len(codes[r['id']])} runs failed"
    floor = next((r["stats"]["median"] for r in ok if r["id"] == "floor"), None)
    for r in ok if floor else ():
        r["x_floor"] = r["stats"]["median"] / floor
    return per_round


def throughput(loop_bin, row, count, batches, timeout):
    rates, fails, slowest = [], 0, 0.0
    for _ in range(batches):
        rc, out, err = run_group((row["wrap"] or []) + [str(loop_bin), str(count)] + row["argv"],
                                 timeout)
        m = re.search(r"runs=(\d+) failures=(\d+) elapsed_ns=(\d+) slowest_ns=(\d+)", out)
        if rc != 0 or not m:
            return {"error": last_line(err, f"exit {rc}")}
        runs, f, ns, slow = (int(x) for x in m.groups())
        rates.append(runs / (ns / 1e9))
        fails += f
        slowest = max(slowest, slow / 1e6)
    return {"per_s": statistics.median(rates), "failures": fails, "slowest_ms": slowest}


# ---- --timings ---------------------------------------------------------------------

LINE = re.compile(r"^step-\d+ \[(?P<proc>parent|child)\]: (?P<text>.*?)\s+\(\+(?P<d>[0-9.]+) ms\)$")


def parse_timings(stderr):
    """One run's narration: [(proc, text, delta_ms, at_ms)], at_ms since the
    program started (lab_init). The parent's lines add up; the child's clock
    is a copy of the parent's at clone, so its lines add up from the last
    parent line before the clone."""
    lines = [(m["proc"], m["text"], float(m["d"]))
             for m in (LINE.match(l.strip()) for l in stderr.splitlines()) if m]
    out, t, before_clone, cloned = [], 0.0, 0.0, False
    for proc, text, d in lines:
        if proc == "parent":
            cloned = cloned or bool(re.search(r"\bclone3?\b", text, re.I))
            t += d
            before_clone = before_clone if cloned else t
            out.append((proc, text, d, t))
    t = before_clone
    for proc, text, d in lines:
        if proc == "child":
            t += d
            out.append((proc, text, d, t))
    return out


def phases(row, runs, timeout):
    """The step with --timings, runs times: the median of each narrated line
    (its numbers blanked, so that pids and addresses do not split it)."""
    argv = [row["argv"][0], "--timings"] + [a for a in row["argv"][1:] if a != "-q"]
    samples, wording, fails = {}, {}, []
    for _ in range(runs):
        rc, _, err = run_group(argv, timeout)
        if rc != 0:
            fails.append(last_line(err, f"exit {rc}"))
            continue
        seen = Counter()
        for proc, text, d, at in parse_timings(err):
            key = (proc, re.sub(r"(?<![A-Za-z_])\d+(?:[.:/]\d+)*", "#", text))
            seen[key] += 1
            samples.setdefault((*key, seen[key]), []).append((d, at))
            wording.setdefault((*key, seen[key]), text)
    lines = [{"proc": k[0], "text": wording[k], "n": len(v),
              "median_ms": statistics.median(d for d, _ in v), "min_ms": min(d for d, _ in v),
              "max_ms": max(d for d, _ in v), "at_ms": statistics.median(at for _, at in v)}
             for k, v in samples.items()]
    return {"step": row["id"], "display": row["display"].replace(" -q ", " --timings ", 1),
            "argv": argv, "runs": runs, "ok_runs": runs - len(fails), "failures": fails[:3],
            "rows": sorted(lines, key=lambda l: l["at_ms"])}


def kernel_costs(work, cg_dir, cg_ver):
    kc_bin = build_helper("kcost")
    (work / "mnt").mkdir()
    rc, out, err = run_group([str(kc_bin), str(work / "mnt"), cg_dir or "-", str(cg_ver or 0)], 300)
    try:
        return json.loads(out)
    except ValueError:
        return {"errors": {"kcost": f"exit {rc}: {err.strip()[-300:]}"}}


# ---- building ------------------------------------------------------------------------

def build_helper(name):
    """bench/NAME.c, linked with the lab's common/ (build/libcommon.a, which make builds)."""
    src, out, lib = BENCH / f"{name}.c", BUILD / name, REPO / "build" / "libcommon.a"
    if not lib.exists():
        raise SystemExit(f"bench: no {lib}: run make")
    if not out.exists() or out.stat().st_mtime < max(src.stat().st_mtime, lib.stat().st_mtime):
        cc = os.environ.get("CC", "cc")
        r = sh([cc, *CC_FLAGS, "-I", str(REPO / "common"), "-o", str(out), str(src), str(lib)])
        if r.returncode:
            raise SystemExit(f"bench: cannot build {out}: {r.stderr.strip()}")
    return out


def make(target, cwd):
    """(seconds, the CompletedProcess) of `make [target]`, outside any make that runs us."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    t0 = time.perf_counter()
    r = subprocess.run(["make", *target], cwd=cwd, capture_output=True, text=True, env=env)
    return time.perf_counter() - t0, r


def clean_build_time():
    """`make` from clean, in a copy of the tree, so that the working tree's
    build is not disturbed."""
    dst = BUILD / "clean-build"
    shutil.rmtree(dst, ignore_errors=True)
    skip = shutil.ignore_patterns("build", ".git", "handout", "__pycache__", ".pytest_cache",
                                  "docs", "step-[0-9][0-9]", "busybox", "busybox.tmp.*")
    shutil.copytree(REPO, dst, ignore=skip, symlinks=True)
    took, r = make([], dst)
    shutil.rmtree(dst, ignore_errors=True)
    res = {"seconds": round(took, 2),
           "command": "make (one job, from clean, in a copy of the tree)"}
    if r.returncode:
        res["error"] = last_line(r.stderr, "?")
    return res


def suite_time(target):
    took, r = make([target], REPO)
    text = r.stdout + r.stderr
    if f"No rule to make target '{target}'" in text:
        return {"error": f"no `make {target}` yet"}
    out = {"seconds": round(took, 1), "rc": r.returncode}
    summary = re.findall(r"=+ (.*(?:passed|failed).*) =+", text)
    if summary:
        out["summary"] = summary[-1]
    if r.returncode:
        out["error"] = last_line(r.stderr, "?")
    return out


# ---- one run ------------------------------------------------------------------------

def oci_bundle(bundle, vol, cgroups_path):
    """Step 08's container in OCI terms, for runc and crun alike: the defaults
    of `runc spec` (or of `crun spec`, the same), running /bin/true in the
    rootfs, read-only, with a CPU quota of 0.5 and the volume."""
    bundle.mkdir(parents=True)
    tool = shutil.which("runc") or shutil.which("crun")
    if not tool or sh([tool, "spec", "--bundle", str(bundle)]).returncode:
        return      # the row says why it cannot run
    cfg = json.loads((bundle / "config.json").read_text())
    cfg["process"].update(terminal=False, args=["/bin/true"])
    cfg.update(hostname="bench", root={"path": str(ROOTFS.resolve()), "readonly": True})
    cfg["mounts"].append({"destination": "/mnt", "type": "bind", "source": str(vol),
                          "options": ["rbind", "rw"]})
    cfg["linux"]["resources"]["cpu"] = {"quota": 50000, "period": 100000}
    cfg["linux"]["cgroupsPath"] = cgroups_path
    (bundle / "config.json").write_text(json.dumps(cfg, indent=1))


@contextlib.contextmanager
def workspace(run_id):
    """The run's files under build/bench/run-ID (named pipes, the volume,
    empty image layers, step 14's filter, the OCI bundles), removed
    afterwards, also when the run fails. The volume goes on the rootfs's own
    /mnt: the benchmark adds nothing to the rootfs that tests share."""
    work = BUILD / f"run-{run_id}"
    shutil.rmtree(work, ignore_errors=True)
    (work / "fifo").mkdir(parents=True)
    for f in ("go", "ready"):
        os.mkfifo(work / "fifo" / f)
    (work / "vol").mkdir()
    for i in range(1, cases.MAX_LAYERS):
        (work / "layers" / str(i)).mkdir(parents=True)
    (work / "seccomp.bpf").write_bytes(
        subprocess.run([build_helper("seccomp")], capture_output=True, check=True).stdout)
    for rt in ("runc", "crun", "step-17"):
        oci_bundle(work / "oci" / rt, work / "vol", f"/bench-oci-{rt}-{run_id}")
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def crun_needs_v2_hidden():
    """crun 1.x refuses hybrid cgroups whose v2 side holds a controller."""
    return bool(read("/sys/fs/cgroup/unified/cgroup.controllers").strip())


def runnable(rows, cg_dir):
    """The rows that run here; the others get their error."""
    for r in rows:
        why = probe(r, cg_dir)
        if why:
            r.update(status="error", error=why)
            log(f"  {r['id']}: cannot run: {why}")
    if any(r["id"] == "crun" and "error" not in r for r in rows):
        rows[:] = [r for r in rows if r["id"] != "crun-v1"]   # crun runs as installed
    return [r for r in rows if "error" not in r]


def start_background(binary, bg, ctx, timeout):
    """./step-NN -q OPTS, running once its record is written; what it gives
    the templates goes into ctx."""
    name = ctx.fill(bg.name)
    log(f"background: {binary.name} {name}")
    p = subprocess.Popen([str(binary), "-q", *ctx.argv(bg.opts)], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    up = labtest.wait_until(lambda: p.poll() is not None
                            or labtest.record(name).get("pid", "0") != "0", timeout=timeout)
    if p.poll() is not None:
        return p, f"{binary.name} {name} ended: {last_line(p.communicate()[1], 'no message')}"
    if not up:
        return p, f"{binary.name} {name}: no record after {timeout} s"
    if bg.key:
        rec = labtest.record(name)
        ctx.add(**{f"{bg.key}_pid": rec["pid"], f"{bg.key}_groups": ":".join(rec["cgroup"])})
    return p, None


def stop_background(binary, bg, p, ctx, timeout):
    """bg.stop if it has one (pod rm), else SIGTERM, which the lab process
    passes on to the container's init; SIGKILL if it lingers."""
    if bg.stop:
        run_group([str(binary), *ctx.argv(bg.stop)], timeout)
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
    try:
        p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()


@contextlib.contextmanager
def background(steps, ctx, timeout=30):
    """The containers some rows need running (a Step's background): started
    after the host's state was taken, ended before it is compared."""
    running = []
    try:
        for n, bg in cases.backgrounds(steps).items():
            p, error = start_background(steps[n], bg, ctx, timeout)
            running.append((steps[n], bg, p))
            if error:
                raise SystemExit(f"bench: the background container {error}")
        yield
    finally:
        for binary, bg, p in reversed(running):
            stop_background(binary, bg, p, ctx, timeout)


def measure(args, steps, run_id, work, cgroups):
    """Everything that is timed, in one work directory: the rows, the phases
    and the kernel's costs."""
    cg_ver, cg_dir = cgroups.get("cpu", (None, None))
    ctx = cases.Context(ROOTFS.resolve(), work, cgroups, crun_needs_v2_hidden(), run_id,
                        labtest.bin_dir(), labtest.RUN_DIR)
    with background(steps, ctx):
        rows = cases.rows(steps, ctx, args.guard_only)
        log(f"{len(steps)} steps ({', '.join(f'{n:02d}' for n in steps)}); "
            f"checking that {len(rows)} commands run")
        ok = runnable(rows, cg_dir)
        per_round = latency(ok, args)
        if not args.guard_only and args.throughput > 0:
            log(f"throughput: {len(ok)} commands x {args.batches} batches of {args.throughput} "
                "in a row")
            loop_bin = build_helper("loop")
            for r in ok:
                r["throughput"] = throughput(loop_bin, r, args.throughput, args.batches,
                                             args.timeout)
        ok_steps = [r for r in ok if r["kind"] == "step"]
        phase = kcost = None
        if ok_steps and not args.guard_only and args.phase_runs > 0:
            log(f"phases: {ok_steps[-1]['id']} --timings x {args.phase_runs}")
            phase = phases(ok_steps[-1], args.phase_runs, 60)
    if not args.guard_only:
        log("kernel costs (bench/kcost.c)")
        kcost = kernel_costs(work, cg_dir, cg_ver)
    return rows, per_round, phase, kcost


# ---- step 18: a pod's life under a kubelet -----------------------------------------

POD_CYCLE = REPO / "bench" / "ref" / "pod-cycle.sh"
PODMAN_FIXTURE = REPO / "tests" / "helpers" / "oci" / "podman-fixture.sh"
POD_COMMAND = ["/bin/sh", "-c", "trap 'exit 0' TERM; sleep 100000 & wait"]  # ends on SIGTERM


def pod_manifest(image):
    """One pod of one container, as YAML (JSON is YAML), for the lab's
    kubelet and for podman kube play."""
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bench"},
                       "spec": {"terminationGracePeriodSeconds": 2, "containers": [
                           {"name": "main", "image": image, "command": POD_COMMAND}]}})


def timed_cycles(argv, runs, timeout):
    """Runs argv runs times: the seconds each took, or an error."""
    times = []
    for _ in range(runs):
        t0 = time.monotonic()
        rc, _, err = run_group(argv, timeout)
        if rc != 0:
            return {"error": last_line(err, f"exit {rc}")}
        times.append(time.monotonic() - t0)
    return {"stats": stats(times)}


def lab_pod_cycles(binary, work, runs, timeout):
    """Step 18's kubelet on a directory of its own, and runs pods through it."""
    manifests, manifest = work / "kubelet", work / "lab-pod.yaml"
    manifests.mkdir()
    manifest.write_text(pod_manifest("busybox"))
    kubelet = subprocess.Popen([str(binary), "kubelet", "-q", "--pod-manifest-path", str(manifests)],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, start_new_session=True,
                               env=dict(os.environ, LAB_ROOTFS=str(ROOTFS.resolve())))
    try:
        return timed_cycles(["sh", str(POD_CYCLE), "lab", str(binary), str(manifests),
                             str(manifest)], runs, timeout)
    finally:
        kubelet.send_signal(signal.SIGTERM)  # no pod left: it removes its state
        try:
            kubelet.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(kubelet.pid, signal.SIGKILL)
            kubelet.communicate()


def podman_pod_cycles(work, runs, timeout):
    """The same pod through podman kube play and kube down, on a private
    podman (the one test_17_clients.py uses), with the lab's rootfs as its
    image."""
    if not shutil.which("podman"):
        return {"error": "podman is not installed (make deps installs it)"}
    env = dict(os.environ, BASE=str(work / "podman"), CG=f"bench-podman-{os.getpid()}")
    manifest = work / "podman-pod.yaml"
    manifest.write_text(pod_manifest("localhost/lab-busybox:latest"))
    r = subprocess.run([str(PODMAN_FIXTURE), "setup", str(ROOTFS.resolve())], env=env,
                       capture_output=True, text=True, timeout=300)
    try:
        if r.returncode:
            return {"error": "podman's setup failed: " + last_line(r.stderr, f"exit {r.returncode}")}
        return timed_cycles(["env", f"BASE={env['BASE']}", f"CG={env['CG']}", "sh", str(POD_CYCLE),
                             "podman", str(PODMAN_FIXTURE), str(manifest)], runs, timeout)
    finally:
        subprocess.run([str(PODMAN_FIXTURE), "teardown"], env=env, capture_output=True, timeout=300)


def pod_cycles(steps, work, runs, timeout):
    """Step 18's row: a pod's manifest written until it runs, removed until it
    is gone; beside it, podman's way to run a pod manifest."""
    if 18 not in steps or runs <= 0:
        return None
    log(f"pod cycles: step 18's kubelet and podman kube play, {runs} each")
    return {"runs": runs, "command": POD_COMMAND,
            "step-18": lab_pod_cycles(steps[18], work, runs, timeout),
            "podman": podman_pod_cycles(work, runs, timeout)}


def compare(steps, rows):
    """Each step against its reference: the ratio of the medians, and the
    ratio within each round (what the guard judges: their median)."""
    by_id, comps = {r["id"]: r for r in rows}, []
    for n in steps:
        entry, inherited = cases.step_entry(n)
        s, ref = by_id[f"step-{n:02d}"], by_id[entry.ref.id]
        # crun refuses hybrid cgroups: its row with the v2 side hidden.
        if ref.get("status") != "ok" and by_id.get(ref["id"] + "-v1", {}).get("status") == "ok":
            ref = by_id[ref["id"] + "-v1"]
        target = cases.TARGET_RATIO if n in cases.TARGET_RATIO_STEPS else None
        comp = {"step": n, "row": s["id"], "ref": ref["id"], "guard": cases.GUARD_RATIO,
                "target": cases.OCI_TARGET_RATIO if entry.cmd else target,
                "inherited_from": inherited}
        if s.get("status") != "ok":
            comp["error"] = f"{s['id']} did not run: {s.get('error')}"
        elif ref.get("status") != "ok":
            comp["error"] = f"reference {ref['id']} did not run: {ref.get('error')}"
        else:
            rr = [a / b for a, b in zip(s["round_medians"], ref["round_medians"])]
            comp.update(ratio=s["stats"]["median"] / ref["stats"]["median"], round_ratios=rr,
                        paired_ratio=statistics.median(rr))
            s.update(x_ref=comp["ratio"], ref=ref["id"])
        also = {o.id: r for o in entry.also if not o.vs and (r := ratio(by_id, s["id"], o.id))}
        # a context row with references of its own (exec): against each
        pairs = {o.id: {v.id: r for v in o.vs if (r := ratio(by_id, o.id, v.id))}
                 for o in entry.also if o.vs}
        for o, vs in pairs.items():
            if vs:
                by_id[o].update(x_ref=next(iter(vs.values())), ref=next(iter(vs)))
        if also:
            comp["also"] = also
        if any(pairs.values()):
            comp["pairs"] = pairs
        comps.append(comp)
    return comps


def ratio(by_id, a, b):
    """The median of row a over that of row b, if both ran."""
    sa, sb = (by_id.get(x, {}).get("stats") for x in (a, b))
    return sa and sb and sa["median"] / sb["median"]


def bench(args, steps):
    """One whole run: its results, as results.json holds them."""
    quiet = wait_quiet(args.wait_quiet)
    procs0 = processes()
    meta = machine_info()
    meta.update(load_start=read("/proc/loadavg").split()[:3], busy_start=round(cpu_busy(1.0), 3),
                competitors_start=competitors(procs0), quiet_wait=quiet)
    t_start, run_id, leftovers = time.monotonic(), str(os.getpid()), []
    # {"cpu": (1, "/sys/fs/cgroup/cpu"), ...}, as the lab finds them
    cgroups = {c: (int(v[1]), d) for c in ("cpu", "memory", "pids")
               for v, d in [labtest.layout(c)] if v}
    cg_ver, cg_dir = cgroups.get("cpu", (None, None))
    with workspace(run_id) as work:
        before = host_state(str(work))
        rows, per_round, phase, kcost = measure(args, steps, run_id, work, cgroups)
        pods = None if args.guard_only else pod_cycles(steps, work, args.pod_cycles, 120)
        log("checking that the host is as before")
        leftovers += host_leftovers(before, str(work))
    for line in leftovers:
        log(f"  LEFTOVER {line}")
    procs1 = processes()
    meta.update(load_end=read("/proc/loadavg").split()[:3], competitors_end=competitors(procs1),
                measure_seconds=round(time.monotonic() - t_start, 1))
    meta["other_cpu_seconds"], meta["other_cpu_share"] = other_cpu(procs0, procs1,
                                                                   meta["measure_seconds"])
    build = {}
    if not args.no_clean_build and not args.guard_only:
        log("timing `make` from clean (in a copy of the tree)")
        build["make"] = clean_build_time()
    for target in ("test", "check") if args.suites else ():
        log(f"timing `make {target}`")
        build[f"make {target}"] = suite_time(target)
    return {
        "version": 1, "meta": meta,
        "config": {"runs": per_round * args.rounds, "rounds": args.rounds, "warmup": args.warmup,
                   "throughput": args.throughput, "batches": args.batches,
                   "phase_runs": args.phase_runs, "guard_only": args.guard_only},
        "steps": list(steps), "comparisons": compare(steps, rows), "rows": rows,
        "phases": phase, "kcost": kcost, "build": build, "pod_cycles": pods,
        "host": {"leftovers": leftovers, "cpu_cgroup": cg_dir, "cpu_cgroup_version": cg_ver},
    }


# ---- main -----------------------------------------------------------------------------

OPTIONS = [   # the numeric options: name, default, what it sets
    ("--runs", 200, "hyperfine runs per command, all rounds"),
    ("--rounds", 5, "rounds of hyperfine"),
    ("--warmup", 3, "warm-up runs per command per round"),
    ("--throughput", 100, "containers in a row"),
    ("--batches", 3, "throughput batches; the median is shown"),
    ("--phase-runs", 100, "runs of the last step with --timings"),
    ("--timeout", 900, "seconds for one hyperfine call"),
    ("--pod-cycles", 10, "step 18: pods through the kubelet, and through podman kube play"),
]


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, default, what in OPTIONS:
        ap.add_argument(name, type=int, default=default, help=f"{what} ({default})")
    ap.add_argument("--guard-only", action="store_true",
                    help="only the steps and their references (what the regression guard needs)")
    ap.add_argument("--no-clean-build", action="store_true", help="do not time `make` from clean")
    ap.add_argument("--suites", action="store_true", help="also time `make test` and `make check`")
    ap.add_argument("--wait-quiet", type=int, default=0, metavar="S",
                    help="wait up to S seconds for an idle machine first (no qemu, no pytest, "
                    "<15%% CPU)")
    ap.add_argument("--out", type=Path, default=BUILD / "results.json", help="results file")
    ap.add_argument("--no-docs", action="store_true", help="do not write docs/benchmarks.md")
    return ap.parse_args()


def ready_steps():
    """{n: ./step-NN} for every step in steps/; exits unless all can run."""
    if os.geteuid() != 0:
        raise SystemExit("bench: needs root (the steps, runc and crun do): sudo make bench")
    if not shutil.which("hyperfine"):
        raise SystemExit("bench: hyperfine not found: sudo make deps-bench")
    if not (ROOTFS / "bin" / "true").exists():
        raise SystemExit(f"bench: no rootfs at {ROOTFS}: run make")
    steps = {n: labtest.step_bin(n) for n in labtest.step_sources()}
    missing = [b.name for b in steps.values() if not os.access(b, os.X_OK)]
    if not steps or missing:
        raise SystemExit(f"bench: not built: {' '.join(missing) or 'no step'}: run make")
    return steps


def main():
    args = parse_args()
    steps = ready_steps()
    BUILD.mkdir(parents=True, exist_ok=True)
    results = bench(args, steps)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=1))
    tmp.replace(args.out)
    log(f"results in {args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out}")
    for c in results["comparisons"]:
        log(f"  step-{c['step']:02d}: " + (c["error"] if "error" in c else
                                           f"{c['ratio']:.2f}x {c['ref']} (median), "
                                           f"{c['paired_ratio']:.2f}x (median of the rounds)"))
    if not args.no_docs and not args.guard_only:
        import report
        md, svg = report.write(results, REPO / "docs")
        log(f"wrote {md.relative_to(REPO)} and {svg.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
