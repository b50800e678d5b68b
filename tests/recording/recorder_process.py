"""`warroom record` as a real process, its stderr read line by line as it comes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
from support.pgcluster import MONITOR_ROLE, PgCluster
from support.polling import wait_until

from warroom.recording.store import FrameStore, StoreError


class RecorderProcess:
    def __init__(self, args: list[str], home: Path, config: str = "") -> None:
        env = dict(os.environ)
        env.pop("WARROOM_DEBUG", None)
        (home / "config.toml").write_text(config)
        env.update({"WARROOM_CONFIG": str(home / "config.toml"),
                    "XDG_STATE_HOME": str(home / "state")})  # fmt: skip
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "warroom", "record", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def saying(self, text: str) -> list[str]:
        return [line for line in self.lines if text in line]

    def wait_line(self, text: str, timeout: float = 30.0) -> str:
        found: list[str] = wait_until(lambda: self.saying(text), timeout, f"a line with {text!r}")
        return found[0]

    def stop(self) -> int:
        """SIGTERM, as systemd stops it; the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=30)
        self._reader.join(timeout=5)
        return code

    def kill(self) -> None:
        self.proc.kill()  # SIGKILL: no handler, no flush
        self.proc.wait(timeout=30)


@contextlib.contextmanager
def recording(args: list[str], home: Path, config: str = "") -> Iterator[RecorderProcess]:
    rec = RecorderProcess(args, home, config)
    try:
        yield rec
    finally:
        if rec.proc.poll() is None:
            rec.proc.kill()
            rec.proc.wait(timeout=30)


def monitor_dsn(cluster: PgCluster) -> str:
    return cluster.dsn(user=MONITOR_ROLE)


def frame_count(store: Path) -> int:
    try:
        s = FrameStore(store, readonly=True)
    except StoreError:  # not there yet, or its schema not yet written
        return 0
    with s:
        return int(s._db.execute("SELECT count(*) FROM frames").fetchone()[0])


def samples_seen(cluster: PgCluster, count: int, timeout: float = 30.0) -> None:
    """Wait until the recorder's monitoring connection has run ``count`` more samples (each
    one starts a new query there): frames were taken, whatever happened to them."""
    seen: set[object] = set()

    def check() -> bool:
        with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
            row = conn.execute("SELECT max(query_start) FROM pg_stat_activity"
                               " WHERE application_name = 'warroom'").fetchone()  # fmt: skip
        if row and row[0] is not None:
            seen.add(row[0])
        return len(seen) > count

    wait_until(check, timeout, f"{count} samples by the recorder")
