"""The course VM's tooling (vm/, mk/vm.mk), without booting anything: the
architecture names, the image keys, what make would run, the laptop files
(lima.yaml), the installer's helpers, the man page check. (Not about one
step: make grade leaves these out.) The VMs themselves are tested by
make vm-test and make vm-image-test."""

import hashlib
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from labtest import REPO

VM = REPO / "vm"


def run(*argv, env=None, cwd=REPO):
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, cwd=cwd,
                          env=dict(os.environ, **(env or {})))


def test_arch_names_are_normalised_and_others_refused():
    for given, want in [("amd64", "amd64"), ("x86_64", "amd64"), ("arm64", "arm64"), ("aarch64", "arm64")]:
        r = run(VM / "arch.sh", given)
        assert r.returncode == 0 and r.stdout == want + "\n", (given, r.stdout, r.stderr)
    for bad in ["sparc", "armhf", "i386", "ARM64"]:
        r = run(VM / "arch.sh", bad)
        assert r.returncode == 1 and r.stdout == ""
        assert r.stderr.count("\n") == 1 and f"ARCH={bad}" in r.stderr and "amd64" in r.stderr, r.stderr


def test_make_refuses_an_unknown_arch_before_doing_anything():
    r = run("make", "--no-print-directory", "vm-test", "ARCH=mips")
    assert r.returncode != 0
    assert "ARCH=mips: the course VM is built for amd64 (x86_64) or arm64 (aarch64)" in r.stderr
    assert "deps.sh" not in r.stdout + r.stderr and "build-image" not in r.stdout + r.stderr


def test_make_passes_the_arch_to_every_vm_script():
    r = run("make", "-n", "--no-print-directory", "vm-test", "vm-image-test", "ARCH=aarch64")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert any(l.startswith("vm/build-image.sh build/vm/arm64 arm64 ") for l in lines), r.stdout
    assert any("qemu-system-arm" in l for l in lines if "deps.sh" in l)
    assert any("VM_ARCH=arm64" in l and "vm/run.sh test" in l for l in lines)
    assert any("VM_ARCH=arm64" in l and "vm/laptop-test.sh build/vm/laptop" in l for l in lines)
    # The lab's own packages go into the guest, man pages included.
    build = next(l for l in lines if l.startswith("vm/build-image.sh"))
    for pkg in ["busybox-static", "man-db", "manpages", "manpages-dev"]:
        assert f" {pkg}" in build


def test_image_keys_differ_by_arch_and_do_not_change_by_themselves():
    def key(arch):
        r = run(VM / "build-image.sh", "/nonexistent", arch, "pkg-a", "pkg-b", "--key")
        assert r.returncode == 0 and re.fullmatch(r"[0-9a-f]{16}\n", r.stdout), r.stderr
        return r.stdout
    assert key("amd64") == key("x86_64") == key("amd64")
    assert key("arm64") != key("amd64")
    r = run(VM / "build-image.sh", "/nonexistent", "sparc", "--key")
    assert r.returncode == 1 and "ARCH=sparc" in r.stderr


def test_packages_name_the_kernel_and_boot_loader_of_each_arch():
    text = (VM / "packages").read_text()
    words = set(re.sub(r"#.*", "", text).split())
    assert {"linux-image-@ARCH@", "grub-efi-@ARCH@-bin", "man-db"} - words == {"man-db"}
    # The Makefile gives the man pages to every machine (make deps), the VM included.
    assert re.search(r"^DEPS :=[^\n]*(\n\s+[^\n]*)*\bmanpages-dev\b", (REPO / "Makefile").read_text(), re.M)


INST = """\
Inst libc6 (2.36-9+deb12u10 Debian:12.11/stable [arm64]) []
Inst usr-is-merged [1] (37~deb12u1 Debian:12.11/stable [all])
Inst busybox-static (1:1.35.0-4+b3 Debian:12.11/stable, Debian-Security:12/stable-security [arm64])
Conf libc6 (2.36-9+deb12u10 Debian:12.11/stable [arm64])
"""


def test_installer_names_the_deb_files_as_apt_caches_them():
    r = subprocess.run(["sed", "-n", "-f", str(VM / "installer" / "inst-debs.sed")],
                       input=INST, capture_output=True, text=True)
    assert r.returncode == 0
    assert r.stdout.split() == ["libc6_2.36-9+deb12u10_arm64.deb", "usr-is-merged_37~deb12u1_all.deb",
                                "busybox-static_1%3a1.35.0-4+b3_arm64.deb"]


def test_vm_scripts_are_valid_shell():
    scripts = [p for p in [*VM.glob("*.sh"), VM / "installer" / "prepare.sh", VM / "installer" / "install.sh",
                           VM / "guest" / "usr" / "local" / "sbin" / "lab-init",
                           VM / "guest" / "usr" / "local" / "bin" / "lab-man-check"]]
    for script in scripts:
        shell = "bash" if script.read_text().startswith("#!/bin/bash") else "sh"
        r = run(shell, "-n", script)
        assert r.returncode == 0, f"{script}: {r.stderr}"
        assert os.access(script, os.X_OK), f"{script} is not executable"


def fake_console(listener, status):
    """A serial console as console-login.py meets it in a booted image:
    getty, a password, then bash, which echoes each line and switches
    bracketed paste on and off around it. Escape sequences and characters
    arrive split between writes, as a real console splits them."""
    conn, _ = listener.accept()
    with conn:
        def line():
            got = b""
            while not got.endswith(b"\r"):
                byte = conn.recv(1)
                assert byte, "console-login.py hung up in the middle of a line"
                got += byte
            return got[:-1]

        def write(*chunks):
            for chunk in chunks:
                conn.sendall(chunk)
                time.sleep(0.2)

        prompt = b"\x1b[?2004hlab@lab-vm:~$ "
        write(b"lab-vm login: ")
        write(line() + b"\r\nPassword: ")
        line()
        write(b"\r\n" + prompt)
        write(line() + b"\r\n\x1b[?2004l\r\n" + prompt)  # stty
        write(line() + b"\r\n\x1b", b"[?20", b"04lh\xc3", b"\xa9llo\r\n__rc=%d__\r\n" % status + prompt)


@pytest.mark.parametrize("status", [0, 3])
def test_console_login_prints_what_the_console_printed_and_fails_with_the_command(tmp_path, status):
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(tmp_path / "console"))
    listener.listen(1)
    console = threading.Thread(target=fake_console, args=(listener, status), daemon=True)
    console.start()
    r = run(VM / "console-login.py", tmp_path / "console", "lab", "lab", 20, "echo héllo")
    console.join(timeout=20)
    listener.close()
    if status == 0:
        assert r.returncode == 0 and r.stdout == "$ echo héllo\nhéllo\n", repr(r.stdout) + r.stderr
    else:
        assert r.returncode == 1 and r.stdout.endswith("héllo\nconsole-login: exit status 3\n"), repr(r.stdout)


def test_laptop_image_needs_the_root_file_system_first(tmp_path):
    r = run(VM / "laptop-image.sh", tmp_path / "vm", tmp_path / "laptop", env={"VM_ARCH": "arm64"})
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
    assert "no arm64 root file system" in r.stderr and "make vm-root ARCH=arm64" in r.stderr
    assert not (tmp_path / "laptop").exists()


def fake_images(tmp_path, arches):
    for arch in arches:
        (tmp_path / f"lab-{arch}.qcow2").write_bytes(f"not really a disk: {arch}\n".encode())
        (tmp_path / f"lab-{arch}.version").write_text(f"lab v1-test\narch {arch}\n")


def parse_yaml(text):
    try:
        import yaml
    except ImportError:  # python3-yaml is not one of the lab's packages
        return None
    return yaml.safe_load(text)


@pytest.mark.parametrize("arches", [["arm64"], ["amd64", "arm64"]])
def test_lima_template_names_the_images_there_are_with_their_digests(tmp_path, arches):
    fake_images(tmp_path, arches)
    r = run(VM / "laptop-files.sh", tmp_path, env={"VM_IMAGE_URL": ""})
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "lima.yaml").read_text()
    images = re.findall(r'- location: "([^"]+)"\n  arch: "([^"]+)"\n  digest: "sha256:([0-9a-f]{64})"', text)
    assert len(images) == len(arches), text
    lima_arch = {"amd64": "x86_64", "arm64": "aarch64"}
    for (location, arch, digest), want in zip(images, arches):
        name = Path(location).name
        assert location == f"~/lab-vm/{name}" and name == f"lab-{want}.qcow2"
        assert (tmp_path / name).is_file(), location
        assert arch == lima_arch[want]
        assert digest == hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
    doc = parse_yaml(text)
    if doc is not None:
        assert [i["arch"] for i in doc["images"]] == [lima_arch[a] for a in arches]
        assert doc["mounts"] == [] and doc["containerd"] == {"system": False, "user": False}
        assert "sudo make test" in doc["message"]
    sums = (tmp_path / "SHA256SUMS").read_text().splitlines()
    assert [l.split()[1] for l in sums] == [f"lab-{a}.qcow2" for a in arches]
    assert "lab, password lab" in (tmp_path / "README.txt").read_text()


def test_lima_template_can_point_at_a_web_server(tmp_path):
    fake_images(tmp_path, ["arm64"])
    r = run(VM / "laptop-files.sh", tmp_path, env={"VM_IMAGE_URL": "https://example.org/lab/"})
    assert r.returncode == 0, r.stderr
    assert '- location: "https://example.org/lab/lab-arm64.qcow2"' in (tmp_path / "lima.yaml").read_text()


def test_laptop_files_need_an_image(tmp_path):
    r = run(VM / "laptop-files.sh", tmp_path)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "no lab-*.qcow2" in r.stderr
    assert not (tmp_path / "lima.yaml").exists()


def test_run_says_which_image_is_missing(tmp_path):
    r = run(VM / "run.sh", "test", env={"VM_ARCH": "arm64", "VM_OUT": str(tmp_path)})
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
    # Either QEMU for arm64 is not installed here, or the image is not built.
    assert ("qemu-system-aarch64 not found" in r.stderr and "qemu-system-arm" in r.stderr) or \
        ("no arm64 VM image" in r.stderr and "make vm ARCH=arm64" in r.stderr), r.stderr


@pytest.mark.skipif(shutil.which("man") is None, reason="man-db is not installed (make deps installs it)")
def test_man_check_finds_every_page_the_todos_name():
    r = run(VM / "guest" / "usr" / "local" / "bin" / "lab-man-check", REPO)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.fullmatch(r"man pages: all \d+ named by the TODOs of .*blocks\.toml are there; "
                        r"man 2 pivot_root renders\n", r.stdout), r.stdout


@pytest.mark.skipif(shutil.which("man") is None, reason="man-db is not installed (make deps installs it)")
def test_man_check_names_what_is_missing(tmp_path):
    (tmp_path / "steps").mkdir()
    (tmp_path / "steps" / "blocks.toml").write_text(
        '[a]\nman = ["pivot_root(2) (NOTES)", "no_such_page_here(2)", "Documentation/x.rst"]\n')
    r = run(VM / "guest" / "usr" / "local" / "bin" / "lab-man-check", tmp_path)
    assert r.returncode == 1
    assert r.stdout == f"man pages: 1 of 2 named by the TODOs of {tmp_path}/steps/blocks.toml missing: " \
                       "no_such_page_here(2)\n", r.stdout
