"""The step harness: fixtures, test selection, and the host check that runs
after every test.

Each test file is named after the step that introduces its mechanism
(test_05_uts_hostname.py). Its tests take a `step` argument and run against
that step and every later one, since a later step keeps every earlier
mechanism. `--step 05` runs everything that applies to step 05 only.
"""

import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import labtest  # noqa: E402

SEED_ENV = "LAB_SEED"


def pytest_addoption(parser):
    group = parser.getgroup("lab")
    group.addoption("--step", type=int, default=None,
                    help="run only what applies to this step (as make grade STEP=NN)")
    group.addoption("--mechanism-only", action="store_true",
                    help="with --step: only the tests of the mechanism that step introduces")
    group.addoption("--bin-dir", default=None,
                    help="where the step-NN binaries are (default: the repository)")


def pytest_configure(config):
    if config.getoption("--bin-dir"):
        os.environ["LAB_BIN_DIR"] = str(Path(config.getoption("--bin-dir")).resolve())
    seed = os.environ.get(SEED_ENV) or str(random.SystemRandom().randrange(1, 2**31))
    os.environ[SEED_ENV] = seed
    config.lab_seed = seed


def pytest_report_header(config):
    return [
        f"lab: seed {config.lab_seed} (replay with {SEED_ENV}={config.lab_seed}), "
        f"timeout scale {labtest.TIMEOUT_SCALE:g}, binaries in {labtest.bin_dir()}",
    ]


def pytest_sessionstart(session):
    if os.geteuid() != 0:
        pytest.exit("the harness runs containers and needs root: run it with sudo "
                    "(sudo make test)", returncode=2)


def introduced_by(path):
    """The step a test file is about, from its name: test_05_x.py -> 5.
    test_00_*.py holds what every step keeps, from step 01 on."""
    m = re.match(r"test_(\d\d)_", Path(str(path)).name)
    return int(m.group(1)) if m else None


def pytest_ignore_collect(collection_path, config):
    step = introduced_by(collection_path)
    wanted = config.getoption("--step")
    if step is None:
        # Not about one step (the handout tool, the docs): not graded.
        return True if wanted is not None and Path(str(collection_path)).suffix == ".py" else None
    if step and step not in labtest.step_sources():
        return True  # the step does not exist (yet)
    if wanted is not None and (step > wanted or (config.getoption("--mechanism-only") and step != wanted)):
        return True
    return None


def pytest_generate_tests(metafunc):
    if "step" not in metafunc.fixturenames:
        return
    first = introduced_by(metafunc.definition.fspath) or 1
    wanted = metafunc.config.getoption("--step")
    only = metafunc.definition.get_closest_marker("steps")
    allowed = None
    if only is not None:
        allowed = {max(labtest.step_sources()) if a == "last" else a for a in only.args}
    steps = [s for s in labtest.step_sources() if s >= first and (wanted is None or s == wanted)
             and (allowed is None or s in allowed)]
    metafunc.parametrize("step", steps, ids=[f"step-{s:02d}" for s in steps])


def pytest_collection_modifyitems(config, items):
    # A test whose steps are all filtered out (--step, @steps) does not apply:
    # drop it rather than report it as skipped.
    # (pytest makes one placeholder item for an empty parameter set: its step is not a number.)
    empty = [i for i in items if "step" in getattr(i, "fixturenames", ())
             and not isinstance(getattr(getattr(i, "callspec", None), "params", {}).get("step"), int)]
    if empty:
        config.hook.pytest_deselected(items=empty)
        items[:] = [i for i in items if i not in empty]
    for item in items:
        limit = item.get_closest_marker("timeout")
        base = limit.args[0] if limit and limit.args else 60
        item.add_marker(pytest.mark.timeout(labtest.scaled(base)), append=False)


@pytest.fixture(scope="session", autouse=True)
def built_binaries(request):
    """Every step under test must be built: a missing binary is a failure to
    report, not a test to skip."""
    wanted = request.config.getoption("--step")
    missing = [f"step-{s:02d}" for s in labtest.step_sources()
               if (wanted is None or s == wanted) and not labtest.step_bin(s).exists()]
    if missing:
        pytest.fail(f"not built: {', '.join(missing)} in {labtest.bin_dir()}: run make", pytrace=False)


@pytest.fixture
def rng(request):
    """Values a test uses that nobody can guess in advance: seeded from
    LAB_SEED and the test's name, so that a failure replays exactly."""
    return random.Random(f"{os.environ[SEED_ENV]}/{request.node.nodeid}")


@pytest.fixture(autouse=True)
def host_unchanged(request):
    """After every test the host must hold exactly the mounts, lab cgroups,
    network links and hostname it held before. Whatever a broken step left
    behind is reported, then removed, so the next test starts clean."""
    before = labtest.HostState.now()
    yield before
    settled = labtest.wait_until(lambda: not before.diff(labtest.HostState.now()), timeout=2)
    if not settled:
        changes = before.diff(labtest.HostState.now())
        labtest.restore(before)
        pytest.fail("the host was changed and not restored:\n  " + "\n  ".join(changes),
                    pytrace=False)


@pytest.fixture
def rootfs():
    return labtest.default_rootfs()


@pytest.fixture
def rootfs_copy(tmp_path):
    """A private copy of the rootfs that a test may change: hard links where
    the temporary directory is on the same filesystem (the busybox binary is
    then shared and costs nothing), a real copy where it is not."""
    copy = tmp_path / "rootfs"
    src = str(labtest.default_rootfs())
    if subprocess.run(["cp", "-a", "--link", src, str(copy)], capture_output=True).returncode:
        subprocess.run(["rm", "-rf", str(copy)], check=True)
        subprocess.run(["cp", "-a", src, str(copy)], check=True)
    return copy


@pytest.fixture
def marker_file(rng, tmp_path_factory):
    """A file on the host, with random contents, that no container may see."""
    d = tmp_path_factory.mktemp("host-secret")
    path = d / f"secret-{rng.randrange(16**8):08x}"
    token = f"host-only-{rng.randrange(16**12):012x}"
    path.write_text(token + "\n")
    return path, token
