"""What `warroom watch` writes before the dashboard opens: never a password."""

from __future__ import annotations

from pathlib import Path

import pytest

from warroom.dsn import DsnError
from warroom.dsn import without_password as redact
from warroom.sessions.store import load
from warroom.tui.launch import WatchOptions, open_store


def options(tmp_path: Path, dsn: str, **kw) -> WatchOptions:
    base = dict(dsn=dsn, session=tmp_path / "s.toml", title=None, interval=1.0,
                pgbouncer=None, author="ana")
    base.update(kw)
    return WatchOptions(**base)


@pytest.mark.parametrize(
    "dsn",
    [
        "host=db1 dbname=orders user=ops password=hunter2-secret",
        "postgresql://ops:hunter2-secret@db1:5432/orders",
        "postgresql://ops@db1/orders?password=hunter2-secret&sslmode=require",
    ],
)
def test_the_password_never_reaches_the_session_file(tmp_path: Path, dsn: str) -> None:
    store = open_store(options(tmp_path, dsn, pgbouncer=dsn.replace("orders", "pgbouncer")))
    text = store.path.read_text()
    assert "hunter2-secret" not in text
    target = load(store.path).incident.target
    assert "db1" in target.dsn and "ops" in target.dsn
    assert "password" not in target.dsn


def test_a_new_incident_is_named_after_the_database(tmp_path: Path) -> None:
    store = open_store(options(tmp_path, "host=db1 dbname=orders"))
    assert store.incident.title == "PostgreSQL incident on orders@db1"


def test_a_malformed_dsn_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DsnError) as caught:
        redact("host=db1 port")
    assert "connection string" in str(caught.value)
    assert "\n" not in str(caught.value)
