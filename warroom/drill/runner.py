"""One drill run: the sandbox, its schema and roles, the decoy proxy, the load generators, the
scenario's clock, and the fixes it offers. ``close()`` takes all of it down; safe to call twice
and from any thread (a signal's fallback may race the normal exit).

Knows nothing of Textual: the dashboard sees a drill only through ``name`` and ``actions()``.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from psycopg import sql
from psycopg.conninfo import make_conninfo

import warroom
from warroom.drill.proxy import DelayProxy
from warroom.drill.sandbox import (
    Sandbox,
    SandboxUnavailable,
    clean_env,
    clean_leftovers,
    default_marker_dir,
    find_bin_dir,
)
from warroom.drill.scenarios import Scenario, ServiceSpec

MAX_CONNECTIONS = 50
DBNAME = "shop"
MONITOR_ROLE = "warroom_monitor"
APP_ROLE = "shop"
SPEED_ENV = "WARROOM_DRILL_SPEED"
APM_SLOW_FACTOR = 5.0  # the services' own monitoring pages at p95 this many times normal...
APM_SLOW_MIN_MS = 10.0  # ...and at least this slow
APM_BASELINE_REQUESTS = 20  # requests seen before "normal" is known
APM_QUIET_READS = 3  # status reads (about 1 s apart) without trouble before it clears
NORMAL_WAIT_S = 15.0  # longest the clock waits for the services to show their normal latency


def speed_from_env(given: float | None = None) -> float:
    """``--speed`` if given, else $WARROOM_DRILL_SPEED, else 1; clamped to 0.1..100."""
    raw: Any = given if given is not None else os.environ.get(SPEED_ENV) or 1.0
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{SPEED_ENV} must be a number, not {raw!r}") from None
    if not value > 0:
        raise ValueError("the drill speed must be more than 0")
    return min(max(value, 0.1), 100.0)


@dataclass(frozen=True, slots=True)
class Action:
    """A key the drill adds to the dashboard; ``run`` returns what it did, for the timeline."""

    key: str
    label: str
    help: str
    run: Callable[[], str]


class LoadGen:
    """One load generator process, steered over its stdin, reporting on its stdout."""

    def __init__(self, spec: ServiceSpec, dsn: str, *, max_seconds: float, log: Path) -> None:
        self.spec = spec
        self.latest: dict[str, Any] = {}
        self._lock = threading.Lock()
        env = clean_env()
        # The child imports warroom from wherever we were imported, installed or not.
        root = str(Path(warroom.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH", "")]))
        cmd = [
            sys.executable, "-m", "warroom.drill.loadgen", "--dsn", dsn, "--app", spec.app,
            "--request", spec.request, "--pool", str(spec.pool), "--think", str(spec.think),
            "--leak", str(spec.leak), "--on-kill", spec.on_kill,
            "--max-seconds", str(max_seconds),
        ]  # fmt: skip
        with open(log, "ab") as err:
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, env=env,
                text=True, bufsize=1,
            )  # fmt: skip
        threading.Thread(target=self._read, name=f"loadgen-{spec.app}", daemon=True).start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        out: IO[str] | None = self.proc.stdout
        if out is None:
            return
        with contextlib.suppress(OSError, ValueError):
            for line in out:
                with contextlib.suppress(ValueError):
                    status = json.loads(line)
                    if isinstance(status, dict):
                        with self._lock:
                            self.latest = status

    def status(self) -> dict[str, Any]:
        with self._lock:
            return dict(self.latest)

    def send(self, command: dict[str, Any]) -> None:
        stdin = self.proc.stdin
        if stdin is None:
            return
        with self._lock, contextlib.suppress(OSError, ValueError):
            stdin.write(json.dumps(command) + "\n")
            stdin.flush()

    def stop(self) -> None:
        # Closing stdin asks it to leave; it also leaves when it sees us gone.
        with contextlib.suppress(OSError, ValueError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
        with contextlib.suppress(OSError, ValueError):
            if self.proc.stdout is not None:
                self.proc.stdout.close()


class Apm:
    """One service's alerting: latency and connection failures, raised once, cleared once."""

    def __init__(self, service: str, normal_p95: float | None = None) -> None:
        self.service = service
        self.slow = False
        self.failing = False
        self._quiet_slow = 0
        self._quiet_failing = 0
        self._refused = 0
        # "Normal" measured before the scenario's first step; a service idle then (the locks
        # drill's batch job) learns it from its first busy reads instead.
        self._p95_base: float | None = normal_p95

    def update(self, status: dict[str, Any]) -> list[str]:
        if not status:
            return []
        out: list[str] = []
        p95 = status.get("p95_ms")
        refused = int(status.get("refused") or 0)
        new_refusals, self._refused = refused - self._refused, refused
        if isinstance(p95, (int, float)):
            if self._p95_base is None:
                if int(status.get("requests") or 0) < APM_BASELINE_REQUESTS:
                    return out
                self._p95_base = p95
            if p95 >= max(self._p95_base * APM_SLOW_FACTOR, APM_SLOW_MIN_MS):
                self._quiet_slow = 0
                if not self.slow:
                    self.slow = True
                    out.append(f"{self.service}: p95 request latency {p95:.0f} ms "
                               f"(normal {self._p95_base:.1f} ms)")
            elif self.slow:
                self._quiet_slow += 1
                if self._quiet_slow >= APM_QUIET_READS:
                    self.slow = False
                    out.append(f"{self.service}: request latency back to normal "
                               f"(p95 {p95:.1f} ms)")
        if new_refusals > 0:
            self._quiet_failing = 0
            if not self.failing:
                self.failing = True
                out.append(f"{self.service}: requests failing: the database refuses new "
                           f"connections ({new_refusals} refused in the last second)")
        elif self.failing:
            self._quiet_failing += 1
            if self._quiet_failing >= APM_QUIET_READS:
                self.failing = False
                out.append(f"{self.service}: requests succeeding again")
        return out


class DrillRun:
    """Start with ``start()`` (or ``with``), open the dashboard, then ``begin()`` the clock."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        speed: float = 1.0,
        marker_dir: Path | None = None,
        max_seconds: float = 3600.0,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.scenario = scenario
        self.name = scenario.name
        self.speed = speed
        self.marker_dir = marker_dir or default_marker_dir()
        self.max_seconds = max_seconds
        self.progress = progress or (lambda line: None)
        self.sandbox: Sandbox | None = None
        self.proxy: DelayProxy | None = None
        self.services: dict[str, LoadGen] = {}
        self.done_steps: list[str] = []
        self.problems: list[str] = []
        self._stop = threading.Event()
        self._close_lock = threading.Lock()
        self._closed = False
        self._script: threading.Thread | None = None
        self.normal_p95: dict[str, float] = {}
        self._normal_known = threading.Event()

    # -- bring up ----------------------------------------------------------------------------

    def start(self) -> DrillRun:
        for line in clean_leftovers(self.marker_dir):
            self.progress(f"cleaned up after an earlier demo: {line}")
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def _start(self) -> None:
        self.sandbox = Sandbox(
            max_connections=MAX_CONNECTIONS,
            prefix="warroom-demo-",
            marker_dir=self.marker_dir,
            extra_conf={"max_parallel_workers_per_gather": 0, "log_min_messages": "fatal",
                        **_statements_conf()},
        )
        self.progress(
            f"starting a sandbox PostgreSQL ({self.sandbox.source} binaries in "
            f"{self.sandbox.bin_dir}) on 127.0.0.1:{self.sandbox.port}"
        )
        self.sandbox.start()
        self._bootstrap()
        self.proxy = DelayProxy(self.sandbox.port)
        app_dsn = self.sandbox.dsn(user=APP_ROLE, dbname=DBNAME)
        log_dir = self.sandbox.base
        for spec in self.scenario.services:
            gen = LoadGen(
                spec, app_dsn, max_seconds=self.max_seconds, log=log_dir / f"{spec.app}.log"
            )
            self.services[spec.app] = gen
            self.sandbox.add_helper(gen.pid)

    def _bootstrap(self) -> None:
        assert self.sandbox is not None
        with self.sandbox.connect() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DBNAME)))
            # The monitor is what a real one should be: not a superuser, so a storm refuses
            # its probe like anyone else's; allowed to read activity and signal backends.
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(MONITOR_ROLE)))
            conn.execute(
                sql.SQL("GRANT pg_monitor, pg_signal_backend TO {}").format(
                    sql.Identifier(MONITOR_ROLE)
                )
            )
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(APP_ROLE)))
        with self.sandbox.connect(dbname=DBNAME) as conn:
            if _statements_conf():
                # The statement findings read it; the drill's server is ours to configure.
                conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            for statement in self.scenario.setup:
                conn.execute(statement)  # type: ignore[arg-type]
            conn.execute(
                sql.SQL("GRANT ALL ON ALL TABLES IN SCHEMA public TO {}").format(
                    sql.Identifier(APP_ROLE)
                )
            )

    @property
    def monitor_dsn(self) -> str:
        """The monitor's way in: through the decoy proxy, as the monitoring role."""
        assert self.proxy is not None
        return make_conninfo(
            host="127.0.0.1", port=self.proxy.port, user=MONITOR_ROLE, dbname=DBNAME
        )

    @property
    def server_port(self) -> int:
        """The sandbox server's own port: where the services connect (not through the proxy)."""
        assert self.sandbox is not None
        return self.sandbox.port

    def intro(self) -> str:
        assert self.sandbox is not None
        return (
            f"drill '{self.name}' started on a sandbox PostgreSQL (127.0.0.1:{self.sandbox.port},"
            f" max_connections {MAX_CONNECTIONS}); the load is fake, this record is real"
        )

    # -- the scenario's clock -----------------------------------------------------------------

    def begin(self) -> None:
        """Start the scenario's clock (call when the dashboard is up)."""
        if self._script is None:
            self._script = threading.Thread(target=self._run_script, name="drill-script",
                                            daemon=True)
            self._script.start()

    def _learn_normal(self) -> None:
        """Read each busy service's p95 before anything goes wrong: the APM pages relative to it.

        Taking it later races the first step (at high ``--speed`` the first read could already
        include the trouble and set "normal" so high that nothing ever pages).
        """
        deadline = time.monotonic() + NORMAL_WAIT_S
        busy = {name for name, gen in self.services.items() if gen.spec.pool > 0}
        while busy and time.monotonic() < deadline:
            for name in sorted(busy):
                status = self.services[name].status()
                p95 = status.get("p95_ms")
                if int(status.get("requests") or 0) >= APM_BASELINE_REQUESTS and isinstance(
                    p95, (int, float)
                ):
                    self.normal_p95[name] = float(p95)
                    busy.discard(name)
            if busy and self._stop.wait(0.1):
                break
        self._normal_known.set()

    def _run_script(self) -> None:
        self._learn_normal()
        t0 = time.monotonic()
        for step in sorted(self.scenario.steps, key=lambda s: s.at):
            if self._stop.wait(max(0.0, t0 + step.at / self.speed - time.monotonic())):
                return
            try:
                step.run(self)
                self.done_steps.append(step.what)
            except Exception as exc:  # a failed step is reported, the drill goes on
                self.problems.append(f"{step.what}: {exc}")

    def watch_services(self, alert: Callable[[str, str], None]) -> None:
        """Play the services' own monitoring (APM): ``alert(service, text)`` on each change.

        What the generators measure (request latency, refused connections) is what their users
        feel; a real incident is usually detected there, before anyone opens a database tool.
        """
        thread = threading.Thread(
            target=self._watch, args=(alert,), name="drill-apm", daemon=True
        )
        thread.start()

    def _watch(self, alert: Callable[[str, str], None]) -> None:
        while not self._normal_known.wait(0.2):
            if self._stop.is_set():
                return
        apms = {name: Apm(name, self.normal_p95.get(name)) for name in self.services}
        while not self._stop.wait(1.0):
            for name, apm in apms.items():
                for text in apm.update(self.services[name].status()):
                    try:
                        alert(name, text)
                    except Exception as exc:  # the record refused it: keep the drill going
                        self.problems.append(f"APM alert not recorded: {exc}")

    def actions(self) -> list[Action]:
        return [
            Action(fix.key, fix.label, fix.help, lambda fix=fix: fix.run(self))
            for fix in self.scenario.fixes
        ]

    # -- Controls (what scenarios call) -------------------------------------------------------

    def send(self, service: str, command: dict[str, Any]) -> None:
        self.services[service].send(command)

    def set_delay(self, seconds: float) -> None:
        if self.proxy is not None:
            self.proxy.set_delay(seconds)

    def execute(self, statement: str) -> None:
        assert self.sandbox is not None
        with self.sandbox.connect(dbname=DBNAME) as conn:
            conn.execute(statement)  # type: ignore[arg-type]

    def status(self, service: str) -> dict[str, Any]:
        return self.services[service].status()

    # -- take down ----------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the clock, the generators, the proxy and the server; delete the sandbox."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
            self._stop.set()
            for gen in self.services.values():
                with contextlib.suppress(Exception):
                    gen.stop()
            if self.proxy is not None:
                self.proxy.close()
            if self.sandbox is not None:
                self.sandbox.cleanup()

    @property
    def closed(self) -> bool:
        return self._closed

    def pids(self) -> list[int]:
        """Every process this run started that may still be alive (for tests and cleanup)."""
        found = [gen.pid for gen in self.services.values()]
        if self.sandbox is not None and self.sandbox.pid is not None:
            found.append(self.sandbox.pid)
        return found

    def __enter__(self) -> DrillRun:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _statements_conf() -> dict[str, str]:
    """Preload pg_stat_statements when the server binaries ship it (the pgserver wheel may not)."""
    try:
        bin_dir = find_bin_dir()
    except SandboxUnavailable:
        return {}
    candidates = [bin_dir.parent / "lib" / "pg_stat_statements.so",
                  bin_dir.parent / "lib" / "postgresql" / "pg_stat_statements.so"]
    if any(p.exists() for p in candidates):
        return {"shared_preload_libraries": "pg_stat_statements"}
    return {}


