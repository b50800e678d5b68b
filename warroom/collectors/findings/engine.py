"""The findings engine: samples in, ranked findings and raise/clear transitions out. Pure.

Each rule proposes findings for the sample at hand; the engine keeps them honest over time with
the same hysteresis as the alerts: a finding is raised after ``raise_after`` samples in a row
support it, and cleared after ``clear_after`` samples in a row do not. A down sample is no
evidence either way and changes nothing. Host samples are fed separately (they come from another
collector at their own pace); rules see the latest one.

A finding's text always carries the numbers of the sample at hand: each supporting sample
replaces it, and a sample that no longer supports a raised finding (while it waits to clear,
and the clear itself) asks the rule to ``describe`` the subject now; a rule that cannot shows
its last supporting numbers marked with their age, never as if they were current.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from warroom.collectors.bouncer_sample import BouncerSample
from warroom.collectors.findings.churn import Churn
from warroom.collectors.findings.config import FindingsConfig
from warroom.collectors.findings.lock_root import LockRoot
from warroom.collectors.findings.model import (
    RANK,
    Context,
    Finding,
    FindingEvent,
    Rule,
    Transition,
)
from warroom.collectors.findings.network_fine import NetworkFine
from warroom.collectors.findings.pool import PoolHolder
from warroom.collectors.findings.pooler import Pooler
from warroom.collectors.findings.retry_storm import RetryStorm
from warroom.collectors.findings.statement import DominantStatement
from warroom.collectors.findings.waiting import WaitingNotWorking
from warroom.collectors.host import HostSample
from warroom.collectors.sample import PgSample

if TYPE_CHECKING:
    from warroom.collectors.serverlog.counts import LogCounts

HISTORY = 300  # samples of baseline: five minutes at the default interval


def default_rules() -> list[Rule]:
    return [PoolHolder(), LockRoot(), DominantStatement(), Churn(), NetworkFine(),
            WaitingNotWorking(), Pooler(), RetryStorm()]  # fmt: skip


@dataclass(slots=True)
class _Track:
    finding: Finding  # what is shown: the sample at hand's numbers when the rule can say them
    held: Finding  # the last finding a sample supported
    held_at: datetime
    seen: int = 0  # samples in a row that supported it
    missed: int = 0  # samples in a row that did not (while raised)
    raised: bool = False


class FindingsEngine:
    def __init__(
        self, config: FindingsConfig | None = None, rules: Sequence[Rule] | None = None
    ) -> None:
        self.config = config or FindingsConfig()
        self.rules = list(rules) if rules is not None else default_rules()
        self._history: deque[PgSample] = deque(maxlen=HISTORY)
        self._host: HostSample | None = None
        self._bouncer: BouncerSample | None = None
        self._server_log: LogCounts | None = None
        self._tracks: dict[tuple[str, str], _Track] = {}

    def feed_host(self, host: HostSample) -> None:
        self._host = host

    def feed_bouncer(self, bouncer: BouncerSample) -> None:
        self._bouncer = bouncer

    def feed_server_log(self, counts: LogCounts) -> None:
        """The server log's latest window; rules see it with the next sample."""
        self._server_log = counts

    def feed(self, sample: PgSample) -> list[FindingEvent]:
        # A full server refuses warroom too: on its host the process titles still say who
        # holds it, and the rules that need only that run on them. Any other down sample is
        # no evidence, and the others' findings stay as they were.
        titles = (
            not sample.up
            and sample.connections_source == "process_titles"
            and sample.connections is not None
        )
        if not sample.up and not titles:
            return []
        rules = [r for r in self.rules if not titles or getattr(r, "process_titles", False)]
        proposed: dict[tuple[str, str], Finding] = {}
        judged: dict[str, tuple[Rule, Context]] = {}
        history = tuple(self._history)
        for rule in rules:
            settings = self.config.rule(rule.name)
            if not settings.get("enabled", 1.0):
                continue
            tracked = {k[1]: t.finding for k, t in self._tracks.items() if k[0] == rule.name}
            ctx = Context(sample, history, self._host, settings, self._bouncer,
                          self._server_log, tracked)  # fmt: skip
            judged[rule.name] = (rule, ctx)
            for finding in rule.evaluate(ctx):
                proposed[finding.key] = finding
        if not titles:
            self._history.append(sample)  # the baselines are the server's own figures
        return self._step(sample, proposed, judged)

    def _step(
        self,
        sample: PgSample,
        proposed: dict[tuple[str, str], Finding],
        judged: dict[str, tuple[Rule, Context]],
    ) -> list[FindingEvent]:
        events: list[FindingEvent] = []
        for key, finding in proposed.items():
            track = self._tracks.setdefault(key, _Track(finding, finding, sample.at))
            track.finding, track.held, track.held_at, track.missed = finding, finding, sample.at, 0
            track.seen += 1
            if not track.raised and track.seen >= self._setting(finding.rule, "raise_after"):
                track.raised = True
                events.append(FindingEvent(sample.at, Transition.RAISED, finding))
        # Only the rules that judged this sample can count it against their findings.
        for key in [k for k in self._tracks if k not in proposed and k[0] in judged]:
            track = self._tracks[key]
            track.seen = 0
            if not track.raised:
                del self._tracks[key]
                continue
            track.missed += 1
            track.finding = self._now(track, sample.at, *judged[key[0]])
            if track.missed >= self._setting(track.finding.rule, "clear_after"):
                del self._tracks[key]
                events.append(FindingEvent(sample.at, Transition.CLEARED, track.finding))
        return events

    @staticmethod
    def _now(track: _Track, at: datetime, rule: Rule, ctx: Context) -> Finding:
        """A raised finding this sample does not support, with the sample's own numbers."""
        describe = getattr(rule, "describe", None)
        now = describe(ctx, track.held) if describe is not None else None
        if now is not None and now.key == track.held.key:
            return now
        age = (at - track.held_at).total_seconds()
        return replace(track.held, text=f"{track.held.text} (the figures of {age:.0f} s ago, "
                                        "when it last held)")  # fmt: skip

    def _setting(self, rule: str, key: str) -> float:
        return self.config.rule(rule).get(key, 1.0)

    def active(self) -> list[Finding]:
        """Raised findings, most severe first, then by how strong the evidence is."""
        found = [t.finding for t in self._tracks.values() if t.raised]
        found.sort(key=lambda f: (RANK[f.severity], -f.score, f.rule, f.subject))
        return found
