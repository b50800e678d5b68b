"""What a finding is, and what a rule sees: plain data, no I/O."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from warroom.collectors.bouncer_sample import BouncerSample
from warroom.collectors.host import HostSample
from warroom.collectors.sample import PgSample

if TYPE_CHECKING:  # the serverlog package brings psycopg; findings stay plain data
    from warroom.collectors.serverlog.counts import LogCounts


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


RANK = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule's conclusion about one subject, with the numbers it rests on.

    ``text`` is one line built only from the evidence; ``evidence`` holds those numbers (JSON
    values), so a reader can check the claim rather than trust it.
    """

    rule: str
    subject: str
    severity: Severity
    text: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    score: float = 0.0  # within a severity, larger first
    # "server" (its own views) or "process_titles" (counted on its host while it had no slot
    # for warroom: fewer facts, said in the text too)
    source: str = "server"

    @property
    def key(self) -> tuple[str, str]:
        return (self.rule, self.subject)

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "subject": self.subject,
            "severity": self.severity.value,
            "text": self.text,
            "evidence": dict(self.evidence),
            "source": self.source,
        }


class Transition(StrEnum):
    RAISED = "raised"
    CLEARED = "cleared"


@dataclass(frozen=True, slots=True)
class FindingEvent:
    at: datetime
    state: Transition
    finding: Finding

    @property
    def message(self) -> str:
        """The timeline line: a raise states the finding; a clear says it no longer holds."""
        if self.state is Transition.RAISED:
            return self.finding.text
        return f"no longer holds: {self.finding.text}"


@dataclass(frozen=True, slots=True)
class Context:
    """What a rule may look at: the sample, the recent ones before it, the host, its settings."""

    sample: PgSample  # up, or down with connections counted from process titles
    history: Sequence[PgSample]  # earlier up samples, oldest first, bounded
    host: HostSample | None
    settings: Mapping[str, float]
    bouncer: BouncerSample | None = None  # the server's PgBouncer, when one is watched
    server_log: LogCounts | None = None  # the server log's latest window, when it is read
    # This rule's findings the engine holds (raised, or on their way to it), by subject: what
    # it said last. A rule may keep a figure from before the trouble here (churn's baseline),
    # so a sustained storm is not learnt as the new normal while it lasts.
    tracked: Mapping[str, Finding] = field(default_factory=dict)

    def query_p95(self, seconds: float = 30.0) -> float | None:
        # Newest first, stopping at the first sample too old: the history holds five minutes,
        # and walking all of it every second made a rule's cost grow with the dashboard's age.
        oldest = self.sample.at - timedelta(seconds=seconds)
        values = [] if self.sample.query_ms is None else [self.sample.query_ms]
        for s in reversed(self.history):
            if s.at < oldest:
                break
            if s.query_ms is not None:
                values.append(s.query_ms)
        if not values:
            return None
        values.sort()
        return values[min(len(values) - 1, math.ceil(0.95 * len(values)) - 1)]


class Rule(Protocol):
    """A rule may also set ``process_titles = True``: it can judge a down sample whose
    connections were counted from process titles (the engine runs only those on one).

    It may also have ``describe(ctx, finding) -> Finding | None``: the finding's subject as it
    stands now, for a sample that no longer supports it (the same subject, the current
    numbers). The engine shows that while a raised finding waits to clear and logs it when it
    clears; without it the last supporting numbers are shown, marked with their age."""

    name: str

    def evaluate(self, ctx: Context) -> list[Finding]:
        """The findings this sample supports now (none, one, or one per subject)."""
        ...
