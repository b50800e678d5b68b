"""A throwaway PgBouncer in front of a test cluster: own ini, own loopback port, trust auth.

PgBouncer refuses to run as root, so when we are root it runs as the ``postgres`` system user
(``subprocess`` switches user directly; no runuser in between, so the pid we hold is
PgBouncer's own and SIGSTOP/SIGTERM reach it). The auth file lists user names with empty
secrets: with ``auth_type = trust`` nothing is checked, and nothing secret is ever written.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from psycopg.conninfo import make_conninfo

from support.pgcluster import PgCluster, free_port
from warroom.drill.sandbox import clean_env

ADMIN_USER = "postgres"  # in admin_users: may run SHOW on the console
PLAIN_USER = "app"  # known to PgBouncer but neither admin nor stats user
POOL_DB = "app"  # the pooled database name clients use


class BouncerUnavailable(RuntimeError):
    """No pgbouncer binary on this machine."""


def find_pgbouncer() -> str:
    found = shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if os.access("/usr/sbin/pgbouncer", os.X_OK) else None
    )
    if not found:
        raise BouncerUnavailable("no pgbouncer binary on PATH or in /usr/sbin")
    return found


class PgBouncer:
    def __init__(
        self,
        cluster: PgCluster,
        *,
        pool_size: int = 2,
        pool_mode: str = "transaction",
        max_client_conn: int = 50,
        stats_period: int = 1,
    ) -> None:
        self.binary = find_pgbouncer()
        self.cluster = cluster
        self.base = Path(tempfile.mkdtemp(prefix="warroom-bouncer-"))
        self.port = free_port()
        self.log_file = self.base / "pgbouncer.log"
        self._user: str | None = None
        if os.geteuid() == 0:
            self._user = "postgres"
            pw = pwd.getpwnam("postgres")
            os.chown(self.base, pw.pw_uid, pw.pw_gid)
        (self.base / "users.txt").write_text(f'"{ADMIN_USER}" ""\n"{PLAIN_USER}" ""\n')
        self.settings = {
            "pool_size": pool_size,
            "pool_mode": pool_mode,
            "max_client_conn": max_client_conn,
            "stats_period": stats_period,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def _write_ini(self) -> None:
        s = self.settings
        ini = f"""
[databases]
{POOL_DB} = host=127.0.0.1 port={self.cluster.port} dbname=postgres user=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port}
unix_socket_dir =
auth_type = trust
auth_file = {self.base / "users.txt"}
admin_users = {ADMIN_USER}
pool_mode = {s["pool_mode"]}
default_pool_size = {s["pool_size"]}
max_client_conn = {s["max_client_conn"]}
stats_period = {s["stats_period"]}
logfile = {self.log_file}
"""
        (self.base / "pgbouncer.ini").write_text(ini)

    def start(self, timeout: float = 15.0) -> PgBouncer:
        if self.proc is not None and self.proc.poll() is None:
            return self
        self._write_ini()
        self.proc = subprocess.Popen(
            [self.binary, str(self.base / "pgbouncer.ini")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            user=self._user,
            group=self._user,
            extra_groups=[] if self._user else None,
            cwd=self.base,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"pgbouncer exited ({self.proc.returncode}): {self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"pgbouncer did not listen within {timeout}s: {self.log_tail()}")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # a stopped process cannot act on SIGTERM
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def pause_process(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume_process(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def dsn(self, user: str = ADMIN_USER, dbname: str = POOL_DB, **extra: str | int) -> str:
        params: dict[str, str | int] = {
            "host": "127.0.0.1", "port": self.port, "user": user, "dbname": dbname
        }
        params.update(extra)
        return make_conninfo(**params)

    def admin_dsn(self, user: str = ADMIN_USER) -> str:
        return self.dsn(user=user, dbname="pgbouncer")

    @contextlib.contextmanager
    def pgbench(
        self, clients: int, sleep_s: float, application: str
    ) -> Iterator[subprocess.Popen[bytes]]:
        """pgbench through this PgBouncer: ``clients`` sessions, each transaction a sleep.

        pgbench (a client nobody here wrote) keeps every client busy; with more clients than
        the pool has server connections, the rest queue in PgBouncer. ``PGAPPNAME`` names
        them, as a service sets its application_name.
        """
        exe = self.cluster.bin_dir / "pgbench"
        if not exe.exists():
            raise BouncerUnavailable(f"no pgbench beside {self.cluster.bin_dir}")
        script = self.base / f"sleep-{clients}.sql"
        script.write_text(f"SELECT pg_sleep({sleep_s});\n")
        proc = subprocess.Popen(
            [str(exe), "-h", "127.0.0.1", "-p", str(self.port), "-U", ADMIN_USER, "-n",
             "-c", str(clients), "-T", "600", "-f", str(script), POOL_DB],
            env={**clean_env(), "PGAPPNAME": application},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            yield proc
        finally:
            proc.terminate()
            proc.wait(timeout=30)

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> PgBouncer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
