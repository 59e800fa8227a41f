"""The grader's arithmetic and what it tells a student, without running a
step: points shared in hundredths add up exactly, only scoring tests earn,
a stopped step earns nothing, warnings cost a little, failure lines show
values. (make check-handout and make check-grader run the grader for real.)"""

import json
import sys
import xml.etree.ElementTree as ET

import pytest

from labtest import REPO

sys.path.insert(0, str(REPO / "tools"))
import grade  # noqa: E402


@pytest.mark.parametrize("cents, n", [(1000, 3), (1500, 7), (2000, 9), (1, 4), (1000, 1)])
def test_shares_add_up_exactly(cents, n):
    parts = grade.shares(cents, n)
    assert sum(parts) == cents and max(parts) - min(parts) <= 1 and len(parts) == n


def t(name, scores, outcome, message="", step=5):
    return {"nodeid": f"x::{name}", "name": f"{name}[step-{step:02d}]", "step": step, "since": step,
            "scores": scores, "outcome": outcome, "message": message, "seconds": 0.1}


def report(*tests, stopped=None):
    return {"stopped": stopped, "tests": list(tests)}


def test_only_scoring_tests_earn_and_skips_count_neither_way():
    e = grade.score(5, 10, None, [], report(t("test_a", True, "passed"), t("test_b", True, "failed"),
                                            t("test_c", True, "passed"), t("test_d", True, "skipped"),
                                            t("test_given", False, "passed")))
    assert [x.get("max_cents") for x in e["scoring"]] == [334, 333, 333, None]
    assert e["got"] == 667 and e["worth"] == 1000


def test_a_stopped_step_earns_nothing():
    e = grade.score(5, 10, None, [], report(t("test_a", True, "passed"), stopped="it hangs"))
    assert e["got"] == 0 and e["stopped"] == "it hangs"


def test_warnings_cost_five_percent_and_never_go_below_zero():
    full = report(t("test_a", True, "passed"))
    assert grade.score(5, 10, None, ["x.c:1: warning: unused"], full)["got"] == 950
    none = report(t("test_a", True, "failed"))
    assert grade.score(5, 10, None, ["x.c:1: warning: unused"], none)["got"] == 0


def test_results_and_junit_add_up_to_the_configured_points(tmp_path):
    graded = [grade.score(1, 10, None, [], report(*[t(f"test_{i}", True, "passed", step=1) for i in range(3)],
                                                  t("test_g", False, "failed", "AssertionError: boom", 1))),
              grade.score(2, 15, "x.c:3: error: nope", [], None)]
    res = grade.results_json(graded, 1, 1.0, sum(e["got"] for e in graded))
    assert res["score"] == 10.0
    assert round(sum(x["max_score"] for x in res["tests"]), 2) == 25.0
    names = [x["name"] for x in res["tests"]]
    assert names[:3] == ["step 01: 0", "step 01: 1", "step 01: 2"] and names[-1] == "step 02: compiles"
    given = [x for x in res["tests"] if "given" in x["name"]]
    assert len(given) == 1 and given[0]["max_score"] == 0 and "boom" in given[0]["output"]
    path = tmp_path / "r.xml"
    grade.junit_xml(graded, 1.0).write(path)
    suites = ET.parse(path).getroot()
    assert [s.find("properties/property[@name='max_points']").get("value") for s in suites] == ["10.00", "15.00"]
    json.dumps(res)  # Gradescope reads it as JSON


def test_a_failure_line_shows_values_not_source():
    msg = ("AssertionError: eth0 has 10.200.3.1/30, the host's own end's address\n"
           "command: step-06 --network bridge sh\nexit status: 0\nstdout: 'addr=10.200.3.1/30\\n'\n"
           "stderr: 'step-06 [parent]: veth lab9\\nstep-06: add 10.200.3.1/30 to eth0: File exists\\n'\n"
           "assert '10.200.3.1' != '10.200.3.1'")
    line = grade.explain({"message": msg, "outcome": "failed"})
    assert line.startswith("eth0 has 10.200.3.1/30") and "exit 0" in line
    assert "File exists" in line and "\n" not in line


def test_a_failure_line_keeps_what_follows_a_colon_and_the_steps_own_error():
    """A message whose first line ends in ':' goes on below (the host check's
    list of changes); of the stderr, the step's own error line (step-NN:
    what: why) is the cause, not the last line of the narration."""
    host = grade.explain({"message": "Failed: the host was changed and not restored:\n"
                                     "  left under /run/lab: /run/lab/containers/x\n", "outcome": "failed"})
    assert host == "the host was changed and not restored: left under /run/lab: /run/lab/containers/x", host
    msg = ("AssertionError: the container should have printed 'ready'\ncommand: step-13 sh\n"
           "exit status: 125\nstdout: ''\n"
           "stderr: 'step-13: capset: Operation not permitted\nsome later line\n'\n")
    line = grade.explain({"message": msg, "outcome": "failed"})
    assert "capset: Operation not permitted" in line and "later line" not in line, line
