#!/usr/bin/python3
"""Measures what step 07's CPU cap does, and draws it: docs/step-07-cpu.svg.

    cpu-plot.py [--out FILE] [--seconds S] [--bin PATH]     (as root; make plot)

Runs ./step-07 three times, one after the other: --cpus 0.2, --cpus 0.5 and
no cap, each with a busy shell loop inside for S seconds (3 by default).
While each runs, the host samples every 100 ms the CPU time of the
container's processes: the pids in its group lab/<pid> (cgroup.procs), each
read from /proc/PID/schedstat (nanoseconds on a CPU; utime+stime from
/proc/PID/stat where schedstat is missing). That works on cgroup v1 and v2
alike; on v1 the cpu hierarchy has no usage file of its own. The SVG shows
the CPU use in % of one CPU over time for the three runs: a line chart with
axes, a legend, and the machine and date it was made on. Only the standard
library: the SVG is written by hand.

The loop runs as sh -c 'timeout S sh -c "while :; do :; done"; true': busybox
sh execs the last command of -c, and a timeout that became PID 1 could never
stop its command, since PID 1 ignores signals it has no handler for.
"""

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
import labtest  # noqa: E402  (the harness's helpers: one way to find the cpu controller)
INTERVAL = 0.1  # seconds between samples
COLOURS = ["#0072B2", "#D55E00", "#009E73"]  # blue, vermillion, green: tell apart in any eyes


def cpu_group_root():
    """Where the cpu controller's hierarchy is, found as the harness finds it."""
    version, root = labtest.cpu_layout()
    if version is None:
        sys.exit("cpu-plot: no cgroup cpu controller on this machine")
    return version, Path(root)


def cpu_ns(pid):
    """Nanoseconds pid has run on a CPU so far, or None if it is gone."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
    except FileNotFoundError:
        pass
    except (OSError, ValueError, IndexError):
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1_000_000_000 // os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def measure(step_bin, root, cpus, seconds):
    """Runs one container; returns [(t, percent of one CPU over the interval
    ending at t)] and the total CPU seconds its processes used."""
    loop = f"timeout {seconds:g} sh -c \"while :; do :; done\"; true"
    argv = [str(step_bin), "-q"] + (["--cpus", cpus] if cpus else []) + ["sh", "-c", loop]
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    procs = root / "lab" / str(p.pid) / "cgroup.procs"
    last = {}  # pid -> its CPU time when last seen; a pid that ends keeps its last value
    samples = [(0.0, 0)]
    tick = 1
    while p.poll() is None:
        time.sleep(max(0.0, t0 + tick * INTERVAL - time.monotonic()))
        tick += 1
        try:
            pids = procs.read_text().split()
        except OSError:
            pids = []  # not created yet, or already removed
        for pid in pids:
            ns = cpu_ns(pid)
            if ns is not None:
                last[pid] = max(ns, last.get(pid, 0))
        samples.append((time.monotonic() - t0, sum(last.values())))
    err = p.stderr.read().decode(errors="replace")
    if p.returncode != 0:
        sys.exit(f"cpu-plot: {' '.join(argv)} exited with {p.returncode}\n{err}")
    points = []
    for (ta, ca), (tb, cb) in zip(samples, samples[1:]):
        points.append((tb, 100.0 * (cb - ca) / 1e9 / (tb - ta)))
    return points, samples[-1][1] / 1e9


# ---- the SVG ----------------------------------------------------------------------

W, H = 760, 420
LEFT, RIGHT, TOP, BOTTOM = 64, 200, 48, 84  # margins around the plot area
PW, PH = W - LEFT - RIGHT, H - TOP - BOTTOM
YMAX = 120.0


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def svg(runs, seconds, note):
    tmax = max(max(t for t, _ in pts) for _, pts, _ in runs)
    xmax = (int(tmax * 2) + 1) / 2.0  # the next half second

    def x(t):
        return LEFT + PW * t / xmax

    def y(pc):
        return TOP + PH * (1 - min(pc, YMAX) / YMAX)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">',
           f"<desc>{esc(note)}</desc>",
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{LEFT}" y="24" font-size="15" font-weight="bold">A busy loop in step-07, '
           f"capped and not: CPU use seen from the host</text>"]
    # Grid and y axis: every 20%.
    for pc in range(0, int(YMAX) + 1, 20):
        out.append(f'<line x1="{LEFT}" y1="{y(pc):.1f}" x2="{LEFT + PW}" y2="{y(pc):.1f}" '
                   f'stroke="#ddd"/>')
        out.append(f'<text x="{LEFT - 8}" y="{y(pc) + 4:.1f}" text-anchor="end">{pc}%</text>')
    # x axis: every half second.
    for i in range(int(xmax * 2) + 1):
        t = i / 2.0
        out.append(f'<line x1="{x(t):.1f}" y1="{TOP + PH}" x2="{x(t):.1f}" y2="{TOP + PH + 5}" '
                   f'stroke="black"/>')
        out.append(f'<text x="{x(t):.1f}" y="{TOP + PH + 19}" text-anchor="middle">{t:g}</text>')
    out.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + PH}" stroke="black"/>')
    out.append(f'<line x1="{LEFT}" y1="{TOP + PH}" x2="{LEFT + PW}" y2="{TOP + PH}" '
               f'stroke="black"/>')
    out.append(f'<text x="{LEFT + PW / 2}" y="{TOP + PH + 38}" text-anchor="middle">seconds since '
               f"./step-07 started (one sample every {INTERVAL * 1000:.0f} ms)</text>")
    out.append(f'<text transform="translate(16 {TOP + PH / 2}) rotate(-90)" '
               f'text-anchor="middle">CPU use, % of one CPU</text>')
    # The caps, dashed; then each run as a step line: a sample is the mean of
    # the interval that ends at it.
    for (label, pts, total), colour in zip(runs, COLOURS):
        if label.startswith("--cpus "):
            cap = 100 * float(label.split()[1])
            out.append(f'<line x1="{LEFT}" y1="{y(cap):.1f}" x2="{LEFT + PW}" y2="{y(cap):.1f}" '
                       f'stroke="{colour}" stroke-dasharray="5 4" stroke-opacity="0.6"/>')
    for (label, pts, total), colour in zip(runs, COLOURS):
        d, prev = [f"M{x(0):.1f},{y(0):.1f}"], 0.0
        for t, pc in pts:
            d.append(f"L{x(prev):.1f},{y(pc):.1f} L{x(t):.1f},{y(pc):.1f}")
            prev = t
        out.append(f'<path d="{" ".join(d)}" fill="none" stroke="{colour}" stroke-width="2"/>')
    # Legend, right of the plot.
    lx, ly = LEFT + PW + 20, TOP + 10
    for i, ((label, pts, total), colour) in enumerate(zip(runs, COLOURS)):
        yy = ly + i * 44
        out.append(f'<line x1="{lx}" y1="{yy}" x2="{lx + 24}" y2="{yy}" stroke="{colour}" '
                   f'stroke-width="3"/>')
        out.append(f'<text x="{lx + 32}" y="{yy + 4}">{esc(label)}</text>')
        out.append(f'<text x="{lx + 32}" y="{yy + 20}" fill="#555">{total:.2f} CPU-s in '
                   f"{seconds:g} s: {100 * total / seconds:.0f}%</text>")
    out.append(f'<text x="{lx}" y="{ly + 3 * 44 + 4}" fill="#555">dashed: the cap</text>')
    for i, line in enumerate(note.split(": ", 1)):  # two lines: how and when; where
        out.append(f'<text x="{LEFT}" y="{H - 30 + 16 * i}" fill="#555" font-size="11">'
                   f"{esc(line)}{':' if i == 0 else ''}</text>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(REPO / "docs" / "step-07-cpu.svg"))
    ap.add_argument("--seconds", type=float, default=3.0, help="how long each loop runs")
    ap.add_argument("--bin", default=str(REPO / "step-07"), help="the step-07 to run")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("cpu-plot: runs containers: needs root (sudo make plot)")
    if not Path(args.bin).exists():
        sys.exit(f"cpu-plot: {args.bin}: not built (make)")
    version, root = cpu_group_root()
    load = os.getloadavg()[0]
    runs = []
    for cpus in ["0.2", "0.5", None]:
        label = f"--cpus {cpus}" if cpus else "no cap"
        pts, total = measure(args.bin, root, cpus, args.seconds)
        runs.append((label, pts, total))
        print(f"cpu-plot: {label:11} {total:.2f} CPU-s in {args.seconds:g} s "
              f"({100 * total / args.seconds:.0f}% of one CPU)")
    if runs[2][2] / args.seconds < 0.9:
        print(f"cpu-plot: warning: the uncapped loop got only {100 * runs[2][2] / args.seconds:.0f}%"
              " of a CPU: the machine is busy (see uptime); run it again later", file=sys.stderr)
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    note = (f"Made by make plot (tools/cpu-plot.py) on {date}: Linux {platform.release()}, "
            f"{os.cpu_count()} CPUs, cgroup {version}, load average {load:.2f} before the runs.")
    Path(args.out).write_text(svg(runs, args.seconds, note))
    print(f"cpu-plot: wrote {os.path.relpath(args.out)}")


if __name__ == "__main__":
    main()
