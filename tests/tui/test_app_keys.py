"""Every key flow of the dashboard, driven with Textual's pilot against a real session file."""

from __future__ import annotations

import tomllib
from datetime import timedelta
from pathlib import Path

import pytest
from textual import events
from tui_support import (
    T0,
    Clock,
    HangingSource,
    make_app,
    new_store,
    pane_text,
    sample,
    settled,
    wait_for,
)

from warroom.collectors.sample import PgSample
from warroom.sessions.model import Kind, Source, Status, TimelineEntry
from warroom.sessions.store import Store, load
from warroom.tui.screens.confirm import ConfirmScreen
from warroom.tui.screens.postmortem import PostmortemScreen
from warroom.widgets.timeline import TimelineTable


def on_disk(store: Store) -> list[dict]:
    return tomllib.loads(store.path.read_text()).get("timeline", [])


async def type_note(pilot, text: str) -> None:
    await pilot.press("n")
    await pilot.press(*text)
    await pilot.press("enter")
    await settled(pilot, pilot.app)


@pytest.mark.asyncio
async def test_note_is_saved_with_the_time_typing_started(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    clock = Clock()
    app = make_app(store, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        started = clock.now
        await pilot.press("n")
        clock.advance(45)  # a slow typist at 3 a.m.
        await pilot.press(*"checked pgbouncer")
        await pilot.press("enter")
        await settled(pilot, app)
        entries = on_disk(store)
        assert [(e["text"], e["kind"], e["author"], e["source"]) for e in entries] == [
            ("checked pgbouncer", "note", "ana", "manual")
        ]
        assert entries[0]["at"] == started
        assert not app.query_one("#note").display


@pytest.mark.asyncio
async def test_text_typed_in_the_same_burst_as_n_lands_in_the_note(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    app = make_app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        # A paste or a fast typist: every key is queued before the app handles the first.
        for char in "nis this a bug?":
            app.post_message(events.Key(char, char))
        await wait_for(pilot, lambda: app.query_one("#note").value == "is this a bug?")
        assert app.screen is app.screen_stack[0], "a letter in the note opened a dialog"
        await pilot.press("enter")
        assert [e["text"] for e in on_disk(store)] == ["is this a bug?"]


@pytest.mark.asyncio
async def test_note_prefixes_choose_kind_and_leading_clock_backdates(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    app = make_app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await type_note(pilot, "09:05 ! raised pool size")
        await type_note(pilot, "? network latency")
        entries = on_disk(store)
        assert (entries[0]["kind"], entries[0]["text"]) == ("action", "raised pool size")
        assert entries[0]["at"] == T0 + timedelta(minutes=5)
        assert (entries[1]["kind"], entries[1]["text"]) == ("misleading", "network latency")
        # The table shows them in time order with their kinds.
        table = app.query_one(TimelineTable)
        assert table.row_count == 2


@pytest.mark.asyncio
async def test_escape_hides_the_note_box_and_keeps_the_draft(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    app = make_app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n", *"half a thought")
        await pilot.press("escape")
        note = app.query_one("#note")
        assert not note.display
        assert on_disk(store) == []
        await pilot.press("n")
        assert note.display and note.value == "half a thought"


@pytest.mark.asyncio
async def test_impossible_backdate_is_refused_and_the_text_kept(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    app = make_app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await type_note(pilot, "25:00 too late")
        assert on_disk(store) == []
        assert app.query_one("#note").value == "25:00 too late"


@pytest.mark.asyncio
async def test_edit_selected_entry(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    app = make_app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await type_note(pilot, "restarted pgbuoncer")
        await pilot.press("e")
        text = app.screen.query_one("#text")
        text.value = ""
        await pilot.press(*"restarted pgbouncer")
        await pilot.press("enter")
        assert [e["text"] for e in on_disk(store)] == ["restarted pgbouncer"]
        assert app.query_one(TimelineTable).row_count == 1


@pytest.mark.asyncio
async def test_delete_asks_first_and_u_undoes(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    app = make_app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await type_note(pilot, "keep me")
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert [e["text"] for e in on_disk(store)] == ["keep me"]
        await pilot.press("d")
        await pilot.press("y")
        assert on_disk(store) == []
        await pilot.press("u")
        assert [e["text"] for e in on_disk(store)] == ["keep me"]
        # The table follows the record's change message, a loop turn or more after the write.
        await wait_for(pilot, lambda: app.query_one(TimelineTable).row_count == 1)


@pytest.mark.asyncio
async def test_status_and_severity_keys_change_the_record_and_log_it(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    clock = Clock()
    app = make_app(store, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("s", "2")  # identified
        await pilot.press("v", "1")  # SEV1
        # A dialog's answer reaches the app a loop turn after it closes: until both changes
        # are queued, "nothing pending" would be true too early.
        await wait_for(pilot, lambda: app.incident.severity == "SEV1"
                       and app.incident.status is Status.IDENTIFIED)  # fmt: skip
        await settled(pilot, app)
        incident = load(store.path).incident
        assert incident.status is Status.IDENTIFIED
        assert incident.identified_at == clock.now
        assert incident.severity == "SEV1"
        texts = [e.text for e in incident.entries_in_order()]
        assert "status: investigating -> identified" in texts
        assert "severity: SEV2 -> SEV1" in texts


@pytest.mark.asyncio
async def test_incident_form_saves_fields_and_refuses_out_of_order_times(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    app = make_app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("i")
        form = app.screen
        form.query_one("#root_cause").value = "shop-api pool max 500"
        form.query_one("#commander").value = "ana"
        form.query_one("#resolved_at").value = "2026-11-24T08:00:00Z"  # before impact start
        await pilot.press("ctrl+s")
        assert app.screen is form
        assert "resolved_at" in str(form.query_one("#error").render())
        form.query_one("#resolved_at").value = ""
        await pilot.press("ctrl+s")
        assert app.screen is not form
        await settled(pilot, app)
        incident = load(store.path).incident
        assert incident.root_cause == "shop-api pool max 500"
        assert incident.roles.commander == "ana"
        assert incident.resolved_at is None
        assert any("root_cause" in e.text for e in incident.timeline)


@pytest.mark.asyncio
async def test_notes_from_another_shell_appear_within_a_second(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    app = make_app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        other = Store.open(store.path)
        other.append_entry(
            TimelineEntry(at=T0, text="from the CLI", kind=Kind.ACTION, source=Source.CLI)
        )
        table = app.query_one(TimelineTable)
        await wait_for(pilot, lambda: table.row_count == 1, timeout=3)


@pytest.mark.asyncio
async def test_alerts_land_on_the_timeline_once_per_transition(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    clock = Clock()
    app = make_app(store, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        for n in range(5):
            app.feed(sample(clock.now + timedelta(seconds=n), total=46))  # 46/47 usable
        await settled(pilot, app)
        alerts = [e for e in on_disk(store) if e["kind"] == "alert"]
        assert len(alerts) == 1
        assert alerts[0]["source"] == "auto"
        assert "saturation" in alerts[0]["text"]
        # The first alert is the detection: time to detect is measured from it.
        assert load(store.path).incident.detected_at == alerts[0]["at"]
        for n in range(5, 12):
            app.feed(sample(clock.now + timedelta(seconds=n), total=10))
        await settled(pilot, app)
        alerts = [e for e in on_disk(store) if e["kind"] == "alert"]
        assert len(alerts) == 2
        assert "clear" in alerts[1]["text"].lower()


@pytest.mark.asyncio
async def test_rollups_are_appended_to_the_session(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    app = make_app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        for n in range(25):
            app.feed(sample(T0 + timedelta(seconds=n), total=20 + n))
        await settled(pilot, app)
        rollups = tomllib.loads(store.path.read_text()).get("samples", [])
        assert [r["conn_max"] for r in rollups] == [29, 39]


@pytest.mark.asyncio
async def test_quit_flushes_the_partial_rollup(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    app = make_app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        for n in range(3):
            app.feed(sample(T0 + timedelta(seconds=n), total=7))
        await pilot.press("q")
    rollups = tomllib.loads(store.path.read_text()).get("samples", [])
    assert [r["conn_max"] for r in rollups] == [7]


@pytest.mark.asyncio
async def test_postmortem_key_writes_the_draft_beside_the_session(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    app = make_app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await type_note(pilot, "* pager fired")
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, PostmortemScreen))
        draft = app.postmortem_path().read_text()
        assert draft.startswith("#") and "pager fired" in draft
        assert app.postmortem_path().parent == store.path.parent
        await pilot.press("escape")
        assert not isinstance(app.screen, PostmortemScreen)


@pytest.mark.asyncio
async def test_resume_brings_back_timeline_status_and_chart_history(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    first = make_app(store)
    async with first.run_test(size=(120, 40)) as pilot:
        await type_note(pilot, "before the crash")
        await pilot.press("s", "3")
        for n in range(30):
            first.feed(sample(T0 + timedelta(seconds=n), total=20))
    again = Store.open(store.path)
    second = make_app(again, Clock(T0 + timedelta(minutes=2)))
    async with second.run_test(size=(120, 40)):
        table = second.query_one(TimelineTable)
        assert table.row_count == 2
        assert second.incident.status is Status.MONITORING
        assert len(second.state.conns) >= 3  # chart history from the rollups
        header = str(second.query_one("#header").render())
        assert "MONITORING" in header and "T+00:02:00" in header


@pytest.mark.asyncio
async def test_a_hanging_collector_leaves_the_ui_responsive(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    source = HangingSource()
    app = make_app(store, postgres=source)
    async with app.run_test(size=(120, 40)) as pilot:
        assert source.entered.wait(5)
        await type_note(pilot, "still typing while the DB stalls")
        assert [e["text"] for e in on_disk(store)] == ["still typing while the DB stalls"]
        assert app.busy_for() > 0
        await pilot.press("q")
    source.release.set()


@pytest.mark.asyncio
async def test_database_text_is_shown_literally(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    clock = Clock()
    app = make_app(store, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        app.feed(sample(clock.now, apps=(("[bold]evil[/bold]\x1b[31m", 9),)))
        await pilot.pause()
        text = pane_text(app.query_one("#connections"))
        assert "[bold]evil[/bold]" in text
        assert "\x1b[31m" not in text


@pytest.mark.asyncio
async def test_down_server_shows_down_and_the_failure_kind(tmp_path: Path) -> None:
    from tui_support import down

    store = new_store(tmp_path)
    clock = Clock()
    app = make_app(store, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        app.feed(sample(clock.now - timedelta(seconds=5)))
        app.feed(down(clock.now - timedelta(seconds=3)))
        await pilot.pause()
        text = pane_text(app.query_one("#connections"))
        assert "DOWN unreachable for 3s" in text


@pytest.mark.asyncio
async def test_command_palette_lists_every_action(tmp_path: Path) -> None:
    from warroom.tui.keys import ACTIONS

    store = new_store(tmp_path)
    app = make_app(store)
    async with app.run_test(size=(120, 40)):
        titles = " ".join(c.title for c in app.get_system_commands(app.screen))
        for act in ACTIONS:
            assert act.label in titles


@pytest.mark.asyncio
async def test_t_toggles_utc_and_local_time(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    app = make_app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        assert "UTC" in str(app.query_one("#header").render())
        await pilot.press("t")
        assert app.local_time
        await pilot.press("t")
        assert "UTC" in str(app.query_one("#header").render())


@pytest.mark.asyncio
async def test_no_color_still_says_the_alert_level_in_words(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    store = new_store(tmp_path)
    clock = Clock()
    app = make_app(store, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.no_color
        app.feed(sample(clock.now, total=46))  # 46 of 47 usable: critical
        await pilot.pause()
        assert "98% CRIT" in pane_text(app.query_one("#connections"))


@pytest.mark.asyncio
async def test_question_mark_shows_and_hides_the_keys(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    app = make_app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        assert app.screen.query("HelpPanel")
        await pilot.press("question_mark")
        await pilot.pause()
        assert not app.screen.query("HelpPanel")


@pytest.mark.asyncio
async def test_stale_data_shows_its_age(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    clock = Clock()
    app = make_app(store, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        app.feed(sample(clock.now - timedelta(seconds=9)))
        await pilot.pause()
        assert "stale: last sample 9s ago" in pane_text(app.query_one("#connections"))


@pytest.mark.asyncio
async def test_a_adds_an_action_item_that_the_draft_lists(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    app = make_app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("a")
        form = app.screen
        form.query_one("#text").value = "cap shop-api's pool at 20"
        form.query_one("#owner").value = "ana"
        form.query_one("#due").value = "next week"
        await pilot.press("ctrl+s")
        assert app.screen is form and "YYYY-MM-DD" in str(form.query_one("#error").render())
        form.query_one("#due").value = "2026-12-01"
        await pilot.press("ctrl+s")
        assert app.screen is not form
        await settled(pilot, app)
        items = tomllib.loads(store.path.read_text())["action_items"]
        assert [(i["text"], i["owner"], i["kind"], str(i["due"])) for i in items] == [
            ("cap shop-api's pool at 20", "ana", "prevent", "2026-12-01")
        ]
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, PostmortemScreen))
        assert "- [ ] " in app.postmortem_path().read_text()


@pytest.mark.asyncio
async def test_notifications_quoting_database_text_never_parse_it_as_markup(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    app = make_app(store)
    async with app.run_test(size=(120, 40)) as pilot:
        # What a cancel of an application named like this would report.
        app.screen.notify("terminated backend 42 ([/]evil[bold], idle)")
        await pilot.pause(0.2)
        toasts = [n for n in app._notifications if "evil" in str(n.message)]
        assert [(n.message, n.markup) for n in toasts] == [
            ("terminated backend 42 ([/]evil[bold], idle)", False)
        ]
        await pilot.press("n", *"still alive", "enter")
        assert [e["text"] for e in on_disk(store)] == ["still alive"]


class BrokenSource:
    """A collector with a bug: sample() raises instead of returning a down sample."""

    def sample(self) -> PgSample:
        raise RuntimeError("bug in a collector")

    def close(self) -> None:
        pass


@pytest.mark.asyncio
async def test_a_collector_that_raises_is_a_notification_and_the_app_leaves_cleanly(
    tmp_path: Path,
) -> None:
    app = make_app(new_store(tmp_path), postgres=BrokenSource())
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: any("postgres collector failed: bug in a collector"
                                          in str(n.message) for n in app._notifications))
        await pilot.press("question_mark")  # the screen still answers
        assert app.screen.query("HelpPanel")
