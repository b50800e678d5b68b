"""The watched server full or stalled: recorded as such, the recorder goes on."""

from __future__ import annotations

from pathlib import Path

import psycopg
from support.pgcluster import APP_ROLE, MONITOR_ROLE
from support.polling import wait_until
from support.proxy import TcpProxy

from recording.recorder_process import frame_count, monitor_dsn, recording
from warroom.recording.store import FrameStore, StoreError


def newest(store: Path):  # type: ignore[no-untyped-def]
    try:
        s = FrameStore(store, readonly=True)
    except StoreError:  # not there yet, or its schema not yet written
        return None
    with s:
        if not s.servers():
            return None
        (server,) = s.servers()
        _, last = s.span(server) or (None, None)
        return None if last is None else s.state_at(server, last)


def test_a_full_server_is_recorded_with_everyone_holding_it(pg_factory, tmp_path: Path) -> None:
    cluster = pg_factory(max_connections=10)  # 3 reserved for superusers: 7 for the rest
    store = tmp_path / "rec.sqlite"
    args = ["--dsn", monitor_dsn(cluster), "--store", str(store), "--interval", "0.3"]
    held: list[psycopg.Connection] = []
    with recording(args, tmp_path) as rec:
        wait_until(lambda: frame_count(store) >= 2, 30, "2 frames")
        try:
            while True:  # until the server refuses the next one: it is full
                held.append(psycopg.connect(cluster.dsn(user=APP_ROLE,
                                                        application_name="hog")))  # fmt: skip
        except psycopg.OperationalError as exc:
            assert "too many" in str(exc) or "reserved" in str(exc)
        pids = {c.info.backend_pid for c in held}
        wait_until(lambda: (f := newest(store)) and f.backends is not None
                   and pids <= {b.pid for b in f.backends}, 30, "every holder in a frame")
        frame = newest(store)
        assert frame.status == "up"  # the recorder's own connection was made before
        assert frame.figures["connections"]["total"] >= len(pids)
        for conn in held:
            conn.close()
        assert rec.stop() == 0


def test_a_stalled_server_is_recorded_down_and_the_recorder_goes_on(pg, tmp_path: Path) -> None:
    store = tmp_path / "rec.sqlite"
    with TcpProxy(pg.port) as proxy:
        dsn = pg.dsn(user=MONITOR_ROLE, port=proxy.port)
        args = ["--dsn", dsn, "--store", str(store), "--interval", "0.3"]
        with recording(args, tmp_path) as rec:
            wait_until(lambda: (f := newest(store)) and f.status == "up", 30, "an up frame")
            proxy.stall()
            wait_until(lambda: (f := newest(store)) and f.status == "down", 60, "a down frame")
            down = newest(store)
            assert down.figures["error"]["kind"] == "timeout" and down.backends is None
            proxy.resume()
            wait_until(lambda: (f := newest(store)) and f.status == "up", 60, "up again")
            assert rec.stop() == 0
        assert not rec.saying("cannot write")
