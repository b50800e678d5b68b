"""The CLI contract (DESIGN.md) as a user's shell sees it: real subprocesses, real files."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from cli_helpers import run_warroom

SUBCOMMANDS = [
    "new", "note", "status", "postmortem", "check", "sessions", "watch", "sample", "demo",
]


def _new(home: Path, *extra: str) -> Path:
    result = run_warroom("new", "--title", "orders DB saturated", *extra, home=home, check=True)
    path = Path(result.stdout.strip())
    assert path.exists()
    return path


def _one_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("warroom: error: "), lines[0]
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_help_with_an_example(command: str, tmp_path: Path) -> None:
    result = run_warroom(command, "--help", home=tmp_path)
    assert result.returncode == 0
    assert "example:" in result.stdout
    assert f"warroom {command}" in result.stdout


def test_top_level_help_lists_every_subcommand(tmp_path: Path) -> None:
    result = run_warroom("--help", home=tmp_path)
    assert result.returncode == 0
    for command in SUBCOMMANDS:
        assert command in result.stdout


def test_new_creates_a_private_file_in_warroom_home(tmp_path: Path) -> None:
    path = _new(tmp_path, "--severity", "SEV1", "--at", "2026-11-24T09:00:00Z")
    assert path.parent == tmp_path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = tomllib.loads(path.read_text())
    assert data["schema"] == 2
    assert data["incident"]["severity"] == "SEV1"
    assert data["incident"]["status"] == "investigating"
    assert data["incident"]["started_at"].isoformat() == "2026-11-24T09:00:00+00:00"


def test_two_incidents_with_the_same_title_and_minute_get_two_files(tmp_path: Path) -> None:
    first = _new(tmp_path, "--at", "2026-11-24T09:00:00Z")
    second = _new(tmp_path, "--at", "2026-11-24T09:00:30Z")
    assert first != second
    assert tomllib.loads(first.read_text())["incident"]["started_at"].second == 0


def test_note_goes_to_the_newest_unresolved_incident(tmp_path: Path) -> None:
    older = _new(tmp_path, "--at", "2026-11-24T08:00:00Z")
    newer = _new(tmp_path, "--at", "2026-11-24T09:00:00Z")
    run_warroom("status", "--session", str(newer), "resolved", "--at", "2026-11-24T09:30:00Z",
                home=tmp_path, check=True)

    result = run_warroom("note", "--kind", "action", "raised", "pool", "size", home=tmp_path)
    assert result.returncode == 0, result.stderr
    entry_id = result.stdout.strip()

    timeline = tomllib.loads(older.read_text()).get("timeline", [])
    assert [(e["id"], e["kind"], e["text"], e["source"], e["author"]) for e in timeline] == [
        (entry_id, "action", "raised pool size", "cli", "tester")
    ]
    newer_texts = [e["text"] for e in tomllib.loads(newer.read_text()).get("timeline", [])]
    assert "raised pool size" not in newer_texts


def test_note_without_any_incident_says_how_to_start_one(tmp_path: Path) -> None:
    result = run_warroom("note", "hello", home=tmp_path)
    assert result.returncode == 1
    assert "warroom new" in _one_error_line(result)


def test_note_backdated_with_a_clock_time_is_utc_today(tmp_path: Path) -> None:
    path = _new(tmp_path, "--at", "00:00")
    run_warroom("note", "--at", "00:01:30", "early", home=tmp_path, check=True)
    entry = tomllib.loads(path.read_text())["timeline"][0]
    assert (entry["at"].hour, entry["at"].minute, entry["at"].second) == (0, 1, 30)
    assert entry["at"].utcoffset().total_seconds() == 0


def test_status_sets_key_timestamp_and_logs_an_entry(tmp_path: Path) -> None:
    path = _new(tmp_path, "--at", "2026-11-24T09:00:00Z")
    run_warroom(
        "status", "identified", "--at", "2026-11-24T10:30:00Z", home=tmp_path, check=True
    )
    data = tomllib.loads(path.read_text())
    assert data["incident"]["status"] == "identified"
    assert data["incident"]["identified_at"].isoformat() == "2026-11-24T10:30:00+00:00"
    assert [e["kind"] for e in data["timeline"]] == ["status"]


def test_status_out_of_order_is_refused_and_file_untouched(tmp_path: Path) -> None:
    path = _new(tmp_path, "--at", "2026-11-24T09:00:00Z")
    before = path.read_bytes()
    result = run_warroom(
        "status", "resolved", "--at", "2026-11-24T08:00:00Z", home=tmp_path
    )
    assert result.returncode == 1
    line = _one_error_line(result)
    assert "resolved_at" in line and "started_at" in line
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["note", "--kind", "gossip", "x"], 2, "gossip"),
        (["new", "--title", "x", "--severity", "SEV9"], 2, "SEV9"),
        (["new", "--title", "x", "--at", "yesterday"], 1, "yesterday"),
        (["new", "--title", "x", "--at", "2026-11-24T09:00:00"], 1, "zone"),
        (["note", "--at", "25:00", "x"], 1, "25:00"),
        (["status", "sleeping"], 2, "sleeping"),
        (["check", "/nonexistent/inc.toml"], 1, "/nonexistent/inc.toml"),
        (["frobnicate"], 2, "frobnicate"),
    ],
)
def test_bad_input_gets_one_clear_line(tmp_path: Path, args, code, needle) -> None:
    _new(tmp_path)
    result = run_warroom(*args, home=tmp_path)
    assert result.returncode == code
    assert needle in _one_error_line(result)


def test_bad_input_to_an_existing_session_leaves_it_byte_identical(tmp_path: Path) -> None:
    path = _new(tmp_path)
    run_warroom("note", "first", home=tmp_path, check=True)
    before = path.read_bytes()
    for args in (["note", "--at", "nope", "x"], ["note", "--kind", "bogus", "x"], ["note", " "]):
        result = run_warroom(*args, home=tmp_path)
        assert result.returncode != 0
        _one_error_line(result)
    assert path.read_bytes() == before


def test_a_bad_config_file_gets_one_clear_line(tmp_path: Path) -> None:
    path = _new(tmp_path)
    config = tmp_path / "config.toml"
    config.write_text("[alerts.saturation]\nwarning = \"high\"\n")
    result = run_warroom("replay", str(path), home=tmp_path, env={"WARROOM_CONFIG": str(config)})
    assert result.returncode == 1
    assert "alerts.saturation.warning" in _one_error_line(result)


def test_note_and_status_import_nothing_of_the_collectors(tmp_path: Path) -> None:
    # Interpreter start-up and imports are most of what a note costs; the collectors (and
    # psycopg) are not needed to append one.
    path = _new(tmp_path)
    code = (
        "import sys\n"
        "from warroom.cli import main\n"
        "assert main(sys.argv[1:]) == 0\n"
        "print(sorted(m for m in sys.modules if m.startswith(('warroom.collectors', 'psycopg'))))\n"
    )
    env = dict(os.environ, WARROOM_HOME=str(tmp_path), WARROOM_AUTHOR="tester")
    for args in (["note", "--session", str(path), "x"], ["status", "identified"]):
        done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                              text=True, env=env, timeout=60, check=True)
        assert done.stdout.splitlines()[-1] == "[]", done.stdout


def test_check_reports_a_good_file_and_names_the_line_of_a_broken_one(tmp_path: Path) -> None:
    path = _new(tmp_path)
    run_warroom("note", "first", home=tmp_path, check=True)
    ok = run_warroom("check", str(path), home=tmp_path)
    assert ok.returncode == 0
    assert "1 timeline entries" in ok.stdout

    broken = tmp_path / "broken.toml"
    broken.write_text(path.read_text().replace('kind = "note"', 'kind = "note'))
    before = broken.read_bytes()
    bad = run_warroom("check", str(broken), home=tmp_path)
    assert bad.returncode == 1
    assert "line" in _one_error_line(bad)
    assert broken.read_bytes() == before


def test_sessions_lists_incidents_newest_first(tmp_path: Path) -> None:
    _new(tmp_path, "--at", "2026-11-20T09:00:00Z")
    run_warroom("new", "--title", "replica lag", "--at", "2026-11-24T09:00:00Z", home=tmp_path,
                check=True)
    result = run_warroom("sessions", home=tmp_path, check=True)
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2
    assert "replica lag" in lines[0] and "orders DB saturated" in lines[1]


def test_sessions_in_an_empty_home_says_so(tmp_path: Path) -> None:
    result = run_warroom("sessions", home=tmp_path / "none", check=True)
    assert "no incidents" in result.stdout


def test_postmortem_to_stdout_and_to_a_file(tmp_path: Path) -> None:
    path = _new(tmp_path, "--at", "2026-11-24T09:00:00Z")
    run_warroom("status", "resolved", "--at", "2026-11-24T09:45:00Z", home=tmp_path, check=True)
    out = run_warroom("postmortem", str(path), home=tmp_path, check=True)
    assert "## Timeline" in out.stdout and "45m" in out.stdout
    target = tmp_path / "pm.md"
    run_warroom("postmortem", str(path), "-o", str(target), home=tmp_path, check=True)
    assert target.read_text() == out.stdout


def test_session_file_is_not_world_readable_even_with_a_loose_umask(tmp_path: Path) -> None:
    path = _new(tmp_path)
    old = os.umask(0)
    try:
        run_warroom("note", "x", home=tmp_path, check=True)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
