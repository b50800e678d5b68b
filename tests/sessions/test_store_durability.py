"""Acknowledged means on disk: kill -9, concurrent writers, a full disk."""

from __future__ import annotations

import random
import select
import subprocess
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from warroom.sessions.model import Incident
from warroom.sessions.store import Store, load

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
DEADLINE = 120.0  # generous: a 2-core machine shared with other test runs


def read_line(child: subprocess.Popen[str], deadline: float) -> str:
    """The child's next stdout line; fails the test (with its stderr) past the deadline."""
    assert child.stdout is not None
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            child.kill()
            pytest.fail(f"child silent past the deadline; stderr: {child.stderr.read()}")
        ready, _, _ = select.select([child.stdout], [], [], left)
        if ready:
            line = child.stdout.readline()
            if not line:
                child.wait()
                pytest.fail(f"child exited {child.returncode}; stderr: {child.stderr.read()}")
            return line.rstrip("\n")


def test_sigkill_at_a_random_moment_loses_no_acknowledged_note(
    session_path: Path, spawn, appender: str
) -> None:
    Store.create(session_path, Incident.create("kill -9 drill", T0))
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    acknowledged: list[str] = []
    for round_no in range(6):
        child = spawn(appender, str(session_path), f"r{round_no}", "0", "go")
        deadline = time.monotonic() + DEADLINE
        # Let it get somewhere random (sometimes nowhere), then kill it mid-stride.
        for _ in range(rng.randrange(0, 40)):
            acknowledged.append(read_line(child, deadline))
        child.kill()
        child.wait()
        # Every id the child finished printing was acknowledged before the kill.
        assert child.stdout is not None
        rest = child.stdout.read()
        acknowledged.extend(line for line in rest.split("\n")[:-1] if line)

        loaded = load(session_path)
        ids = [entry.id for entry in loaded.incident.timeline]
        missing = [i for i in acknowledged if i not in ids]
        assert not missing, f"seed {seed}, round {round_no}: lost {missing}"
        assert len(ids) == len(set(ids))
    # The next writer resumes cleanly whatever state the last kill left.
    store = Store.open(session_path)
    assert {entry.id for entry in store.incident.timeline} >= set(acknowledged)
    assert load(session_path).torn is None


def test_two_processes_append_500_notes_each_at_once(
    session_path: Path, spawn, appender: str
) -> None:
    Store.create(session_path, Incident.create("two writers", T0))
    children = [spawn(appender, str(session_path), tag, "500", "wait", stdin=True) for tag in "AB"]
    deadline = time.monotonic() + DEADLINE
    for child in children:
        assert read_line(child, deadline) == "ready"
    for child in children:  # both start together
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    acknowledged: list[str] = []
    for child in children:
        out, err = child.communicate(timeout=DEADLINE)
        assert child.returncode == 0, err
        acknowledged.extend(out.split())

    loaded = load(session_path)
    assert loaded.torn is None
    timeline = loaded.incident.timeline
    assert len(timeline) == 1000
    assert len({entry.id for entry in timeline}) == 1000
    assert {entry.id for entry in timeline} == set(acknowledged)
    by_writer: dict[str, list[int]] = defaultdict(list)
    for entry in timeline:
        tag, number = entry.text.split()
        by_writer[tag].append(int(number))
    assert by_writer == {"A": list(range(500)), "B": list(range(500))}, "each in its own order"


# Under RLIMIT_FSIZE the kernel fails writes past the limit (EFBIG) after writing what fits:
# a real short write, as on a full disk, without needing one.
FULL_DISK = """
import resource, signal, sys
from datetime import UTC, datetime
from pathlib import Path
from warroom.sessions.model import SampleRollup, TimelineEntry
from warroom.sessions.store import SessionError, Store

path = Path(sys.argv[1])
store = Store.open(path)
before = len(store.incident.timeline), len(store.incident.samples), store.incident.summary
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
room = path.stat().st_size + 40
resource.setrlimit(resource.RLIMIT_FSIZE, (room, room))
now = datetime.now(UTC)
attempts = [
    lambda: store.append_entry(TimelineEntry(at=now, text="x" * 300)),
    lambda: store.append_samples([SampleRollup(at=now, conn_max=5)] * 3),
    lambda: store.update(lambda inc: setattr(inc, "summary", "y" * 300)),
]
for attempt in attempts:
    try:
        attempt()
    except SessionError as exc:
        print("refused:", exc)
    else:
        print("accepted")
after = len(store.incident.timeline), len(store.incident.samples), store.incident.summary
print("memory unchanged" if after == before else f"memory changed {before} -> {after}")
"""


def test_full_disk_append_leaves_no_torn_block_and_raises(session) -> None:
    path: Path = session.path
    before = path.read_bytes()
    done = subprocess.run(
        [sys.executable, "-c", FULL_DISK, str(path)],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 4, done.stdout
    assert lines[0].startswith(f"refused: {path}: append failed (File too large); nothing")
    assert lines[1].startswith(f"refused: {path}: append failed (File too large); nothing")
    assert lines[2].startswith(f"refused: {path}: rewrite failed (File too large)")
    assert lines[3] == "memory unchanged"
    assert path.read_bytes() == before
    assert load(path).torn is None
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name, path.name + ".lock"]
