#!/usr/bin/python3
"""Builds Gradescope's autograder: make gradescope.

build/gradescope/autograder.zip holds what Gradescope asks for at its top,
setup.sh and run_autograder (tools/gradescope/), and beside them:

    lab/    the handout: the grader, the tests, the Makefile; the students'
            step files are put in its steps/ for each submission
    vm/     the course VM (make vm-root): its kernel, initrd and disk
            (gzip'd; setup.sh unpacks it), for Gradescope's Docker-based
            images, which let no process make a namespace

The course VM's image is built first if it is missing (as root, with the
network or an apt cache: see docs/course-vm.md).
"""

import argparse
import gzip
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import handout  # noqa: E402

REPO = handout.REPO
HERE = Path(__file__).resolve().parent / "gradescope"


def vm_image(arch="amd64"):
    images = REPO / "build" / "vm" / arch
    if not all((images / f).exists() for f in ("vmlinuz", "initrd.img", "root.img")):
        subprocess.run(["make", "-C", str(REPO), "vm-root", f"ARCH={arch}"], check=True)
    return images


def add_tree(z, root, prefix):
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            info = zipfile.ZipInfo.from_file(path, f"{prefix}/{path.relative_to(root)}")
            with open(path, "rb") as f:
                z.writestr(info, f.read(), zipfile.ZIP_DEFLATED)


def build(out):
    images = vm_image()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gradescope-") as work:
        lab = handout.write_handout(Path(work) / "lab", None, 0)
        disk = Path(work) / "root.img.gz"
        with open(images / "root.img", "rb") as src, gzip.open(disk, "wb", compresslevel=6) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        with zipfile.ZipFile(out, "w", allowZip64=True) as z:
            for script in ("setup.sh", "run_autograder"):
                info = zipfile.ZipInfo.from_file(HERE / script, script)
                info.external_attr = 0o755 << 16
                z.writestr(info, (HERE / script).read_bytes(), zipfile.ZIP_DEFLATED)
            add_tree(z, lab, "lab")
            for f in ("vmlinuz", "initrd.img"):
                z.write(images / f, f"vm/{f}", zipfile.ZIP_STORED)
            z.write(disk, "vm/root.img.gz", zipfile.ZIP_STORED)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=REPO / "build" / "gradescope" / "autograder.zip")
    args = ap.parse_args()
    out = build(args.out)
    print(f"make gradescope: {out.relative_to(REPO) if out.is_relative_to(REPO) else out} "
          f"({out.stat().st_size / 1e6:.0f} MB): upload it as the assignment's autograder")
    return 0


if __name__ == "__main__":
    sys.exit(main())
