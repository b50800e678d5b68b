"""Offline is normal: the ops database stopped, or black-holed by a proxy, mid-incident."""

from __future__ import annotations

from typing import Any

import pytest
from support.share_hosts import Host, wait_until

from warroom.drill.proxy import DelayProxy
from warroom.sessions.share.sharer import Sharer
from warroom.sessions.store import Store


def _sharer(host: Host, dsn: str) -> Sharer:
    store = Store.open(host.session())
    return Sharer(store, dsn, host=host.name, author=host.author, poll=0.5).start()


def _texts(host: Host) -> list[str]:
    return [e.text for e in host.incident().timeline]


def _converged(a: Host, b: Host, want: set[str]) -> bool:
    ta, tb = _texts(a), _texts(b)
    return want <= set(ta) and sorted(ta) == sorted(tb)


def _offline_writes(a: Host, b: Host, label: str) -> set[str]:
    want: set[str] = set()
    for host in (a, b):
        for i in range(3):
            text = f"{label} {host.name} {i}"
            result = host.run("note", text, timeout=20)  # bounded: never hangs on the network
            assert result.returncode == 0
            assert "will be shared when" in result.stderr, result.stderr
            assert result.stderr.startswith("warroom: warning: note ")
            want.add(text)
    return want


def test_ops_database_stopped_then_started(shared: tuple[Host, Host, str], ops: Any) -> None:
    a, b, _ = shared
    sharers = [_sharer(a, ops.dsn()), _sharer(b, ops.dsn())]
    try:
        a.run("note", "before the outage")
        ops.stop()
        want = _offline_writes(a, b, "offline")
        wait_until(lambda: "unreachable" in sharers[0].status().text, 10, "indicator")
        ops.start()
        wait_until(lambda: _converged(a, b, want | {"before the outage"}), 10, "union")
        wait_until(lambda: sharers[0].status().text == "shared", 10, "indicator back")
    finally:
        for s in sharers:
            s.stop()
    for host in (a, b):
        ids = [e.id for e in host.incident().timeline]
        assert len(ids) == len(set(ids))
    assert [e.id for e in a.entries()] == [e.id for e in b.entries()]


@pytest.fixture
def proxy(ops: Any) -> Any:
    with DelayProxy(ops.port) as p:
        yield p


def test_ops_database_black_holed(ops: Any, hosts: Any, proxy: DelayProxy) -> None:
    dsn = f"host=127.0.0.1 port={proxy.port} dbname=postgres user=postgres"
    a, b = hosts("hostA"), hosts("hostB")
    a.run("share", "init", "--share", dsn)
    path = a.run("new", "--share", dsn, "--title", "held").stdout.strip()
    b.run("join", Store.open(path).incident.id, "--share", dsn)
    sharers = [_sharer(a, dsn), _sharer(b, dsn)]
    try:
        proxy.stall()  # connections stay open, nothing comes back
        want = _offline_writes(a, b, "held")
        wait_until(lambda: "unreachable" in sharers[1].status().text, 15, "indicator")
        proxy.resume()
        wait_until(lambda: _converged(a, b, want), 10, "union")
    finally:
        for s in sharers:
            s.stop()
    assert [e.id for e in a.entries()] == [e.id for e in b.entries()]
