"""The draft's Impact numbers, the lead-up and chart labels (issue 23)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from support.servers import single_server_incident

from warroom.rollup import Group
from warroom.sessions.model import Incident, Kind, SampleRollup, Source, TimelineEntry
from warroom.sessions.postmortem import render
from warroom.sessions.postmortem.stamps import axis_labels

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def _section(text: str, name: str) -> str:
    start = text.index(f"## {name}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else len(text)]


def test_impact_numbers_follow_the_responders_words() -> None:
    incident = single_server_incident()
    incident.impact = "Checkout failed for most users."
    impact = _section(render(incident), "Impact")
    assert impact.index("Checkout failed for most users.") < impact.index("Measured by warroom")
    # Counted by hand from the fixture: conn = min(97, 20 + 3i) of 97 usable, i = 0..59, 10 s
    # windows, 30..33 down. >= 80% from i = 20 (80), >= 95% from i = 25 (95); refusals
    # 3 per window from i = 26.
    assert "- **At or above 80% of usable slots (warning):** 6m in 2 stretches" in impact
    assert "- **At or above 95% of usable slots (critical):** 5m 10s in 2 stretches" in impact
    assert "- **DOWN:** 40s" in impact
    assert "warroom's own connection in 90 samples" in impact
    assert "by the server not read (no server log in the record)" in impact
    assert "- **Query latency:** peak 124 ms; p95 61 ms" in impact


def test_only_the_impact_window_counts() -> None:
    incident = single_server_incident()
    # Resolved at i = 45: windows from 09:07:30 on (saturated, refusing) are left out.
    incident.set_key_time("resolved_at", T0 + timedelta(seconds=450))
    impact = _section(render(incident), "Impact")
    assert "from 45 sample windows" in impact
    # i = 26..44 minus 30..33: 15 windows of 3 refusals.
    assert "warroom's own connection in 45 samples" in impact


def _server(name: str, at: datetime, conn: int, log_refused: int, holder: Group) -> SampleRollup:
    return SampleRollup(
        at=at, samples=10, conn_max=conn, max_connections=100, usable=97, server=name,
        role="primary", query_p95_ms=10.0, query_max_ms=20.0, refused=1 if conn > 95 else 0,
        log_source="file", log_counts=(("refused", log_refused),) if log_refused else (),
        top_groups=(holder,),
    )


def test_several_servers_get_a_row_each_with_the_log_and_the_holders() -> None:
    incident = Incident.create("two servers", T0, severity="SEV1")
    shop = Group("shop-api", "checkout", 80)
    batch = Group("", "etl", 12)
    for i in range(12):  # 2 minutes
        at = T0 + timedelta(seconds=10 * i)
        incident.samples.append(_server("db-a", at, 97 if i >= 6 else 50, 5 if i >= 6 else 0,
                                        shop))
        incident.samples.append(_server("db-b", at, 40, 0, batch))
    impact = _section(render(incident), "Impact")
    assert "from 24 sample windows of 2 servers" in impact
    rows = [line for line in impact.splitlines() if line.startswith("| db-")]
    assert rows == [
        "| db-a | 97 | 1m | 1m | never | 6 | 30 | 20 ms | 10 ms |",
        "| db-b | 97 | never | never | never | 0 | 0 | 20 ms | 10 ms |",
    ]
    assert "Holding slots on db-a: shop-api (user checkout) (up to 80 of 97 usable)." in impact
    assert "Holding slots on db-b: user etl (up to 12 of 97 usable)." in impact


def test_a_record_without_samples_says_so() -> None:
    incident = Incident.create("nothing sampled", T0)
    impact = _section(render(incident), "Impact")
    assert "No sample windows were recorded during the impact" in impact
    assert "**Lead-up.** No sample windows were recorded" in impact


def test_the_lead_up_dates_the_climb_and_lists_server_changes() -> None:
    incident = Incident.create("slow climb", T0 + timedelta(minutes=10))
    for i in range(90):  # 15 minutes from 09:00: flat at 20, climbing from 09:06 by 2 a window
        at = T0 + timedelta(seconds=10 * i)
        conn = 20 if i < 36 else min(97, 20 + 2 * (i - 35))
        incident.samples.append(SampleRollup(at=at, samples=10, conn_max=conn,
                                             max_connections=100, usable=97))
    incident.set_key_time("detected_at", T0 + timedelta(minutes=12))
    incident.timeline.append(TimelineEntry(
        T0 + timedelta(minutes=5, seconds=30), "reload: max_connections pending restart; "
        "work_mem 4MB -> 64MB <b>", Kind.CHANGE, "warroom", Source.AUTO))
    impact = _section(render(incident), "Impact")
    # Base 20, margin max(2, 9.7): the last window at or under 29.7 is i = 39 (28), so the
    # climb began at i = 40, 09:06:40, 5m 20s before detection at 09:12.
    assert ("- Connections were about 20 (20% of 97 usable slots) until 2026-11-24 09:06:40 "
            "UTC; the climb began then") in impact
    assert "That is 5m 20s before detection and 3m 20s before the recorded impact start." in impact
    assert ("- **2026-11-24 09:05:30 UTC** — reload: max_connections pending restart; "
            "work_mem 4MB -> 64MB \\<b>") in impact


def test_labels_of_a_three_minute_incident_differ() -> None:
    starts = [T0 + timedelta(seconds=10 * i) for i in range(18)]
    labels = axis_labels(starts)
    assert len(set(labels)) == 18 and labels[0] == "09:00:00" and labels[-1] == "09:02:50"
    incident = Incident.create("three minutes", T0)
    incident.samples = [SampleRollup(at=at, samples=10, conn_max=10, max_connections=100)
                        for at in starts]
    incident.set_key_time("detected_at", T0 + timedelta(seconds=35))
    incident.set_key_time("identified_at", T0 + timedelta(seconds=100))
    incident.set_key_time("mitigated_at", T0 + timedelta(seconds=100))
    incident.set_key_time("resolved_at", T0 + timedelta(minutes=3))
    text = render(incident)
    axis = re.search(r"x-axis \[(.*)\]", text)
    assert axis is not None
    shown = axis.group(1).split(", ")
    assert len(set(shown)) == len(shown)
    assert '"09:00:30 detected"' in shown
    assert '"09:01:40 identified mitigated"' in shown
    assert shown[-1] == '"09:02:50 resolved"'
    assert ("Marked on the x axis: detected 2026-11-24 09:00:35 UTC, identified "
            "2026-11-24 09:01:40 UTC, mitigated 2026-11-24 09:01:40 UTC, resolved "
            "2026-11-24 09:03 UTC.") in text


def test_labels_across_midnight_carry_the_date() -> None:
    start = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)
    starts = [start + timedelta(minutes=30 * i) for i in range(8)]  # 22:00 to 01:30
    assert axis_labels(starts) == ["11-24 22:00", "22:30", "23:00", "23:30", "11-25 00:00",
                                   "00:30", "01:00", "01:30"]
    incident = Incident.create("overnight", start)
    incident.samples = [SampleRollup(at=start + timedelta(seconds=10 * i), samples=10,
                                     conn_max=10, max_connections=100) for i in range(4 * 360)]
    axis = re.search(r"x-axis \[(.*)\]", render(incident))
    assert axis is not None
    shown = axis.group(1).split(", ")
    assert shown[0] == '"11-24 22:00"'
    assert sum(1 for label in shown if label.startswith('"11-25 ')) == 1


def test_the_lead_up_names_what_the_flight_recorder_kept() -> None:
    incident = Incident.create("seen by the recorder", T0 + timedelta(minutes=30))
    for i in range(180):  # 09:00 to 09:30 from the recorder: flat, then climbing from 09:20
        conn = 20 if i < 120 else 20 + (i - 119)
        incident.samples.append(SampleRollup(at=T0 + timedelta(seconds=10 * i), samples=10,
                                             conn_max=conn, max_connections=100, usable=97,
                                             source="recorder"))
    incident.samples.append(SampleRollup(at=T0 + timedelta(minutes=30), samples=10, conn_max=90,
                                         max_connections=100, usable=97))
    impact = _section(render(incident), "Impact")
    assert "the climb began then" in impact
    assert ("The flight recorder's 180 windows from 2026-11-24 09:00 UTC to 2026-11-24 "
            "09:30 UTC show the time before the dashboard watched.") in impact
    assert "from 1 sample window;" in impact  # the recorder's are before impact start


def test_users_name_the_holders_when_no_groups_were_recorded() -> None:
    incident = Incident.create("users only", T0)
    incident.samples = [SampleRollup(at=T0 + timedelta(seconds=10 * i), samples=10, conn_max=60,
                                     max_connections=100, usable=97,
                                     top_users=(("checkout", 40 + i), ("etl", 5)))
                        for i in range(3)]
    impact = _section(render(incident), "Impact")
    assert ("- **Applications and users holding slots:** user checkout (up to 42 of 97 usable), "
            "user etl (up to 5 of 97 usable)") in impact


def test_the_draft_counts_time_above_the_thresholds_configured_here(tmp_path: Path) -> None:
    from cli_helpers import run_warroom

    from warroom.sessions.store import Store

    path = tmp_path / "inc.toml"
    Store.create(path, single_server_incident())
    config = tmp_path / "config.toml"
    config.write_text("[alerts.saturation]\nwarning = 50\ncritical = 90\n")
    result = run_warroom("postmortem", str(path), home=tmp_path, check=True,
                         env={"WARROOM_CONFIG": str(config)})  # fmt: skip
    impact = _section(result.stdout, "Impact")
    # conn = min(97, 20 + 3i) of 97 usable: >= 50% from i = 10 (50), >= 90% from i = 23 (89)
    assert "- **At or above 50% of usable slots (warning):**" in impact
    assert "- **At or above 90% of usable slots (critical):**" in impact
    assert "80%" not in impact and "95%" not in impact
    # the configuration is not in the record: the same file drafted without it counts the defaults
    config.write_text("")
    plain = run_warroom("postmortem", str(path), home=tmp_path, check=True,
                        env={"WARROOM_CONFIG": str(config)})  # fmt: skip
    assert "- **At or above 80% of usable slots (warning):**" in _section(plain.stdout, "Impact")
