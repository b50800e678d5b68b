"""The recorder's incident opener on real session files and the alert engine's own events: a
new incident after the last was resolved, the session `watch` resumes without --session, and
the frames saved (or not) when `warroom status resolved` runs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_helpers import run_warroom

from warroom.collectors.alerts import AlertEngine
from warroom.collectors.sample import Failure, FailureKind, PgSample
from warroom.errors import UserError
from warroom.notify import worker
from warroom.recording.opener import IncidentOpener, alert_breach, for_watch
from warroom.sessions.model import Incident, Source, Status, Target
from warroom.sessions.store import Store, load

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
SERVERS = {"db1:5432": ("host=db1 port=5432 user=warroom password=s3cret", ""),
           "db2:5432": ("host=db2 port=5432 user=warroom", "")}  # fmt: skip


@pytest.fixture
def quiet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No [[notify]] destinations; the sessions directory is the test's."""
    (tmp_path / "config.toml").write_text("")
    monkeypatch.setenv("WARROOM_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("WARROOM_HOME", str(tmp_path / "incidents"))
    worker.reset()
    yield tmp_path / "incidents"
    worker.reset()


class Server:
    """One server's alert engine fed down and up samples, as the recorder's sampler feeds it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.engine = AlertEngine()
        self.i = 0

    def sample(self, up: bool) -> list:  # type: ignore[type-arg]
        self.i += 1
        at = T0 + timedelta(seconds=self.i)
        if up:
            sample = PgSample(at=at, status="up")
        else:
            sample = PgSample(at=at, status="down",
                              error=Failure(FailureKind.UNREACHABLE, "no route to host"))
        events = self.engine.evaluate(sample)
        since = {a.rule: a.since for a in self.engine.active()}
        return [alert_breach(self.name, e, since.get(e.rule)) for e in events]


def opener(home: Path, lines: list[str]) -> IncidentOpener:
    return IncidentOpener("critical", SERVERS, lambda *_: [], 1800.0, lines.append, home)


def resolve(path: Path) -> None:
    store = Store.open(path)
    store.update(lambda inc: inc.status_change("resolved", T0 + timedelta(hours=1), "me",
                                               Source.CLI))  # fmt: skip


def test_a_breach_after_the_incident_was_resolved_opens_a_new_one(quiet: Path) -> None:
    lines: list[str] = []
    db1 = Server("db1:5432")
    rec = opener(quiet, lines)
    rec.feed(db1.sample(up=False))  # unreachable: critical
    [first] = list(quiet.glob("*.toml"))
    incident = load(first).incident
    assert incident.title.startswith("db1:5432: database unreachable")
    assert "s3cret" not in first.read_text() and "host=db1" in incident.target.dsn
    for _ in range(5):
        rec.feed(db1.sample(up=True))  # cleared: on the same timeline
    assert len(load(first).incident.timeline) == 2
    resolve(first)
    rec.feed(db1.sample(up=False))
    assert len(list(quiet.glob("*.toml"))) == 2  # resolved: the next breach is a new incident
    assert len(load(first).incident.timeline) == 3  # the resolution, nothing of the new breach
    assert sum("opened incident" in line for line in lines) == 2


def test_an_unwritable_sessions_directory_is_a_log_line_and_the_next_breach_tries_again(
    quiet: Path,
) -> None:
    lines: list[str] = []
    quiet.parent.joinpath("blocked").write_text("a file where the directory would be")
    db1 = Server("db1:5432")
    rec = opener(quiet.parent / "blocked" / "incidents", lines)
    rec.feed(db1.sample(up=False))
    assert len(lines) == 1 and lines[0].startswith("db1:5432: incident not written: ")
    rec.directory = quiet
    for _ in range(5):
        rec.feed(db1.sample(up=True))
    rec.feed(db1.sample(up=False))
    assert len(list(quiet.glob("*.toml"))) == 1


def test_watch_without_a_session_resumes_the_recorders_only_open_incident(quiet: Path) -> None:
    Store.create(quiet / "by-hand.toml", Incident.create("opened by hand", T0,
                                                         target=Target("host=db1 port=5432")))
    assert for_watch([], [], []) is None  # not the recorder's: watch opens a new one, as before
    rec = opener(quiet, [])
    rec.feed(Server("db1:5432").sample(up=False))
    [db1] = rec.opened
    assert for_watch([], [], []) == db1
    assert for_watch(["host=db1 port=5432"], [], []) == db1
    assert for_watch(["host=db3 port=5432"], [], []) is None  # another server: a new incident
    rec.feed(Server("db2:5432").sample(up=False))
    db2 = rec.opened[1]
    with pytest.raises(UserError, match="2 incidents opened by the recorder are unresolved"):
        for_watch([], [], [])
    assert for_watch(["host=db2 port=5432"], [], []) == db2
    resolve(db2)
    assert for_watch([], [], []) == db1


def test_a_restarted_opener_lands_on_the_incident_it_opened(quiet: Path) -> None:
    first = opener(quiet, [])
    first.feed(Server("db1:5432").sample(up=False))
    lines: list[str] = []
    again = opener(quiet, lines)  # a new process: it knows only the sessions directory
    again.resume()
    again.feed(Server("db1:5432").sample(up=False))
    [path] = list(quiet.glob("*.toml"))
    assert any(f"incident {path} is open" in line for line in lines)
    # A recorder of [[targets]] names its server "primary"; the record says host:port.
    named = IncidentOpener("critical", {"primary": SERVERS["db1:5432"]}, lambda *_: [], 1800.0,
                           lines.append, quiet)  # fmt: skip
    named.resume()
    assert any(f"primary: incident {path} is open" in line for line in lines)
    assert len(load(path).incident.timeline) == 2 and load(path).incident.status is \
        Status.INVESTIGATING


def test_status_resolved_without_a_recorder_is_silent_and_a_broken_store_one_line(
    tmp_path: Path,
) -> None:
    home = tmp_path / "incidents"
    env = {"XDG_STATE_HOME": str(tmp_path / "state"),
           "WARROOM_CONFIG": str(tmp_path / "config.toml")}  # fmt: skip
    (tmp_path / "config.toml").write_text("")
    for broken in (False, True):
        out = run_warroom("new", "--title", "slow checkout", home=home, env=env, check=True)
        session = Path(out.stdout.strip())
        if broken:
            store = tmp_path / "state" / "warroom" / "recorder.sqlite"
            store.parent.mkdir(parents=True, exist_ok=True)
            store.write_text("not a recorder's store")
        out = run_warroom("status", "resolved", home=home, env=env)
        assert out.returncode == 0
        assert load(session).incident.status is Status.RESOLVED
        assert not session.with_name(session.stem + ".frames.sqlite").exists()
        if not broken:
            assert out.stderr == ""  # no recorder on this host: nothing to say
        else:
            lines = out.stderr.splitlines()
            assert len(lines) == 1 and lines[0].startswith("warroom: warning: frames not saved")


def test_resolving_from_the_dashboard_saves_the_frames_and_a_failure_is_a_timeline_note(
    pg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dashboard's writes go through its Recorder thread, as `watch` wires them."""
    from support.polling import wait_until

    from recording.recorder_process import frame_count, monitor_dsn, recording
    from warroom.recording.at_resolve import keep_frames, timeline_note
    from warroom.sessions.model import Kind
    from warroom.sessions.mutations import Mutation
    from warroom.sessions.recorder import Recorder as SessionRecorder
    from warroom.sessions.times import utcnow

    dsn = monitor_dsn(pg)
    store = tmp_path / "state" / "warroom" / "recorder.sqlite"  # the default place
    (tmp_path / "config.toml").write_text("")
    monkeypatch.setenv("WARROOM_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    started = utcnow()
    with recording(["--dsn", dsn, "--interval", "0.2"], tmp_path) as rec:
        wait_until(lambda: frame_count(store) >= 3, 30, "3 frames")
        assert rec.stop() == 0
    for broken in (False, True):
        path = tmp_path / f"{'broken' if broken else 'kept'}.toml"
        session = Store.create(path, Incident.create("orders pool", started,
                                                     target=Target(dsn=dsn)))  # fmt: skip
        writer = SessionRecorder(session)
        saver = keep_frames(session, timeline_note(writer))
        if broken:
            store.rename(store.with_name("moved.sqlite"))
            store.write_text("not a recorder's store")
        writer.mutate(Mutation.status("resolved", utcnow(), "me", Source.MANUAL)).result(10)
        saver.wait(30)
        frames = path.with_name(path.stem + ".frames.sqlite")
        if not broken:
            assert frames.is_file()
        else:
            assert not frames.exists()
            wait_until(lambda p=path: any(e.kind is Kind.NOTE and "frames not saved" in e.text
                                          for e in load(p).incident.timeline),
                       10, "the note")  # fmt: skip
        writer.close()
        assert load(path).incident.status is Status.RESOLVED


def test_the_unit_opens_incidents_where_responders_can_find_them(tmp_path: Path) -> None:
    from recording.recorder_process import recording

    dsn = "host=db1 port=5433 user=warroom password=s3cret-Pw dbname=orders"
    with recording(["--dsn", dsn, "--open-incident-on", "critical", "--unit"], tmp_path) as rec:
        out, _ = rec.proc.communicate(timeout=30)
    assert rec.proc.returncode == 0 and "s3cret" not in out
    assert "Environment=WARROOM_HOME=/var/lib/warroom/incidents" in out
    (start,) = [line for line in out.splitlines() if line.startswith("ExecStart=")]
    assert start.endswith('"--open-incident-on" "critical"')


@pytest.mark.parametrize(
    ("args", "config", "message"),
    [
        (["--open-incident-on", "loud"], "", "--open-incident-on: invalid choice: 'loud'"),
        ([], '[record]\nopen_incident_on = "loud"\n',
         "record.open_incident_on: expected one of critical, warning"),
    ],
)
def test_a_bad_level_is_one_line(
    tmp_path: Path, args: list[str], config: str, message: str
) -> None:
    from recording.recorder_process import recording

    with recording(["--dsn", "host=db1", *args], tmp_path, config) as rec:
        code = rec.proc.wait(timeout=30)
        rec._reader.join(timeout=5)
    assert code != 0 and len(rec.lines) == 1 and message in rec.lines[0]
    assert rec.lines[0].startswith("warroom")
