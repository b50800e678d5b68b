"""The page's content and its HTML: escaping, folding, figures old and new, charts from numbers."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

from support.web import (
    HOSTILE_IMG,
    HOSTILE_SCRIPT,
    schema2_rollup,
    small_incident,
    storm_incident,
)

from warroom.sessions.model import Incident, Kind, SampleRollup, Source, TimelineEntry
from warroom.web import page, view
from warroom.web.view import encode

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.scripts: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "script":
            self.scripts.append(dict(attrs))


def _parse(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


def _hostile() -> Incident:
    incident = small_incident(f"db {HOSTILE_IMG} {HOSTILE_SCRIPT}")
    incident.summary = f"summary {HOSTILE_SCRIPT}\u202eevil"
    incident.timeline.append(TimelineEntry(
        at=incident.started_at + timedelta(minutes=2), text=f"note {HOSTILE_IMG}",
        author=f'"><svg onload=alert(3)>{HOSTILE_SCRIPT}', source=Source.CLI))
    return incident


def test_hostile_text_is_escaped_everywhere() -> None:
    html = page.render(view.build(_hostile(), NOW), NOW)
    parsed = _parse(html)
    assert "img" not in parsed.tags
    assert [s.get("src") for s in parsed.scripts] == ["/static/app.js"]
    assert "svg onload" not in html.replace("&lt;svg onload", "")
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in html
    assert "\u202e" not in html  # bidi override stripped by warroom.sanitize


def test_json_for_the_stream_cannot_close_a_script() -> None:
    state = view.build(_hostile(), NOW)
    for part in state.parts().values():
        data = encode(part)
        assert "<" not in data and ">" not in data and "&" not in data
        assert "\n" not in data  # one SSE data line


def test_no_inline_script_or_style() -> None:
    html = page.render(view.build(storm_incident(NOW), NOW), NOW)
    assert " style=" not in html and "<style" not in html
    assert re.search(r"<script>(?!</script>)", html) is None
    assert re.search(r"<[^>]*\son\w+=", html) is None  # no event-handler attributes


def test_timeline_newest_first_with_alert_runs_folded() -> None:
    state = view.build(storm_incident(NOW), NOW)
    entries = state.timeline["entries"]
    times = [e["at"] for e in entries]
    assert times == sorted(times, reverse=True)
    folded = view.fold(entries)
    runs = [item for item in folded if isinstance(item, list)]
    assert [len(run) for run in runs] == [3, 2]  # 16.2/16/15 and 12.5/12 (14 is a detection)
    singles = [item for item in folded if not isinstance(item, list)]
    assert any(item["kind"] == "alert" for item in singles)  # a lone alert stays unfolded
    html = page.render(state, NOW)
    assert html.count("<details>") == 2
    assert "3 alerts, " in html


def test_kind_filter_on_the_server() -> None:
    state = view.build(storm_incident(NOW), NOW)
    html = page.render(state, NOW, kind="action")
    assert "pool max 200 -&gt; 20" in html
    assert "paged the database team" not in html
    assert '<option value="action" selected>' in html


def test_key_times_and_durations_so_far() -> None:
    incident = storm_incident(NOW)
    header = view.header(incident, NOW)
    durations = {d["name"]: d for d in header["durations"]}
    assert durations["detected_at"]["text"] == "12m"
    assert durations["mitigated_at"]["text"] == "31m"
    assert durations["resolved_at"]["ongoing"] is True
    assert durations["resolved_at"]["text"] == "40m so far"
    assert header["clock"] == "T+00:40:00"
    incident.status_change("resolved", NOW - timedelta(minutes=1))
    header = view.header(incident, NOW + timedelta(hours=1))
    assert header["clock"] == "T+00:39:00"  # stops at resolution
    assert {d["name"]: d["text"] for d in header["durations"]}["resolved_at"] == "39m"


def test_schema_1_figures_fall_back_and_missing_ones_show_a_dash() -> None:
    incident = small_incident()
    incident.samples = [SampleRollup(at=NOW - timedelta(seconds=10), conn_max=None,
                                     max_connections=None)]
    figures = view.figures(incident, NOW)
    current = figures["current"]
    assert current["connections"] is None and current["usable"] is None
    html = page.render(view.build(incident, NOW), NOW)
    assert '<span id="fig-connections">—</span>' in html
    assert '<span class="value" id="fig-p95">—</span>' in html


def test_schema_2_fields_are_read_when_present() -> None:
    incident = small_incident()
    incident.samples = [schema2_rollup(
        at=NOW - timedelta(seconds=10), conn_max=96, conn_last=90, max_connections=100,
        usable=97, query_p95_ms=812.3, refused=4,
        top_apps=((f"shop-api {HOSTILE_IMG}", 80), (HOSTILE_SCRIPT, 3)),
    )]
    current = view.figures(incident, NOW)["current"]
    assert (current["connections"], current["usable"], current["saturation"]) == (90, 97, 93)
    assert current["refused_1m"] == 4
    assert [a["count"] for a in current["apps"]] == [80, 3]
    html = page.render(view.build(incident, NOW), NOW)
    assert "img" not in _parse(html).tags
    assert "shop-api &lt;img src=x onerror=alert(1)&gt;" in html


def test_charts_are_svg_from_numbers_only() -> None:
    incident = storm_incident(NOW)
    incident.title = "TITLE-MARKER"
    charts = view.figures(incident, NOW)["charts"]
    for name, svg in charts.items():
        root = ET.fromstring(svg)
        assert root.tag == "{http://www.w3.org/2000/svg}svg", name
        assert "TITLE-MARKER" not in svg and "ana" not in svg
        assert re.fullmatch(r"[\w\s<>=\"/.:,%\-#]*", svg), name
    assert "<path" in charts["connections"] and 'class="limit"' in charts["connections"]
    assert "<rect" in charts["refusals"]


def test_an_empty_record_still_renders() -> None:
    incident = Incident.create("quiet", NOW - timedelta(minutes=1))
    html = page.render(view.build(incident, NOW), NOW)
    assert "no samples recorded" in html and "no entries" in html
    for svg in view.figures(incident, NOW)["charts"].values():
        ET.fromstring(svg)


def test_eight_hour_session_charts_stay_small() -> None:
    start = NOW - timedelta(hours=8)
    incident = Incident.create("long", start)
    incident.samples = [
        SampleRollup(at=start + timedelta(seconds=10 * i), conn_max=i % 97, max_connections=100,
                     query_p95_ms=float(i % 50), refused=i % 3)
        for i in range(2880)
    ]
    incident.timeline = [
        TimelineEntry(at=start + timedelta(seconds=14 * i), text=f"n{i}", kind=Kind.NOTE)
        for i in range(2000)
    ]
    charts = view.figures(incident, NOW)["charts"]
    assert all(len(svg) < 40_000 for svg in charts.values())
