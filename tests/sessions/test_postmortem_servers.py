"""The draft's ## Metrics with several servers, and single-server drafts kept byte for byte."""

from __future__ import annotations

import re
from pathlib import Path

from cli_helpers import run_warroom
from markdown_it import MarkdownIt
from support.servers import single_server_incident, write_three_servers

from warroom.sessions.postmortem import render
from warroom.sessions.store import load

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def test_a_single_server_draft_is_unchanged() -> None:
    # Rendered before several servers were known to the draft; server None means "as ever".
    assert render(single_server_incident()) == (FIXTURES / "golden-single-server.md").read_text()
    schema1 = load(FIXTURES / "schema1-session.toml").incident
    assert render(schema1) == (FIXTURES / "golden-schema1.md").read_text()


# -- several servers -----------------------------------------------------------------------------

_TITLE = re.compile(r'^    title "[^"\n]*"$')
_XAXIS = re.compile(r'^    x-axis \[("[^"\n]*"(, "[^"\n]*")*)\]$')
_YAXIS = re.compile(r'^    y-axis "[^"\n]*" 0 --> (\d+)$')
_LINE = re.compile(r"^    line \[([-\d.e]+(, [-\d.e]+)*)\]$")


def _xychart(fence: str) -> tuple[str, int, list[list[float]]]:
    """An ``xychart-beta`` block read by its grammar: (title, y top, series); fails if not."""
    lines = fence.rstrip("\n").split("\n")
    assert lines[0] == "xychart-beta", lines[0]
    assert _TITLE.match(lines[1]), lines[1]
    x = _XAXIS.match(lines[2])
    assert x, lines[2]
    count = len(x.group(1).split(", "))
    y = _YAXIS.match(lines[3])
    assert y, lines[3]
    series = []
    for line in lines[4:]:
        found = _LINE.match(line)
        assert found, line
        values = [float(v) for v in found.group(1).split(", ")]
        assert len(values) == count, f"{len(values)} values for {count} labels"
        assert max(values) <= int(y.group(1)), line
        series.append(values)
    assert series
    return lines[1][len('    title "'):-1], int(y.group(1)), series


def _metrics(md: str) -> str:
    return md.split("## Metrics\n", 1)[1].lstrip("\n")


def _server_part(metrics: str, name: str) -> str:
    part = metrics.split(f"\n### {name}\n", 1)[1]
    return part.split("\n### ", 1)[0]


def test_three_servers_each_get_their_figures_table_and_charts(tmp_path: Path) -> None:
    incident = write_three_servers(tmp_path / "three.toml")
    md = render(incident)
    metrics = _metrics(md)
    assert metrics.startswith("From 540 sample windows of 3 servers recorded by warroom, "
                              "2026-11-24 09:00:00 to 09:30:00 UTC.")
    table = [line for line in metrics.splitlines() if line.startswith("| ")]
    assert table == [
        "| Server | Role | Down | Worst replication lag |",
        "| --- | --- | --- | --- |",
        "| primary | primary | never | 48 MB, 3m (worst standby) |",
        "| replica-1 | replica | never | 48 MB, 3m |",
        "| replica-2 | replica → primary | 3m | 8 kB, 0 s |",
    ]
    primary = _server_part(metrics, "primary")
    assert "- **Role:** primary\n" in primary
    assert ("- **Peak connections:** 97 of 97 usable slots (100%; max_connections 100) at "
            "2026-11-24 09:10:00 UTC") in primary
    assert "- **Peak query p95:** 652 ms at 2026-11-24 09:10:00 UTC" in primary
    assert ("- **Connect refusals:** 148 in total, first at 2026-11-24 09:10:00 UTC, last at "
            "2026-11-24 09:16:00 UTC") in primary
    assert "- **Down windows:** none" in primary
    assert "- **Worst standby lag:** 48 MB and 3m behind at 2026-11-24 09:18:00 UTC" in primary
    replica = _server_part(metrics, "replica-1")
    assert "- **Worst replication lag:** 48 MB and 3m behind at 2026-11-24 09:18:00 UTC" in replica
    assert "- **Replay paused:** 2m in 1 stretch\n  - 2026-11-24 09:14:00 to 09:16:00 UTC (2m)" \
        in replica
    assert "- **Connect refusals:** none" in replica
    third = _server_part(metrics, "replica-2")
    assert "- **Role:** replica → primary (primary from 2026-11-24 09:25:00 UTC)" in third
    assert "- **Down windows:** 1, 3m in total\n  - 2026-11-24 09:20:00 to 09:23:00 UTC (3m)" \
        in third
    assert "- **Replay paused:** no window recorded replay paused" in third
    assert "- **Peak connections:** 30 of 47 usable slots (63%; max_connections 50)" in third

    tokens = MarkdownIt("commonmark").parse(md)
    fences = [t for t in tokens if t.type == "fence"]
    assert fences and all(t.info == "mermaid" for t in fences)
    charts = {title: (top, series) for title, top, series in map(_xychart,
                                                                 (t.content for t in fences))}
    assert set(charts) == {
        "primary: connections against usable slots", "primary: query round trip p95 (ms)",
        "replica-1: connections against usable slots", "replica-1: query round trip p95 (ms)",
        "replica-1: replication lag (MB)",
        "replica-2: connections against usable slots", "replica-2: query round trip p95 (ms)",
    }  # fmt: skip
    # One x axis for all: the same windows line up from chart to chart.
    assert len({len(series[0]) for _, series in charts.values()}) == 1
    assert max(charts["primary: connections against usable slots"][1][0]) == 97
    assert max(charts["replica-1: replication lag (MB)"][1][0]) == 48
    # The h3 headings of Metrics are the servers, in watch order.
    h3 = [tokens[i + 1].content for i, t in enumerate(tokens)
          if t.type == "heading_open" and t.tag == "h3"]
    assert h3[-3:] == ["primary", "replica-1", "replica-2"]


def test_hostile_server_names_stay_text(tmp_path: Path) -> None:
    name = "<b>x</b> | `y` # z ```"
    incident = write_three_servers(tmp_path / "hostile.toml", third=name, windows=12)
    md = render(incident)
    metrics = _metrics(md)
    tokens = MarkdownIt("commonmark").parse(md)
    assert not [t for t in tokens if t.type in ("html_block", "html_inline", "code_inline")]
    h3 = [tokens[i + 1] for i, t in enumerate(tokens)
          if t.type == "heading_open" and t.tag == "h3"]
    assert h3[-1].children is not None
    assert "".join(c.content for c in h3[-1].children) == "<b>x</b> | `y` # z ```"
    row = next(line for line in metrics.splitlines() if line.startswith("| \\<b"))
    assert row.count("|") == 5 and "&#124;" in row  # four cells: the name's pipe is an entity
    for fence in (t for t in tokens if t.type == "fence"):
        _xychart(fence.content)  # a title the name cannot break out of
    assert 'title "?b?x?/b? ? ?y? ? z ???: connections' in metrics


def test_pictures_of_a_several_server_session_show_the_first_server(tmp_path: Path) -> None:
    path = tmp_path / "three.toml"
    write_three_servers(path, windows=30)
    before = path.read_bytes()
    out = tmp_path / "draft.md"
    done = run_warroom("postmortem", str(path), "-o", str(out), "--pictures", home=tmp_path)
    assert done.returncode == 0, done.stderr
    pictures = sorted(p.name for p in tmp_path.glob("draft.peak-*.svg"))
    assert pictures == ["draft.peak-latency.svg", "draft.peak-saturation.svg"]
    metrics = _metrics(out.read_text())
    assert "The dashboard at the peaks of the first server, primary (SVG" in metrics
    # The primary peaked at 97 connections (minute 10): the picture is of its window.
    assert "(draft.peak-saturation.svg)" in metrics and "peak saturation, 09:" in metrics
    assert path.read_bytes() == before
