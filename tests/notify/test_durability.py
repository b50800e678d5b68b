"""What survives: a sender killed with -9 mid-send, and secrets that are never written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from cli_helpers import run_warroom
from support.polling import wait_until

from notify.helpers import QUICK, write_config
from notify.receiver import Receiver, unique_events

SENDER = """
import time
from datetime import UTC, datetime
from warroom.notify import events
from warroom.notify.worker import get
n = get()
for i in range(5):
    n.publish(events.note(None, datetime.now(UTC), "decision", f"step {i}", "tester"))
print("queued", flush=True)
time.sleep(120)
"""
RESTART = """
from warroom.notify.worker import get
print(get().flush(30))
"""


def _env(state: Path, **more: str) -> dict[str, str]:
    env = dict(os.environ, XDG_STATE_HOME=str(state / "state"),
               WARROOM_CONFIG=str(state / "config.toml"), **more)  # fmt: skip
    env.pop("WARROOM_DEBUG", None)
    return env


def test_kill_9_mid_send_then_restart_delivers_all(receiver: Receiver, state: Path) -> None:
    write_config(state / "config.toml", {"name": "hook", "url_env": "HOOK_URL", **QUICK,
                                         "timeout_s": 60})  # fmt: skip
    sender = subprocess.Popen([sys.executable, "-c", SENDER], stdout=subprocess.PIPE, text=True,
                              env=_env(state, HOOK_URL=receiver.base + "/hang"))  # fmt: skip
    try:
        assert sender.stdout is not None and sender.stdout.readline() == "queued\n"
        wait_until(lambda: receiver.requests("/hang"), what="the send in flight")
    finally:
        sender.send_signal(signal.SIGKILL)
        sender.wait(10)
    # The next warroom that runs (here pointed at a destination that answers) sends it all.
    out = subprocess.run([sys.executable, "-c", RESTART], capture_output=True, text=True,
                         env=_env(state, HOOK_URL=receiver.base + "/ok"), timeout=60)  # fmt: skip
    assert out.stdout == "True\n", out.stderr
    hung = receiver.requests("/hang")
    sent = receiver.requests("/ok")
    # The message in flight at the kill went again under its key; a receiver drops the copy.
    assert sent[0].headers["Idempotency-Key"] == hung[0].headers["Idempotency-Key"]
    texts = [e["text"] for e in unique_events(hung + sent)]
    assert texts == [f"step {i}" for i in range(5)]


def test_no_secret_in_any_file_after_a_run(receiver: Receiver, state: Path) -> None:
    secrets = {"HOOK_URL": receiver.base + "/ok/T0KEN-in-the-url-9f8e7d",
               "HOOK_AUTH": "Bearer s3cret-header-4c5d6e",
               "BAD_URL": receiver.base + "/500/an0ther-t0ken-1a2b3c"}  # fmt: skip
    write_config(state / "config.toml",
                 {"name": "good", "url_env": "HOOK_URL", "format": "slack",
                  "headers_env": {"Authorization": "HOOK_AUTH"}, **QUICK},
                 {"name": "bad", "url_env": "BAD_URL", "format": "alertmanager", **QUICK})
    env = _env(state, **secrets)
    home = state / "incidents"
    outputs = [
        run_warroom("new", "--title", "orders DB", home=home, env=env),
        run_warroom("note", "--kind", "escalation", "paged the DBA", home=home, env=env),
        run_warroom("status", "resolved", home=home, env=env),
        run_warroom("notify", "test", home=home, env=env),
        run_warroom("postmortem", str(next(home.glob("*.toml"))), home=home, env=env),
    ]
    assert receiver.requests("/ok/T0KEN")[0].headers["Authorization"] == secrets["HOOK_AUTH"]
    assert receiver.requests("/500/an0ther")  # the failing one was tried: its error is stored
    assert "HTTP 500" in outputs[1].stderr
    written = [p for p in state.rglob("*") if p.is_file()]
    assert any(p.name.startswith("notify-outbox") for p in written)
    assert any(p.suffix == ".md" for p in written)  # the draft, written at resolution
    for secret in secrets.values():
        tail = secret.rsplit("/", 1)[-1].split()[-1].encode()
        for path in written:
            assert tail not in path.read_bytes(), path
        for out in outputs:
            assert tail.decode() not in out.stdout + out.stderr


HAND_OFF = """
from datetime import UTC, datetime
from warroom.notify import events
from warroom.notify.worker import get
n = get()
for i in range(3):  # as the dashboard does on its UI thread: no I/O, then the process ends
    n.publish_soon(events.note(None, datetime.now(UTC), "action", f"handed {i}", "tester"))
"""


def test_events_handed_off_just_before_exit_are_kept(receiver: Receiver, state: Path) -> None:
    write_config(state / "config.toml", {"name": "hook", "url_env": "HOOK_URL", **QUICK})
    receiver.down()
    out = subprocess.run([sys.executable, "-c", HAND_OFF], capture_output=True, text=True,
                         env=_env(state, HOOK_URL=receiver.base + "/ok"), timeout=60)  # fmt: skip
    assert out.returncode == 0, out.stderr
    receiver.up()
    out = subprocess.run([sys.executable, "-c", RESTART], capture_output=True, text=True,
                         env=_env(state, HOOK_URL=receiver.base + "/ok"), timeout=60)  # fmt: skip
    assert out.stdout == "True\n", out.stderr
    texts = [e["text"] for e in unique_events(receiver.requests("/ok"))]
    assert texts == [f"handed {i}" for i in range(3)]
