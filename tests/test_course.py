"""A course's tooling, as an instructor uses it (not in the handout): the
handout's own pages, the GitHub Classroom workflow, bulk grading.

Run with the rest of the harness; the slow ones build and grade whole
copies of the lab.
"""

import base64
import csv
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

import labtest
from labtest import REPO

sys.path.insert(0, str(REPO / "tools"))
import handout  # noqa: E402

LINK = re.compile(r"\]\(([^)#\s]+)")


@pytest.fixture(scope="module")
def handout_tree(tmp_path_factory):
    return handout.write_handout(tmp_path_factory.mktemp("course") / "handout", None, 0)


def pages(tree):
    return [tree / "README.md", *sorted((tree / "docs").glob("*.md"))]


def test_the_handouts_pages_name_only_what_it_has(handout_tree):
    """Its README and docs name make targets its Makefile has, and link to
    files it holds: not make bench, not the instructor's pages."""
    targets = handout.make_targets(handout_tree)
    assert {"grade", "carry", "test", "demo"} <= targets and "bench" not in targets
    wrong = []
    for page in pages(handout_tree):
        text = page.read_text()
        wrong += [f"{page}: make {t}" for t in handout.make_targets_named(text) if t not in targets]
        wrong += [f"{page}: link {l}" for l in LINK.findall(text)
                  if not l.startswith(("http:", "https:", "mailto:")) and not (page.parent / l).exists()]
    assert not wrong, "\n".join(wrong)
    assert not (handout_tree / "docs" / "instructor.md").exists()


def test_a_handout_replaces_its_own_handout(handout_tree, tmp_path):
    """make handout again over a handout it wrote (and built): fine."""
    copy = tmp_path / "handout"
    subprocess.run(["cp", "-a", str(handout_tree), str(copy)], check=True)
    (copy / "build").mkdir(exist_ok=True)
    (copy / "build" / "x.o").write_text("")
    (copy / "step-01").write_text("")
    handout.write_handout(copy, None, 0)
    assert (copy / "steps").is_dir() and not (copy / "build" / "x.o").exists()


# ---- GitHub Classroom -------------------------------------------------------------------

def workflow(tree):
    return yaml.safe_load((tree / ".github" / "workflows" / "classroom.yml").read_text())


def test_the_classroom_workflow_is_what_github_classroom_reads(handout_tree):
    wf = workflow(handout_tree)
    assert wf["name"] == "Autograding Tests" and list(wf["jobs"]) == ["run-autograding-tests"]
    steps = wf["jobs"]["run-autograding-tests"]["steps"]
    reporter = steps[-1]
    assert reporter["uses"].startswith("classroom-resources/autograding-grading-reporter@")
    runners = reporter["with"]["runners"].split(",")
    ids = {s.get("id") for s in steps}
    assert all(r in ids for r in runners), "each runner is a step of the job"
    assert all(f"{r.upper()}_RESULTS" in reporter["env"] for r in runners), "its results, in the env"
    targets = handout.make_targets(handout_tree)
    named = [t for s in steps for t in handout.MAKE_TARGET.findall(s.get("run", ""))]
    assert named and all(t in targets for t in named), f"make targets the handout has: {named}"
    assert all(t in ("deps", "grade") for t in named), "the README's commands, as a student runs them"


@pytest.mark.slow
def test_the_classroom_points_are_make_grades(tmp_path):
    """The points the workflow hands the reporter are those make grade
    prints: graded on the solution here, step 01."""
    out, summary = tmp_path / "classroom.b64", tmp_path / "summary.json"
    r = subprocess.run([sys.executable, "tools/grade.py", "--step=1", f"--classroom={out}",
                        f"--summary={summary}", f"--results={tmp_path / 'r.json'}",
                        f"--junit={tmp_path / 'r.xml'}"], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    result = json.loads(base64.b64decode(out.read_text()))
    got = json.loads(summary.read_text())["01"]
    assert result["max_score"] == got["worth"] / 100 and sum(t["score"] for t in result["tests"]) == got["got"] / 100
    assert result["status"] == "pass" and result["tests"][0]["name"] == "step 01"


# ---- bulk grading -------------------------------------------------------------------------

def test_a_submissions_links_devices_and_parent_paths_are_not_unpacked(tmp_path):
    spec = importlib.util.spec_from_file_location("grade_all", REPO / "tools" / "grade-all.py")
    grade_all = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(grade_all)
    archive = tmp_path / "s.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, kind, data in [("s/steps/ok.c", tarfile.REGTYPE, b"int x;"),
                                 ("../escaped.c", tarfile.REGTYPE, b"int y;"),
                                 ("s/link.c", tarfile.SYMTYPE, b""), ("s/dev.c", tarfile.CHRTYPE, b"")]:
            info = tarfile.TarInfo(name)
            info.type, info.size, info.linkname = kind, len(data), "/etc/passwd"
            tar.addfile(info, io.BytesIO(data))
    root = tmp_path / "unpacked"
    root.mkdir()
    with tarfile.open(archive) as tar:
        grade_all.unpack_plain_files(tar, root)
    got = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p != archive)
    assert got == ["unpacked", "unpacked/s", "unpacked/s/steps", "unpacked/s/steps/ok.c"], got


@pytest.mark.slow
@pytest.mark.proof
@pytest.mark.skipif(labtest.TIMEOUT_SCALE > 1, reason="a fork bomb graded under emulation takes most of an "
                    "hour (the time limits are stretched): make check-matrix on the host runs this test")
def test_a_class_graded_at_once(tmp_path):
    """Three students, step 01 only: a fork bomb first, then the solution
    (as a .tar.gz of a clone), then an untouched handout. Each is graded
    alone: the bomb scores 0 and leaves nothing; the next still scores in
    full."""
    subs = tmp_path / "submissions"
    name = handout.step_files()[0].name
    (subs / "a-bomber" / "steps").mkdir(parents=True)
    shutil.copyfile(REPO / "tests" / "hostile" / "fork-bomb.c", subs / "a-bomber" / "steps" / name)
    clone = tmp_path / "b-solver"
    (clone / "lab" / "steps").mkdir(parents=True)
    shutil.copyfile(handout.step_files()[0], clone / "lab" / "steps" / name)
    (clone / "lab" / "notes.c").write_text("int x;\n")
    subprocess.run(["tar", "-czf", str(subs / "b-solver.tar.gz"), "-C", str(tmp_path), "b-solver"], check=True)
    (subs / "c-blank").mkdir()
    catalog = handout.load_catalog()
    (subs / "c-blank" / name).write_text(handout.strip_file(handout.step_files()[0], catalog))
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "tools/grade-all.py", str(subs), "--out", str(out), "--steps", "1",
                        "--time-limit", "600"], cwd=REPO, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stdout + r.stderr
    rows = {row["student"]: row for row in csv.DictReader(open(out / "grades.csv"))}
    assert set(rows) == {"a-bomber", "b-solver", "c-blank"}, rows
    assert float(rows["a-bomber"]["01"]) == 0 and float(rows["c-blank"]["01"]) == 0, rows
    assert float(rows["b-solver"]["01"]) == float(rows["b-solver"]["max"]) > 0, rows
    assert "ignored: notes.c" in rows["b-solver"]["notes"], rows["b-solver"]
    bomber = (out / "a-bomber" / "grade.log").read_text()
    assert "does not compile" not in bomber and "hangs" in bomber, "the bomb should run, and be stopped"
    for student in rows:
        assert (out / student / "results.json").exists() and (out / student / "grade.log").exists()
