"""Step 05: a UTS namespace: the container's own hostname.

Inside, hostname and uname -n print the name given (or lab<pid>); the
host's hostname is the same during and after the run. A name the kernel or
RFC 1123 would not take is refused before anything is created.
"""

import os

import pytest

import labtest
from labtest import Running, run


def random_name(rng):
    return f"lab-{rng.randrange(16**8):08x}"


def test_hostname_inside_and_host_untouched(step, rng):
    name = random_name(rng)
    host = os.uname().nodename
    c = Running(step, "--hostname", name, "sh", "-c", "hostname; uname -n; echo $HOSTNAME; echo ready; read _")
    try:
        out = c.wait_for("ready")
        assert os.uname().nodename == host, "the host's hostname changed while the container ran"
        child = c.child_pid()
        assert labtest.ns_id(child, "uts") != labtest.ns_id("self", "uts"), "no new UTS namespace"
    finally:
        r = c.finish()
    assert r.rc == 0, r.describe()
    assert out.split("ready")[0].split() == [name, name, name], r.describe()
    assert os.uname().nodename == host


def test_default_hostname_is_lab_pid(step):
    c = Running(step, "hostname")
    r = c.wait()
    assert r.rc == 0, r.describe()
    assert r.out.strip() == f"lab{c.pid}", (
        f"without --hostname the name should be lab<pid of the step> (lab{c.pid})\n" + r.describe())


def test_64_bytes_is_the_longest_name(step):
    name = ("a" * 31 + ".") * 2
    name = name[:63] + "b"
    assert len(name) == 64
    r = run(step, "--hostname", name, "hostname")
    assert r.rc == 0 and r.out.strip() == name, r.describe()


def _refused(step, name, reason):
    r = run(step, "--hostname", name, "hostname")
    assert r.rc == 125, r.describe()
    assert len(r.err_lines) == 1 and "--hostname" in r.err and reason in r.err, (
        f"expected one line naming --hostname and saying {reason!r}\n" + r.describe())
    assert r.out == "", "nothing should run\n" + r.describe()


@pytest.mark.given
def test_too_long_name_is_refused(step):
    _refused(step, "a" * 30 + "." + "b" * 34, "64 bytes")


@pytest.mark.given
def test_empty_name_is_refused(step):
    _refused(step, "", "empty")


@pytest.mark.given
def test_bad_characters_are_refused(step, rng):
    for bad in ["under_score", "with space", "semi;colon", "slash/x", "ünïcode"]:
        _refused(step, bad, "letters, digits")
    _refused(step, "-dash-first", "starts with '-'")
