"""The postmortem draft: an Incident rendered as CommonMark.

Pure: the same record gives the same text, with no clock or file reads, so the CLI, the TUI and
the tests agree. What the record lacks becomes a visible ``TODO:`` prompt rather than a guess, and
every piece of recorded text (typed at 3 a.m., pasted from psql, or written by the database) is
escaped so it reads literally and can never add a heading, a list item or a code block.

One module per part of the draft: summary.py (title, Issue Summary, Impact), detection.py,
timeline.py, ruled_out.py, root_cause.py, actions.py, lessons.py and metrics.py (with
figures.py, charts.py and several_servers.py); markdown.py escapes recorded text and stamps.py
writes the times.
"""

from __future__ import annotations

from collections.abc import Sequence

from warroom.sessions.model import Incident
from warroom.sessions.postmortem.actions import _measures
from warroom.sessions.postmortem.detection import _detection
from warroom.sessions.postmortem.figures import down_windows
from warroom.sessions.postmortem.impact import Levels
from warroom.sessions.postmortem.lessons import _lessons
from warroom.sessions.postmortem.markdown import clean, escape_line, one_line
from warroom.sessions.postmortem.metrics import _metrics
from warroom.sessions.postmortem.root_cause import _root_cause
from warroom.sessions.postmortem.ruled_out import _ruled_out
from warroom.sessions.postmortem.stamps import _zone
from warroom.sessions.postmortem.summary import _impact, _summary, _title
from warroom.sessions.postmortem.timeline import MISLEADING, _timeline

SECTIONS: tuple[str, ...] = (
    "Issue Summary",
    "Impact",
    "Detection",
    "Timeline",
    "What We Ruled Out",
    "Root Cause and Resolution",
    "Corrective and Preventative Measures",
    "Lessons Learned",
    "Metrics",
)


def render(
    incident: Incident,
    tz_name: str = "UTC",
    pictures: Sequence[tuple[str, str]] | None = None,
    saturation: Levels | None = None,
) -> str:
    """The postmortem draft for ``incident`` as CommonMark.

    Times are UTC throughout; ``tz_name`` (an IANA zone) adds local equivalents to the start and
    end in the Issue Summary. An unknown zone raises TimeError. ``pictures`` are (caption, file
    name beside the draft) pairs linked from ## Metrics. ``saturation``: the saturation alert's
    (level, percent) thresholds as configured where the draft is written (default: its defaults).
    """
    zone = _zone(tz_name)
    entries = incident.entries_in_order()
    sections = (
        _summary(incident, zone),
        _impact(incident, saturation),
        _detection(incident, entries),
        _timeline(entries),
        _ruled_out(incident, entries),
        _root_cause(incident, entries),
        _measures(incident),
        _lessons(incident, entries),
        _metrics(incident, pictures),
    )
    blocks = ["\n".join(_title(incident))]
    for heading, body in zip(SECTIONS, sections, strict=True):
        blocks.append(f"## {heading}\n\n" + "\n".join(body))
    return "\n\n".join(blocks) + "\n"


__all__ = ["MISLEADING", "SECTIONS", "clean", "down_windows", "escape_line", "one_line", "render"]
