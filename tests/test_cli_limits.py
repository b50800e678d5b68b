"""Text size limits where a user expects them: a note 64 KiB, a title 200 characters (issue 18).

Typed text over a limit is refused with one line and nothing written; a record that holds a
bigger entry already (an older file, another host) is read and shown as before.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from cli_helpers import run_warroom

from warroom.sessions.model import NOTE_MAX_BYTES, TITLE_MAX_CHARS


def new_session(tmp_path: Path) -> Path:
    path = tmp_path / "s.toml"
    run_warroom("new", "--title", "orders DB saturated", "--session", str(path),
                home=tmp_path, check=True)
    return path


def test_a_note_over_64_kib_is_refused_with_one_line_and_nothing_written(tmp_path: Path) -> None:
    path = new_session(tmp_path)
    before = path.read_bytes()
    result = run_warroom("note", "--session", str(path), "é" * (NOTE_MAX_BYTES // 2 + 1),
                         home=tmp_path)
    assert result.returncode == 1
    assert result.stderr == (
        "warroom: error: a note is 65,538 bytes; the limit is 64 KiB (65,536 bytes): put long "
        "output in a file and note where it is\n"
    )
    assert path.read_bytes() == before
    at_limit = run_warroom("note", "--session", str(path), "x" * NOTE_MAX_BYTES, home=tmp_path)
    assert at_limit.returncode == 0, at_limit.stderr
    [entry] = tomllib.loads(path.read_text())["timeline"]
    assert len(entry["text"]) == NOTE_MAX_BYTES


def test_a_title_over_200_characters_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    result = run_warroom("new", "--title", "t" * (TITLE_MAX_CHARS + 1), "--session", str(path),
                         home=tmp_path)
    assert result.returncode == 1
    assert result.stderr == (
        "warroom: error: the title is 201 characters; the limit is 200\n"
    )
    assert not path.exists()
    ok = run_warroom("new", "--title", "t" * TITLE_MAX_CHARS, "--session", str(path),
                     home=tmp_path)
    assert ok.returncode == 0, ok.stderr


def test_a_record_holding_a_bigger_note_is_still_read_and_written(tmp_path: Path) -> None:
    path = new_session(tmp_path)
    big = "y" * (NOTE_MAX_BYTES * 3)
    path.write_text(path.read_text() + (
        '\n[[timeline]]\nid = "old"\nat = 2026-11-24T09:01:00Z\nkind = "note"\n'
        f'text = "{big}"\nauthor = "bo"\nsource = "manual"\n'))
    assert run_warroom("check", str(path), home=tmp_path).returncode == 0
    draft = run_warroom("postmortem", str(path), home=tmp_path)
    assert draft.returncode == 0 and big in draft.stdout
    status = run_warroom("status", "--session", str(path), "identified", home=tmp_path)
    assert status.returncode == 0, status.stderr
    texts = [e["text"] for e in tomllib.loads(path.read_text())["timeline"]]
    assert big in texts
