"""Every transcript in README.md and docs/*.md runs, and prints what the page
says it prints.

A transcript is a fenced block whose info string starts with `console`:

    ```console
    $ sudo ./step-05 -q --hostname lab hostname
    lab
    ```

- A line that starts with `$ ` is a command (a command ending in ` \\` goes
  on over the next line). The lines after it, up to the next command, are
  what it prints: stdout and stderr together, as on a terminal 80 columns
  wide.
- Each block runs in one bash, from the top of the repository, one command
  after the other: `cd`, variables and background jobs carry on to the next
  command of the same block, never to another block.
- `sudo` marks a command that needs root. The test runs as root, where
  `sudo` runs the command and does nothing else; a background `sudo CMD &`
  runs CMD itself, so that `kill %1` reaches it, as sudo passes it on.
- What varies from machine to machine, or from run to run:
    `...` alone on a line    any lines, or none
    `...` inside a line      any text, within that line
    a number 48000-48999     a process id: any number. The same number
                             is the same pid throughout the block, and a
                             later command that uses it gets the real pid
                             (`grep NSpid /proc/48213/status`)
    `myhost`                 the host's hostname
    `/home/me/lab`           the directory of the lab
  Columns are padded to fit what they hold, which varies: a run of two or
  more spaces matches any run of spaces.
- A command ending in `&` (a background job) is shown with the job line an
  interactive shell prints, `[1] 48211`; the test's shell is not
  interactive and does not print it. Before the next command, the test waits
  for what the job is shown printing. At the end of the block, the
  containers still running are killed (SIGKILL), so that their lab
  processes clean up and exit.
- The exit status is not checked: a page shows it with `; echo $?`.
- Words after `console` mark a transcript that cannot run everywhere, and
  say why; keep them rare:
    `cgroup=v1`, `cgroup=v2`   only where the cpu controller is on that
                               cgroup version (the other is skipped)
    `arch=x86_64`              only on that machine (`uname -m`)
    `kernel=ia32`              only where the kernel can make 32-bit calls
                               (x86-64 with IA32 emulation on)
    `skip="reason"`            never run here, with the reason

Blocks of other kinds (```sh, indented) show commands without their output,
such as `make grade`; they are not run here. Each step's "Demo:" line, the
"try" column of README.md's step table, is run by
test_each_step_demo_runs: it must not fail as a lab (status 125).
"""

import codecs
import fcntl
import os
import pty
import re
import select
import shlex
import signal
import struct
import subprocess
import termios
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import labtest
from labtest import REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
PID = re.compile(r"(?<!\d)48\d\d\d(?!\d)")
ELLIPSIS = "..."
JOB_LINE = re.compile(r"^\[\d+\] 48\d\d\d$")
COLUMNS, ROWS = 80, 24


# ---- the pages ----------------------------------------------------------------------

@dataclass
class Command:
    line: int            # where it is in the page
    text: str            # the command, as shown (sudo and placeholders included)
    expected: list       # the lines the page shows after it


@dataclass
class Transcript:
    page: Path
    line: int
    marks: dict
    commands: list = field(default_factory=list)

    @property
    def name(self):
        return f"{self.page.relative_to(REPO)}:{self.line}"


def parse_marks(info, where):
    """`console cgroup=v2 skip="why"` -> {'cgroup': 'v2', 'skip': 'why'}."""
    marks = {}
    for word in shlex.split(info)[1:]:
        key, _, value = word.partition("=")
        if (key not in ("cgroup", "arch", "kernel", "skip") or not value
                or (key == "cgroup" and value not in ("v1", "v2")) or (key == "kernel" and value != "ia32")):
            raise ValueError(f"{where}: unknown mark {word!r} "
                             "(known: cgroup=v1, cgroup=v2, arch=MACHINE, kernel=ia32, skip=\"why\")")
        marks[key] = value
    return marks


def transcripts(page):
    """The console blocks of a page, as Transcripts."""
    found = []
    lines = page.read_text().splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)```(console\b.*)$", lines[i])
        if not m:
            i += 1
            continue
        indent, start = len(m.group(1)), i + 1
        t = Transcript(page, start, parse_marks(m.group(2), f"{page.name}:{start}"))
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            text = lines[i][indent:]
            if text.startswith("$ "):
                command, n = text[2:], i + 1
                while command.endswith("\\") and i + 1 < len(lines):
                    i += 1
                    command = command + "\n" + lines[i][indent:]
                t.commands.append(Command(n, command, []))
            elif not t.commands:
                raise ValueError(f"{page.name}:{i + 1}: a console block starts with a command ($ ...)")
            else:
                t.commands[-1].expected.append(text)
            i += 1
        found.append(t)
        i += 1
    return found


def all_transcripts():
    return [t for page in PAGES for t in transcripts(page)]


# ---- matching what a command printed with what the page shows ---------------------

def host_values():
    return {"myhost": os.uname().nodename, "/home/me/lab": str(REPO)}


def line_pattern(expected, bound):
    """A regex for one expected line; new pid placeholders become groups."""
    out, names = [], []
    for part in re.split(r"(\.\.\.|(?<!\d)48\d\d\d(?!\d)|\bmyhost\b|/home/me/lab)", expected):
        if part == ELLIPSIS:
            out.append(".*")
        elif PID.fullmatch(part or ""):
            if part in bound:
                out.append(re.escape(bound[part]))
            elif part in names:
                out.append(f"(?P=p{part})")
            else:
                out.append(f"(?P<p{part}>\\d+)")
                names.append(part)
        elif part in host_values():
            out.append(re.escape(host_values()[part]))
        else:
            # Columns are padded to the widest value, which varies: a run of
            # two or more spaces stands for any run of spaces.
            out += [" +" if re.fullmatch(r"  +", s) else re.escape(s) for s in re.split(r"(  +)", part)]
    return re.compile("".join(out))


def match(expected, actual, bound):
    """The bindings of pid placeholders under which the actual lines are
    what the page shows, or None."""
    if not expected:
        return bound if not actual else None
    first, rest = expected[0].rstrip(), expected[1:]
    if first == ELLIPSIS:
        for skip in range(len(actual) + 1):
            found = match(rest, actual[skip:], bound)
            if found is not None:
                return found
        return None
    if not actual:
        return None
    m = line_pattern(first, bound).fullmatch(actual[0].rstrip())
    if not m:
        return None
    return match(rest, actual[1:], {**bound, **{k[1:]: v for k, v in m.groupdict().items()}})


def output_lines(text):
    lines = text.split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


# ---- a shell on a terminal --------------------------------------------------------

class Shell:
    """bash reading commands from a pipe, writing to a pseudo-terminal that
    is its controlling terminal, as a shell in a terminal window would."""

    def __init__(self):
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "HOME": "/root", "TERM": "xterm", "LANG": "C.UTF-8", "USER": "root"}

        def controlling_terminal():
            os.setsid()
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

        self.p = subprocess.Popen(["bash", "--norc", "--noprofile", "-s"], stdin=subprocess.PIPE,
                                  stdout=slave, stderr=slave, cwd=REPO, env=env,
                                  preexec_fn=controlling_terminal)
        os.close(slave)
        self.pending = ""
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.serial = 0
        # sudo marks what needs root; the test is root.
        self.run('sudo() { "$@"; }')

    def send(self, text):
        self.p.stdin.write(text.encode())
        self.p.stdin.flush()

    def read(self, timeout):
        """More output, or "" when none came within timeout seconds."""
        if not select.select([self.master], [], [], max(timeout, 0))[0]:
            return ""
        try:
            data = os.read(self.master, 65536)
        except OSError:  # the shell is gone
            return ""
        return self.decoder.decode(data).replace("\r", "")

    def run(self, command, timeout=30):
        """Runs one command line; returns (its output, $?, $!)."""
        self.serial += 1
        done = re.compile(f"\x1e{self.serial} (\\d+) (\\d*)\x1e\n")
        self.send(f"{command}\n__rc=$?; printf '\\036%s %s %s\\036\\n' {self.serial} $__rc \"$!\"\n")
        deadline = time.monotonic() + labtest.scaled(timeout)
        while not done.search(self.pending):
            left = deadline - time.monotonic()
            if left <= 0 or self.p.poll() is not None:
                out, self.pending = self.pending, ""
                raise AssertionError(f"$ {command}\ndid not finish within {labtest.scaled(timeout):.0f} s;"
                                     f" it printed:\n{out}")
            self.pending += self.read(left)
        m = done.search(self.pending)
        out, self.pending = self.pending[:m.start()], self.pending[m.end():]
        return out, int(m.group(1)), m.group(2)

    def more(self, timeout):
        """Output that arrives after a command returned (a background job's)."""
        out = self.pending + self.read(timeout)
        self.pending = ""
        return out

    def close(self):
        """Ends what the block left running: the containers of background
        jobs are killed (SIGKILL), so that their lab processes clean up and
        exit; then whatever else is left, and the shell."""
        try:
            labs = [pid for pid in descendants(self.p.pid) if is_lab(pid) and not is_lab(parent(pid))]
            for lab in labs:
                for child in children(lab):
                    kill(child)
            labtest.wait_until(lambda: not any(os.path.exists(f"/proc/{p}") for p in labs), timeout=10)
            self.run("kill -KILL $(jobs -p) 2>/dev/null; wait", timeout=30)
            self.send("exit\n")
            self.p.wait(timeout=labtest.scaled(10))
        except (AssertionError, OSError, subprocess.TimeoutExpired):
            os.killpg(self.p.pid, signal.SIGKILL)
            self.p.wait()
        finally:
            os.close(self.master)


def children(pid):
    try:
        return [int(c) for t in os.listdir(f"/proc/{pid}/task")
                for c in Path(f"/proc/{pid}/task/{t}/children").read_text().split()]
    except OSError:
        return []


def descendants(pid):
    found = []
    for c in children(pid):
        found += [c, *descendants(c)]
    return found


def parent(pid):
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def is_lab(pid):
    """Whether pid runs one of the lab's steps."""
    try:
        return re.fullmatch(r"step-\d\d", Path(os.readlink(f"/proc/{pid}/exe")).name) is not None
    except OSError:
        return False


def kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def substitute(command, bound):
    """The command with the real pids for the placeholders the block has seen."""
    def real(m):
        if m.group(0) not in bound:
            raise AssertionError(f"$ {command}\nuses pid {m.group(0)} before any output has shown it")
        return bound[m.group(0)]
    return PID.sub(real, command)


def check(transcript):
    """Runs a transcript; raises AssertionError at the first command whose
    output is not what the page shows."""
    shell = Shell()
    bound = {}
    try:
        for c in transcript.commands:
            expected = list(c.expected)
            background = c.text.rstrip().endswith("&")
            text = c.text
            if background and text.startswith("sudo "):
                text = text[len("sudo "):]  # the job is the command, as sudo relays signals
            out, _, last_job = shell.run(substitute(text, bound))
            if background and expected and JOB_LINE.match(expected[0].strip()):
                job = PID.search(expected[0]).group(0)
                bound.setdefault(job, last_job)
                expected = expected[1:]
            actual = output_lines(out)
            found = match(expected, actual, bound)
            # A background job goes on printing after the shell took the next
            # command: wait for what the page shows it printing, up to the end
            # of its last line (a slow machine may deliver "up" and its "\n"
            # apart: the "\n" would start the next command's output). A job
            # the page shows printing nothing is not waited for.
            deadline = time.monotonic() + labtest.scaled(10)
            while ((found is None or (out and not out.endswith("\n"))) and background
                   and time.monotonic() < deadline):
                out += shell.more(0.2)
                actual = output_lines(out)
                found = match(expected, actual, bound)
            if found is None:
                raise AssertionError(
                    f"{transcript.page.relative_to(REPO)}:{c.line}: $ {c.text}\n"
                    f"--- the page shows:\n" + "\n".join(expected) +
                    "\n--- it printed:\n" + "\n".join(actual))
            bound = found
    finally:
        shell.close()


# ---- the tests ----------------------------------------------------------------------

def skip_reason(transcript):
    marks = transcript.marks
    if "skip" in marks:
        return marks["skip"]
    if "cgroup" in marks:
        version, _ = labtest.cpu_layout()
        if version != marks["cgroup"]:
            return (f"shown for a cpu controller on cgroup {marks['cgroup']}; "
                    f"this machine's is on cgroup {version}")
    if "arch" in marks and marks["arch"] != os.uname().machine:
        return f"shown for {marks['arch']}; this machine is {os.uname().machine}"
    if marks.get("kernel") == "ia32" and labtest.kernel_cannot_make_32bit_calls():
        return labtest.kernel_cannot_make_32bit_calls()
    return None


TRANSCRIPTS = all_transcripts()


@pytest.mark.timeout(180)
@pytest.mark.parametrize("transcript", TRANSCRIPTS, ids=[t.name for t in TRANSCRIPTS])
def test_transcript(transcript):
    reason = skip_reason(transcript)
    if reason:
        pytest.skip(reason)
    try:
        check(transcript)
    except AssertionError as e:
        pytest.fail(str(e), pytrace=False)


def readme_try_commands():
    """The "try" column of README.md's step table: (step, command)."""
    text = (REPO / "README.md").read_text()
    rows = re.findall(r"^\| (\d\d) \|.*\| `(\./step-\d\d .*)` \|$", text, re.M)
    return [(int(n), c.replace("\\|", "|")) for n, c in rows]


def test_readme_lists_every_step():
    assert [n for n, _ in readme_try_commands()] == sorted(labtest.step_sources())


@pytest.mark.parametrize("number,command", readme_try_commands(),
                         ids=[f"step-{n:02d}" for n, _ in readme_try_commands()])
def test_each_step_demo_runs(number, command):
    r = subprocess.run(["bash", "-c", command], cwd=REPO, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=labtest.scaled(30))
    errors = [l for l in r.stderr.splitlines() if re.match(r"^step-\d\d: ", l)]
    assert r.returncode != 125, f"$ {command}\n{r.stderr}"
    assert not errors, f"$ {command}\n{r.stderr}"


# ---- the checker itself ------------------------------------------------------------

def fake(text):
    page = REPO / "docs" / "fake.md"
    t = Transcript(page, 1, {})
    for block in text.strip("\n").split("\n$ ")[0:]:
        command, *expected = block.removeprefix("$ ").split("\n")
        t.commands.append(Command(1, command, expected))
    return t


def test_placeholders_match_what_varies():
    bound = match(["a ... z", "...", "pid 48213 and 48213 again", "on myhost"],
                  ["a anything z", "x", "y", "pid 77 and 77 again", f"on {os.uname().nodename}"], {})
    assert bound == {"48213": "77"}
    assert match(["pid 48213 and 48213"], ["pid 77 and 78"], {}) is None
    assert match(["pid 48213"], ["pid 78"], {"48213": "77"}) is None
    assert match(["...", "end"], ["end"], {}) == {}
    assert match(["exact"], ["exact", "and more"], {}) is None
    assert match(["a b"], ["a  b"], {}) is None
    assert match(["lab48212@if2    UP"], ["lab123@if2       UP"], {}) == {"48212": "123"}


def test_a_wrong_output_fails_and_says_where():
    check(fake("$ echo hello; echo world >&2\nhello\nworld"))
    with pytest.raises(AssertionError, match=r"(?s)fake.md.*the page shows:\nbye.*it printed:\nhello"):
        check(fake("$ echo hello\nbye"))


def test_pids_shown_are_used_by_later_commands():
    check(fake("$ sleep 0.1 &\n[1] 48211\n$ echo $!\n48211\n$ echo 48211\n48211"))
    with pytest.raises(AssertionError, match="uses pid 48212 before any output has shown it"):
        check(fake("$ echo 48212\n48212"))
