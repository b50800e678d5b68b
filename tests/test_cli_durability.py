"""`warroom note` in a loop, SIGKILLed at random moments: every note it acknowledged is there."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

from cli_helpers import run_warroom


def test_note_loop_killed_at_random_loses_no_acknowledged_note(tmp_path: Path) -> None:
    created = run_warroom("new", "--title", "durability", home=tmp_path, check=True)
    session = Path(created.stdout.strip())
    env = dict(os.environ, WARROOM_HOME=str(tmp_path), WARROOM_AUTHOR="tester")
    rng = random.Random(20261124)
    acknowledged: dict[str, str] = {}
    killed = 0
    # How long a note lives on this machine now (a loaded CI worker is slower than a laptop):
    # the kills are spread over a little more than that, so some land and some notes finish.
    started = time.monotonic()
    first = run_warroom("note", "--session", str(session), "note before the kills", home=tmp_path,
                        check=True)  # fmt: skip
    acknowledged[first.stdout.strip()] = "note before the kills"
    life = time.monotonic() - started

    for i in range(40):
        text = f"note number {i}"
        proc = subprocess.Popen(
            [sys.executable, "-m", "warroom", "note", "--session", str(session), text],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        # Interpreter start-up takes most of a note's life; spread kills across all of it.
        deadline = time.monotonic() + rng.uniform(0.0, 1.5 * life)
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.005)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        out, err = proc.communicate(timeout=30)
        if proc.returncode == 0:
            acknowledged[out.strip()] = text
        else:
            assert proc.returncode == -signal.SIGKILL, err

    assert killed > 0 and len(acknowledged) > 1, "the schedule should both kill and complete notes"
    check = run_warroom("check", str(session), home=tmp_path)
    assert check.returncode == 0, check.stderr
    entries = {e["id"]: e["text"] for e in tomllib.loads(session.read_text()).get("timeline", [])}
    for entry_id, text in acknowledged.items():
        assert entries.get(entry_id) == text
