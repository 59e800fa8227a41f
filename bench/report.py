#!/usr/bin/python3
"""bench/report.py - writes docs/benchmarks.md and docs/benchmarks.svg from
build/bench/results.json (bench/run.py calls it at the end of a run).

    /usr/bin/python3 bench/report.py [RESULTS.json]    # re-render without measuring

The text is generated from the numbers, so it never disagrees with them.
"""

import html
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cases  # noqa: E402

REPO = cases.REPO

KCOST = [
    ("rcu_grace_period", "one RCU grace period: `membarrier(MEMBARRIER_CMD_GLOBAL)` waits for `synchronize_rcu()`"),
    ("fork_exit_wait", "`fork` + `_exit` + `waitpid`, no namespace (the baseline)"),
    ("clone_newpid", "the same with `CLONE_NEWPID`"),
    ("clone_newns", "the same with `CLONE_NEWNS` (copies and later frees the host's mount table)"),
    ("clone_newuts", "the same with `CLONE_NEWUTS`"),
    ("clone_newnet", "the same with `CLONE_NEWNET` (its teardown runs later, in a kernel worker)"),
    ("unshare_newns", "`unshare(CLONE_NEWNS)` alone"),
    ("unshare_newnet", "`unshare(CLONE_NEWNET)` alone"),
    ("make_rprivate", "`mount(NULL, \"/\", MS_REC|MS_PRIVATE)`"),
    ("mount_tmpfs", "mounting a tmpfs"),
    ("umount_sync", "`umount2(dir, 0)` of that tmpfs"),
    ("umount_detach", "`umount2(dir, MNT_DETACH)` of that tmpfs"),
    ("pivot_root", "`pivot_root(new, new/old)`"),
    ("veth_delete", "deleting a veth pair (`RTM_DELLINK`; in a network namespace of a child)"),
    ("umount_old_root_detach", "`umount2(\"/old\", MNT_DETACH)` of the old root after `pivot_root`"),
    ("cgroup_mkdir_spaced", "cgroup `mkdir` (one container start: 100 ms since the last)"),
    ("cgroup_quota_write_spaced", "CPU quota write, spaced"),
    ("cgroup_procs_write_spaced", "`cgroup.procs` write of a waiting child, spaced"),
    ("cgroup_rmdir_spaced", "cgroup `rmdir` after the child exited, spaced"),
    ("cgroup_mkdir_back_to_back", "cgroup `mkdir`, back to back"),
    ("cgroup_quota_write_back_to_back", "CPU quota write, back to back"),
    ("cgroup_procs_write_back_to_back", "`cgroup.procs` write, back to back"),
    ("cgroup_rmdir_back_to_back", "cgroup `rmdir`, back to back"),
]


def ms(v):
    if v is None:
        return "–"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def us(v):
    if v >= 1000:
        return f"{v / 1000:.2f} ms"
    return f"{v:.0f} µs" if v >= 10 else f"{v:.1f} µs"


def x(v):
    return "–" if v is None else f"{v:.2f}×"


def code(s):
    return "`" + s.replace("`", "'").replace("|", "\\|") + "`"


def esc(s):
    return s.replace("|", "\\|")


def guard_ratio(comp):
    """What the regression guard judges: the median of the per-round ratios
    (results written before it was recorded: the ratio of the medians)."""
    return comp.get("paired_ratio", comp["ratio"])


def verdict(ok):
    return "**yes**" if ok else "**no**"


# ---- the chart ------------------------------------------------------------------------

COLOURS = {"floor": "#9e9e9e", "step": "#1f77b4", "ref": "#ff7f0e", "info": "#ffbb78",
           "tool": "#2ca02c"}


def svg_chart(res):
    rows = [r for r in res["rows"] if r.get("stats")]
    if not rows:
        return "<svg xmlns='http://www.w3.org/2000/svg' width='400' height='40'><text x='10' y='25'>no data</text></svg>"
    lo = min(r["stats"]["min"] for r in rows)
    hi = max(max(r["stats"]["p90"], r["stats"]["median"]) for r in rows)
    lo_t = 10 ** math.floor(math.log10(lo * 0.9))
    hi_t = 10 ** math.ceil(math.log10(hi * 1.1))
    left, width, bar, gap, top = 330, 560, 16, 6, 56
    height = top + len(rows) * (bar + gap) + 60
    W = left + width + 90

    def X(v):
        v = min(max(v, lo_t), hi_t)
        return left + width * (math.log10(v) - math.log10(lo_t)) / (math.log10(hi_t) - math.log10(lo_t))

    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{W}' height='{height}' "
           f"font-family='DejaVu Sans, Arial, sans-serif' font-size='12'>",
           f"<rect width='{W}' height='{height}' fill='white'/>",
           f"<text x='{left}' y='20' font-size='15' font-weight='bold'>Container start-up: "
           f"median wall time, /bin/true (log scale)</text>",
           f"<text x='{left}' y='38' fill='#555'>{html.escape(res['meta']['date'])}, "
           f"Linux {html.escape(res['meta']['kernel'])}, {res['meta']['cpus']} CPUs; "
           f"bar: median, line: min to 90th percentile</text>"]
    t = lo_t
    ticks = []
    while t <= hi_t * 1.0001:
        for m in (1, 2, 5):
            if lo_t <= t * m <= hi_t * 1.0001:
                ticks.append(t * m)
        t *= 10
    y_end = top + len(rows) * (bar + gap)
    for t in ticks:
        xx = X(t)
        label = f"{t:g} ms"
        out.append(f"<line x1='{xx:.1f}' y1='{top - 4}' x2='{xx:.1f}' y2='{y_end}' stroke='#ddd'/>")
        out.append(f"<text x='{xx:.1f}' y='{y_end + 16}' text-anchor='middle' fill='#555'>{label}</text>")
    for i, r in enumerate(rows):
        y = top + i * (bar + gap)
        s = r["stats"]
        c = COLOURS.get(r["kind"], "#888")
        name = r["label"] if r["kind"] != "step" else r["id"]
        weight = " font-weight='bold'" if r["kind"] == "step" else ""
        out.append(f"<text x='{left - 8}' y='{y + bar - 4}' text-anchor='end'{weight}>"
                   f"{html.escape(name)}</text>")
        out.append(f"<rect x='{left}' y='{y}' width='{X(s['median']) - left:.1f}' height='{bar}' fill='{c}'/>")
        out.append(f"<line x1='{X(s['min']):.1f}' y1='{y + bar / 2}' x2='{X(s['p90']):.1f}' "
                   f"y2='{y + bar / 2}' stroke='black' stroke-width='1.2'/>")
        out.append(f"<text x='{max(X(s['median']), X(s['p90'])) + 6:.1f}' y='{y + bar - 4}'>"
                   f"{ms(s['median'])} ms</text>")
    ly = y_end + 36
    lx = left
    for kind, name in (("floor", "floor"), ("step", "lab step"), ("ref", "its reference"),
                       ("info", "context"), ("tool", "other runtimes")):
        out.append(f"<rect x='{lx}' y='{ly - 10}' width='12' height='12' fill='{COLOURS[kind]}'/>")
        out.append(f"<text x='{lx + 16}' y='{ly}'>{name}</text>")
        lx += 30 + 8 * len(name)
    out.append("</svg>")
    return "\n".join(out) + "\n"


# ---- the page -----------------------------------------------------------------------

def render(res):
    m = res["meta"]
    cfg = res["config"]
    rows = res["rows"]
    by = {r["id"]: r for r in rows}
    comps = res["comparisons"]
    L = []
    A = L.append

    A("# Benchmarks: how fast does a container start?")
    A("")
    A("<!-- Generated by `make bench` (bench/run.py, bench/report.py) from "
      "build/bench/results.json. Do not edit by hand: re-run `sudo make bench`. -->")
    A("")
    A(f"Measured on **{m['date']}**, Linux **{m['kernel']}** (HZ={m['hz']}), "
      f"{m['cpus']} × {m['cpu']}, lab commit `{m['git']}`. "
      f"Every step that was built at the time ({', '.join(f'{s:02d}' for s in res['steps'])}) "
      "starts a container that runs `/bin/true` and exits; the time is the wall time "
      "from the host's point of view, from `exec` of the program to its exit, measured "
      "by [hyperfine](https://github.com/sharkdp/hyperfine) without a shell (`-N`). "
      f"Each command ran {cfg['runs']} times in {cfg['rounds']} rounds (every round "
      f"runs all commands in a rotated order, after {cfg['warmup']} warm-up runs each), "
      "so that a burst of load elsewhere falls on all of them alike. "
      "Ratios are of medians.")
    A("")
    A("Reproduce with `sudo make bench` (installs hyperfine, bubblewrap, runc and crun "
      "from Debian's packages if missing, builds everything, runs this, writes this "
      "page and the chart, then runs the regression guard).")
    A("")
    A("![start-up time of each step and of the reference tools](benchmarks.svg)")
    A("")

    # ---- targets
    A("## Targets")
    A("")
    A("| target (issue 9) | measured | met? |")
    A("|---|---|---|")
    for c in comps:
        name = f"step-{c['step']:02d}"
        ref = by.get(c["ref"], {})
        if "ratio" not in c:
            A(f"| {name} ≤ {c['target'] or c['guard']}× {esc(ref.get('label', c['ref']))} | "
              f"{esc(c.get('error', '?'))} | **no** |")
            continue
        if c["target"] is not None:
            A(f"| {name} at most {c['target']}× the median of {esc(ref['label'])} | "
              f"{c['ratio']:.2f}× ({ms(by[name]['stats']['median'])} vs {ms(ref['stats']['median'])} ms) | "
              f"{verdict(c['ratio'] <= c['target'])} |")
        else:
            A(f"| {name} not slower than {esc(ref['label'])} (guard) | {c['ratio']:.2f}× "
              f"({ms(by[name]['stats']['median'])} vs {ms(ref['stats']['median'])} ms), "
              f"{guard_ratio(c):.2f}× by round | {verdict(guard_ratio(c) <= c['guard'])} |")
    s8 = by.get("step-08")
    if s8 and s8.get("stats"):
        for tid, rule in (("bwrap", "faster than bubblewrap --unshare-all"),):
            t = by.get(tid)
            if t and t.get("stats"):
                r = s8["stats"]["median"] / t["stats"]["median"]
                A(f"| step-08 {rule} | {r:.2f}× its median ({ms(s8['stats']['median'])} vs "
                  f"{ms(t['stats']['median'])} ms) | {verdict(r < 1)} |")
            else:
                A(f"| step-08 {rule} | {tid} could not run: {esc((t or {}).get('error', 'missing'))} | – |")
        t = by.get("runc")
        if t and t.get("stats"):
            r = t["stats"]["median"] / s8["stats"]["median"]
            A(f"| step-08 at least {cases.RUNC_FACTOR:g}× faster than runc | runc takes {r:.1f}× as long "
              f"({ms(t['stats']['median'])} vs {ms(s8['stats']['median'])} ms) | "
              f"{verdict(r >= cases.RUNC_FACTOR)} |")
        else:
            A(f"| step-08 at least {cases.RUNC_FACTOR:g}× faster than runc | runc could not run: "
              f"{esc((t or {}).get('error', 'missing'))} | – |")
    else:
        A("| step-08 faster than bwrap, ≥5× faster than runc | step-08 is not built yet | – |")
    b = res.get("build", {}).get("make")
    if b:
        A(f"| `make` from clean under 15 s | {b['seconds']} s"
          f"{' (failed: ' + esc(b['error']) + ')' if b.get('error') else ''} | "
          f"{verdict(b['seconds'] < 15 and not b.get('error'))} |")
    for target, limit in (("make test", 120), ("make check", 1200)):
        t = res.get("build", {}).get(target)
        if t and "seconds" in t:
            A(f"| `{target}` under {limit // 60} min | {t['seconds']} s (exit {t['rc']}) | "
              f"{verdict(t['seconds'] < limit)} |")
        else:
            A(f"| `{target}` under {limit // 60} min | not measured in this run, see below | – |")
    A("")

    # ---- latency
    A("## Start-up latency")
    A("")
    A("Milliseconds. *× floor*: the median over the floor's. *× ref*: a step's median "
      "over the median of the reference it must beat (the row named in the next table).")
    A("")
    A("| what | command | median | mean ± σ | min | max | × floor | × ref |")
    A("|---|---|--:|--:|--:|--:|--:|--:|")
    for r in rows:
        label = f"**{r['label']}**" if r["kind"] == "step" else esc(r["label"])
        cmd = code(r["display"])
        if r.get("wrap"):
            cmd += " (runner in a private mount namespace, see notes)"
        if not r.get("stats"):
            A(f"| {label} | {cmd} | cannot run here: {esc(r.get('error', '?'))} | | | | | |")
            continue
        s = r["stats"]
        A(f"| {label} | {cmd} | {ms(s['median'])} | {ms(s['mean'])} ± {ms(s['sd'])} | "
          f"{ms(s['min'])} | {ms(s['max'])} | {x(r.get('x_floor'))} | {x(r.get('x_ref'))} |"
          + (f" ⚠ {esc(r['error'])}" if r.get("error") else ""))
    A("")
    notes = [r for r in rows if r.get("note")]
    if notes:
        A("What each row does:")
        A("")
        for r in notes:
            A(f"- **{esc(r['label'])}**: {r['note']}.")
        A("")

    # ---- steps vs references
    A("## Each step against the same work done with unshare(1)")
    A("")
    A(f"*Ratio*: the step's median over the reference's, the issue's measure; the "
      f"target for steps 01–05 is {cases.TARGET_RATIO:g}. *By round*: the same ratio "
      f"within each round (the median of the five, then lowest to highest). The "
      f"regression guard (`bench/test_regression.py`, run by `make bench`) fails when "
      f"the median of the rounds is above {cases.GUARD_RATIO:g}: each round times the "
      f"step and its reference one after the other under the same load, so a round is "
      f"a paired sample, and a burst of load in one round cannot fail the guard nor hide "
      f"a real regression, which shows in every round.")
    A("")
    A("| step | reference | ratio | by round | other comparisons |")
    A("|---|---|--:|---|---|")
    for c in comps:
        ref = by.get(c["ref"], {})
        if "ratio" not in c:
            A(f"| step-{c['step']:02d} | {esc(ref.get('label', c['ref']))} | – | {esc(c.get('error', ''))} | |")
            continue
        rr = sorted(c.get("round_ratios", []))
        rr_s = f"{guard_ratio(c):.2f}× ({rr[0]:.2f}–{rr[-1]:.2f})" if rr else "–"
        also = ", ".join(f"{r:.2f}× {esc(by[o]['label'])}" for o, r in (c.get("also") or {}).items())
        inh = f" (reference of step {c['inherited_from']:02d})" if c.get("inherited_from") else ""
        A(f"| step-{c['step']:02d} | {esc(ref['label'])}{inh} | **{c['ratio']:.2f}×** | {rr_s} | {also} |")
    A("")

    # ---- throughput
    tp = [r for r in rows if r.get("throughput")]
    if tp:
        A("## Back-to-back throughput")
        A("")
        A(f"Containers per second when each starts as soon as the previous one has exited: "
          f"`bench/loop.c` (posix_spawn + waitpid) starts the command {cfg['throughput']} "
          f"times in a row; the median of {cfg['batches']} such batches. Back to back, "
          "the kernel's deferred work (network namespace teardown in a worker, RCU "
          "callbacks) piles up, or is amortised: compare with 1000 / median latency.")
        A("")
        A("| what | containers/s | 1000 / median latency | slowest single start | failures |")
        A("|---|--:|--:|--:|--:|")
        for r in tp:
            t = r["throughput"]
            label = f"**{r['label']}**" if r["kind"] == "step" else esc(r["label"])
            if "error" in t:
                A(f"| {label} | error: {esc(t['error'])} | | | |")
                continue
            A(f"| {label} | {t['per_s']:.0f} | {1000 / r['stats']['median']:.0f} | "
              f"{ms(t['slowest_ms'])} ms | {t['failures']} |")
        A("")

    # ---- phases
    ph = res.get("phases")
    if ph:
        A(f"## Where the time goes: {ph['step']} --timings")
        A("")
        A(f"`{ph['display']}` "
          f"ran {ph['runs']} times ({ph['ok_runs']} succeeded). With `--timings` each "
          "narration line ends with the time since the previous line *of the same "
          "process*, measured inside the program with `clock_gettime(CLOCK_MONOTONIC)`. "
          "The table gives the median of each line over the runs, in the order they "
          "happen. *At*: the median time since the program started (`lab_init`); "
          "rebuilt from the deltas: the parent's lines add up, and the child, whose "
          "clock is a copy of the parent's at `clone`, counts from the last parent "
          "line before the clone, so its first line includes `clone` itself, the "
          "child's start and the wait for the parent's go.")
        A("")
        A("| at (ms) | + ms (median) | min | max | process | narration (one run's wording) |")
        A("|--:|--:|--:|--:|---|---|")
        for r in ph["rows"]:
            A(f"| {ms(r['at_ms'])} | **{r['median_ms']:.3f}** | {r['min_ms']:.3f} | "
              f"{r['max_ms']:.3f} | {r['proc']} | {esc(r['text'])} |")
        last_at = max((r["at_ms"] for r in ph["rows"]), default=0)
        srow = by.get(ph["step"], {})
        if srow.get("stats"):
            rest = srow["stats"]["median"] - last_at
            A(f"| | {rest:.3f} | | | – | not narrated: `exec` of the step up to `lab_init`, then "
              f"after the last line: `exec` of `/bin/true`, its run and exit, the namespaces' "
              f"teardown, the parent's `waitpid` and cleanup (the hyperfine median "
              f"{ms(srow['stats']['median'])} ms minus the last *at*) |")
        A("")
        if ph.get("failures"):
            A(f"Failed runs, e.g.: {esc(str(ph['failures'][0]))}")
            A("")

    # ---- kernel costs
    kc = res.get("kcost") or {}
    if any(k in kc for k, _ in KCOST):
        A("## What the kernel's parts cost on this machine")
        A("")
        A("`bench/kcost.c` times each operation alone (20 times each, median; in children "
          "with their own namespaces, nothing left on the host). These are the costs no "
          "user-space code can avoid, only choose between.")
        A("")
        A("| operation | median | min | max |")
        A("|---|--:|--:|--:|")
        for k, what in KCOST:
            v = kc.get(k)
            if v:
                A(f"| {what} | {us(v['median_us'])} | {us(v['min_us'])} | {us(v['max_us'])} |")
        for k, why in (kc.get("errors") or {}).items():
            A(f"| {k} | could not measure: {esc(why)} | | |")
        A("")
        notes = kernel_notes(kc, m)
        if notes:
            for n in notes:
                A(f"- {n}")
            A("")

    # ---- machine
    A("## The machine")
    A("")
    v = m["virtualisation"]
    A("| | |")
    A("|---|---|")
    A(f"| date | {m['date']} |")
    A(f"| kernel | {m['kernel']} ({esc(m['kernel_version'])}) |")
    A(f"| HZ | {m['hz']} |")
    A(f"| preemption | {m['preemption']} |")
    A(f"| /sys/kernel/rcu_expedited | {m['rcu_expedited']} (rcu_normal {m['rcu_normal']}, "
      f"CONFIG_RCU_LAZY={m['rcu_lazy']}) |")
    A(f"| CONFIG_CGROUP_FAVOR_DYNMODS | {m['cgroup_favor_dynmods']} |")
    A(f"| virtualised | systemd-detect-virt: {v.get('systemd-detect-virt', '?')} "
      f"(--vm: {v.get('systemd-detect-virt --vm', '?')}); cpuinfo hypervisor flag: "
      f"{'yes' if v.get('cpuinfo hypervisor flag') else 'no'}; DMI: {esc(v.get('dmi', ''))} |")
    A(f"| host mounts | {m['host_mounts']} lines in /proc/self/mountinfo |")
    A(f"| CPU | {m['cpus']} × {m['cpu']} |")
    A(f"| memory | {m['mem_gib']} GiB |")
    A(f"| cgroups | {esc(m['cgroups'])} |")
    A(f"| distribution | {m['distro']} |")
    A(f"| load average at start / end | {' '.join(m['load_start'])} / {' '.join(m['load_end'])} |")
    A(f"| CPUs busy just before the run | {m['busy_start']:.0%} |")
    oc = m.get("other_cpu_seconds") or []
    A(f"| CPU used by other processes during the {m['measure_seconds']} s of measuring | "
      f"{m.get('other_cpu_share', 0):.0%} of the machine{': ' + esc(', '.join(oc)) if oc else ''} |")
    comp = sorted(set(m.get("competitors_start", []) + m.get("competitors_end", [])))
    A(f"| QEMU, pytest or make test running | {esc('; '.join(comp)) if comp else 'none'} |")
    if m.get("quiet_wait"):
        A(f"| waited for a quiet machine | {esc(m['quiet_wait'])} |")
    for tool, ver in m.get("versions", {}).items():
        A(f"| {tool} | {esc(ver)} |")
    left = res["host"]["leftovers"]
    A(f"| host after the run | {'unchanged: no new mount, cgroup, link, runtime state or process' if not left else '**changed**: ' + esc('; '.join(left))} |")
    A("")

    # ---- build and test times
    A("## Build and test times")
    A("")
    b = res.get("build", {})
    if b.get("make"):
        mk = b["make"]
        A(f"- `make` from clean: **{mk['seconds']} s** ({mk['command']}; builds every step, "
          f"`common/` and the busybox rootfs){'; failed: ' + esc(mk['error']) if mk.get('error') else ''}. Target: under 15 s.")
    else:
        A("- `make` from clean: not measured in this run.")
    for target, limit in (("make test", "2 minutes"), ("make check", "20 minutes")):
        t = b.get(target)
        if t and "seconds" in t:
            A(f"- `{target}`: **{t['seconds']} s**, exit {t['rc']}"
              f"{' (' + esc(t['summary']) + ')' if t.get('summary') else ''}. Target: under {limit}.")
        elif t:
            A(f"- `{target}`: {esc(t.get('error', '?'))}. Target: under {limit}.")
        else:
            A(f"- `{target}`: not measured in this run (`sudo make bench BENCH_ARGS=--suites` "
              f"times it). Target: under {limit}.")
    A("")

    # ---- reading the numbers
    A("## How to read these numbers")
    A("")
    A("- **The floor** is a plain `fork`+`exec` of the rootfs's static `/bin/true`, "
      "started by hyperfine the same way as every other row: no container can start "
      "faster than that. On this machine one `exec` costs about as much as the floor.")
    A("- **Counting execs.** `unshare --pid --fork true` `exec`s twice (unshare, then "
      "true), like a step (the step, then the command): steps 01 and 02 do the same "
      "work as their reference with the same number of `exec`s, so they can only win by "
      "starting faster than unshare does. From step 03 on, `unshare … chroot …` pays a "
      "third `exec` (chroot(8)) that a step, calling `chroot(2)` itself, does not. The "
      "`unshare --root` row shows unshare without that third `exec`, for context. "
      "The 0.8 target assumes `exec`s saved, so steps 01 and 02, which save none, "
      "stay near it at best: what they can save is what unshare does besides its "
      "work (a dynamic loader, locale and option handling). The steps are linked "
      "statically for that reason. A hand-written minimal `clone`+`exec`, linked "
      "statically, measured 0.78× of unshare here by hyperfine, step 01 0.83× in the "
      "same run: the rest is the lab's own plumbing (the start pipe, signal handling, "
      "the safety checks).")
    A("- **Steps 06–08** cannot be matched by `unshare` alone: their reference is "
      "`bench/ref/container.sh`, which runs `unshare` and then what a careful shell "
      "script would: one `ip -batch` on each side for the veth pair, its addresses and "
      "routes, `mkdir`/quota/`cgroup.procs`/`rmdir` for the CPU cap, `mount --bind` for "
      "the volume. Step 06 is also compared with `unshare -n` (an empty network "
      "namespace, no veth).")
    A("- **runc and crun** run a `runc spec` default bundle (five namespaces, /proc, "
      "/dev, /dev/pts, /dev/shm, /dev/mqueue, /sys and cgroup mounts, masked paths, "
      "capabilities) on the same busybox rootfs, read-only, with the CPU quota and the "
      "volume; neither creates a veth (that is CNI's job). bubblewrap runs with "
      "`--unshare-all`, the rootfs, a fresh /proc and the volume; it cannot set a CPU "
      "limit or make a veth.")
    A("- **RCU grace periods** are the big machine-dependent cost: a write to "
      "`cgroup.procs` takes a percpu rwsem for writing, which waits for one grace "
      "period unless another write happened just before (see the spaced and "
      "back-to-back rows above); that is why a single start and back-to-back "
      "throughput can disagree. Their length depends on HZ, `rcu_expedited`, "
      "CONFIG_RCU_LAZY and how busy the CPUs are.")
    A("- **Network namespaces** are torn down by a kernel worker after the container "
      "has exited (`cleanup_net`): a start's latency does not include it, but "
      "back-to-back starts compete with it for the CPUs.")
    A("- **A busy machine** slows everything; the rounds spread that over all rows, "
      "but the absolute numbers of a run on a loaded machine are higher. The load is "
      "recorded in the machine table above.")
    A("")
    return "\n".join(L) + "\n"


def kernel_notes(kc, m):
    notes = []
    g = kc.get("rcu_grace_period")
    if g:
        hz = m.get("hz")
        ticks = ""
        try:
            ticks = f", about {g['median_us'] / (1e6 / int(hz)):.0f} ticks at HZ={hz}"
        except (ValueError, TypeError, ZeroDivisionError):
            pass
        notes.append(f"An RCU grace period takes **{us(g['median_us'])}** here{ticks} "
                     f"(rcu_expedited={m['rcu_expedited']}).")
    sp, bb = kc.get("cgroup_procs_write_spaced"), kc.get("cgroup_procs_write_back_to_back")
    if sp and bb:
        notes.append(f"Moving a process into a cgroup (`cgroup.procs`) costs **{us(sp['median_us'])}** "
                     f"for a lone container start but {us(bb['median_us'])} back to back: the first "
                     "write waits for a grace period (rcu_sync of cgroup_threadgroup_rwsem), later "
                     "ones within a grace period reuse it. `clone3(CLONE_INTO_CGROUP)` (cgroup v2) "
                     "needs no write at all; on cgroup v1 there is no way around it.")
    d, u = kc.get("umount_old_root_detach"), kc.get("umount_detach")
    if d and u and g:
        waits = d["median_us"] > g["median_us"] / 2
        notes.append(f"`umount2(MNT_DETACH)` of the old root after `pivot_root` takes {us(d['median_us'])} "
                     + ("— it waits for a grace period on this kernel." if waits else
                        "— this kernel does not wait for a grace period there (it did before the "
                        "lazy-umount changes); on older kernels it costs one."))
    n = kc.get("clone_newnet")
    f = kc.get("fork_exit_wait")
    if n and f:
        notes.append(f"A network namespace adds {us(n['median_us'] - f['median_us'])} to clone+exit+wait "
                     f"(median; up to {us(n['max_us'])}), the most of any namespace.")
    v = kc.get("veth_delete")
    if v and g:
        notes.append(f"Deleting a veth pair takes **{us(v['median_us'])}** "
                     f"({v['median_us'] / g['median_us']:.1f} grace periods): unregistering a "
                     "network device waits for RCU (`synchronize_net`, then `rcu_barrier` and the "
                     "last references). Steps 06-08 with `--net` pay it after the command has "
                     "exited, so that no link is left when they return; the kernel would remove "
                     "the pair anyway with the container's network namespace, but in a worker, "
                     "after the step had returned (the *removal left to the kernel* row shows "
                     "what skipping it saves, and the guard compares with a script that deletes "
                     "it too). Because that shared kernel cost dominates both, step 06 and its "
                     "shell reference land close together (0.89× and 1.00× in two runs) and the "
                     "guard's verdict for step 06 is near its edge. Tried, and no faster: waiting "
                     "for the kernel's own removal (an RTM_DELLINK notification, or polling for the "
                     "name), which comes later still, as the namespace dies only once the "
                     "container's mounts are gone; and holding the namespace open (a "
                     "`/proc/PID/ns/net` descriptor) so that the delete does not meet the kernel's "
                     "namespace cleanup: the same time.")
    return notes


def write(results, docs_dir):
    docs_dir = Path(docs_dir)
    docs_dir.mkdir(parents=True, exist_ok=True)
    md, svg = docs_dir / "benchmarks.md", docs_dir / "benchmarks.svg"
    md.write_text(render(results))
    svg.write_text(svg_chart(results))
    return md, svg


def main():
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "build" / "bench" / "results.json"
    res = json.loads(path.read_text())
    md, svg = write(res, REPO / "docs")
    print(f"wrote {md} and {svg}")


if __name__ == "__main__":
    main()
