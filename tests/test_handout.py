"""The handout tool: markers are checked, blocks become TODOs, and the leak
check finds solution code. (make check-handout builds and grades a whole
handout; these are the quick, kernel-free checks.)"""

import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import handout  # noqa: E402

CATALOG = {
    "alpha": {"step": 1, "todo": "Do alpha.", "man": ["alpha(2)"]},
    "beta": {"step": 2, "todo": "Do beta, which takes rather more words to explain than fits on "
                                "one line of code.", "man": ["beta(2)", "beta(7)"]},
}


def step_file(tmp_path, text, name="step-02-test.c"):
    path = tmp_path / name
    path.write_text(text)
    return path


GOOD = """int main(void)
{
    int flags = 0;
    /* LAB:BEGIN alpha */
    flags |= 1; /* the alpha solution */
    /* LAB:END */
    /* LAB:BEGIN beta */
    flags |= 2;
    /* LAB:END */
    return flags;
}
"""


def test_blocks_are_found(tmp_path):
    assert handout.blocks(step_file(tmp_path, GOOD), CATALOG) == [("alpha", 4, 6), ("beta", 7, 9)]


def test_blocks_become_todos_at_their_indent(tmp_path):
    out = handout.strip_file(step_file(tmp_path, GOOD), CATALOG)
    assert "flags |= 1" not in out and "flags |= 2" not in out
    assert out.count("/* LAB:BEGIN") == 2 and out.count("/* LAB:END */") == 2, "the markers stay, for make carry"
    joined = out.replace("\n     * ", " ")
    assert "    /* TODO(step 01, alpha) - your step-01's: `make carry` copies it here: Do alpha." in joined
    assert "    /* TODO(step 02, beta): Do beta" in joined
    assert "Read: beta(2), beta(7) */" in joined
    assert all(len(l) <= 80 for l in out.splitlines())
    assert out.startswith("int main(void)\n{\n    int flags = 0;\n") and out.endswith("    /* LAB:END */\n    return flags;\n}\n")


def test_given_blocks_stay(tmp_path):
    out = handout.strip_file(step_file(tmp_path, GOOD), CATALOG, give=1)
    assert "flags |= 1;" in out and "flags |= 2;" not in out


@pytest.mark.parametrize("text, line, words", [
    ("x\n/* LAB:BEGIN alpha */\ny\n", 2, "has no LAB:END"),
    ("/* LAB:BEGIN alpha */\n/* LAB:BEGIN beta */\n/* LAB:END */\n/* LAB:END */\n", 2, "do not nest"),
    ("a\nb\n/* LAB:END */\n", 3, "without LAB:BEGIN"),
    ("/* LAB:BEGIN gamma */\n/* LAB:END */\n", 1, "unknown block name 'gamma'"),
    ("/* LAB:BEGIN Alpha */\n/* LAB:END */\n", 1, "malformed marker"),
    ("/* LAB:END*/\n", 1, "malformed marker"),
])
def test_malformed_markers_name_file_and_line(tmp_path, text, line, words):
    path = step_file(tmp_path, text)
    with pytest.raises(handout.MarkerError) as e:
        handout.blocks(path, CATALOG)
    assert f"{path}:{line}:" in str(e.value) and words in str(e.value)


def test_a_block_from_a_later_step_is_refused(tmp_path):
    path = step_file(tmp_path, GOOD, name="step-01-test.c")
    with pytest.raises(handout.MarkerError) as e:
        handout.blocks(path, CATALOG)
    assert f"{path}:7:" in str(e.value) and "belongs to step 02" in str(e.value)


def test_the_real_step_files_have_good_markers():
    catalog = handout.load_catalog()
    names = set()
    for path in handout.step_files():
        names |= {b[0] for b in handout.blocks(path, catalog)}
    assert names == set(catalog), "every catalog entry is used, and only those"


def test_leak_check_finds_solution_code(tmp_path):
    lines = handout.solution_lines(handout.load_catalog())
    assert len(lines) > 20
    clean, dirty = tmp_path / "clean.tar.gz", tmp_path / "dirty.tar.gz"
    note = tmp_path / "notes.md"
    note.write_text("nothing to see\n")
    with tarfile.open(clean, "w:gz") as t:
        t.add(note, arcname="lab/notes.md")
    note.write_text("a hint:\n    " + lines[len(lines) // 2] + "\n")
    with tarfile.open(dirty, "w:gz") as t:
        t.add(note, arcname="lab/notes.md")
    assert handout.leaks(clean)[0] == []
    assert handout.leaks(dirty)[0] == [("lab/notes.md", lines[len(lines) // 2])]


def test_carried_blocks_are_byte_identical():
    """A block is written once, in the step that introduces it; every later
    step carries the very same lines, so that a student's solution can be
    carried forward as it is and diff -u shows only what is new."""
    catalog = handout.load_catalog()
    first_seen = {}
    differ = []
    for path in handout.step_files():
        lines = path.read_text().splitlines()
        for name, first, last in handout.blocks(path, catalog):
            text = "\n".join(lines[first - 1:last])
            if name not in first_seen:
                first_seen[name] = (path.name, text)
            elif first_seen[name][1] != text:
                differ.append(f"{name}: {path.name} differs from {first_seen[name][0]}")
    assert not differ, "\n".join(differ)
    for name, (where, _) in first_seen.items():
        assert where.startswith(f"step-{catalog[name]['step']:02d}-"), (
            f"block {name} first appears in {where}, not in step {catalog[name]['step']:02d}")


# ---- make carry ---------------------------------------------------------------------

CARRY_CATALOG = """[alpha]
step = 1
todo = "Do alpha."
man = ["alpha(2)"]
"""


def carry_tree(tmp_path):
    """Three handout step files, each with block alpha as a TODO."""
    (tmp_path / "steps").mkdir()
    (tmp_path / "steps" / "blocks.toml").write_text(CARRY_CATALOG)
    catalog = handout.load_catalog(tmp_path)
    for n in (1, 2, 3):
        src = step_file(tmp_path, "int f(void)\n{\n    int x = 0;\n    /* LAB:BEGIN alpha */\n"
                        "    x = 1;\n    /* LAB:END */\n    return x;\n}\n", f"step-0{n}-s.c")
        (tmp_path / "steps" / src.name).write_text(handout.strip_file(src, catalog))
        src.unlink()
    return tmp_path


def solve(root, step, code):
    path = next((root / "steps").glob(f"step-0{step}-*.c"))
    text = path.read_text()
    start = text.index("/* LAB:BEGIN alpha */\n") + len("/* LAB:BEGIN alpha */\n")
    path.write_text(text[:start] + f"    {code}\n" + text[text.index("    /* LAB:END */"):])


def carry(root, *args):
    return subprocess.run([sys.executable, str(handout.REPO / "tools" / "carry.py"), "--root", str(root), *args],
                          capture_output=True, text=True)


def code_of(root, step):
    text = next((root / "steps").glob(f"step-0{step}-*.c")).read_text()
    return text[text.index("LAB:BEGIN alpha"):text.index("LAB:END")]


def test_carry_brings_a_solution_forward_and_its_fixes_too(tmp_path):
    root = carry_tree(tmp_path)
    r = carry(root)
    assert r.returncode == 0 and "up to date" in r.stdout and "TODO" in code_of(root, 3), "nothing solved yet"
    solve(root, 1, "x = 1; /* mine */")
    r = carry(root)
    assert r.returncode == 0 and r.stdout.count("carried alpha from step-01") == 2, r.stdout + r.stderr
    assert "/* mine */" in code_of(root, 2) and "/* mine */" in code_of(root, 3)
    solve(root, 1, "x = 1; /* mine, fixed */")
    assert carry(root).returncode == 0 and "fixed" in code_of(root, 3), "a carried copy follows its source"


def test_carry_stops_at_a_copy_edited_by_hand(tmp_path):
    root = carry_tree(tmp_path)
    solve(root, 1, "x = 1; /* mine */")
    carry(root)
    solve(root, 3, "x = 3; /* edited in step 03 */")
    solve(root, 1, "x = 1; /* changed */")
    r = carry(root)
    assert r.returncode == 1 and "step-03-s.c: block alpha was edited here" in r.stderr, r.stderr
    assert "changed" not in code_of(root, 2), "a conflict anywhere: nothing written at all"
    r = carry(root, "--from", "3")
    assert r.returncode == 0 and "edited in step 03" in code_of(root, 3)
    assert carry(root, "--force").returncode == 0 and "changed" in code_of(root, 3)


def test_carry_needs_the_markers(tmp_path):
    root = carry_tree(tmp_path)
    path = next((root / "steps").glob("step-02-*.c"))
    path.write_text(path.read_text().replace("    /* LAB:END */\n", "", 1))
    r = carry(root)
    assert r.returncode != 0 and "markers must stay" in r.stderr, r.stderr


# ---- make handout: nothing lost -----------------------------------------------------

def test_handout_refuses_a_give_beyond_the_last_step(tmp_path):
    last = max(handout.step_of(p) for p in handout.step_files())
    with pytest.raises(handout.HandoutError, match=f"the last step is {last:02d}"):
        handout.write_handout(tmp_path / "h", None, last + 1)


def test_handout_refuses_to_delete_files_it_did_not_write(tmp_path):
    out = tmp_path / "handout"
    (out / "steps").mkdir(parents=True)
    (out / "steps" / "step-05-uts-hostname.c").write_text("my work\n")
    with pytest.raises(handout.HandoutError, match="holds files a handout did not write"):
        handout.write_handout(out, None, 0)
    assert (out / "steps" / "step-05-uts-hostname.c").read_text() == "my work\n"


def test_no_todo_ends_its_comment_early():
    """A TODO becomes a C comment in the handout: a `*/` inside it (a glob
    such as cpu*/...) would end the comment and break the build."""
    catalog = handout.load_catalog()
    assert [name for name, b in catalog.items() if "*/" in b.get("todo", "")] == []
