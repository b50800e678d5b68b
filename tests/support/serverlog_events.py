"""Real events for the server-log tests and bench: refused connects, wrong passwords, a kill,
timeouts and a deadlock, each provoked on a real server and finished (the server has logged it)
before the next starts, so the log holds them in this order."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import psycopg

from support.pgcluster import APP_ROLE, PASSWORD_ROLE, PgCluster

REFUSED_APP = "orders-svc"


def try_connect(cluster: PgCluster, user: str, app: str, **extra: str | int) -> bool:
    """One connect attempt over TCP; False when the server turned it away."""
    try:
        psycopg.connect(cluster.dsn(user=user, application_name=app, connect_timeout=10,
                                    **extra)).close()  # fmt: skip
    except psycopg.OperationalError:
        return False
    return True


@contextlib.contextmanager
def server_full(cluster: PgCluster) -> Iterator[int]:
    """Fill every slot (ordinary ones as APP_ROLE, reserved ones as postgres), yielding how many
    attempts were refused meanwhile: 1 as APP_ROLE (ordinary slots gone), 1 as postgres."""
    held: list[psycopg.Connection[tuple[object, ...]]] = []
    refused = 0
    try:
        for user in (APP_ROLE, "postgres"):
            while True:
                try:
                    held.append(psycopg.connect(cluster.dsn(
                        user=user, application_name=REFUSED_APP if user == APP_ROLE
                        else "filler", connect_timeout=10)))  # fmt: skip
                except psycopg.OperationalError:
                    refused += 1
                    break
                if len(held) > 1000:
                    raise AssertionError("the server never refused a connection")
        yield refused
    finally:
        for conn in held:
            conn.close()


def wrong_password(cluster: PgCluster, app: str = "bad-pw") -> None:
    ok = try_connect(cluster, PASSWORD_ROLE, app, password="not-" + cluster.password)
    assert not ok, "a wrong password was accepted"


def terminate(cluster: PgCluster, app: str = "doomed") -> None:
    victim = psycopg.connect(cluster.dsn(user=APP_ROLE, application_name=app), autocommit=True)
    try:
        pid = victim.info.backend_pid
        with cluster.connect() as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        # The backend logs its FATAL before it exits: gone from the view means logged.
        cluster.wait_for(f"SELECT count(*) FROM pg_stat_activity WHERE pid = {pid}", 0)
    finally:
        victim.close()


def statement_timeout(cluster: PgCluster, app: str = "slow-report") -> None:
    with psycopg.connect(cluster.dsn(user=APP_ROLE, application_name=app),
                         autocommit=True) as conn:  # fmt: skip
        conn.execute("SET statement_timeout = '50ms'")
        try:
            conn.execute("SELECT pg_sleep(5)")
        except psycopg.errors.QueryCanceled:
            return
    raise AssertionError("the statement did not time out")


def _table(cluster: PgCluster) -> None:
    with cluster.connect() as admin:
        admin.execute("CREATE TABLE IF NOT EXISTS serverlog_t (id int PRIMARY KEY)")
        admin.execute("INSERT INTO serverlog_t VALUES (1), (2) ON CONFLICT DO NOTHING")
        admin.execute(f'GRANT ALL ON serverlog_t TO "{APP_ROLE}"')


def lock_timeout(cluster: PgCluster, app: str = "migrator") -> None:
    _table(cluster)
    with cluster.connect(autocommit=False) as holder:
        holder.execute("LOCK TABLE serverlog_t IN ACCESS EXCLUSIVE MODE")
        with psycopg.connect(cluster.dsn(user=APP_ROLE, application_name=app),
                             autocommit=True) as conn:  # fmt: skip
            conn.execute("SET lock_timeout = '50ms'")
            try:
                conn.execute("SELECT * FROM serverlog_t")
            except psycopg.errors.LockNotAvailable:
                return
    raise AssertionError("the lock did not time out")


def deadlock(cluster: PgCluster, app: str = "transfers") -> None:
    """Two transactions that lock rows 1 and 2 in opposite orders: one is chosen to die."""
    _table(cluster)
    a = psycopg.connect(cluster.dsn(user=APP_ROLE, application_name=app))
    b = psycopg.connect(cluster.dsn(user=APP_ROLE, application_name=app))
    errors: list[BaseException] = []

    def second() -> None:
        try:
            b.execute("SELECT * FROM serverlog_t WHERE id = 1 FOR UPDATE")
        except psycopg.errors.DeadlockDetected as exc:
            errors.append(exc)
        b.rollback()

    try:
        a.execute("SELECT * FROM serverlog_t WHERE id = 1 FOR UPDATE")
        b.execute("SELECT * FROM serverlog_t WHERE id = 2 FOR UPDATE")
        waiter = threading.Thread(target=second)
        waiter.start()
        cluster.wait_for("SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = "
                         "'transactionid'", 1)  # fmt: skip
        try:
            a.execute("SELECT * FROM serverlog_t WHERE id = 2 FOR UPDATE")
        except psycopg.errors.DeadlockDetected as exc:
            errors.append(exc)
        a.rollback()
        waiter.join(timeout=30)
    finally:
        a.close()
        b.close()
    assert len(errors) == 1, errors
