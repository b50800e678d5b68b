"""The watched server's cost of being recorded, against pg_activity's refresh.

Run: .venv/bin/python bench/bench_recorder_server.py [--quick] [--sizes 50,500,1000]
(prints figures; asserts nothing). pg_activity must be installed in the venv for its column
(`.venv/bin/pip install pg_activity`: a bench tool only, not a dependency of warroom).

A throwaway cluster with pg_stat_statements (track = all, planning tracked) and N client
backends, half of them running a query each second (a driver process). Each tool runs alone
for the same time at a 1 s refresh, under its own role, so the server's figures are its own:

* warroom's recorder (warroom record's loop in this process: the sample, the backends list,
  the statements window, the server log; frames to a SQLite file), as a pg_monitor role;
* pg_activity 3.x (--refresh 1, in a pseudo-terminal, as a superuser: how DBAs run it; its
  activity, waiting and blocking queries), its header's system info off.

Per frame (one recorder frame, one pg_activity refresh):
  exec ms   pg_stat_statements total_exec_time + total_plan_time of the role's statements
  cpu ms    user + system CPU of the role's server backends (/proc/PID/stat), which also
            counts parsing, sending rows and what pg_stat_statements does not see
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import shutil
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from bench_recorder import DRIVER
from support.pgcluster import MONITOR_ROLE, PgCluster

PGA_ROLE = "pga_bench"  # pg_activity's own role: its statements and backends apart
TICK = os.sysconf("SC_CLK_TCK")


def _backend_cpu_ms(pg: PgCluster, role: str) -> dict[int, float]:
    """CPU (ms) so far of each server backend of ``role``."""
    with pg.connect() as conn:
        pids = [r[0] for r in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE usename = %s", (role,)).fetchall()]  # fmt: skip
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) * 1000 / TICK  # utime + stime
    return out


def _statements(pg: PgCluster, role: str) -> tuple[float, int]:
    """(exec + plan ms, the most calls of any one statement) of ``role`` since the reset."""
    with pg.connect() as conn:
        row = conn.execute(
            "SELECT coalesce(sum(total_exec_time + total_plan_time), 0), coalesce(max(calls), 0)"
            " FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid"
            " WHERE r.rolname = %s", (role,)).fetchone()  # fmt: skip
    return float(row[0]), int(row[1])


def _top(pg: PgCluster, role: str, frames: int, count: int = 4) -> list[str]:
    """The role's costliest statements: ms per frame, calls per frame, the text's start."""
    with pg.connect() as conn:
        rows = conn.execute(
            "SELECT total_exec_time + total_plan_time, calls,"
            " regexp_replace(query, '\\s+', ' ', 'g')"
            " FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid"
            " WHERE r.rolname = %s ORDER BY 1 DESC LIMIT %s", (role, count)).fetchall()  # fmt: skip
    return [f"{ms / frames:8.2f} ms {calls / frames:4.1f}x  {text[:70]}"
            for ms, calls, text in rows]  # fmt: skip


def _reset(pg: PgCluster) -> None:
    with pg.connect() as conn:
        conn.execute("SELECT pg_stat_statements_reset()")


class Measure:
    """The role's server cost over a run: statements reset first, backends' CPU sampled at
    the end against what they had used when first seen."""

    def __init__(self, pg: PgCluster, role: str) -> None:
        self.pg, self.role = pg, role
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self._stop = threading.Event()
        self._watch = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        # Backends appear once the tool connects: each one's first reading is its baseline
        # (the connection's own start-up is not the refresh's cost).
        while not self._stop.wait(0.5):
            for pid, ms in _backend_cpu_ms(self.pg, self.role).items():
                self.first.setdefault(pid, ms)
                self.last[pid] = ms

    def __enter__(self) -> Measure:
        _reset(self.pg)
        self._watch.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._watch.join()

    def cpu_ms(self) -> float:
        return sum(self.last[p] - self.first[p] for p in self.last)


def recorder_run(pg: PgCluster, seconds: float, where: Path
                 ) -> tuple[float, float, int, list[str]]:  # fmt: skip
    from warroom.collectors.alerts import AlertConfig
    from warroom.collectors.headless import ServerLines
    from warroom.collectors.postgres import PostgresCollector
    from warroom.recording.recorder import Recorder
    from warroom.recording.retention import Retention
    from warroom.recording.sampler import ServerFrames

    dsn = pg.dsn(user=MONITOR_ROLE)
    alerts = AlertConfig()
    frames = ServerFrames(ServerLines(PostgresCollector(dsn, interval=1.0), None, "db1",
                                      alerts.findings, dsn), "db1", alerts)  # fmt: skip
    recorder = Recorder([frames], where / "bench.sqlite", Retention(), 1.0, lambda line: None)
    recorder.open_store()
    with Measure(pg, MONITOR_ROLE) as measure:
        stop = threading.Event()
        threading.Timer(seconds, stop.set).start()
        recorder.run(stop)
        exec_ms, _ = _statements(pg, MONITOR_ROLE)
        top = _top(pg, MONITOR_ROLE, max(1, recorder.written))
    return exec_ms, measure.cpu_ms(), recorder.written, top


def pg_activity_run(pg: PgCluster, seconds: float
                    ) -> tuple[float, float, int, list[str]] | None:  # fmt: skip
    tool = shutil.which("pg_activity", path=str(Path(sys.executable).parent))
    if tool is None:
        return None
    dsn = pg.dsn(user=PGA_ROLE)
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "200", "LINES": "60"}
    with Measure(pg, PGA_ROLE) as measure:
        pid, fd = pty.fork()
        if pid == 0:  # the child: pg_activity on a 200x60 pseudo-terminal
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 60, 200, 0, 0))
            os.execve(tool, [tool, "--refresh", "1", "--no-sys-info", dsn], env)
        drained = threading.Thread(target=_terminal, args=(fd,), daemon=True)
        drained.start()
        time.sleep(seconds)  # it refreshes on its own clock; the run is this long
        exec_ms, calls = _statements(pg, PGA_ROLE)
        top = _top(pg, PGA_ROLE, max(1, calls))
        os.write(fd, b"q")
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    return exec_ms, measure.cpu_ms(), calls, top


def _terminal(fd: int) -> None:
    """Reads what pg_activity draws, and answers its cursor-position queries as a terminal
    would (unanswered, it waits and never refreshes)."""
    try:
        while data := os.read(fd, 65536):
            for _ in range(data.count(b"\x1b[6n")):
                os.write(fd, b"\x1b[1;1R")
    except OSError:
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="15 s per run (else 40 s)")
    parser.add_argument("--sizes", default="50,500,1000")
    args = parser.parse_args()
    seconds = 15.0 if args.quick else 40.0
    sizes = [int(s) for s in args.sizes.split(",")]
    conf = {"shared_preload_libraries": "pg_stat_statements", "pg_stat_statements.track": "all",
            "pg_stat_statements.track_planning": "on", "max_locks_per_transaction": 128}
    print(f"server cost per frame at a 1 s refresh, {seconds:g} s per run, half the backends "
          "running a query each second")
    print(f"  {'backends':>8}  {'tool':<12} {'frames':>6}  {'exec ms':>8}  {'cpu ms':>7}")
    tops: list[tuple[str, list[str]]] = []
    with PgCluster(max_connections=max(sizes) + 40, extra_conf=conf) as pg, \
            tempfile.TemporaryDirectory() as tmp:  # fmt: skip
        with pg.connect() as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            conn.execute(f"CREATE ROLE {PGA_ROLE} LOGIN SUPERUSER")
        for n in sizes:
            driver = subprocess.Popen([sys.executable, "-c", DRIVER, pg.dsn(), str(n)],
                                      stdout=subprocess.PIPE, text=True)  # fmt: skip
            try:
                assert driver.stdout is not None and driver.stdout.readline().strip() == "ready"
                time.sleep(3)  # every backend through its first query
                exec_ms, cpu_ms, frames, top = recorder_run(pg, seconds, Path(tmp))
                print(f"  {n:>8}  {'recorder':<12} {frames:>6}  {exec_ms / frames:8.2f}  "
                      f"{cpu_ms / frames:7.2f}")  # fmt: skip
                tops.append((f"{n} backends, recorder", top))
                got = pg_activity_run(pg, seconds)
                if got is None:
                    print(f"  {n:>8}  pg_activity  (not installed: .venv/bin/pip install "
                          "pg_activity)")
                elif got[2]:
                    exec_ms, cpu_ms, refreshes, top = got
                    print(f"  {n:>8}  {'pg_activity':<12} {refreshes:>6}  "
                          f"{exec_ms / refreshes:8.2f}  {cpu_ms / refreshes:7.2f}")  # fmt: skip
                    tops.append((f"{n} backends, pg_activity", top))
            finally:
                driver.kill()
                driver.wait()
            with pg.connect() as conn:  # the driver's backends gone before the next size
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline and conn.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE backend_type ="
                        " 'client backend'").fetchone()[0] > 1:  # fmt: skip
                    time.sleep(0.2)

    print("the costliest statements per frame (exec + plan ms, calls per frame):")
    for title, lines in tops:
        print(f"  {title}:")
        for line in lines:
            print(f"    {line}")


if __name__ == "__main__":
    main()
