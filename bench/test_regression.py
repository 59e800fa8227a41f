"""The regression guard of make bench: no step may start slower than the
same work done with unshare(1) (or, for steps 06-08, unshare plus the shell
commands that do the rest), measured side by side in the same run.

It reads build/bench/results.json, which bench/run.py has just written; it
is a benchmark check, run by make bench only, never by make test. The
issue's target for steps 01-05 is 0.8; the guard fails only above 1.0.

What it judges is the median of the per-round ratios: every round times a
step and its reference one after the other, under the same load, so each
round is a paired sample. A burst of load elsewhere falls into one round and
cannot fail the guard; a real regression shows in every round.
"""

import json
from pathlib import Path

import pytest

RESULTS = Path(__file__).resolve().parent.parent / "build" / "bench" / "results.json"


def comparisons():
    if not RESULTS.exists():
        return []
    return json.loads(RESULTS.read_text())["comparisons"]


def test_there_are_results():
    assert RESULTS.exists(), f"no {RESULTS}: bench/run.py writes it (make bench runs both)"
    assert comparisons(), "the benchmark compared no step"


@pytest.mark.bench
@pytest.mark.parametrize("comp", comparisons(), ids=lambda c: f"step-{c['step']:02d}")
def test_step_is_not_slower_than_its_reference(comp):
    assert "error" not in comp, comp.get("error")
    assert comp["paired_ratio"] <= comp["guard"], (
        f"step-{comp['step']:02d} took {comp['paired_ratio']:.2f}x the time of {comp['ref']} "
        f"in the median round (the guard is {comp['guard']}x; "
        f"ratio of the medians {comp['ratio']:.2f}x; per round: "
        + ", ".join(f"{r:.2f}" for r in comp.get("round_ratios", [])) + ")")
