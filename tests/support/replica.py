"""A streaming replica of a throwaway primary: ``pg_basebackup -R``, started as a second cluster
on its own port. Reusable: promotion tests here, replication lag tests later (several servers).

The primary must allow replication: make it with ``replication_conf()`` and ``REPLICATION_HBA``.
"""

from __future__ import annotations

import contextlib
import os
import pwd
from collections.abc import Iterator
from typing import Any

from support.pgcluster import PgCluster
from warroom.drill.sandbox import ConfValue, Sandbox

REPLICATION_HBA = ("host replication all 127.0.0.1/32 trust", "local replication all trust")


def replication_conf(**extra: ConfValue) -> dict[str, ConfValue]:
    # The sandbox defaults to wal_level=minimal and no WAL senders: fast, but no replicas.
    return {"wal_level": "replica", "max_wal_senders": 5, "hot_standby": "on", **extra}


class Replica(Sandbox):
    """A standby of ``primary``; ``start()`` takes the base backup on first use."""

    def __init__(self, primary: PgCluster, **kwargs: Any) -> None:
        conf = replication_conf(**kwargs.pop("extra_conf", {}))
        super().__init__(
            max_connections=primary.max_connections, extra_conf=conf,
            bin_dir=primary.bin_dir, prefix="warroom-replica-", **kwargs,
        )  # fmt: skip
        self.primary = primary

    def _initdb(self) -> None:
        self.socket_dir.mkdir()
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.socket_dir, pw.pw_uid, pw.pw_gid)
        self._tool(
            "pg_basebackup", "-D", str(self.data_dir), "-R", "-X", "stream", "--no-sync",
            "-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "postgres",
        )  # fmt: skip
        self._initialised = True

    def promote(self) -> None:
        self._tool("pg_ctl", "promote", "-D", str(self.data_dir), "-w", "-t", "60")


@contextlib.contextmanager
def replica_of(primary: PgCluster) -> Iterator[Replica]:
    replica = Replica(primary)
    try:
        yield replica.start()  # type: ignore[misc]
    finally:
        replica.cleanup()
