"""A password in a connection string libpq cannot read never reaches any output or file.

libpq's parse messages quote the DSN (or the piece that failed, often the password itself);
every command that takes a DSN is run with such strings, as a user's shell would, and its
stdout, stderr and everything it wrote under $WARROOM_HOME are searched for the password.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import run_warroom
from support.pgcluster import free_port

SECRET = "S3cretPW-xyzzy"

# Each is a mistake a user makes with a real password in it; libpq (or the URI's shape) would
# have quoted the password in the message, or read part of it as the host or the port.
MALFORMED = {
    "uri-bad-percent": f"postgresql://u:{SECRET}%zz@host/db",
    "uri-unclosed-bracket": f"postgresql://u:{SECRET}@[::1/db",
    "uri-at-in-password": f"postgresql://u:{SECRET}@x@127.0.0.1:5x/db",
    "uri-slash-in-password": f"postgresql://u:{SECRET}/x@127.0.0.1/db",
    "uri-query-password": f"postgresql://u@host/db?password={SECRET}%zz",
    "keyword-unclosed-quote": f"host=h password='{SECRET}",
    "keyword-word-without-equals": f"host=h password={SECRET} 'x",
    "keyword-space-in-password": f"host=h password={SECRET} x{SECRET}=1",
}


def _written(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file())


def _assert_no_secret(home: Path, *outputs: str) -> None:
    for text in outputs:
        assert SECRET not in text, text
    assert SECRET.encode() not in _written(home)


def _assert_one_error_line(result_stderr: str) -> None:
    lines = result_stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("warroom: error: "), result_stderr
    assert "connection string" in lines[0]


def _commands(dsn: str) -> dict[str, tuple[str, ...]]:
    return {
        "doctor": ("doctor", "--dsn", dsn),
        "watch": ("watch", "--dsn", dsn, "--title", "x"),
        "watch-pgbouncer": ("watch", "--dsn", "host=/nonexistent", "--pgbouncer", dsn),
        "share-init": ("share", "init", "--share", dsn),
        "new": ("new", "--title", "x", "--share", dsn),
        "sessions": ("sessions", "--share", dsn),
        "join": ("join", "--share", dsn, "20260101-0000-abcd"),
        "serve": ("serve", "--share", dsn, "--incident", "20260101-0000-abcd"),
    }


@pytest.mark.parametrize("command", sorted(_commands("")))
@pytest.mark.parametrize("dsn", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_command_given_a_malformed_dsn_fails_with_one_line_and_no_password(
    tmp_path: Path, command: str, dsn: str
) -> None:
    # watch must fail before the dashboard starts: with no terminal it would otherwise hang
    # until the helper's timeout, and the screen would have been drawn.
    result = run_warroom(*_commands(dsn)[command], home=tmp_path)
    _assert_no_secret(tmp_path, result.stdout, result.stderr)
    assert result.returncode != 0
    _assert_one_error_line(result.stderr)
    assert result.stdout == ""


@pytest.mark.parametrize("dsn", MALFORMED.values(), ids=MALFORMED.keys())
def test_note_share_with_a_malformed_dsn_writes_nothing(tmp_path: Path, dsn: str) -> None:
    made = run_warroom("new", "--title", "disk full", home=tmp_path, check=True)
    session = Path(made.stdout.strip())
    before = session.read_bytes()
    result = run_warroom("note", "--session", str(session), "--share", dsn, "hello",
                         home=tmp_path)  # fmt: skip
    _assert_no_secret(tmp_path, result.stdout, result.stderr)
    assert result.returncode != 0
    _assert_one_error_line(result.stderr)
    assert session.read_bytes() == before


@pytest.mark.parametrize("dsn", MALFORMED.values(), ids=MALFORMED.keys())
def test_sample_json_reports_the_bad_dsn_without_its_password(tmp_path: Path, dsn: str) -> None:
    result = run_warroom("sample", "--dsn", dsn, "--json", "--count", "1", home=tmp_path)
    _assert_no_secret(tmp_path, result.stdout, result.stderr)
    assert '"status":"down"' in result.stdout
    assert "cannot read the connection string" in result.stdout


def test_a_connection_failure_names_the_host_but_not_the_password(tmp_path: Path) -> None:
    # Read fine, refused at connect: libpq's message says where, never the password.
    dsn = f"postgresql://u:{SECRET}@127.0.0.1:{free_port()}/db"
    result = run_warroom("doctor", "--dsn", dsn, home=tmp_path)
    _assert_no_secret(tmp_path, result.stdout, result.stderr)
    assert result.returncode == 1
    assert result.stderr.startswith("warroom: error: cannot check the role: ")
    assert "127.0.0.1" in result.stderr
