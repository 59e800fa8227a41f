"""The step harness: fixtures, test selection, the host check that runs
after every test, and the report the grader reads.

Each test file is named after the step that introduces its mechanism
(test_05_uts_hostname.py). Its tests take a `step` argument and run against
that step and every later one, since a later step keeps every earlier
mechanism. `--step 05` runs everything that applies to step 05 only.

Which tests earn a step's points: those of the step's own test file, run
against that step, except the ones marked @pytest.mark.given (they test the
plumbing students are given: options, bad input, exit codes of common/). A
step's points are earned only by tests that fail without its own code;
make check-handout proves that the tests marked this way do.
"""

import contextlib
import fcntl
import json
import os
import pwd
import random
import re
import shutil
import subprocess
import tempfile
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
    group.addoption("--scoring-only", action="store_true",
                    help="with --step: only the tests that earn the step's points")
    group.addoption("--lab-report", default=None, metavar="FILE",
                    help="write each test's step, points rule and outcome to FILE (JSON)")
    group.addoption("--grading", action="store_true",
                    help="stop a step that hangs or changes the host, rather than run on")
    group.addoption("--matrix", choices=("carried", "full", "last"),
                    default=os.environ.get("LAB_MATRIX") or "carried",
                    help="carried (the default): each mechanism's tests on its own step and the "
                         "last; full: on every step that has it (make check-matrix); last: every "
                         "test on the last step only (make vm-test, where only the kernel differs)")


def tmpfs_falls_short():
    """Before Linux 6.3 a tmpfs cannot be idmapped, and from step 12 on the
    image layers are; before 6.6 it holds no user.* xattrs, where overlayfs
    in a user namespace keeps its marks (the harness's sandbox puts a tmpfs
    on /tmp)."""
    release = re.match(r"(\d+)\.(\d+)", os.uname().release)
    return bool(release) and tuple(map(int, release.groups())) < (6, 6)


def pytest_configure(config):
    # The tests' directories (tmp_path) then go on the disk, in /var/tmp,
    # which every user can enter, as a container's root must.
    if tmpfs_falls_short() and os.path.isdir("/var/tmp"):
        os.environ.setdefault("PYTEST_DEBUG_TEMPROOT", "/var/tmp")
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


def introduced_by(path):
    """The step a test file is about, from its name: test_05_x.py -> 5.
    test_00_*.py holds what every step keeps, from step 01 on."""
    m = re.match(r"test_(\d\d)_", Path(str(path)).name)
    return int(m.group(1)) if m else None


# The lab's own tooling, the same on every kernel: make vm-test leaves it out.
HOST_ONLY = ("test_tooling.py", "test_handout.py", "test_course.py", "test_vm.py")

# Run only when named: make check-grader.
ON_REQUEST = ("test_grader.py",)


def pytest_ignore_collect(collection_path, config):
    if Path(str(collection_path)).name in ON_REQUEST:
        return not any(Path(str(collection_path)).name in a for a in config.args)
    step = introduced_by(collection_path)
    wanted = config.getoption("--step")
    if step is None:
        # Not about one step (the handout tool, the docs): not graded.
        return True if wanted is not None and Path(str(collection_path)).suffix == ".py" else None
    if step and step not in labtest.step_sources():
        return True  # the step does not exist (yet)
    own_only = config.getoption("--mechanism-only") or config.getoption("--scoring-only")
    if wanted is not None and (step > wanted or (own_only and step != wanted)):
        return True
    return None


def scores(item):
    """Whether the test earns points for the step it runs against."""
    step = getattr(getattr(item, "callspec", None), "params", {}).get("step")
    return (isinstance(step, int) and introduced_by(item.fspath) == step
            and item.get_closest_marker("given") is None)


def carried_steps(first):
    """The steps a mechanism's tests run on in the carried matrix: its own
    and the last. Every step between carries its blocks byte for byte
    (test_handout.py's test_carried_blocks_are_byte_identical) and links the
    same common/: the same code, tested again at the last step, where it
    meets every later mechanism. test_00's tests, the plumbing of each
    step's main(), still run on every step; make check-matrix runs all."""
    return {first, max(labtest.step_sources())}


def pytest_generate_tests(metafunc):
    if "step" not in metafunc.fixturenames:
        return
    introduced = introduced_by(metafunc.definition.fspath)
    first = introduced or 1
    wanted = metafunc.config.getoption("--step")
    only = metafunc.definition.get_closest_marker("steps")
    matrix, last = metafunc.config.getoption("--matrix"), max(labtest.step_sources())
    allowed = None
    if only is not None:
        allowed = {last if a == "last" else a for a in only.args}
    elif wanted is None and introduced and matrix == "carried":
        allowed = carried_steps(first)
    if wanted is None and matrix == "last":
        # The course VM: the code of every step is in the last one (its blocks
        # byte for byte, the same common/); what the guest changes is the
        # kernel and the cgroup tree, which the last step meets in full. The
        # host runs the carried matrix, each step's own main() included.
        allowed = {last} if allowed is None else allowed & {last}
    steps = [s for s in labtest.step_sources() if s >= first and (wanted is None or s == wanted)
             and (allowed is None or s in allowed)]
    metafunc.parametrize("step", steps, ids=[f"step-{s:02d}" for s in steps])


def outside_the_carried_matrix(item):
    """test_00's rows about one option (`since`): in the carried matrix, only
    the step before the option (refused as not known yet), its own, and the
    last. test_00's other tests are the plumbing of each step file's main(),
    and run on every step."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    step, since = params.get("step"), params.get("since")
    if not isinstance(step, int) or not isinstance(since, int):
        return False
    return step not in (since - 1, since, max(labtest.step_sources()))


def pytest_collection_modifyitems(config, items):
    # A test whose steps are all filtered out (--step, @steps) does not apply:
    # drop it rather than report it as skipped.
    # (pytest makes one placeholder item for an empty parameter set: its step is not a number.)
    empty = [i for i in items if "step" in getattr(i, "fixturenames", ())
             and not isinstance(getattr(getattr(i, "callspec", None), "params", {}).get("step"), int)]
    if empty:
        config.hook.pytest_deselected(items=empty)
        items[:] = [i for i in items if i not in empty]
    if config.getoption("--matrix") == "last" and config.getoption("--step") is None:
        # The course VM: what only the host's tools and Python run (the
        # handout, the docs' tooling, the VM's own scripts), and a step's
        # decisions that no kernel changes, run on the host alone.
        host = [i for i in items if Path(str(i.fspath)).name in HOST_ONLY
                or (i.get_closest_marker("logic") and os.environ.get("LAB_VM"))]
        config.hook.pytest_deselected(items=host)
        items[:] = [i for i in items if i not in host]
    if config.getoption("--matrix") != "full" and config.getoption("--step") is None:
        outside = [i for i in items if outside_the_carried_matrix(i) or i.get_closest_marker("proof")
                   or i.get_closest_marker("long")]
        config.hook.pytest_deselected(items=outside)
        gone = set(map(id, outside))
        items[:] = [i for i in items if id(i) not in gone]
    if config.getoption("--scoring-only"):
        given = [i for i in items if not scores(i)]
        config.hook.pytest_deselected(items=given)
        items[:] = [i for i in items if scores(i)]
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
def tmp_path(request, tmp_path_factory):
    """pytest's tmp_path, but one every user may pass through (pytest makes
    its directories 0700): from step 12 on, the container's root is an
    ordinary uid of the host, and a volume or a layer it reaches by path
    must be reachable. The directories hold nothing secret: each test makes
    what it needs."""
    path = tmp_path_factory.mktemp(re.sub(r"[^\w]", "_", request.node.name)[:30], numbered=True)
    top = Path(os.environ.get("PYTEST_DEBUG_TEMPROOT") or tempfile.gettempdir())
    for d in [path, *path.parents]:
        if d == top or d == Path("/"):
            break
        d.chmod(0o755)
    return path


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
def public_dir():
    """A directory every user can enter (pytest's own tmp_path is root's
    alone), removed afterwards."""
    d = Path(tempfile.mkdtemp(prefix="lab-public-"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@contextlib.contextmanager
def users_locked():
    """The machine's user files to ourselves: gradings side by side (make
    check-handout) each add users and rewrite /etc/subuid, which sandboxes do
    not separate. An flock(2) on /etc itself: useradd replaces /etc/passwd
    and /etc/subuid by renames, so a lock on one of them would be on a file
    that is gone; and useradd's own locks (lckpwdf's fcntl lock, lock files)
    are others, so it does not wait on this one."""
    fd = os.open("/etc", os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@pytest.fixture
def user(rng, request):
    """An ordinary user made for the test, with an /etc/subuid range (or,
    parametrised, without one), removed afterwards, its range too."""
    name = f"labt{rng.randrange(16**6):06x}"
    subid = getattr(request, "param", True)
    entry = f"{name}:{labtest.ROOT_ON_THE_HOST + 300000 + rng.randrange(100) * 65536}:65536\n"
    files = [Path("/etc/subuid"), Path("/etc/subgid")]
    with users_locked():
        subprocess.run(["useradd", "--no-create-home", "--shell", "/bin/false", name], check=True,
                       capture_output=True)
        for f in files:
            lines = [l for l in (f.read_text().splitlines(keepends=True) if f.exists() else [])
                     if not l.startswith(name + ":")]
            f.write_text("".join(lines) + (entry if subid else ""))
    try:
        yield pwd.getpwnam(name)
    finally:
        # A rootless container keeps its layers and records here; a uid is
        # used again by the next test's user, so nothing may stay.
        left = Path(f"/tmp/lab-{pwd.getpwnam(name).pw_uid}")
        found = sorted(str(p) for p in left.rglob("*")) if left.exists() else []
        shutil.rmtree(left, ignore_errors=True)
        with users_locked():
            subprocess.run(["userdel", name], capture_output=True)
            for f in files:
                if f.exists():
                    f.write_text("".join(l for l in f.read_text().splitlines(keepends=True)
                                         if not l.startswith(name + ":")))
    assert not found, f"{left} was left behind by the user's containers: {found}"


@pytest.fixture
def user_lab(user, step, public_dir):
    """The step and a rootfs of the user's own, where the user can reach
    them (a checkout that user can read)."""
    binary = public_dir / labtest.step_bin(step).name
    shutil.copy2(labtest.step_bin(step), binary)
    rootfs = public_dir / "rootfs"
    subprocess.run(["cp", "-a", str(labtest.default_rootfs()), str(rootfs)], check=True)
    subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", str(rootfs)], check=True)
    return binary, rootfs


@pytest.fixture
def marker_file(rng, tmp_path_factory):
    """A file on the host, with random contents, that no container may see."""
    d = tmp_path_factory.mktemp("host-secret")
    path = d / f"secret-{rng.randrange(16**8):08x}"
    token = f"host-only-{rng.randrange(16**12):012x}"
    path.write_text(token + "\n")
    return path, token


# ---- the grader's report, and stopping a step that cannot be tested ---------------------

HANG_LIMIT = 3  # tests in a row that run out of time: the step hangs


def pytest_sessionstart(session):
    if os.geteuid() != 0:
        pytest.exit("the harness runs containers and needs root: run it as root "
                    "(sudo make test if you use sudo)", returncode=2)
    session.lab_results = []
    session.lab_stopped = None
    session.lab_hangs = 0
    step = session.config.getoption("--step")
    if session.config.getoption("--grading") and step is not None:
        reason = smoke(step)
        if reason:
            session.lab_stopped = reason
            write_report(session)
            pytest.exit(reason, returncode=3)


def smoke(step):
    """Runs the step once with `true`, before its tests: a step that hangs,
    says nothing at all, or changes the host is stopped here as a whole,
    rather than failing each test after its own time limit."""
    if not labtest.step_bin(step).exists():
        return None  # built_binaries reports it
    before = labtest.HostState.now()
    try:
        r = labtest.run(step, "true", timeout=10)
    except AssertionError:
        return (f"step-{step:02d} true did not finish within {labtest.scaled(10):.0f} s: "
                "the step hangs, so its tests were not run")
    finally:
        settled = labtest.wait_until(lambda: not before.diff(labtest.HostState.now()), timeout=2)
    if not settled:
        change = before.diff(labtest.HostState.now())
        labtest.restore(before)
        return (f"step-{step:02d} true changed the host ({change[0]}; removed again): "
                "its tests were not run")
    if not re.search(rf"^step-{step:02d}[ :\[]", r.err, re.M):
        return (f"step-{step:02d} true said nothing on stderr (exit status {r.rc}): a step "
                "narrates or reports an error; its tests were not run")
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.lab_call_failed = report.failed  # for fixtures that clean up otherwise after a failure
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed") \
            or (report.when == "teardown" and report.outcome == "failed"):
        record(item, report)


def record(item, report):
    session = item.session
    message = ""
    if report.failed:
        crash = getattr(report.longrepr, "reprcrash", None)
        message = crash.message if crash else str(report.longrepr)
    elif report.skipped:
        message = report.longrepr[2] if isinstance(report.longrepr, tuple) else "skipped"
    step = getattr(getattr(item, "callspec", None), "params", {}).get("step")
    entry = {"nodeid": item.nodeid, "name": item.name, "step": step,
             "since": introduced_by(item.fspath), "scores": scores(item),
             "outcome": report.outcome, "when": report.when, "message": message,
             "seconds": round(report.duration, 3)}
    # A teardown failure (the host check) after a passed call turns the test
    # into a failure.
    previous = [e for e in session.lab_results if e["nodeid"] == item.nodeid]
    if not previous:
        session.lab_results.append(entry)
    elif report.failed:
        previous[0].update(outcome="failed", message=message)
    timed_out = report.failed and re.search(r"did not finish|Timeout", message)
    session.lab_hangs = session.lab_hangs + 1 if timed_out else 0
    if item.config.getoption("--grading") and session.lab_hangs >= HANG_LIMIT:
        session.lab_stopped = (f"{HANG_LIMIT} tests in a row ran out of time: the step hangs, "
                               "so the rest of its tests were not run")
        session.shouldstop = session.lab_stopped


def write_report(session):
    path = session.config.getoption("--lab-report")
    if path:
        Path(path).write_text(json.dumps({"stopped": session.lab_stopped,
                                          "tests": session.lab_results}, indent=1) + "\n")


def pytest_sessionfinish(session):
    if hasattr(session, "lab_results"):
        write_report(session)
