"""`warroom action list|add|done|drop` from another shell, `warroom sessions`' overdue lines, and
records written before follow-ups had a status (issue 23). The real command, in subprocesses."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from cli_helpers import run_warroom

from warroom.sessions.store import load

OLD_SCHEMA1 = """schema = 1

[incident]
id = "20221015-0900-web-stack-outage"
title = "Web stack outage"
severity = "SEV1"
status = "resolved"
started_at = 2022-10-15T09:00:00Z
resolved_at = 2022-10-15T11:30:00Z
summary = ""
impact = ""
trigger = ""
root_cause = "pool too small"
resolution = ""

[incident.roles]
commander = "ana"
scribe = ""
comms = ""

[target]
dsn = "host=db1"
pgbouncer = ""

[[action_items]]
id = "a1b2c3d4"
text = "cap the pool"
owner = "bob"
kind = "prevent"
due = 2022-11-01
done = false

[[action_items]]
id = "e5f6a7b8"
text = "alert on saturation"
owner = "carol"
kind = "detect"
done = true
"""


def _new(home: Path, title: str = "orders db") -> Path:
    made = run_warroom("new", "--title", title, "--at", "2026-11-24T09:00:00Z", home=home,
                       check=True)  # fmt: skip
    return Path(made.stdout.strip())


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("warroom: error: "), lines[0]
    assert "Traceback" not in result.stderr
    return lines[0]


def _json(home: Path, *args: str) -> list[dict]:
    out = run_warroom("action", "list", "--format", "json", *args, home=home, check=True)
    rows: list[dict] = json.loads(out.stdout)
    return rows


def test_add_done_drop_and_list_in_every_format(tmp_path: Path) -> None:
    session = _new(tmp_path)
    cap = run_warroom("action", "add", "cap", "shop-api's", "pool", "--owner", "ana", "--due",
                      "2026-12-18", home=tmp_path, check=True).stdout.strip()  # fmt: skip
    alert = run_warroom("action", "add", "alert on idle in transaction", "--kind", "detect",
                        home=tmp_path, check=True).stdout.strip()  # fmt: skip
    orm = run_warroom("action", "add", "rewrite the ORM", home=tmp_path,
                      check=True).stdout.strip()  # fmt: skip
    # The default session is the one `note` uses; the start of an id is enough.
    assert run_warroom("action", "done", alert[:30], home=tmp_path, check=True).stdout.strip() \
        == alert
    run_warroom("action", "drop", orm, "--session", str(session), home=tmp_path, check=True)

    rows = _json(tmp_path)
    assert [(r["id"], r["status"], r["owner"], r["due"], r["kind"], r["text"]) for r in rows] == [
        (cap, "open", "ana", "2026-12-18", "prevent", "cap shop-api's pool"),
        (alert, "done", "", None, "detect", "alert on idle in transaction"),
        (orm, "wont_do", "", None, "prevent", "rewrite the ORM"),
    ]
    assert {r["incident"] for r in rows} == {load(session).incident.id}

    table = run_warroom("action", "list", home=tmp_path, check=True).stdout.splitlines()
    assert table[0].split() == ["ID", "STATUS", "DUE", "OWNER", "KIND", "TEXT"]
    assert table[1].split()[:5] == [cap, "open", "2026-12-18", "ana", "prevent"]
    assert table[3].split()[:2] == [orm, "wont_do"]

    text = run_warroom("action", "list", "--format", "csv", home=tmp_path, check=True).stdout
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert [(r["id"], r["status"], r["due"], r["overdue"]) for r in parsed] == [
        (cap, "open", "2026-12-18", "false"), (alert, "done", "", "false"),
        (orm, "wont_do", "", "false"),
    ]

    # The file says it plainly: a dropped item carries its status; done ones say done = true.
    items = tomllib.loads(session.read_text())["action_items"]
    assert [(i.get("status"), i["done"]) for i in items] == [
        (None, False), (None, True), ("wont_do", False)]
    draft = run_warroom("postmortem", str(session), home=tmp_path, check=True).stdout
    assert "- [x] alert on idle in transaction — done · detect" in draft
    assert "- [ ] rewrite the ORM — won't do · prevent" in draft


def test_a_cell_a_spreadsheet_would_run_is_quoted_in_csv_but_json_keeps_it(
    tmp_path: Path,
) -> None:
    _new(tmp_path)
    run_warroom("action", "add", "=HYPERLINK(\"http://x\")", "--owner", "@ana", home=tmp_path,
                check=True)  # fmt: skip
    text = run_warroom("action", "list", "--format", "csv", home=tmp_path, check=True).stdout
    (row,) = csv.DictReader(io.StringIO(text))
    assert row["text"] == "'=HYPERLINK(\"http://x\")" and row["owner"] == "'@ana"
    (item,) = _json(tmp_path)
    assert item["text"] == "=HYPERLINK(\"http://x\")" and item["owner"] == "@ana"


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("done", "0000"), 1, "no action item with id '0000'"),
        (("drop", ""), 1, "no action item with id ''"),
        (("add", "x", "--due", "2026-13-01"), 2, "--due: not a date (YYYY-MM-DD): '2026-13-01'"),
        (("add", "x", "--due", "next week"), 2, "not a date"),
        (("add", "   "), 2, "an action item needs some text"),
        (("add", "x", "--kind", "later"), 2, "invalid choice: 'later'"),
        (("list", "--format", "xml"), 2, "invalid choice: 'xml'"),
        (("frobnicate",), 2, "invalid choice: 'frobnicate'"),
        (("done",), 2, "the following arguments are required: ID"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(
    tmp_path: Path, args: tuple[str, ...], code: int, says: str
) -> None:
    session = _new(tmp_path)
    run_warroom("action", "add", "cap the pool", home=tmp_path, check=True)
    before = session.read_bytes()
    result = run_warroom("action", *args, home=tmp_path)
    assert result.returncode == code
    assert says in _one_error_line(result)
    assert result.stdout == ""
    assert session.read_bytes() == before


def test_an_id_start_that_fits_two_items_is_refused(tmp_path: Path) -> None:
    session = _new(tmp_path)
    for text in ("one", "two"):
        run_warroom("action", "add", text, home=tmp_path, check=True)
    ids = [r["id"] for r in _json(tmp_path)]
    common = next(n for n in range(len(ids[0]), 0, -1) if ids[0][:n] == ids[1][:n])
    before = session.read_bytes()
    result = run_warroom("action", "done", ids[0][:common], home=tmp_path)
    assert result.returncode == 1
    assert "starts 2 action item ids; give more of the id" in _one_error_line(result)
    assert session.read_bytes() == before


def test_without_an_unresolved_session_it_says_how_to_name_one(tmp_path: Path) -> None:
    result = run_warroom("action", "add", "x", home=tmp_path)
    assert result.returncode == 1
    assert "pass --session PATH" in _one_error_line(result)
    missing = run_warroom("action", "list", "--session", str(tmp_path / "nope.toml"),
                          home=tmp_path)  # fmt: skip
    assert missing.returncode == 1
    assert "nope.toml" in _one_error_line(missing)


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    """Eight shells add an item while four close the ones made before, all at once."""
    session = _new(tmp_path)
    first = [run_warroom("action", "add", f"existing {n}", home=tmp_path, check=True)
             .stdout.strip() for n in range(4)]  # fmt: skip
    env = {"WARROOM_HOME": str(tmp_path), "WARROOM_AUTHOR": "tester", "PATH": "/usr/bin:/bin"}
    procs = [subprocess.Popen(
        [sys.executable, "-m", "warroom", "action", "add", f"added {n}", "--owner", f"o{n}",
         "--session", str(session)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    ) for n in range(8)]  # fmt: skip
    procs += [subprocess.Popen(
        [sys.executable, "-m", "warroom", "action", "done" if n % 2 else "drop", ident,
         "--session", str(session)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    ) for n, ident in enumerate(first)]  # fmt: skip
    results = [(p.communicate(timeout=60), p.returncode) for p in procs]
    assert all(code == 0 for _, code in results), [err for (_, err), _ in results]
    added = {out.strip() for (out, _), _ in results[:8]}

    incident = load(session).incident
    by_id = {item.id: item for item in incident.action_items}
    assert len(incident.action_items) == 12
    assert added <= set(by_id)
    assert sorted(by_id[i].text for i in added) == [f"added {n}" for n in range(8)]
    assert [by_id[i].status.value for i in first] == ["wont_do", "done", "wont_do", "done"]
    check = run_warroom("check", str(session), home=tmp_path)
    assert check.returncode == 0, check.stderr


def test_sessions_lists_open_items_past_their_due_date(tmp_path: Path) -> None:
    session = _new(tmp_path, "orders db")
    other = _new(tmp_path, "search slow")
    late = run_warroom("action", "add", "cap the pool", "--owner", "bob", "--due", "2020-01-31",
                       "--session", str(session), home=tmp_path, check=True).stdout.strip()
    for args in (("closed in time", "--due", "2020-01-01"), ("no date",),
                 ("far off", "--due", "2999-01-01")):
        made = run_warroom("action", "add", *args, "--session", str(session), home=tmp_path,
                           check=True).stdout.strip()  # fmt: skip
        if args[0] == "closed in time":
            run_warroom("action", "done", made, "--session", str(session), home=tmp_path,
                        check=True)  # fmt: skip
    dropped = run_warroom("action", "add", "dropped", "--due", "2020-01-01", "--session",
                          str(other), home=tmp_path, check=True).stdout.strip()
    run_warroom("action", "drop", dropped, "--session", str(other), home=tmp_path, check=True)

    lines = run_warroom("sessions", home=tmp_path, check=True).stdout.splitlines()
    mine = next(i for i, line in enumerate(lines) if str(session) in line)
    assert lines[mine + 1] == f"    overdue since 2020-01-31: cap the pool  (bob; {late})"
    overdue = [line for line in lines if line.startswith("    overdue")]
    assert overdue == [lines[mine + 1]]  # done, undated, not yet due, dropped: not overdue


def test_a_record_from_before_statuses_loads_and_takes_them(tmp_path: Path) -> None:
    old = tmp_path / "old.toml"
    old.write_text(OLD_SCHEMA1)
    assert run_warroom("check", str(old), home=tmp_path).returncode == 0
    rows = _json(tmp_path, "--session", str(old))
    assert [(r["id"], r["status"], r["overdue"]) for r in rows] == [
        ("a1b2c3d4", "open", True), ("e5f6a7b8", "done", False)]
    listed = run_warroom("sessions", home=tmp_path, check=True).stdout  # WARROOM_HOME holds it
    assert "    overdue since 2022-11-01: cap the pool  (bob; a1b2c3d4)\n" in listed
    # Closing one rewrites the file in today's schema; the other item is kept as it was.
    run_warroom("action", "drop", "a1b2", "--session", str(old), home=tmp_path, check=True)
    doc = tomllib.loads(old.read_text())
    assert doc["schema"] == 2
    assert [(i["id"], i.get("status"), i["done"]) for i in doc["action_items"]] == [
        ("a1b2c3d4", "wont_do", False), ("e5f6a7b8", None, True)]
    assert "contributing_factors" not in doc["incident"]  # none: the key is not written


def test_a_record_without_the_new_keys_is_unchanged_by_an_add(tmp_path: Path) -> None:
    session = _new(tmp_path)
    before = session.read_bytes()
    run_warroom("action", "add", "cap the pool", home=tmp_path, check=True)
    after = session.read_bytes()
    assert after.startswith(before)  # appended, nothing before it rewritten
    assert b"status" not in after[len(before):] and b"contributing_factors" not in after


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (('root_cause = ""', 'root_cause = ""\ncontributing_factors = ["no cap", 3]'),
         "incident.contributing_factors[1]: expected a string, got an integer"),
        (('root_cause = ""', 'root_cause = ""\ncontributing_factors = "no cap"'),
         "incident.contributing_factors: expected an array of strings, got a string"),
        (("done = false", 'status = "done"\ndone = false'),
         "action_items[0].status: 'done' disagrees with done = false"),
        (("done = false", 'status = "later"\ndone = false'),
         "action_items[0].status: unknown value 'later' (choose from open, done, wont_do)"),
    ],
)
def test_check_names_a_bad_factor_or_status_with_its_line(
    tmp_path: Path, edit: tuple[str, str], says: str
) -> None:
    session = _new(tmp_path)
    run_warroom("action", "add", "cap the pool", home=tmp_path, check=True)
    session.write_text(session.read_text().replace(*edit))
    result = run_warroom("check", str(session), home=tmp_path)
    assert result.returncode == 1
    line = _one_error_line(result)
    assert says in line and "line " in line
    listing = run_warroom("action", "list", "--session", str(session), home=tmp_path)
    assert listing.returncode == 1 and says in _one_error_line(listing)
