"""Step 17: real clients drive the runtime.

podman (through conmon) and containerd (through its runc shim, with ctr)
are started by these tests on state directories of their own, with an
image made from the lab's busybox rootfs, and pointed at ./step-17 as
their OCI runtime (podman --runtime, ctr run --runc-binary): run with the
exit status passed through, exec, kill, stop and remove. A client that is
not installed skips with the reason (`make deps-oci` installs them). The
fixture scripts are tests/helpers/oci/*.sh.
"""

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

import labtest

HELPERS = labtest.REPO / "tests" / "helpers" / "oci"
IMAGE = "localhost/lab-busybox:latest"
ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]

pytestmark = pytest.mark.steps(17, "last")


def need(*tools):
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)} (make deps-oci)")


@pytest.fixture(scope="module")
def containerd():
    need("containerd", "ctr", "containerd-shim-runc-v2")
    base = tempfile.mkdtemp(prefix="ctrd.", dir="/tmp")  # unix socket paths stay short
    env = dict(os.environ, BASE=base, NS="t" + uuid.uuid4().hex[:8])
    subprocess.run([HELPERS / "containerd-fixture.sh", "start"], env=env, check=True)
    try:
        image = f"{base}/image.tar"
        subprocess.run([HELPERS / "make-oci-image.sh", labtest.default_rootfs(), image, IMAGE],
                       check=True, stdout=subprocess.DEVNULL)
        ctr = ["ctr", "-a", f"{base}/ctrd.sock", "-n", env["NS"]]
        subprocess.run(ctr + ["images", "import", image], check=True, stdout=subprocess.DEVNULL)
        yield ctr, ["--fifo-dir", f"{base}/fifo"]
    finally:
        subprocess.run([HELPERS / "containerd-fixture.sh", "stop"], env=env, check=False)


@pytest.fixture(scope="module")
def podman():
    need("podman", "conmon")
    base = tempfile.mkdtemp(prefix="podman.", dir="/tmp")
    group = "t" + uuid.uuid4().hex[:8]
    env = dict(os.environ, BASE=base, CG=group)
    subprocess.run([HELPERS / "podman-fixture.sh", "setup", labtest.default_rootfs()], env=env,
                   check=True, stderr=subprocess.DEVNULL)
    try:
        yield [HELPERS / "podman-fixture.sh", "run"], env, ULIMITS + [
            "--network", "none", "--cgroup-parent", "/" + group]
    finally:
        subprocess.run([HELPERS / "podman-fixture.sh", "teardown"], env=env, check=False)


def client(argv, env=None, timeout=20):
    return subprocess.run([str(a) for a in argv], env=env, capture_output=True, text=True,
                          timeout=labtest.scaled(timeout))


def test_podman_runs_it(step, podman):
    run, env, opts = podman
    runtime = ["--runtime", labtest.step_bin(step)]
    r = client(run + runtime + ["run", "--rm"] + opts + [IMAGE, "sh", "-c", "echo hi; exit 3"], env)
    assert (r.returncode, r.stdout) == (3, "hi\n"), r
    r = client(run + runtime + ["run", "--rm", "-t"] + opts + [IMAGE, "tty"], env)
    assert (r.returncode, r.stdout.strip()) == (0, "/dev/pts/0"), \
        f"a terminal (--console-socket)\n{r}"
    name = "e" + uuid.uuid4().hex[:8]
    r = client(run + runtime + ["run", "-d", "--name", name] + opts + [IMAGE, "sleep", "100"], env)
    assert r.returncode == 0, r
    r = client(run + runtime + ["exec", name, "sh", "-c", "cat /proc/1/cmdline; exit 5"], env)
    assert (r.returncode, r.stdout) == (5, "sleep\0" + "100\0"), r
    r = client(run + runtime + ["pause", name], env)
    assert r.returncode == 0, f"podman pause: runc's pause\n{r}"
    r = client(run + runtime + ["inspect", "--format", "{{.State.Status}}", name], env)
    assert r.stdout.strip() == "paused", r
    r = client(run + runtime + ["unpause", name], env)
    assert r.returncode == 0, f"podman unpause: runc's resume\n{r}"
    r = client(run + runtime + ["update", "--cpus", "0.5", name], env)
    assert r.returncode == 0, f"podman update: runc's update\n{r}"
    pid = client(run + runtime + ["inspect", "--format", "{{.State.Pid}}", name], env).stdout.strip()
    version, root = labtest.cpu_layout()
    cpu = next(l.split(":", 2)[2] for l in Path(f"/proc/{pid}/cgroup").read_text().splitlines()
               if "cpu" in l.split(":")[1].split(",") or (version == "v2" and l.startswith("0::")))
    assert labtest.cpu_limit(root + cpu) == (50000, 100000), f"podman update --cpus 0.5\n{r}"
    r = client(run + runtime + ["stop", "-t", "1", name], env)
    assert r.returncode == 0, r
    r = client(run + runtime + ["rm", "-f", name], env)
    assert r.returncode == 0, r


def test_containerd_runs_it(step, containerd):
    ctr, fifo = containerd
    binary = ["--runc-binary", labtest.step_bin(step)]
    r = client(ctr + ["run", "--rm"] + binary + fifo + [IMAGE, "c1", "sh", "-c", "echo hi; exit 3"])
    assert (r.returncode, r.stdout) == (3, "hi\n"), r
    r = client(ctr + ["run", "-d"] + binary + fifo + [IMAGE, "c2", "sleep", "100"])
    assert r.returncode == 0, r
    r = client(ctr + ["task", "exec"] + fifo + ["--exec-id", "x1", "c2", "sh", "-c",
                                                "cat /proc/1/cmdline; exit 4"])
    assert (r.returncode, r.stdout) == (4, "sleep\0" + "100\0"), r
    r = client(ctr + ["task", "pause", "c2"])
    assert r.returncode == 0 and "PAUSED" in client(ctr + ["task", "ls"]).stdout, r
    r = client(ctr + ["task", "resume", "c2"])
    assert r.returncode == 0 and "RUNNING" in client(ctr + ["task", "ls"]).stdout, r
    r = client(ctr + ["task", "kill", "-s", "KILL", "c2"])
    assert r.returncode == 0, r
    assert labtest.wait_until(lambda: "STOPPED" in client(ctr + ["task", "ls"]).stdout, timeout=10)
    assert client(ctr + ["task", "delete", "c2"]).returncode == 0
    assert client(ctr + ["containers", "rm", "c2"]).returncode == 0


def test_the_validation_programs_pass(step, tmp_path):
    """tools/oci-validate: the runtime-spec's lifecycle, its refusals,
    configs checked from inside by runtimetest, resources and hooks; the
    step passes every assertion. Built offline from Debian's Go and
    runtime-tools' libraries. (make check-oci runs the same programs on
    runc and crun beside it; here, in the harness's sandbox, runc finds no
    devices hierarchy and could not be compared.)"""
    need("go")
    if not Path("/usr/share/gocode/src/github.com/opencontainers/runtime-tools/generate").is_dir():
        pytest.skip("not installed: golang-github-opencontainers-runtime-tools-dev (make deps)")
    build = subprocess.run(["make", "-s", "-C", labtest.REPO, "oci-validate"], capture_output=True,
                           text=True, timeout=labtest.scaled(300))
    assert build.returncode == 0, f"make oci-validate\n{build.stderr[-2000:]}"
    bin_dir = labtest.REPO / "build" / "oci-validate"
    r = client([bin_dir / "oci-validate", "-rootfs", labtest.default_rootfs(), "-runtimetest",
                bin_dir / "runtimetest", "-work", tmp_path, f"step-{step:02d}={labtest.step_bin(step)}"],
               timeout=120)
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr}"
    total = r.stdout.split("total\n")[1].split()
    assert total[0] == f"step-{step:02d}" and total[1] == total[3], (
        f"every assertion of every program passes on the step\n{r.stdout}")
