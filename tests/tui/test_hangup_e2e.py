"""A dashboard whose terminal goes away ends within the README's 5 seconds, whatever it is doing.

The real `warroom watch` in tmux against the shared cluster, in each state it can be in (a
dialog open, writes waiting for the session's lock, the watched server stalled, starting up),
ended three ways: SIGHUP to it (what an SSH drop sends), `tmux kill-session` (the pty hung up
and the session's SIGHUP), and the pty hung up with no signal at all (watch started with
`setsid`: not in the terminal's session, so only the terminal's own hang-up can tell it).
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import psutil
import pytest
from support.lockholder import LockHolder

from warroom.drill.proxy import DelayProxy
from warroom.sessions.pending import pending_path
from warroom.tui.signals import ExitGuard

TMUX = shutil.which("tmux")
SOCKET = f"warroom-hup-{os.getpid()}"
# The README's promise is ExitGuard's grace time from the signal; the poll allows one second
# more for the signal's delivery and the process's teardown on a loaded two-core machine.
PROMISED_S = ExitGuard.GRACE_S
STATES = ["starting", "opening", "help", "incident_form", "lock_held", "server_stalled"]
ENDINGS = ["sighup", "kill_session", "hangup_only"]


def tmux(*args: str) -> str:
    return subprocess.run(
        [TMUX, "-L", SOCKET, *args], check=True, capture_output=True, text=True, timeout=10
    ).stdout  # type: ignore[list-item]


def wait_until(
    condition: Callable[[], object], what: str, timeout: float = 20.0, screen: str = ""
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            shown = tmux("capture-pane", "-p", "-t", screen) if screen else ""
            raise AssertionError(f"{what} did not happen in {timeout}s\n{shown}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def tmux_server() -> Iterator[None]:
    if TMUX is None:
        if os.environ.get("CI"):
            pytest.fail("tmux is required in CI")
        pytest.skip("tmux is not installed")
    tmux("-f", "/dev/null", "new-session", "-d", "-s", "keep", "sleep 3600")
    # A pane whose program ended stays, so its last screen can be read (and shown on failure).
    tmux("set-option", "-g", "remain-on-exit", "on")
    try:
        yield
    finally:
        subprocess.run([TMUX, "-L", SOCKET, "kill-server"], capture_output=True, timeout=10)


def watch_process(pane_pid: int) -> psutil.Process | None:
    """The Python running `warroom watch` in the pane (the pane's process, or its child)."""
    try:
        pane = psutil.Process(pane_pid)
        for proc in [pane, *pane.children(recursive=True)]:
            if proc.cmdline()[:3] == [sys.executable, "-m", "warroom"]:
                return proc
    except psutil.NoSuchProcess:
        pass
    return None


def gone(procs: list[psutil.Process]) -> bool:
    for proc in procs:
        try:
            if proc.status() != psutil.STATUS_ZOMBIE:
                return False
        except psutil.NoSuchProcess:
            continue
    return True


@pytest.mark.parametrize("ending", ENDINGS)
@pytest.mark.parametrize("state", STATES)
def test_watch_ends_within_the_promised_time_when_its_terminal_goes(
    pg, tmp_path: Path, tmux_server: None, state: str, ending: str
) -> None:
    if state == "starting" and ending != "sighup":
        pytest.skip("before the terminal is set up only a signal can reach it first")
    session = tmp_path / "hup.toml"
    rc_file = tmp_path / "rc"
    name = f"hup-{state}-{ending}".replace("_", "-")
    with ExitStack() as stack:
        dsn = pg.dsn()
        proxy = None
        if state == "server_stalled":
            proxy = stack.enter_context(DelayProxy(pg.port))
            dsn = pg.dsn().replace(f"port={pg.port}", f"port={proxy.port}")
            assert str(proxy.port) in dsn
        command = [sys.executable, "-m", "warroom", "watch", "--dsn", dsn,
                   "--session", str(session), "--title", "hang-up"]  # fmt: skip
        if ending == "hangup_only":
            command = ["setsid", *command]
        home = shlex.quote(str(tmp_path))
        env = f"env WARROOM_HOME={home} WARROOM_AUTHOR=e2e TERM=xterm-256color"
        # A shell around it records the exit status (when a signal, not a hang-up, ends it).
        line = f"{env} {shlex.join(command)}; echo $? > {shlex.quote(str(rc_file))}"
        tmux("new-session", "-d", "-s", name, "-x", "110", "-y", "32", line)
        pane_pid = int(tmux("display-message", "-p", "-t", name, "#{pane_pid}").strip())
        wait_until(lambda: watch_process(pane_pid) is not None, "watch starting", screen=name)
        watch = watch_process(pane_pid)
        assert watch is not None

        def shown() -> str:
            return tmux("capture-pane", "-p", "-t", name)

        if state == "opening":
            # The session file is made before the dashboard: the signal lands while it opens.
            wait_until(session.exists, "the session file", screen=name)
        elif state != "starting":
            wait_until(lambda: "usable" in shown(), "a live sample", screen=name)
        if state == "help":
            tmux("send-keys", "-t", name, "?")
            wait_until(lambda: "Cursor up" in shown(), "the help panel", screen=name)
        elif state == "incident_form":
            tmux("send-keys", "-t", name, "i")
            wait_until(lambda: "Impact started" in shown(), "the incident form", screen=name)
        elif state == "lock_held":
            holder = stack.enter_context(LockHolder(session))
            tmux("send-keys", "-t", name, "-l", "n typed while locked")
            tmux("send-keys", "-t", name, "Enter")
            wait_until(lambda: "pending" in shown(), "writes waiting for the lock", screen=name)
        elif state == "server_stalled":
            assert proxy is not None
            proxy.stall()
            # The next sample's query is on its way and never answered.
            wait_until(lambda: proxy.held_bytes > 0, "a sample stuck on the stalled server")

        procs = [watch, *watch.children(recursive=True)]
        if ending == "sighup":
            watch.send_signal(signal.SIGHUP)
        else:
            tmux("kill-session", "-t", name)
        wait_until(lambda: gone(procs), f"watch ({state}) ending after {ending}",
                   timeout=PROMISED_S + 1.0)  # fmt: skip
        at_exit = session.read_bytes() if session.exists() else b""

        if state == "lock_held":
            # Nothing typed is lost: the note waits beside the session for the next writer.
            kept = pending_path(session, watch.pid)
            assert kept.exists() and "typed while locked" in kept.read_text()
            holder.release()  # a writer still alive would append now
        if ending == "sighup":
            wait_until(lambda: rc_file.exists() and rc_file.read_text().strip() != "",
                       "the shell's record of the exit status")  # fmt: skip
            assert rc_file.read_text().strip() == str(128 + signal.SIGHUP), shown()
            assert "Traceback" not in shown()
            tmux("kill-session", "-t", name)
    assert gone(procs)
    assert (session.read_bytes() if session.exists() else b"") == at_exit
    if at_exit:
        tomllib.loads(at_exit.decode())  # whole: no write was cut off by the exit
