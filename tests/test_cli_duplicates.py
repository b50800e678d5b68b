"""A record holding one id twice (hand-edited, or merged from elsewhere), through every command.

`check` names the repeat's line and fails; every reader shows the first one and warns once;
writers go on and never drop or change the repeat (issue 18).
"""

from __future__ import annotations

import http.client
import re
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cli_helpers import run_warroom
from support.web import ServerProcess, cli_env

from warroom.sessions.model import ActionItem, Incident, Kind, Source, TimelineEntry
from warroom.sessions.store import Store

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def duplicated(path: Path) -> tuple[Path, int, int]:
    """A record whose third [[timeline]] block repeats the first one's id (a hand edit).

    Returns the path and the lines of the first id and of its repeat.
    """
    incident = Incident.create("orders DB saturated", T0)
    store = Store.create(path, incident)
    store.append_entry(TimelineEntry(at=T0 + timedelta(minutes=1), text="pool full",
                                     author="ana", source=Source.CLI, id="e-1"))
    store.append_entry(TimelineEntry(at=T0 + timedelta(minutes=2), text="raised pool",
                                     kind=Kind.ACTION, author="ana", source=Source.CLI))
    text = path.read_text()
    text += ('\n[[timeline]]\nid = "e-1"\nat = 2026-11-24T09:03:00Z\nkind = "note"\n'
             'text = "pool full (pasted again)"\nauthor = "bo"\nsource = "manual"\n')
    path.write_text(text)
    lines = text.splitlines()
    ids = [n for n, line in enumerate(lines, 1) if line == 'id = "e-1"']
    return path, ids[0], ids[1]


def test_check_names_the_repeated_id_and_its_line(tmp_path: Path) -> None:
    path, first, again = duplicated(tmp_path / "s.toml")
    before = path.read_bytes()
    result = run_warroom("check", str(path), home=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"warroom: error: {path}: line {again}: timeline entry id 'e-1'")
    assert f"first on line {first}" in line
    assert path.read_bytes() == before


def test_check_names_a_repeated_action_item_id_too(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    store = Store.create(path, Incident.create("orders DB saturated", T0))
    store.append_action_item(ActionItem("alert on pool use", id="a-1"))
    path.write_text(path.read_text() + '\n[[action_items]]\nid = "a-1"\ntext = "again"\n'
                    'owner = ""\nkind = "detect"\ndone = false\n')
    result = run_warroom("check", str(path), home=tmp_path)
    assert result.returncode == 1
    assert re.fullmatch(r"warroom: error: .*: line \d+: action item id 'a-1' is used again "
                        r"\(first on line \d+\).*\n", result.stderr)


def test_postmortem_drafts_the_first_and_warns_once(tmp_path: Path) -> None:
    path, _, again = duplicated(tmp_path / "s.toml")
    result = run_warroom("postmortem", str(path), home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "pool full" in result.stdout
    assert "pasted again" not in result.stdout
    [warning] = result.stderr.splitlines()
    assert warning.startswith(f"warroom: warning: {path}: line {again}: timeline entry id 'e-1'")


def test_note_and_status_write_on_and_keep_the_repeat(tmp_path: Path) -> None:
    path, _, _ = duplicated(tmp_path / "s.toml")
    before = path.read_bytes()
    note = run_warroom("note", "--session", str(path), "checked replicas", home=tmp_path)
    assert note.returncode == 0, note.stderr
    assert len(note.stderr.splitlines()) == 1 and "warning" in note.stderr
    assert path.read_bytes().startswith(before)  # an append: the file as it was, then the note
    status = run_warroom("status", "--session", str(path), "identified", home=tmp_path)
    assert status.returncode == 0, status.stderr
    timeline = tomllib.loads(path.read_text())["timeline"]
    # The rewrite kept the repeat (after the rest) along with everything else.
    assert [e["text"] for e in timeline if e["id"] == "e-1"] == [
        "pool full", "pool full (pasted again)"]
    assert "checked replicas" in [e["text"] for e in timeline]
    assert run_warroom("check", str(path), home=tmp_path).returncode == 1  # still named


def test_serve_renders_the_page_with_the_first(tmp_path: Path) -> None:
    home = tmp_path / "incidents"
    home.mkdir()
    path, _, again = duplicated(home / "s.toml")
    proc = ServerProcess(["--session", str(path)], cli_env(home)).start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", proc.port, timeout=10)
        conn.request("GET", "/")
        response = conn.getresponse()
        body = response.read().decode()
        conn.close()
        assert response.status == 200
        assert "raised pool" in body and "pool full" in body
        assert "pasted again" not in body
        assert proc.proc is not None and proc.proc.stderr is not None
        proc.proc.terminate()
        proc.proc.wait(10)
        stderr = proc.proc.stderr.read()
    finally:
        proc.stop()
    warnings = [line for line in stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and f"line {again}: timeline entry id 'e-1'" in warnings[0]
