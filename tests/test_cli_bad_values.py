"""Values a user can type that used to get through: each is one clear line, and nothing written."""

from __future__ import annotations

import shlex
import sys
import time
import tomllib
from pathlib import Path

import pytest
from cli_helpers import run_warroom


def _new(home: Path) -> Path:
    made = run_warroom("new", "--title", "orders db", "--at", "2026-11-24T09:00:00Z", home=home,
                       check=True)  # fmt: skip
    return Path(made.stdout.strip())


def _one_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("warroom: error: "), lines[0]
    return lines[0]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-1", "soon"])
@pytest.mark.parametrize("command", ["watch", "sample"])
def test_an_interval_that_is_not_a_finite_positive_number_is_refused(
    command: str, value: str, tmp_path: Path
) -> None:
    result = run_warroom(command, "--interval", value, "--dsn", "host=127.0.0.1 port=1",
                         home=tmp_path)  # fmt: skip
    assert result.returncode == 2
    assert "--interval" in _one_error_line(result)
    assert not list(tmp_path.iterdir()), "nothing is created for a refused command"


@pytest.mark.parametrize(
    "when", ["9999-12-31T23:59:59+14:00", "9999-12-31T23:59:59-14:00", "2999-01-01T00:00Z"]
)
def test_a_time_in_the_future_is_refused_for_what_happened(when: str, tmp_path: Path) -> None:
    path = _new(tmp_path)
    before = path.read_bytes()
    for args in (["note", "--at", when, "x"], ["status", "resolved", "--at", when],
                 ["new", "--title", "later", "--at", when]):  # fmt: skip
        result = run_warroom(*args, home=tmp_path)
        assert result.returncode == 1, args
        assert when in _one_error_line(result)
    assert path.read_bytes() == before
    assert len(list(tmp_path.glob("*.toml"))) == 1


def test_a_time_a_few_seconds_ahead_is_another_clock_and_is_taken(tmp_path: Path) -> None:
    path = _new(tmp_path)
    ahead = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 60))
    assert run_warroom("note", "--at", ahead, "x", home=tmp_path).returncode == 0
    assert tomllib.loads(path.read_text())["timeline"][-1]["text"] == "x"


def test_a_session_made_by_new_remembers_the_server_watch_was_given(
    pg, tmp_path: Path, tmux
) -> None:
    path = _new(tmp_path)
    assert tomllib.loads(path.read_text())["target"]["dsn"] == ""
    env = f"env WARROOM_HOME={shlex.quote(str(tmp_path))} WARROOM_AUTHOR=e2e TERM=xterm-256color"
    python = shlex.quote(sys.executable)
    watch = f"{env} {python} -m warroom watch --session {shlex.quote(str(path))}"

    tmux("new-window", "-d", "-t", "term", "-n", "first", f"{watch} --dsn {shlex.quote(pg.dsn())}")
    _wait_screen(tmux, "term:first", "usable")
    tmux("send-keys", "-t", "term:first", "q")
    tmux.wait_dead("term:first")
    target = tomllib.loads(path.read_text())["target"]["dsn"]
    assert f"port={pg.port}" in target

    # Resumed without --dsn: the same server, not libpq's default socket.
    tmux("new-window", "-d", "-t", "term", "-n", "again", watch)
    _wait_screen(tmux, "term:again", "usable")
    tmux("send-keys", "-t", "term:again", "q")
    tmux.wait_dead("term:again")
    texts = [e["text"] for e in tomllib.loads(path.read_text()).get("timeline", [])]
    assert not [t for t in texts if "unreachable" in t], texts


def _wait_screen(tmux, target: str, needle: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = tmux("capture-pane", "-p", "-t", target)
        if needle in text:
            return text
        time.sleep(0.1)
    raise AssertionError(f"{needle!r} never appeared:\n{text}")
