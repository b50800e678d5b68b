"""The backends view's signals: cancel or terminate the tagged set or the selected backend
(each named by pid and backend start), every backend of an application, or every backend a
predicate matches. Each asks first, naming what it will signal, runs in a thread worker on the
monitoring connection, and lands on the timeline as one action entry with before/after counts;
a backend that ended before the signal is reported as gone. A mixin of BackendsScreen.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from rich.text import Text
from textual import work

from warroom.collectors.backends import Backend, Signalled
from warroom.collectors.backends_explain import Plan, Unexplainable
from warroom.collectors.sample import BlockedBackend, Failure, LockRoot
from warroom.formats import age
from warroom.sessions.model import Kind
from warroom.tui import backends_filter
from warroom.tui.backends_filter import Predicate
from warroom.tui.backends_predicate import PredicateScreen, listing
from warroom.widgets.text import clean

if TYPE_CHECKING:
    from textual.screen import Screen

    _Base = Screen[None]
else:
    _Base = object

LIMIT = 500
Identity = tuple[int, object]


class BackendSource(Protocol):
    def list_backends(self, limit: int | None = LIMIT) -> list[Backend] | Failure: ...

    def signal_backends(
        self,
        *,
        pids: list[int] | None = None,
        application: str | None = None,
        terminate: bool = False,
    ) -> int | Failure: ...

    def signal_identities(
        self, targets: Sequence[Backend], *, terminate: bool = False
    ) -> Signalled | Failure: ...

    def explain(
        self, query: str, *, truncated: bool = False
    ) -> Plan | Unexplainable | Failure: ...

    def lock_detail(
        self, roots: tuple[LockRoot, ...], waiting: tuple[BlockedBackend, ...]
    ) -> tuple[LockRoot, ...] | Failure: ...


class SignalActions(_Base):
    """What BackendsScreen brings: its source, log, list and tags, and how it shows a list."""

    source: BackendSource
    log_action: Callable[[str, Kind], bool] | None
    backends: list[Backend]
    tags: set[Identity]

    def selected(self) -> Backend | None: ...

    def tagged(self) -> list[Backend]: ...

    def show_result(self, result: list[Backend] | Failure) -> None: ...

    def action_signal(self, terminate: bool, whole_app: bool) -> None:
        from warroom.tui.screens.confirm import ConfirmScreen

        verb = "Terminate" if terminate else "Cancel the query of"
        tagged = [] if whole_app else self.tagged()
        target = self.selected()
        if target is None and not tagged:
            self.notify("no backend selected")
            return
        question = Text()
        if tagged:
            question.append(f"{verb} the {len(tagged)} tagged backend(s)?\n\n")
            question.append_text(listing(tagged, 20))
        elif whole_app:
            assert target is not None
            count = sum(1 for b in self.backends if b.application == target.application)
            question.append(f"{verb} every backend of application ")
            question.append(clean(target.application) or "(no name)", style="bold")
            question.append(f"?\n\n{count} backend(s) now; ")
            question.append(f"{len(self.backends)} client backends in all.")
        else:
            assert target is not None
            question.append(f"{verb} backend {target.pid}?\n\n")
            question.append(f"application {clean(target.application) or '(no name)'}, ")
            question.append(f"user {clean(target.user)}, {clean(target.state)}")
            if target.query_s is not None:
                question.append(f" for {age(target.query_s)}")
            question.append("\n")
            question.append(clean(target.query, 200), style="dim")

        def done(yes: bool | None) -> None:
            if not yes:
                return
            if tagged:
                self.run_set_signal(tagged, terminate, f"{len(tagged)} tagged backend(s)", None)
            elif whole_app:
                assert target is not None
                self.run_signal(target, terminate)
            else:
                assert target is not None
                self.run_set_signal([target], terminate, "", None)

        self.app.push_screen(ConfirmScreen(question, yes="Terminate" if terminate else "Cancel"),
                             done)

    def action_predicate(self) -> None:
        from warroom.tui.screens.confirm import ConfirmScreen

        def ask(answer: tuple[Predicate, bool] | None) -> None:
            if answer is None:
                return
            predicate, terminate = answer
            found = backends_filter.matching(self.backends, predicate)
            if not found:
                self.notify(f"no backend matches {predicate.describe()} now")
                return
            verb = "Terminate" if terminate else "Cancel the query of"
            question = Text(f"{verb} the {len(found)} backend(s) matching "
                            f"{predicate.describe()}?\n\n")  # fmt: skip
            question.append_text(listing(found, 20))
            question.append(f"\n{len(self.backends)} client backends in all. Only these are "
                            "signalled, and only while they still match.", style="dim")

            def done(yes: bool | None) -> None:
                if yes:
                    self.run_set_signal(found, terminate, "", predicate)

            self.app.push_screen(
                ConfirmScreen(question, yes="Terminate" if terminate else "Cancel"), done
            )

        self.app.push_screen(PredicateScreen(list(self.backends)), ask)

    @work(thread=True, group="backend-signal", exit_on_error=False)
    def run_set_signal(
        self, approved: list[Backend], terminate: bool, what: str, predicate: Predicate | None
    ) -> None:
        """Signal exactly the approved backends (by identity); with a predicate, only those
        that still match it on a fresh list."""
        before_all = len(self.backends)
        before_match = len(approved)
        targets = approved
        if predicate is not None:
            fresh = self.source.list_backends(LIMIT)
            if not isinstance(fresh, Failure):
                before_all = len(fresh)
                now = {b.identity for b in backends_filter.matching(fresh, predicate)}
                before_match = len(now)
                targets = [b for b in approved if b.identity in now]
        result = self.source.signal_identities(targets, terminate=terminate)
        kept = {b.identity for b in targets}
        dropped = [b.pid for b in approved if b.identity not in kept]
        signalled = {b.identity for b in targets
                     if isinstance(result, Signalled) and b.pid in result.signalled}  # fmt: skip
        # A cancel is done at once; a terminated backend leaves the list when it has exited.
        after = self.settled(
            lambda listed: not terminate or not signalled & {b.identity for b in listed}
        )
        self.app.call_from_thread(
            self.record_set, approved, terminate, what, predicate, result, dropped,
            before_all, before_match, after,
        )  # fmt: skip

    def record_set(
        self,
        approved: list[Backend],
        terminate: bool,
        what: str,
        predicate: Predicate | None,
        result: Signalled | Failure,
        dropped: list[int],
        before_all: int,
        before_match: int,
        after: list[Backend] | Failure,
    ) -> None:
        verb = "terminated" if terminate else "cancelled"
        if isinstance(result, Failure):
            self.notify(f"{verb[:-1]} failed: {result.kind.value}: {clean(result.message, 120)}",
                        severity="error", timeout=10)  # fmt: skip
            return
        self.tags -= {b.identity for b in approved}
        gone = sorted({*result.gone, *dropped})
        gone_text = ""
        if gone:
            why = "ended or no longer matching" if predicate is not None else "ended"
            gone_text = f"; gone before the signal ({why}): {', '.join(map(str, gone))}"
        if not result.signalled:
            self.notify(f"nothing {verb}: backend(s) {', '.join(map(str, gone))} had gone "
                        "before the signal", severity="warning", timeout=10)  # fmt: skip
            if not isinstance(after, Failure):
                self.show_result(after)
            return
        pids = ", ".join(map(str, result.signalled))
        if predicate is not None:
            text = (f"{verb} {len(result.signalled)} backend(s) matching "
                    f"{predicate.describe()}: pids {pids}")  # fmt: skip
        elif what:
            text = f"{verb} {len(result.signalled)} of {what}: pids {pids}"
        else:
            b = approved[0]
            text = f"{verb} backend {b.pid} ({clean(b.application) or '(no name)'}, " \
                f"{clean(b.state)})"  # fmt: skip
        counts = ""
        if not isinstance(after, Failure):
            counts = f" (client backends {before_all} -> {len(after)}"
            if predicate is not None:
                counts += f"; matching {before_match} -> " \
                    f"{len(backends_filter.matching(after, predicate))}"  # fmt: skip
            counts += ")"
            self.show_result(after)
        if self.log_action is not None:
            self.log_action(f"{text}{counts}{gone_text}", Kind.ACTION)
        self.notify(f"{text}{gone_text}")

    @work(thread=True, group="backend-signal", exit_on_error=False)
    def run_signal(self, target: Backend, terminate: bool) -> None:
        """Every backend of the target's application (C/X)."""
        before_all = len(self.backends)
        before_app = sum(1 for b in self.backends if b.application == target.application)
        result = self.source.signal_backends(application=target.application, terminate=terminate)
        after = self.settled(
            lambda listed: not terminate
            or not any(b.application == target.application for b in listed)
        )
        self.app.call_from_thread(
            self.record, target, terminate, result, before_all, before_app, after
        )

    def settled(self, done: Callable[[list[Backend]], bool]) -> list[Backend] | Failure:
        """The list once ``done`` holds for it (terminated backends exit asynchronously), or
        the last one read within 3 s. Runs in the signal's worker thread."""
        deadline = time.monotonic() + 3.0
        while True:
            listed = self.source.list_backends(LIMIT)
            if isinstance(listed, Failure) or done(listed) or time.monotonic() > deadline:
                return listed
            time.sleep(0.2)

    def record(
        self,
        target: Backend,
        terminate: bool,
        result: int | Failure,
        before_all: int,
        before_app: int,
        after: list[Backend] | Failure,
    ) -> None:
        app_name = clean(target.application) or "(no name)"
        verb = "terminated" if terminate else "cancelled"
        if isinstance(result, Failure):
            self.notify(f"{verb[:-1]} failed: {result.kind.value}: {clean(result.message, 120)}",
                        severity="error", timeout=10)
            return
        what = f"{result} backend(s) of application {app_name}"
        counts = ""
        if not isinstance(after, Failure):
            after_app = sum(1 for b in after if b.application == target.application)
            counts = (f" (client backends {before_all} -> {len(after)}; "
                      f"{app_name} {before_app} -> {after_app})")
            self.show_result(after)
        if self.log_action is not None:
            self.log_action(f"{verb} {what}{counts}", Kind.ACTION)
        self.notify(f"{verb} {what}")
