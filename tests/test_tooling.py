"""The lab's own tooling: the rootfs recipe, make deps, the docs' generated
diffs. (Not about one step: make grade leaves these out.)"""

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from labtest import REPO

BUILD = REPO / "rootfs" / "build.sh"
ESCAPE = REPO / "build" / "helpers" / "chroot-escape"


def build_rootfs(busybox, dest):
    return subprocess.run([str(BUILD), str(busybox), str(dest), str(ESCAPE)],
                          capture_output=True, text=True)


def test_rootfs_holds_busybox_applets_dirs_and_etc(tmp_path):
    dest = tmp_path / "rootfs"
    r = build_rootfs("/bin/busybox", dest)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert (dest / "bin" / "busybox").is_file()
    assert os.readlink(dest / "bin" / "ls") == "../bin/busybox"
    assert os.readlink(dest / "usr" / "bin" / "awk") == "../../bin/busybox"
    assert (dest / "bin" / "sh").resolve() == (dest / "bin" / "busybox").resolve()
    for d in ["proc", "sys", "dev", "dev/mqueue", "tmp", "root", "etc", "mnt"]:
        assert (dest / d).is_dir(), d
    assert (dest / "etc" / "passwd").read_text().startswith("root:x:0:0:")
    assert "root:x:0:" in (dest / "etc" / "group").read_text()
    assert (dest / "etc" / "hostname").read_text() == "lab\n"
    assert os.access(dest / "bin" / "chroot-escape", os.X_OK)
    null = (dest / "dev" / "null").stat()
    assert stat.S_ISCHR(null.st_mode) and os.major(null.st_rdev) == 1 and os.minor(null.st_rdev) == 3
    assert (dest / ".lab-rootfs").exists()


def test_rootfs_refuses_a_dynamic_busybox(tmp_path):
    dest = tmp_path / "rootfs"
    r = build_rootfs("/bin/ls", dest)  # any dynamically linked program
    assert r.returncode != 0 and not dest.exists()
    assert r.stderr.count("\n") == 1 and "dynamically linked" in r.stderr and "static" in r.stderr, r.stderr


def test_rootfs_refuses_what_is_not_a_program(tmp_path):
    text = tmp_path / "busybox"
    text.write_text("#!/bin/sh\n")
    for bb, words in [(text, "not an ELF"), (tmp_path / "missing", "no such file"), ("", "no busybox found")]:
        r = build_rootfs(bb, tmp_path / "rootfs")
        assert r.returncode != 0 and r.stderr.count("\n") == 1 and words in r.stderr, r.stderr


def test_make_rootfs_twice_does_nothing():
    # Not the flags of a make that runs these tests (make -s test): ours.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    subprocess.run(["make", "-s", "rootfs"], cwd=REPO, check=True, env=env)
    stamp = REPO / "rootfs" / "busybox" / ".lab-rootfs"
    before = stamp.stat().st_mtime_ns
    r = subprocess.run(["make", "rootfs"], cwd=REPO, capture_output=True, text=True, env=env)
    assert r.returncode == 0 and "Nothing to be done" in r.stdout + r.stderr
    assert stamp.stat().st_mtime_ns == before
    assert subprocess.run(["make", "-q", "rootfs"], cwd=REPO, env=env).returncode == 0


def test_deps_without_apt_says_what_to_install(tmp_path):
    r = subprocess.run(["/bin/sh", str(REPO / "tools" / "deps.sh"), "busybox-static", "iproute2"],
                       capture_output=True, text=True, env={"PATH": str(tmp_path)})
    assert r.returncode != 0
    assert r.stderr.count("\n") == 1 and "busybox-static iproute2" in r.stderr and "apt-get" in r.stderr


def test_deps_is_quiet_when_everything_is_there():
    r = subprocess.run([str(REPO / "tools" / "deps.sh"), "coreutils"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout == r.stderr == ""


def test_docs_diffs_are_up_to_date():
    r = subprocess.run(["/usr/bin/python3", str(REPO / "tools" / "mkdocs.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_a_new_step_gets_a_row_in_the_step_tables(tmp_path):
    """README.md's and docs/README.md's step tables come from the step files:
    a new step file and its page make make docs add the rows, and until it
    runs, make check-docs says the tables are stale."""
    for rel in ["tools/mkdocs.py", "README.md", "docs/README.md",
                *[str(p.relative_to(REPO)) for p in REPO.glob("steps/step-*.c")],
                *[str(p.relative_to(REPO)) for p in REPO.glob("docs/step-*.md")]]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text((REPO / rel).read_text())
    last = sorted(REPO.glob("steps/step-[0-9][0-9]-*.c"))[-1]
    number = int(last.name[5:7]) + 1
    name = f"step-{number:02d}-ipc-namespace"
    body = re.sub(r"^/\*.*?\*/\n", "", last.read_text(), count=1, flags=re.S)  # no header
    (tmp_path / "steps" / f"{name}.c").write_text(
        f"/*\n * step-{number:02d}: an IPC namespace, with a | in it.\n *\n"
        " * New here: CLONE_NEWIPC and a /dev/mqueue of its own;\n * --ipc <mode>.\n"
        f" * Read: docs/{name}.md; ipc_namespaces(7)\n"
        " * Demo: sh -c 'ipcs | head -n 3'\n */\n" + body)
    (tmp_path / "docs" / f"{name}.md").write_text(
        "# Step\n\n<!-- BEGIN GENERATED: do not edit; run make docs -->\n<!-- END GENERATED -->\n")
    mkdocs = ["/usr/bin/python3", str(tmp_path / "tools" / "mkdocs.py")]

    stale = subprocess.run(mkdocs + ["--check"], capture_output=True, text=True)
    assert stale.returncode == 1
    assert "README.md: the step table is stale" in stale.stderr
    assert "docs/README.md: the step table is stale" in stale.stderr
    assert subprocess.run(mkdocs, capture_output=True, text=True).returncode == 0
    assert subprocess.run(mkdocs + ["--check"], capture_output=True, text=True).returncode == 0
    readme = (tmp_path / "README.md").read_text()
    assert (f"| {number:02d} | [steps/{name}.c](steps/{name}.c) | `CLONE_NEWIPC` and a "
            f"`/dev/mqueue` of its own; `--ipc` &lt;mode&gt; | `./step-{number:02d} sh -c 'ipcs \\| head -n 3'` |"
            in readme), readme
    index = (tmp_path / "docs" / "README.md").read_text()
    assert f"| {number:02d} | [{name}.md]({name}.md) | an IPC namespace, with a \\| in it |" in index
    # The rows keep the order of the steps, and nothing outside the tables changes.
    assert readme.index("| 01 |") < readme.index(f"| {number:02d} |")

    def outside(text):
        return re.sub(r"<!-- BEGIN GENERATED.*?<!-- END GENERATED -->", "", text, flags=re.S)
    assert outside(readme) == outside((REPO / "README.md").read_text())
    assert outside(index) == outside((REPO / "docs" / "README.md").read_text())


def test_links_between_the_docs_resolve():
    """Every relative link of README.md, docs/*.md and the Chinese edition
    (docs/zh-CN/) names a file that is in the repository (a renamed page
    would otherwise leave dead links)."""
    dead = []
    for page in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")),
                 *sorted((REPO / "docs" / "zh-CN").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)\s#]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (page.parent / target).exists():
                dead.append(f"{page.relative_to(REPO)}: {target}")
    assert not dead, "dead links:\n" + "\n".join(dead)


def test_grading_one_step_lists_only_tests_that_apply():
    # A test meant for other steps (the chroot escape for step 03, twenty
    # containers for the last step) must not show up as "skipped" when
    # one step is graded: a student would read it as something to fix.
    out = subprocess.run(["/usr/bin/python3", "-m", "pytest", "--collect-only", "-q", "--step=5",
                          "-p", "no:cacheprovider"],
                         cwd=REPO / "tests", capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    ids = [l for l in out.stdout.splitlines() if "::" in l]
    placeholder_or_other_step = re.compile(r"[\[-]step0[\]-]|step-(?!05)\d\d")
    assert any("step-05" in l for l in ids), out.stdout[-500:]
    assert [l for l in ids if placeholder_or_other_step.search(l)] == []


def c_functions(path):
    """{name: number of lines} of the functions of a C file in the lab's
    style (the opening brace of a function alone on its line)."""
    lines = path.read_text().splitlines()
    found = {}
    for i, line in enumerate(lines):
        if line == "{" and i:
            end = lines.index("}", i)
            head = " ".join(lines[max(0, i - 2):i])
            name = re.findall(r"(\w+)\(", head)
            found[name[-1] if name else f"line {i}"] = end - i + 2
    return found


def test_each_step_reads_like_a_table_of_contents():
    """main() and child_main() each fit on a screen, and so does every other
    function of a step: a longer lesson goes into a function of its own."""
    too_long = []
    for path in sorted((REPO / "steps").glob("step-[0-9][0-9]-*.c")):
        funcs = c_functions(path)
        assert "main" in funcs and "child_main" in funcs, path.name
        too_long += [f"{path.name}: {f}() is {n} lines" for f, n in funcs.items() if n > 60]
    assert not too_long, "\n".join(too_long)


THROWAWAY_BLOCK = """    /* LAB:BEGIN throwaway */
    /* A mechanism made up for this test. */
    say("throwaway mechanism here");
    /* LAB:END */
"""


def add_throwaway_step(tree):
    """Step N+1 in a copy of the lab: the last step plus one LAB block, its
    blocks.toml entry, a test file and a docs page (in both editions);
    nothing else."""
    last = sorted((tree / "steps").glob("step-[0-9][0-9]-*.c"))[-1]
    n = int(last.name[5:7]) + 1
    text = last.read_text().replace(f"step-{n - 1:02d}:", f"step-{n:02d}:", 1)
    # Its demo runs a container (the last step's may drive another of its commands).
    text = re.sub(r"^ \* Demo: .*$", " * Demo: true", text, count=1, flags=re.M)
    anchor = "    lab_child_exec(c);\n}"
    assert anchor in text
    (tree / "steps" / f"step-{n:02d}-throwaway.c").write_text(text.replace(anchor, THROWAWAY_BLOCK + anchor))
    with open(tree / "steps" / "blocks.toml", "a") as f:
        f.write(f'\n[throwaway]\nstep = {n}\ntodo = """Say that the throwaway mechanism is here."""\nman = ["say(3lab)"]\n')
    (tree / "tests" / f"test_{n:02d}_throwaway.py").write_text(
        "from labtest import run\n\n\ndef test_throwaway_is_here(step):\n"
        "    r = run(step, 'true')\n    assert 'throwaway mechanism here' in r.err, r.describe()\n")
    (tree / "docs" / f"step-{n:02d}-throwaway.md").write_text(
        f"# Step {n:02d}: throwaway\n\n<!-- BEGIN GENERATED: do not edit; run make docs -->\n"
        "<!-- END GENERATED -->\n")
    # Its Chinese edition, and a row for it in the Chinese README.
    (tree / "docs" / "zh-CN" / f"step-{n:02d}-throwaway.md").write_text(
        f"# 步骤 {n:02d}：throwaway\n\n<!-- BEGIN GENERATED: do not edit; run make docs -->\n"
        "<!-- END GENERATED -->\n")
    with open(tree / "docs" / "zh-CN" / "README.md", "a") as f:
        f.write(f"\n| {n:02d} | [step-{n:02d}-throwaway.md](step-{n:02d}-throwaway.md) | throwaway |\n")
    return n


@pytest.mark.proof
def test_a_new_step_is_picked_up_everywhere(tmp_path):
    """Adding a step means its file, its blocks.toml entry, its test file and
    its page (and the page's Chinese edition): make, make help, the docs, the
    handout, the grader and the demo find it with no other change."""
    sys.path.insert(0, str(REPO / "tools"))
    import handout
    tree = Path(tempfile.mkdtemp(prefix="throwaway-", dir=REPO / "build")) / "lab"
    try:
        handout.write_handout(tree, None, give=max(handout.step_of(p) for p in handout.step_files()))
        n = add_throwaway_step(tree)
        name = f"step-{n:02d}"
        env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
        make = lambda *a: subprocess.run(["make", "-s", "--no-print-directory", *a], cwd=tree, env=env,  # noqa: E731
                                         capture_output=True, text=True)
        assert make("all").returncode == 0 and (tree / name).exists()
        assert name in make("help").stdout
        assert subprocess.run([sys.executable, "tools/mkdocs.py", "--check"], cwd=tree).returncode != 0
        assert make("docs").returncode == 0
        page = (tree / "docs" / f"{name}-throwaway.md").read_text()
        assert "+    say(\"throwaway mechanism here\");" in page
        assert subprocess.run([sys.executable, "tools/mkdocs.py", "--check"], cwd=tree).returncode == 0
        r = subprocess.run([sys.executable, "tools/handout.py", "--out", str(tmp_path / "h"),
                            "--tar", str(tmp_path / "h.tgz")], cwd=tree, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        stripped = (tmp_path / "h" / "steps" / f"{name}-throwaway.c").read_text()
        assert f"TODO(step {n:02d}, throwaway)" in stripped and "throwaway mechanism here" not in stripped
        r = subprocess.run([sys.executable, "tools/grade.py", f"--step={n}", "--scoring-only",
                            f"--summary={tmp_path / 's.json'}", f"--results={tmp_path / 'r.json'}",
                            f"--junit={tmp_path / 'j.xml'}"], cwd=tree, capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        got = json.loads((tmp_path / "s.json").read_text())[f"{n:02d}"]
        assert got["got"] == got["worth"] > 0 and got["scoring"] == 1, got
        r = subprocess.run(["tools/demo.sh", name], cwd=tree, capture_output=True, text=True)
        assert r.returncode == 0 and "throwaway mechanism here" in r.stderr, r.stdout + r.stderr
    finally:
        shutil.rmtree(tree.parent, ignore_errors=True)


def test_a_checkout_in_tmp_is_seen_by_a_sandbox_in_a_sandbox(tmp_path):
    """The grader sandboxes its harness, and make test runs inside a sandbox
    too: a checkout under /tmp (bound again over each sandbox's fresh /tmp)
    must be there at its path at every level."""
    (tmp_path / "marker").write_text("here\n")
    sandbox = [sys.executable, str(REPO / "tools" / "sandbox.py"), f"--keep={tmp_path}", f"--keep={REPO}",
               "--"]
    r = subprocess.run(sandbox + sandbox + ["cat", str(tmp_path / "marker")], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and r.stdout == "here\n", r.stderr


def test_an_image_a_step_wrote_into_is_found_and_built_again(tmp_path):
    """A step without layers (a blank step 11, a GIVE=10 handout graded on
    step 11) writes into the image itself: tools/image.py finds every change
    against what the build wrote, and make image-intact, run before the
    tests and before each graded step, builds the image again."""
    image, manifest = tmp_path / "image", tmp_path / "manifest"
    (image / "etc").mkdir(parents=True)
    (image / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    (image / "bin").mkdir()
    (image / "bin" / "vi").symlink_to("busybox")
    tool = ["/usr/bin/python3", str(REPO / "tools" / "image.py")]
    assert subprocess.run(tool + ["write", image, manifest]).returncode == 0
    assert subprocess.run(tool + ["check", image, manifest]).returncode == 0
    (image / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\nintruder:x:0:0::/:/bin/sh\n")
    (image / "bin" / "vi").unlink()
    (image / "new-file").write_text("")
    r = subprocess.run(tool + ["check", image, manifest], capture_output=True, text=True)
    assert r.returncode == 1 and all(w in r.stderr for w in ("gone: bin/vi", "new: new-file",
                                                             "changed: etc/passwd")), r.stderr
    makefile = (REPO / "Makefile").read_text()
    assert "image-intact" in makefile.split("\npytest:", 1)[1].split("\n\n")[0]
    assert "image-intact" in (REPO / "tools" / "grade.py").read_text()


# ---- the carried matrix ----------------------------------------------------------

def test_the_carried_matrix_runs_each_mechanism_on_its_step_and_the_last():
    out = subprocess.run(["/usr/bin/python3", "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                          "--matrix=carried", "test_08_volume.py", "test_00_reliability.py"],
                         cwd=REPO / "tests", capture_output=True, text=True)
    ids = [l for l in out.stdout.splitlines() if "::" in l]
    last = max(int(p.name[5:7]) for p in (REPO / "steps").glob("step-[0-9][0-9]-*.c"))
    volume_steps = {int(m) for l in ids if "test_08" in l for m in re.findall(r"step-(\d\d)", l)}
    assert volume_steps == {8, last}, sorted(volume_steps)
    signal_steps = {int(m) for l in ids if "sigsegv_gives_139" in l for m in re.findall(r"step-(\d\d)", l)}
    assert signal_steps == set(range(1, last + 1)), "test_00's plumbing tests run on every step"
    full = subprocess.run(["/usr/bin/python3", "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           "--matrix=full", "test_08_volume.py"],
                          cwd=REPO / "tests", capture_output=True, text=True)
    full_steps = {int(m) for l in full.stdout.splitlines() for m in re.findall(r"step-(\d\d)", l)}
    assert full_steps == set(range(8, last + 1)), sorted(full_steps)
    guest = subprocess.run(["/usr/bin/python3", "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                            "--matrix=last", "test_08_volume.py", "test_00_reliability.py"],
                           cwd=REPO / "tests", capture_output=True, text=True)
    guest_steps = {int(m) for l in guest.stdout.splitlines() for m in re.findall(r"step-(\d\d)", l)}
    assert guest_steps == {last}, f"the course VM's matrix: the last step only: {sorted(guest_steps)}"


def test_lab_h_maps_every_file_of_common():
    """lab.h opens with a map of common/: one line per file, with its
    prefix. A file added or removed shows there too."""
    head = (REPO / "common" / "lab.h").read_text().split("*/", 1)[0]
    mapped = set(re.findall(r"^ \*   (\w+\.c) ", head, re.M))
    files = {p.name for p in (REPO / "common").glob("*.c")}
    assert mapped == files, (f"lab.h's map lacks {sorted(files - mapped)}"
                             f" and names {sorted(mapped - files)}, which are not there")


def test_no_wait_in_the_lab_is_a_sleep():
    """The lab waits on what it waits for (a pidfd, the sync pipe, inotify,
    a netlink announcement), never by sleeping and looking again."""
    found = [f"{p.relative_to(REPO)}:{n}: {line.strip()}"
             for p in sorted([*(REPO / "common").glob("*.c"), *(REPO / "steps").glob("*.c")])
             for n, line in enumerate(p.read_text().splitlines(), 1)
             if re.search(r"\b(usleep|nanosleep|sleep)\s*\(", line)]
    assert not found, "a wait by sleeping:\n" + "\n".join(found)


def test_the_chinese_edition_keeps_the_english_pages_shape(tmp_path):
    """docs/zh-CN/ has a page per step page, with the same headings (number,
    order, level) and the same code blocks, byte for byte: make check-docs
    names the page that drifts, and a missing one."""
    rels = ["tools/mkdocs.py", "README.md", "docs/README.md",
            *[str(p.relative_to(REPO)) for p in REPO.glob("steps/step-*.c")],
            *[str(p.relative_to(REPO)) for p in REPO.glob("docs/step-*.md")],
            *[str(p.relative_to(REPO)) for p in REPO.glob("docs/zh-CN/*.md")]]
    for rel in rels:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text((REPO / rel).read_text())
    mkdocs = ["/usr/bin/python3", str(tmp_path / "tools" / "mkdocs.py"), "--check"]
    assert subprocess.run(mkdocs, capture_output=True, text=True).returncode == 0

    page = tmp_path / "docs" / "zh-CN" / "step-05-uts-hostname.md"
    text = page.read_text()
    page.write_text(text.replace("$ sudo ./step-05", "$ sudo ./step-05 -q", 1))
    r = subprocess.run(mkdocs, capture_output=True, text=True)
    assert r.returncode == 1 and "zh-CN/step-05-uts-hostname.md: its code block" in r.stderr, r.stderr
    page.write_text(text.replace("\n## ", "\n### ", 1))
    r = subprocess.run(mkdocs, capture_output=True, text=True)
    assert r.returncode == 1 and "zh-CN/step-05-uts-hostname.md: its headings" in r.stderr, r.stderr
    page.unlink()
    r = subprocess.run(mkdocs, capture_output=True, text=True)
    assert r.returncode == 1 and "zh-CN/step-05-uts-hostname.md: missing" in r.stderr, r.stderr


def test_a_page_that_names_code_that_is_gone_is_stale(tmp_path):
    """make check-docs fails on a page that names, as code, a function, a
    file or a block that is not there (renamed, moved, removed)."""
    rels = ["tools/mkdocs.py", "README.md", "docs/README.md", "steps/blocks.toml",
            *[str(p.relative_to(REPO)) for p in REPO.glob("steps/step-*.c")],
            *[str(p.relative_to(REPO)) for p in REPO.glob("common/*.[ch]")],
            *[str(p.relative_to(REPO)) for p in REPO.glob("docs/step-*.md")]]
    for rel in rels:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text((REPO / rel).read_text())
    # The names of the rest of the tree (empty files will do; no git: the
    # course VM's tree is a copy, not a checkout).
    for top in ("tests", "tools", "rootfs", "bench", "vm", "mk"):
        for path in (REPO / top).rglob("*"):
            if path.is_file() and "busybox" not in path.parts:
                (tmp_path / path.relative_to(REPO)).parent.mkdir(parents=True, exist_ok=True)
                (tmp_path / path.relative_to(REPO)).touch()
    mkdocs = ["/usr/bin/python3", str(tmp_path / "tools" / "mkdocs.py"), "--check"]
    (tmp_path / "tools" / "mkdocs.py").write_text((REPO / "tools" / "mkdocs.py").read_text())
    r = subprocess.run(mkdocs, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    page = tmp_path / "docs" / "step-05-uts-hostname.md"
    page.write_text(page.read_text() + "\nSee `old_function()`, `common/gone.c` and the `gone-block` block.\n")
    r = subprocess.run(mkdocs, capture_output=True, text=True)
    assert r.returncode == 1, r.stderr
    for name in ("`old_function()`", "`common/gone.c`", "`gone-block` block"):
        assert name in r.stderr, r.stderr
