"""What any command prints reaches the terminal as text: no escape in it is obeyed.

A title, a path or a server's message can carry ``ESC ] 2 ; ... BEL`` (renames the terminal's
window or tmux pane), ``ESC [ 41 m`` (paints everything after it) or a bidi override. The tests
run the real command in a real terminal (tmux) and look at what the terminal did.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cli_helpers import run_warroom
from support.tmux import ESCAPES, Tmux, run_in_pane

TITLE = "esc \x1b]2;TITLEPWN\x07 red \x1b[41mpainted\x1b[0m \u202eevil"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARROOM_")}
    env.update(WARROOM_HOME=str(home), WARROOM_AUTHOR="tester", TERM="xterm-256color")
    return env


def _hostile_session(home: Path) -> Path:
    made = run_warroom("new", "--title", "plain", home=home, check=True)
    path = Path(made.stdout.strip())
    # A file written elsewhere (another host, an editor): the title carries the escapes whatever
    # `warroom new` does with its input.
    escaped = TITLE.encode("unicode_escape").decode("ascii").replace("\\x", "\\u00")
    text = path.read_text().replace('title = "plain"', f'title = "{escaped}"', 1)
    assert text != path.read_text()
    path.write_text(text)
    return path


def test_sessions_lists_a_hostile_title_without_obeying_it(tmp_path: Path, tmux: Tmux) -> None:
    _hostile_session(tmp_path)
    run_warroom("new", "--title", TITLE, home=tmp_path)  # however `new` takes it

    assert run_in_pane(tmux, "list", ["sessions"], _env(tmp_path)) == "untouched"
    shown = tmux("capture-pane", "-p", "-e", "-t", "term:list")
    assert "esc" in shown and "painted" in shown and "evil" in shown
    assert "\x1b[41m" not in shown and "\x1b[101m" not in shown, "the list painted the screen"

    listed = run_warroom("sessions", home=tmp_path)
    assert listed.returncode == 0
    assert not any(c in listed.stdout + listed.stderr for c in ESCAPES)
    assert len(listed.stdout.splitlines()) == 2  # one line per incident, however long


def test_error_lines_do_not_echo_escapes_from_paths(tmp_path: Path, tmux: Tmux) -> None:
    bad = str(tmp_path / "inc\x1b]2;PATHPWN\x07.toml")
    assert run_in_pane(tmux, "check", ["check", bad], _env(tmp_path)) == "untouched"
    for args in (["check", bad], ["postmortem", bad], ["note", "--session", bad, "x"]):
        result = run_warroom(*args, home=tmp_path)
        assert result.returncode == 1
        assert result.stderr.startswith("warroom: error: ")
        assert not any(c in result.stderr + result.stdout for c in ESCAPES), args


def test_a_draft_printed_to_the_terminal_carries_no_escape(tmp_path: Path) -> None:
    path = _hostile_session(tmp_path)
    run_warroom("note", "--session", str(path), "note with \x1b]2;NOTEPWN\x07 inside",
                home=tmp_path, check=True)  # fmt: skip
    draft = subprocess.run(
        [sys.executable, "-m", "warroom", "postmortem", str(path)],
        capture_output=True, text=True, env=_env(tmp_path), timeout=60, check=True,
    )  # fmt: skip
    assert "note with" in draft.stdout and "inside" in draft.stdout
    assert not any(c in draft.stdout for c in ESCAPES)
