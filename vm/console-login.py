#!/usr/bin/python3
"""console-login.py SOCKET USER PASSWORD TIMEOUT COMMAND... - logs in on a
VM's serial console (QEMU's -serial on a unix socket), as a person at UTM's
console would, runs each COMMAND in the login shell, prints what it printed,
and exits 1 as soon as one fails. The boot and each command are bounded by
TIMEOUT seconds. vm/laptop-test.sh uses it for the image booted without a
cloud-init seed."""

import codecs
import re
import socket
import sys
import time


def main():
    path, user, password, timeout = sys.argv[1:5]
    commands = sys.argv[5:]
    timeout = float(timeout)
    deadline = time.monotonic() + timeout
    while True:
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            break
        except OSError:
            if time.monotonic() > deadline:
                sys.exit(f"console-login: cannot connect to {path}")
            time.sleep(1)
    buf = ""
    # A character or an escape sequence may be split between two reads.
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def expect(pattern, limit):
        nonlocal buf
        end = time.monotonic() + limit
        while True:
            m = re.search(pattern, buf)
            if m:
                seen, buf = buf[:m.end()], buf[m.end():]
                return m, seen
            left = end - time.monotonic()
            if left <= 0:
                sys.exit(f"console-login: no {pattern!r} within {limit:.0f} s; last output:\n{buf[-1500:]}")
            s.settimeout(min(left, 5))
            try:
                data = s.recv(4096)
            except socket.timeout:
                continue
            if not data:
                sys.exit(f"console-login: the console closed; last output:\n{buf[-1500:]}")
            # No carriage returns, nor bash's bracketed-paste switches.
            buf = re.sub(r"\r|\x1b\[\?2004[hl]", "", buf + decoder.decode(data))

    def send(line):
        s.sendall(line.encode() + b"\r")

    # getty may print its prompt before we connect: poke it until it does.
    while True:
        try:
            expect(r"login: $", 30)
            break
        except SystemExit:
            if time.monotonic() > deadline:
                raise
            send("")
    send(user)
    expect(r"Password: $", 60)
    send(password)
    expect(r"\$ $", 120)
    send("stty cols 500")  # no wrapped command lines in what comes back
    expect(r"\$ $", 30)
    for command in commands:
        send(f"{command}; echo __rc=$?__")
        m, seen = expect(r"__rc=(\d+)__\n", timeout)
        out = seen.split("\n", 1)[1] if "\n" in seen else ""
        out = re.sub(r"__rc=\d+__\n$", "", out)
        print(f"$ {command}\n{out}", end="" if out.endswith("\n") or not out else "\n", flush=True)
        if m.group(1) != "0":
            print(f"console-login: exit status {m.group(1)}", flush=True)
            sys.exit(1)
        expect(r"\$ $", 30)


if __name__ == "__main__":
    main()
