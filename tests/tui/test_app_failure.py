"""A bug in the dashboard ends it as an error: raised from run() (the CLI's one line, status 1),
no Textual traceback, and nothing appended to the session after it."""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from tui_support import Clock, new_store, sample, settled

from warroom.sessions.recorder import Recorder
from warroom.tui import app as app_module
from warroom.tui.app import WarroomApp
from warroom.widgets.timeline import TimelineRow, TimelineTable


class BrokenTimeline(TimelineTable):
    """The timeline with a bug that shows once armed (as DuplicateKey did in set_rows)."""

    armed = False

    def set_rows(self, rows: Sequence[TimelineRow]) -> None:
        if self.armed:
            raise RuntimeError("the timeline broke")
        super().set_rows(rows)


class BrokenApp(WarroomApp):
    CSS_PATH = str(Path(app_module.__file__).with_name("warroom.tcss"))  # not beside this file

    def compose(self):  # type: ignore[no-untyped-def]
        for widget in super().compose():
            yield BrokenTimeline(id="timeline") if isinstance(widget, TimelineTable) else widget


def test_a_bug_in_a_widget_ends_the_dashboard_with_its_error_and_writes_nothing_after_it(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    store = new_store(tmp_path)
    clock = Clock()
    app = BrokenApp(Recorder(store), clock=clock, author="ana")
    before: list[bytes] = []

    async def drive(pilot) -> None:  # type: ignore[no-untyped-def]
        start = clock.now.replace(microsecond=0) - timedelta(seconds=clock.now.second % 10)
        # Half a 10-second window: its partial rollup is what `q` would write on the way out.
        for n in range(5):
            app.feed(sample(start + timedelta(seconds=n)))
        await settled(pilot, app)
        before.append(store.path.read_bytes())
        app.query_one(BrokenTimeline).armed = True
        await pilot.press("t")  # redraws the timeline: the widget raises

    with pytest.raises(RuntimeError, match="the timeline broke"):
        app.run(headless=True, size=(120, 40), auto_pilot=drive)
    app.shutdown()  # what watch and replay do after run(), however it ended
    assert before, "the app failed before the test armed it"
    assert store.path.read_bytes() == before[0], "the session was written after the failure"
    assert "samples" not in tomllib.loads(store.path.read_text())
    err = capfd.readouterr().err
    assert "Traceback" not in err and "the timeline broke" not in err

