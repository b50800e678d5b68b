"""A private tmux server for tests that look at what a real terminal does with our output."""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

TMUX = shutil.which("tmux")
# What must never reach a terminal from our output: ESC, BEL, a bidi override, 8-bit CSI.
ESCAPES = ("\x1b", "\x07", "\u202e", "\x9b")


class Tmux:
    """One tmux server on its own socket: the tests never touch a tmux the developer runs."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def __call__(self, *args: str) -> str:
        return subprocess.run(
            [TMUX or "tmux", "-L", self.socket, *args],
            check=True, capture_output=True, text=True, timeout=10,
        ).stdout  # fmt: skip

    def show(self, target: str, fmt: str) -> str:
        return self("display-message", "-p", "-t", target, fmt).strip()

    def wait_dead(self, target: str, timeout: float = 30.0) -> None:
        """Until the pane's program has exited (the pane stays: remain-on-exit)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.show(target, "#{pane_dead}") == "1":
                return
            time.sleep(0.05)
        raise AssertionError(f"{target} still running after {timeout}s")


@contextmanager
def tmux_server(name: str, width: int = 120, height: int = 40) -> Iterator[Tmux]:
    if TMUX is None:
        if os.environ.get("CI"):
            pytest.fail("tmux is required in CI")
        pytest.skip("tmux is not installed")
    # A socket of its own each time: a server being killed by the previous test must not
    # answer (or refuse) this one's new-session.
    tmux = Tmux(f"{name}-{os.getpid()}-{secrets.token_hex(4)}")
    tmux("-f", "/dev/null", "new-session", "-d", "-s", name, "-x", str(width), "-y",
         str(height), "sleep 600")  # fmt: skip
    tmux("set-option", "-g", "remain-on-exit", "on")
    try:
        yield tmux
    finally:
        subprocess.run([TMUX, "-L", tmux.socket, "kill-server"], capture_output=True, timeout=10)


def run_in_pane(tmux: Tmux, window: str, args: list[str], env: dict[str, str]) -> str:
    """Run `warroom ARGS` in a new window of session ``term`` titled ``untouched``, wait for it
    to end, and return the pane's title then (an OSC 2 in the output would have changed it)."""
    command = shlex.join([sys.executable, "-m", "warroom", *args])
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items() if k.isidentifier())
    # The program waits for a key so the title is set before it can print anything.
    tmux("new-window", "-d", "-t", "term", "-n", window, f"read _go; env -i {exports} {command}")
    target = f"term:{window}"
    tmux("select-pane", "-t", target, "-T", "untouched")
    tmux("send-keys", "-t", target, "Enter")
    tmux.wait_dead(target)
    return tmux.show(target, "#{pane_title}")
