"""The real `warroom watch` in a real terminal (tmux): type a note, kill -9, resume, find it."""

from __future__ import annotations

import itertools
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import psutil
import pytest

TMUX = shutil.which("tmux")
# A private tmux server per test: the test never touches a tmux the developer is running, and
# never the previous test's server either (kill-server returns before that server has gone, and
# a new session on its socket then failed now and then).
_made = itertools.count()
SOCKET = ""


def tmux(*args: str) -> str:
    return subprocess.run(
        [TMUX, "-L", SOCKET, *args], check=True, capture_output=True, text=True, timeout=10
    ).stdout  # type: ignore[list-item]


def screen(name: str) -> str:
    return tmux("capture-pane", "-p", "-t", name)


def wait_screen(name: str, needle: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = screen(name)
        if needle in text:
            return text
        time.sleep(0.1)
    raise AssertionError(f"{needle!r} never appeared on screen:\n{text}")


@pytest.fixture
def tmux_session(tmp_path: Path):
    if TMUX is None:
        if os.environ.get("CI"):
            pytest.fail("tmux is required in CI")
        pytest.skip("tmux is not installed")
    global SOCKET
    name = SOCKET = f"warroom-e2e-{os.getpid()}-{next(_made)}"
    tmux("-f", "/dev/null", "new-session", "-d", "-s", name, "-x", "100", "-y", "30", "sleep 600")
    # A window whose program died stays, so a crash shows its last screen in the failure.
    tmux("set-option", "-g", "remain-on-exit", "on")
    try:
        yield name
    finally:
        subprocess.run([TMUX, "-L", SOCKET, "kill-server"], capture_output=True, timeout=10)


def start_watch(
    name: str, window: str, home: Path, *args: str, rc_file: Path | None = None
) -> str:
    """`warroom watch` in a new window; with ``rc_file``, a shell around it records its exit code
    there (tmux's own record of it can be missing when the pty closes before the exit)."""
    command = " ".join(shlex.quote(a) for a in (sys.executable, "-m", "warroom", "watch", *args))
    env = f"env WARROOM_HOME={shlex.quote(str(home))} WARROOM_AUTHOR=e2e TERM=xterm-256color"
    if rc_file is None:
        line = f"exec {env} {command}"
    else:
        line = f"{env} {command}; echo $? > {shlex.quote(str(rc_file))}"
    target = f"{name}:{window}"
    tmux("new-window", "-t", name, "-n", window, line)
    return target


def test_note_survives_kill_9_and_comes_back_on_resume(pg, tmp_path: Path, tmux_session) -> None:
    session = tmp_path / "e2e.toml"
    target = start_watch(
        tmux_session, "first", tmp_path, "--dsn", pg.dsn(), "--session", str(session),
        "--title", "e2e storm",
    )
    wait_screen(target, "T+")
    wait_screen(target, "usable")  # a live sample arrived from the real cluster
    # One burst, as a fast typist or a paste delivers it: `n` and the text in the same read.
    tmux("send-keys", "-t", target, "-l", "n! raised shop-api pool max to 20")
    tmux("send-keys", "-t", target, "Enter")

    deadline = time.monotonic() + 10
    entries: list[dict] = []
    while time.monotonic() < deadline:
        entries = tomllib.loads(session.read_text()).get("timeline", [])
        if any(e["text"] == "raised shop-api pool max to 20" for e in entries):
            break
        time.sleep(0.05)
    notes = [e for e in entries if e["text"] == "raised shop-api pool max to 20"]
    assert notes, f"the note never reached the file; screen:\n{screen(target)}\n{entries}"
    note = notes[0]
    assert note["kind"] == "action" and note["author"] == "e2e"

    pid = int(tmux("display-message", "-p", "-t", target, "#{pane_pid}").strip())
    os.kill(pid, signal.SIGKILL)

    again = start_watch(tmux_session, "second", tmp_path, "--session", str(session))
    text = wait_screen(again, "raised shop-api pool max to 20")
    assert "e2e storm" in text
    tmux("send-keys", "-t", again, "q")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not pane_dead(again):
        time.sleep(0.1)
    assert pane_dead(again), f"q did not quit:\n{screen(again)}"


def pane_dead(target: str) -> bool:
    return tmux("display-message", "-p", "-t", target, "#{pane_dead}").strip() == "1"


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGTERM], ids=["SIGHUP", "SIGTERM"])
def test_an_ssh_drop_or_a_kill_ends_watch_like_q(pg, tmp_path: Path, tmux_session, signum) -> None:
    session = tmp_path / "drop.toml"
    rc_file = tmp_path / "rc"
    target = start_watch(
        tmux_session, "drop", tmp_path, "--dsn", pg.dsn(), "--session", str(session),
        "--title", "ssh drop", rc_file=rc_file,
    )
    wait_screen(target, "usable")
    shell = psutil.Process(int(tmux("display-message", "-p", "-t", target, "#{pane_pid}")))
    (watch,) = shell.children()
    watch.send_signal(signum)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not (rc_file.exists() and rc_file.read_text()):
        time.sleep(0.1)
    assert rc_file.exists(), f"watch ignored the signal:\n{screen(target)}"
    assert rc_file.read_text().strip() == str(128 + signum), screen(target)
    record = tomllib.loads(session.read_text())
    # The partial 10-second window was written on the way out, as `q` does.
    assert record.get("samples"), "no rollup was flushed"
    assert "Traceback" not in screen(target)
