#!/usr/bin/python3
"""The image as it was built, and whether it still is:

    image.py write IMAGE MANIFEST   after a build: what IMAGE holds, into MANIFEST
    image.py check IMAGE MANIFEST   exit 0 if IMAGE still holds exactly that;
                                    1, and the first differences, if not

Until step 11 a container's root is the image itself, so a step without
layers (a blank step 11, a handout graded with GIVE=10, a broken step)
writes into it: files deleted, /etc/passwd changed. Every later run would
start from that image and fail for a reason that is not its own. make
rootfs builds the image again when the check fails; the grader checks it
before each step it grades.

The manifest holds each entry's path, type, mode, owner, size and, for a
file, its SHA-256 (a link: its target); not the times, which a rebuild
changes.
"""

import hashlib
import os
import stat
import sys
from pathlib import Path


def entries(image):
    """{relative path: description} of everything under image."""
    found = {}
    for root, dirs, files in os.walk(image):
        for name in dirs + files:
            path = os.path.join(root, name)
            st = os.lstat(path)
            what = f"{stat.filemode(st.st_mode)} {st.st_uid}:{st.st_gid}"
            if stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    what += f" {st.st_size} {hashlib.file_digest(f, 'sha256').hexdigest()}"
            elif stat.S_ISLNK(st.st_mode):
                what += f" -> {os.readlink(path)}"
            found[os.path.relpath(path, image)] = what
    return found


def differences(image, manifest):
    """What differs from the manifest, one line each ([] if nothing)."""
    try:
        want = dict(line.split("\t", 1) for line in Path(manifest).read_text().splitlines())
    except (OSError, ValueError):
        return [f"{manifest}: no manifest to check against"]
    if not Path(image).is_dir():
        return [f"{image}: not there"]
    have = entries(image)
    lines = [f"gone: {p}" for p in sorted(want.keys() - have.keys())]
    lines += [f"new: {p}" for p in sorted(have.keys() - want.keys())]
    lines += [f"changed: {p}" for p in sorted(want.keys() & have.keys()) if want[p] != have[p]]
    return lines


def main(argv):
    if len(argv) != 4 or argv[1] not in ("write", "check"):
        sys.exit("usage: image.py write|check IMAGE MANIFEST")
    _, command, image, manifest = argv
    if command == "write":
        Path(manifest).parent.mkdir(parents=True, exist_ok=True)
        Path(manifest).write_text("".join(f"{p}\t{w}\n" for p, w in sorted(entries(image).items())))
        return 0
    found = differences(image, manifest)
    if found:
        print(f"{image} is not the image that was built ({len(found)} difference(s)): "
              + ", ".join(found[:5]) + (", ..." if len(found) > 5 else ""), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
