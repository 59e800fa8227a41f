"""The handout tool: markers are checked, blocks become TODOs, and the leak
check finds solution code. (make check-handout builds and grades a whole
handout; these are the quick, kernel-free checks.)"""

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
    assert "flags |= 1" not in out and "flags |= 2" not in out and "LAB:" not in out
    joined = out.replace("\n     * ", " ")
    assert "    /* TODO(step 01, alpha) - as in your step-01, bring your solution along: Do alpha." in joined
    assert "    /* TODO(step 02, beta): Do beta" in joined
    assert "Read: beta(2), beta(7) */" in joined
    assert all(len(l) <= 80 for l in out.splitlines())
    assert out.startswith("int main(void)\n{\n    int flags = 0;\n") and out.endswith("    return flags;\n}\n")


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
