"""A throwaway PostgreSQL cluster for tests and benchmarks: own data dir, socket dir and port.

initdb refuses to run as root, so when we are root every server binary runs as the ``postgres``
system user (``runuser``) and the temp dir is handed to that user. Everything listens on
127.0.0.1 only. Nothing here writes a password anywhere: the password role's secret lives in
memory (``PgCluster.password``) and reaches the server inside a SQL statement only.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Literal

import psycopg
from psycopg.conninfo import make_conninfo

MONITOR_ROLE = "warroom_monitor"  # non-superuser with pg_monitor: what a real monitor runs as
APP_ROLE = "app"  # ordinary non-superuser: fills slots in storm tests
PASSWORD_ROLE = "warroom_pw"  # the only role that must authenticate with a password

StopMode = Literal["smart", "fast", "immediate"]


class PgUnavailable(RuntimeError):
    """No usable PostgreSQL server binaries (or no way to run them) on this machine."""


def _version_key(path: Path) -> tuple[int, ...]:
    # /usr/lib/postgresql/15/bin -> (15,); unknown layouts sort first
    m = re.search(r"/postgresql/(\d+(?:\.\d+)*)/", str(path))
    return tuple(int(p) for p in m.group(1).split(".")) if m else (0,)


def find_bin_dir() -> Path:
    """The directory holding initdb/pg_ctl/postgres: PATH first, else the highest Debian version."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    candidates = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")]
    if not candidates:
        raise PgUnavailable("no PostgreSQL server binaries (initdb) on PATH or /usr/lib/postgresql")
    return max(candidates, key=_version_key)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_as() -> list[str]:
    """Prefix that runs a server binary as an unprivileged user when we are root."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise PgUnavailable("running as root and no 'postgres' user to run initdb") from exc
    runuser = shutil.which("runuser")
    if not runuser:
        raise PgUnavailable("running as root and runuser is missing")
    return [runuser, "-u", "postgres", "--"]


def _clean_env() -> dict[str, str]:
    # The caller's PG* variables must not steer the test server's tools.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    return env


class PgCluster:
    """One throwaway cluster. ``start()`` creates it on first use; ``cleanup()`` removes it."""

    def __init__(
        self,
        *,
        max_connections: int = 40,
        extra_conf: Mapping[str, str | int | float] | None = None,
        bin_dir: Path | None = None,
    ) -> None:
        self.bin_dir = bin_dir or find_bin_dir()
        self._prefix = _run_as()
        self.max_connections = max_connections
        self.extra_conf = dict(extra_conf or {})
        self.base = Path(tempfile.mkdtemp(prefix="warroom-pg-"))
        self.data_dir = self.base / "data"
        self.socket_dir = self.base / "sock"
        self.log_file = self.base / "server.log"
        self.port = free_port()
        # Random per cluster; held in memory only, handed to tests that exercise auth.
        self.password = secrets.token_urlsafe(16)
        self._initialised = False
        self._running = False
        if self._prefix:
            os.chown(self.base, pwd.getpwnam("postgres").pw_uid, pwd.getpwnam("postgres").pw_gid)

    # -- lifecycle -------------------------------------------------------------------------

    def _tool(
        self, name: str, *args: str, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        cmd = [*self._prefix, str(self.bin_dir / name), *args]
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env=_clean_env(), timeout=timeout, check=False
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"{name} failed ({proc.returncode}): {proc.stderr.strip()}\n{self.log_tail()}"
            )
        return proc

    def _initdb(self) -> None:
        if self._prefix:
            self._tool("initdb", "--version")  # proves runuser works before we create dirs
        self.socket_dir.mkdir()
        if self._prefix:
            pw = pwd.getpwnam("postgres")
            os.chown(self.socket_dir, pw.pw_uid, pw.pw_gid)
        self._tool(
            "initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=trust",
            "-E", "UTF8", "--no-locale", "--no-sync",
        )  # fmt: skip
        hba = (
            f"host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n"
            "local all all trust\n"
            "host all all 127.0.0.1/32 trust\n"
        )
        (self.data_dir / "pg_hba.conf").write_text(hba)
        with (self.data_dir / "postgresql.conf").open("a") as f:
            f.write("\ninclude_if_exists = 'warroom_test.conf'\n")
        self._initialised = True

    def _write_conf(self) -> None:
        conf: dict[str, str | int | float] = {
            "listen_addresses": "127.0.0.1",
            "port": self.port,
            "unix_socket_directories": str(self.socket_dir),
            "max_connections": self.max_connections,
            "superuser_reserved_connections": 3,
            "shared_buffers": "16MB",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_wal_senders": 0,
            "wal_level": "minimal",
            "log_min_messages": "warning",
            "logging_collector": "off",
        }
        conf.update(self.extra_conf)
        lines = []
        for key, value in conf.items():
            if isinstance(value, str):
                value = "'" + value.replace("'", "''") + "'"
            lines.append(f"{key} = {value}")
        (self.data_dir / "warroom_test.conf").write_text("\n".join(lines) + "\n")

    def start(self) -> PgCluster:
        if self._running:
            return self
        if not self._initialised:
            self._initdb()
        for attempt in range(3):
            self._write_conf()
            try:
                self._tool(
                    "pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log_file),
                    "-w", "-t", "60",
                )  # fmt: skip
                break
            except RuntimeError:
                # Someone may have taken our port between free_port() and the bind: try another.
                if attempt == 2 or "already in use" not in self.log_tail():
                    raise
                self.port = free_port()
        self._running = True
        self._bootstrap_roles()
        return self

    def _bootstrap_roles(self) -> None:
        with self.connect() as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_roles WHERE rolname = %s", (MONITOR_ROLE,)
            ).fetchone()
            if exists:
                return
            conn.execute(f'CREATE ROLE "{MONITOR_ROLE}" LOGIN')
            conn.execute(f'GRANT pg_monitor TO "{MONITOR_ROLE}"')
            conn.execute(f'CREATE ROLE "{APP_ROLE}" LOGIN')
            # The password travels in this statement only; log_statement is off.
            conn.execute(
                psycopg.sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    psycopg.sql.Identifier(PASSWORD_ROLE), psycopg.sql.Literal(self.password)
                )
            )

    def stop(self, mode: StopMode = "fast", *, wait: bool = True) -> None:
        """Stop the server. ``wait=False`` only asks (a smart stop then waits for clients)."""
        if not self._running:
            return
        flags = ["-w", "-t", "60"] if wait else ["-W"]
        self._tool("pg_ctl", "stop", "-D", str(self.data_dir), "-m", mode, *flags)
        self._running = False

    def restart(self, mode: StopMode = "fast") -> PgCluster:
        self.stop(mode)
        return self.start()

    def reload(self) -> None:
        self._tool("pg_ctl", "reload", "-D", str(self.data_dir))

    def cleanup(self) -> None:
        """Stop (immediately: nothing here is worth a checkpoint) and delete everything."""
        if self._running or self.pid is not None:
            self._running = True
            try:
                self.stop("immediate")
            except (RuntimeError, subprocess.TimeoutExpired):
                self._kill_postmaster()
            self._running = False
        shutil.rmtree(self.base, ignore_errors=True)

    def _kill_postmaster(self) -> None:
        pid = self.pid
        if not pid:
            return
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return
        if b"postgres" in cmdline:  # postmaster.pid may be stale and the pid reused
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def __enter__(self) -> PgCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    # -- facts -----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._running

    @property
    def pid(self) -> int | None:
        """The postmaster's pid, from postmaster.pid; None when the server is not running."""
        try:
            first = (self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0]
        except OSError:
            return None
        return int(first) if first.strip().isdigit() else None

    @property
    def version_num(self) -> int:
        with self.connect() as conn:
            return conn.info.server_version

    def dsn(self, user: str = "postgres", dbname: str = "postgres", **extra: str | int) -> str:
        """A libpq keyword DSN over TCP to 127.0.0.1 (trust auth except for PASSWORD_ROLE)."""
        params: dict[str, str | int] = {
            "host": "127.0.0.1", "port": self.port, "user": user, "dbname": dbname
        }
        params.update(extra)
        return make_conninfo(**params)

    def connect(
        self, user: str = "postgres", dbname: str = "postgres", *, autocommit: bool = True,
        **extra: str | int,
    ) -> psycopg.Connection[tuple[object, ...]]:  # fmt: skip
        return psycopg.connect(self.dsn(user, dbname, **extra), autocommit=autocommit)

    def backend_pids(self, application_name: str) -> list[int]:
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s ORDER BY pid",
                (application_name,),
            ).fetchall()
        return [int(r[0]) for r in rows]

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_for(self, sql: str, expected: object, timeout: float = 10.0) -> object:
        """Poll ``sql`` (first column, first row) until it equals ``expected`` or time runs out."""
        deadline = time.monotonic() + timeout
        value: object = None
        with self.connect() as conn:
            while time.monotonic() < deadline:
                row = conn.execute(sql).fetchone()  # type: ignore[arg-type]
                value = row[0] if row else None
                if value == expected:
                    return value
                time.sleep(0.02)
        raise AssertionError(f"{sql!r} gave {value!r}, expected {expected!r} within {timeout}s")


@contextlib.contextmanager
def running_cluster(**kwargs: object) -> Iterator[PgCluster]:
    cluster = PgCluster(**kwargs)  # type: ignore[arg-type]
    try:
        yield cluster.start()
    finally:
        cluster.cleanup()
