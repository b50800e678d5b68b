"""`warroom demo` as a user runs it, in a terminal (a pty), ended by a signal mid-storm or killed.

SIGTERM and SIGHUP (an SSH drop) must leave nothing behind but the record. SIGKILL cannot be
caught: its leftovers must be found and removed by the next start.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
import threading
import tomllib
from pathlib import Path

import pytest
from drill_support import alive, poll

from warroom.drill.runner import DrillRun
from warroom.drill.sandbox import clean_leftovers
from warroom.drill.scenarios import get

ROOT = Path(__file__).resolve().parents[2]


def start_demo(env_dirs: dict[str, Path], speed: float = 6.0) -> tuple[subprocess.Popen, int]:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = dict(os.environ, WARROOM_DRILL_SPEED=str(speed), TERM="xterm-256color",
               WARROOM_HOME=str(env_dirs["home"]), WARROOM_DRILL_RUNTIME=str(env_dirs["runtime"]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "warroom", "demo"], stdin=slave, stdout=slave, stderr=slave,
        env=env, cwd=ROOT, start_new_session=True,
    )  # fmt: skip
    os.close(slave)

    def drain() -> None:  # a terminal nobody reads from would block the app's output
        with contextlib.suppress(OSError):
            while os.read(master, 65536):
                pass

    threading.Thread(target=drain, daemon=True).start()
    return proc, master


def marker(runtime: Path) -> dict:
    found = list(runtime.glob("*.json"))
    if not found:
        return {}
    with contextlib.suppress(ValueError, OSError):
        record = json.loads(found[0].read_text())
        if record.get("postmaster_pid") and record.get("helper_pids"):
            return record
    return {}


def session_file(home: Path) -> Path | None:
    found = sorted(home.glob("*.toml"))
    return found[0] if found else None


def saturated(home: Path) -> bool:
    path = session_file(home)
    if path is None:
        return False
    entries = tomllib.loads(path.read_text()).get("timeline", [])
    return any("raised CRITICAL saturation" in e["text"] for e in entries)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_mid_storm_leaves_only_the_record(
    drill_dirs: dict[str, Path], signum: int
) -> None:
    proc, master = start_demo(drill_dirs)
    try:
        record = poll(lambda: marker(drill_dirs["runtime"]), 60, "demo started")
        assert isinstance(record, dict)
        poll(lambda: saturated(drill_dirs["home"]), 60, "storm reached saturation")
        pids = [record["postmaster_pid"], *record["helper_pids"]]
        assert all(alive(p) for p in pids)
        proc.send_signal(signum)
        assert proc.wait(timeout=30) == 128 + signum
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    poll(lambda: not [p for p in pids if alive(p)], 10, "every process the demo started gone")
    assert not Path(record["base"]).exists()
    assert not list(drill_dirs["runtime"].glob("*.json"))
    path = session_file(drill_dirs["home"])
    assert path is not None and saturated(drill_dirs["home"])  # the record stays


def test_leftovers_of_a_killed_demo_are_removed_at_the_next_start(
    drill_dirs: dict[str, Path],
) -> None:
    runtime = drill_dirs["runtime"]
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from warroom.drill.runner import DrillRun\n"
        "from warroom.drill.scenarios import get\n"
        "run = DrillRun(get('locks'), marker_dir=Path(sys.argv[1])).start()\n"
        "print('ready', flush=True)\n"
        "time.sleep(600)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(runtime)], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    record = marker(runtime)
    postmaster, helpers = record["postmaster_pid"], record["helper_pids"]
    assert alive(postmaster) and helpers and all(alive(p) for p in helpers)
    # A live owner's sandbox is not a leftover: another demo running must be left alone.
    assert clean_leftovers(runtime) == [] and alive(postmaster)
    proc.kill()  # SIGKILL: no cleanup code runs
    proc.wait()
    proc.stdout.close()
    # The load generators notice their parent is gone and leave by themselves...
    poll(lambda: not [p for p in helpers if alive(p)], 10, "load generators gone")
    # ...but the server does not: the next start finds it.
    assert alive(postmaster) and Path(record["base"]).exists()
    with DrillRun(get("locks"), marker_dir=runtime, progress=lambda line: None) as run:
        assert run.sandbox is not None and run.sandbox.pid != postmaster
        poll(lambda: not alive(postmaster), 10, "leftover server stopped")
        assert not Path(record["base"]).exists()
        assert [p.name for p in runtime.glob("*.json")] == [f"{run.sandbox.base.name}.json"]
