"""`warroom history` (issue 23): figures over a small set counted by hand, its json and csv, and
sessions read without their rollups."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cli_helpers import run_warroom

from warroom.sessions.history import collect, local, read_summary
from warroom.sessions.model import (
    ActionItem,
    Incident,
    Kind,
    SampleRollup,
    Source,
    TimelineEntry,
)
from warroom.sessions.store import Store

TODAY = date(2026, 11, 20)


def _finding(inc: Incident, minute: int, text: str) -> None:
    inc.timeline.append(TimelineEntry(inc.started_at + timedelta(minutes=minute), text,
                                      Kind.FINDING, "warroom", Source.AUTO))


def _incident(title: str, start: datetime, severity: str, detect: int | None,
              mitigate: int | None, resolve: int | None) -> Incident:
    inc = Incident.create(title, start, severity=severity)
    for name, minutes in (("detected_at", detect), ("mitigated_at", mitigate),
                          ("resolved_at", resolve)):
        if minutes is not None:
            inc.set_key_time(name, start + timedelta(minutes=minutes))
    inc.timeline.append(TimelineEntry(start, "a note that names user checkout", Kind.NOTE, "ana"))
    # Rollups the history never needs: 10 minutes of them.
    inc.samples += [SampleRollup(at=start + timedelta(seconds=10 * i), samples=10, conn_max=50,
                                 max_connections=100) for i in range(60)]
    return inc


def small_set(home: Path) -> None:
    """Five incidents in three months, one broken file. The hand count is in the test."""
    a = _incident("storm one", datetime(2026, 9, 3, 10, tzinfo=UTC), "SEV1", 4, 20, 60)
    _finding(a, 5, "the server refused 120 connections/s for user checkout (shop-api) on shop")
    _finding(a, 6, "checkout-api holds 90 of 97 usable")
    a.action_items += [
        ActionItem("cap the pool", owner="ana", due=date(2026, 10, 1)),  # open, overdue
        ActionItem("retry with backoff", owner="bo", due=date(2026, 12, 1)),  # open, not due
        ActionItem("alert on refusals", status="done"),
    ]
    b = _incident("storm two", datetime(2026, 9, 20, 8, tzinfo=UTC), "SEV2", 10, 30, None)
    _finding(b, 11, "the server refused 40 connections/s for user checkout (shop-api)")
    b.action_items.append(ActionItem("document it", due=date(2026, 9, 30)).with_status("wont_do"))
    c = _incident("lock pile-up", datetime(2026, 10, 31, 23, 50, tzinfo=UTC), "SEV2", 2, None, 40)
    _finding(c, 3, "pid 42 (billing, idle in transaction 5m) blocks 12 sessions; the longest "
                   "has waited 30 s")
    _finding(c, 4, "pid 43 (billing, idle in transaction 6m) blocks 3 sessions; the longest "
                   "has waited 9 s")
    c.action_items.append(ActionItem("kill idle in transaction", owner="cy",
                                     due=date(2026, 11, 19)))  # open, overdue (the day before)
    d = _incident("churn", datetime(2026, 11, 1, 0, 10, tzinfo=UTC), "SEV3", None, None, None)
    _finding(d, 1, "120 sessions/s came and went from shop-api (before: 3/s): connect-per-request")
    e = _incident("quiet one", datetime(2026, 11, 15, 12, tzinfo=UTC), "SEV3", 6, 16, 30)
    e.action_items.append(ActionItem("due today", due=TODAY))  # open, not yet overdue
    for n, inc in enumerate((a, b, c, d, e)):
        Store.create(home / f"{n}-{inc.id}.toml", inc)
    (home / "broken.toml").write_text("schema = 2\n[incident\n")


def test_figures_over_a_small_set_match_the_hand_count(tmp_path: Path) -> None:
    small_set(tmp_path)
    found, problems = local(tmp_path)
    history = collect(found, TODAY, problems)
    assert history.incidents == 5
    assert history.by_severity == {"SEV1": 1, "SEV2": 2, "SEV3": 2, "SEV4": 0}
    months = {m.month: m for m in history.months}
    assert list(months) == ["2026-11", "2026-10", "2026-09"]  # c is 23:50 on Oct 31, UTC
    assert [months[m].incidents for m in months] == [2, 1, 2]
    sep = months["2026-09"]
    assert sep.by_severity == {"SEV1": 1, "SEV2": 1, "SEV3": 0, "SEV4": 0}
    # a: 4/20/60 min, b: 10/30/never resolved
    assert sep.means["mttd"].value == timedelta(minutes=7) and sep.means["mttd"].over == 2
    assert sep.means["mttm"].value == timedelta(minutes=25)
    assert sep.means["mttr"].value == timedelta(minutes=60) and sep.means["mttr"].over == 1
    nov = months["2026-11"]  # d never detected: e's 6 min alone
    assert nov.means["mttd"].value == timedelta(minutes=6) and nov.means["mttd"].over == 1
    assert months["2026-10"].means["mttm"].value is None
    # Over all: detected 4, 10, 2, 6 -> 5.5 min; resolved 60, 40, 30 -> 43m 20s.
    assert history.means["mttd"].value == timedelta(minutes=5, seconds=30)
    assert history.means["mttr"].value == timedelta(minutes=43, seconds=20)
    # Findings by incidents (c's two lock findings count once).
    assert history.findings == [
        ("server refused connections (retry storm)", 2),
        ("connection churn", 1), ("lock blocker", 1), ("one holder fills the slots", 1),
    ]
    # Named in two incidents or more: user checkout (a, b), shop-api (a, b, d). billing is in
    # one incident only; checkout-api too; the note naming checkout is no finding.
    assert history.villains == [("application shop-api", 3), ("user checkout", 2)]
    assert history.open_follow_ups == 4 and history.done_follow_ups == 1
    assert history.dropped_follow_ups == 1
    assert [(o.text, o.due) for o in history.overdue] == [
        ("cap the pool", date(2026, 10, 1)), ("kill idle in transaction", date(2026, 11, 19))]
    assert sep.open_follow_ups == 2 and sep.overdue_follow_ups == 1
    assert len(history.problems) == 1 and "broken.toml" in history.problems[0]
    assert [r.title for r in history.rows] == [
        "quiet one", "churn", "lock pile-up", "storm two", "storm one"]


def test_the_history_never_parses_the_rollups(tmp_path: Path) -> None:
    inc = _incident("storm", datetime(2026, 9, 3, 10, tzinfo=UTC), "SEV1", 4, 20, 60)
    _finding(inc, 5, "checkout-api holds 90 of 97 usable")
    inc.action_items.append(ActionItem("cap the pool"))
    path = Store.create(tmp_path / "s.toml", inc).path
    # A rollup block no reader would accept: the history counts the incident all the same,
    # and `warroom check` still finds the fault.
    with path.open("a") as f:
        f.write('\n[[samples]]\nat = "not a time"\n\n[[action_items]]\nid = "x1"\n'
                'text = "late item"\nowner = ""\nkind = "prevent"\ndone = false\n')
    summary = read_summary(path)
    assert summary.incident.title == "storm"
    assert [e.text for e in summary.findings] == ["checkout-api holds 90 of 97 usable"]
    assert [i.text for i in summary.action_items] == ["cap the pool", "late item"]
    assert run_warroom("check", str(path), home=tmp_path).returncode != 0


def test_a_hand_edited_file_is_read_whole(tmp_path: Path) -> None:
    inc = _incident("edited", datetime(2026, 9, 3, 10, tzinfo=UTC), "SEV1", 4, 20, 60)
    _finding(inc, 5, "checkout-api holds 90 of 97 usable")
    path = Store.create(tmp_path / "s.toml", inc).path
    text = path.read_text().replace('summary = ""', 'summary = """two\nlines"""')
    path.write_text(text)
    summary = read_summary(path)
    assert summary.incident.summary == "two\nlines"
    assert [e.text for e in summary.findings] == ["checkout-api holds 90 of 97 usable"]


def test_json_and_csv_carry_the_same_figures(tmp_path: Path) -> None:
    small_set(tmp_path)
    out = run_warroom("history", "--format", "json", home=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "broken.toml" in out.stderr and out.stderr.startswith("warroom: warning:")
    doc = json.loads(out.stdout)
    assert doc["incidents"] == 5
    assert doc["by_severity"] == {"SEV1": 1, "SEV2": 2, "SEV3": 2, "SEV4": 0}
    sep = next(m for m in doc["months"] if m["month"] == "2026-09")
    assert sep["mttd"] == {"seconds": 420, "over": 2}
    assert sep["mttr"] == {"seconds": 3600, "over": 1}
    assert doc["villains"] == [{"name": "application shop-api", "incidents": 3},
                               {"name": "user checkout", "incidents": 2}]
    assert doc["follow_ups"]["open"] == 4
    assert len(doc["incident_list"]) == 5 and len(doc["unreadable"]) == 1
    rows = list(csv.DictReader(io.StringIO(
        run_warroom("history", "--format", "csv", home=tmp_path, check=True).stdout)))
    by_month = {r["month"]: r for r in rows}
    assert list(by_month) == ["2026-11", "2026-10", "2026-09", "all"]
    assert by_month["2026-09"]["mttd_s"] == "420" and by_month["2026-09"]["mttr_s"] == "3600"
    assert by_month["2026-10"]["mttm_s"] == ""  # c was never mitigated
    assert by_month["all"]["incidents"] == "5" and by_month["all"]["SEV2"] == "2"


def test_the_table_names_what_comes_back(tmp_path: Path) -> None:
    small_set(tmp_path)
    out = run_warroom("history", home=tmp_path, check=True).stdout
    assert out.startswith("5 incidents, 2026-09 to 2026-11: SEV1 1 · SEV2 2 · SEV3 2 · SEV4 0")
    assert "      3  application shop-api" in out
    assert "follow-ups: 4 open, " in out


def test_no_sessions_is_no_error(tmp_path: Path) -> None:
    out = run_warroom("history", home=tmp_path / "none")
    assert out.returncode == 0
    assert out.stdout.strip() == "no incidents to count"
    assert "no incidents in" in out.stderr
    assert json.loads(run_warroom("history", "--format", "json", home=tmp_path / "none",
                                  check=True).stdout)["incidents"] == 0


def test_a_hostile_title_stays_one_line(tmp_path: Path) -> None:
    inc = _incident("evil\x1b[31m title\nsecond line", datetime(2026, 9, 3, 10, tzinfo=UTC),
                    "SEV1", 1, 2, 3)
    inc.action_items.append(ActionItem("late\x1b]0;pwned\x07 item", due=date(2020, 1, 1)))
    Store.create(tmp_path / "s.toml", inc)
    out = run_warroom("history", home=tmp_path, check=True).stdout
    assert "\x1b" not in out and "\x07" not in out
    assert any("late" in line and "item" in line for line in out.splitlines())
