"""## Metrics: one server's figures and charts, or several servers', and the picture links."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from urllib.parse import quote

from warroom.sessions import servers
from warroom.sessions.model import Incident
from warroom.sessions.postmortem.charts import _mermaid, chart_marks
from warroom.sessions.postmortem.figures import _peak_against_usable, _window_figures
from warroom.sessions.postmortem.markdown import escape_line, one_line
from warroom.sessions.postmortem.several_servers import _servers_metrics
from warroom.sessions.postmortem.stamps import _span


def _pictures(pictures: Sequence[tuple[str, str]], first: str | None = None) -> list[str]:
    intro = "The dashboard at those moments (SVG, rendered from the record):"
    if first is not None:
        # The replay that draws them shows one server, the first watched.
        intro = (f"The dashboard at the peaks of the first server, {one_line(first)} "
                 "(SVG, rendered from the record):")
    lines = ["", intro, ""]
    for caption, name in pictures:
        lines.append(f"- [{escape_line(caption)}]({quote(name)})")
    return lines


def _metrics(
    incident: Incident, pictures: Sequence[tuple[str, str]] | None = None
) -> list[str]:
    split = servers.by_server(incident)
    if servers.several(split):
        lines = _servers_metrics(split, chart_marks(incident))
        if pictures:
            lines += _pictures(pictures, servers.label(next(iter(split))))
        return lines
    lines = _figures(incident)
    samples = sorted(incident.samples, key=lambda s: s.at)
    if samples:
        lines += _mermaid(samples, chart_marks(incident))
    if pictures:
        lines += _pictures(pictures)
    return lines


def _figures(incident: Incident) -> list[str]:
    samples = sorted(incident.samples, key=lambda s: s.at)
    if not samples:
        return ["TODO: no samples were recorded for this incident; add peak connections against "
                "max_connections, query latency and any downtime from your monitoring."]
    last = samples[-1]
    lines = [f"From {len(samples):,} sample windows recorded by warroom, "
             f"{_span(samples[0].at, last.at + timedelta(seconds=last.seconds))}.", ""]
    return lines + _window_figures(samples, _peak_against_usable)
