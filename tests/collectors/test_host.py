"""Host figures from the real machine, and real TCP sockets counted against a port."""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest

from warroom.collectors.host import HostCollector
from warroom.collectors.tcpstates import count_by_state


def _ephemeral_low() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


@contextmanager
def listener(family: int = socket.AF_INET, host: str = "127.0.0.1") -> Iterator[socket.socket]:
    """A listening socket on a port below the ephemeral range. Counting is by port at either end
    (as for a database's 5432), and another process's outgoing connection may be given an
    ephemeral port equal to ours (on another address or family), which a parallel test run met."""
    server = socket.socket(family, socket.SOCK_STREAM)
    try:
        low = _ephemeral_low()
        for port in random.sample(range(max(1024, low - 12000), low), 200):
            try:
                server.bind((host, port))
                break
            except OSError:
                continue
        else:
            server.bind((host, 0))
        server.listen(16)
        yield server
    finally:
        server.close()


def connect_clients(stack: ExitStack, server: socket.socket, n: int) -> list[socket.socket]:
    """``n`` client sockets, each accepted by the server; both ends held open by ``stack``."""
    addr = server.getsockname()
    clients = []
    for _ in range(n):
        client = stack.enter_context(socket.socket(server.family, socket.SOCK_STREAM))
        client.connect(addr[:2])
        accepted, _ = server.accept()
        stack.enter_context(accepted)
        clients.append(client)
    return clients


def test_figures_are_in_range() -> None:
    collector = HostCollector()
    sample = collector.sample()
    assert sample.error is None
    for value in (sample.cpu_percent, sample.mem_percent, sample.swap_percent):
        assert value is not None and 0.0 <= value <= 100.0
    assert sample.load is not None and all(x >= 0.0 for x in sample.load)
    assert sample.mem_percent is not None and sample.mem_percent > 0.0
    # No port given: no TCP scan at all.
    assert sample.tcp_by_state == {} and sample.tcp_at is None


def test_cpu_percent_covers_the_time_since_the_last_sample() -> None:
    collector = HostCollector()
    collector.sample()
    deadline = time.monotonic() + 0.3
    while time.monotonic() < deadline:  # keep one core busy between two samples
        pass
    busy = collector.sample().cpu_percent
    assert busy is not None and busy > 0.0


def test_connections_to_the_db_port_by_state() -> None:
    with listener() as server, ExitStack() as stack:
        port = server.getsockname()[1]
        collector = HostCollector(db_port=port, tcp_every=0)
        # Listening alone is not a connection.
        assert collector.sample().tcp_by_state == {}
        connect_clients(stack, server, 3)
        # Both ends of each loopback connection are on this host; each counts once.
        sample = collector.sample()
        assert sample.tcp_by_state == {"ESTABLISHED": 3}
        assert sample.tcp_total == 3
        assert sample.tcp_at == sample.at
        # Connections on another port are not ours.
        with listener() as other, ExitStack() as elsewhere:
            connect_clients(elsewhere, other, 2)
            assert collector.sample().tcp_by_state == {"ESTABLISHED": 3}


def test_closed_connections_show_their_state() -> None:
    with listener() as server, ExitStack() as stack:
        port = server.getsockname()[1]
        collector = HostCollector(db_port=port, tcp_every=0)
        clients = connect_clients(stack, server, 4)
        clients[0].close()  # the client hangs up; the server end has not read the FIN yet
        deadline = time.monotonic() + 5
        counts: dict[str, int] = {}
        while time.monotonic() < deadline:
            counts = collector.sample().tcp_by_state
            if counts == {"CLOSE_WAIT": 1, "ESTABLISHED": 3}:
                break
            time.sleep(0.01)
        assert counts == {"CLOSE_WAIT": 1, "ESTABLISHED": 3}


def test_ipv6_loopback_connections_count_too() -> None:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback: {exc}")
    with listener(socket.AF_INET6, "::1") as server, ExitStack() as stack:
        connect_clients(stack, server, 2)
        collector = HostCollector(db_port=server.getsockname()[1], tcp_every=0)
        assert collector.sample().tcp_by_state == {"ESTABLISHED": 2}


def test_tcp_scan_is_rate_limited() -> None:
    with listener() as server, ExitStack() as stack:
        collector = HostCollector(db_port=server.getsockname()[1], tcp_every=3600)
        first = collector.sample()
        connect_clients(stack, server, 2)
        second = collector.sample()
        # Within tcp_every the last counts are repeated, with the time they were taken.
        assert second.tcp_by_state == first.tcp_by_state == {}
        assert second.tcp_at == first.at


def test_a_slow_tcp_scan_is_spaced_out_and_a_quick_one_is_not(monkeypatch) -> None:
    import warroom.collectors.host as host

    real = host.tcp_by_state

    def slow(port: int) -> dict[str, int]:
        time.sleep(0.03)  # a host whose socket table takes the kernel 30 ms to print
        return real(port)

    with listener() as server, ExitStack() as stack:
        port = server.getsockname()[1]
        monkeypatch.setattr(host, "tcp_by_state", slow)
        collector = HostCollector(db_port=port, tcp_every=0.01)
        first = collector.sample()
        connect_clients(stack, server, 2)
        time.sleep(0.05)  # well past tcp_every
        second = collector.sample()
        # 30 ms a scan: the next one waits until it costs at most a thousandth of the time.
        assert second.tcp_at == first.at and second.tcp_by_state == {}
        monkeypatch.setattr(host, "tcp_by_state", lambda port: {"ESTABLISHED": 2})
        quick = HostCollector(db_port=port, tcp_every=0.01)
        before = quick.sample()
        time.sleep(0.05)
        after = quick.sample()
        assert after.tcp_at is not None and before.tcp_at is not None
        assert after.tcp_at > before.tcp_at


def sample_after(collector: HostCollector, since: float, seconds: float):
    """A sample once ``seconds`` have passed since ``since`` (time.monotonic())."""
    while time.monotonic() - since < seconds:
        time.sleep(0.02)
    return collector.sample()


def test_past_tcp_every_a_scan_follows_the_hosts_socket_totals(monkeypatch) -> None:
    import warroom.collectors.host as host

    # Real scans, not spaced by their cost (this machine's take ~10 ms: 10 s apart).
    monkeypatch.setattr(host, "TCP_SHARE", 1.0)
    with listener() as server, ExitStack() as stack:
        server.listen(128)
        collector = HostCollector(db_port=server.getsockname()[1], tcp_every=1.0)
        first = collector.sample()
        scanned = time.monotonic()
        assert first.tcp_by_state == {}
        # 100 connections are 200 sockets more on the host: more than its own churn.
        connect_clients(stack, server, 100)
        # Within tcp_every: the last counts, as before.
        assert collector.sample().tcp_by_state == {}
        # Past it (and long before the 4 x tcp_every a still host waits): scanned again.
        later = sample_after(collector, scanned, 1.05)
        assert later.tcp_by_state == {"ESTABLISHED": 100}
        assert later.tcp_at is not None and first.tcp_at is not None
        assert later.tcp_at > first.tcp_at


def test_a_still_host_is_scanned_every_four_tcp_every(monkeypatch) -> None:
    import warroom.collectors.host as host

    # A host whose socket totals do not move (this shared machine's never stay put).
    monkeypatch.setattr(host, "socket_totals", lambda: 1000)
    monkeypatch.setattr(host, "TCP_SHARE", 1.0)
    with listener() as server, ExitStack() as stack:
        collector = HostCollector(db_port=server.getsockname()[1], tcp_every=1.0)
        first = collector.sample()
        scanned = time.monotonic()
        connect_clients(stack, server, 2)
        # Past tcp_every, with the same totals: the walk of the table is saved.
        second = sample_after(collector, scanned, 1.05)
        assert second.tcp_by_state == {} and second.tcp_at == first.at
        # Four tcp_every on, it is taken whatever the totals say.
        third = sample_after(collector, scanned, 4.05)
        assert third.tcp_by_state == {"ESTABLISHED": 2}


def test_socket_totals_count_the_hosts_tcp_sockets() -> None:
    from warroom.collectors.tcpstates import socket_totals

    before = socket_totals()
    if before is None:
        pytest.skip("no /proc/net/sockstat on this platform")
    with listener() as server, ExitStack() as stack:
        server.listen(128)
        connect_clients(stack, server, 100)
        during = socket_totals()
        # Both ends of 100 loopback connections; the machine's own churn is far smaller.
        assert during is not None and during - before > 100


def test_count_by_state_for_remote_servers_and_local_pairs() -> None:
    db = 5432
    sockets = [
        ("0.0.0.0", db, "0.0.0.0", 0, "LISTEN"),
        # Warroom on a bastion: client ends only, remote port is the DB port.
        ("10.0.0.5", 40001, "10.0.0.9", db, "ESTABLISHED"),
        ("10.0.0.5", 40002, "10.0.0.9", db, "SYN_SENT"),
        # A local app connected to a local server: both ends listed, one connection.
        ("127.0.0.1", 40003, "127.0.0.1", db, "ESTABLISHED"),
        ("127.0.0.1", db, "127.0.0.1", 40003, "ESTABLISHED"),
        # A remote client of a local server.
        ("10.0.0.9", db, "10.0.0.7", 51000, "TIME_WAIT"),
        # Unrelated traffic.
        ("10.0.0.5", 40004, "10.0.0.9", 443, "ESTABLISHED"),
    ]
    assert count_by_state(sockets, db) == {"ESTABLISHED": 2, "SYN_SENT": 1, "TIME_WAIT": 1}


def test_a_socket_listed_twice_by_a_torn_read_counts_once() -> None:
    # /proc/net/tcp is read a chunk at a time: on a busy host a socket can appear twice.
    client = ("127.0.0.1", 40001, "127.0.0.1", 5432, "ESTABLISHED")
    server = ("127.0.0.1", 5432, "127.0.0.1", 40001, "ESTABLISHED")
    other = ("127.0.0.1", 40002, "127.0.0.1", 5432, "ESTABLISHED")
    assert count_by_state([client, server, server, other, other, client], 5432) == {
        "ESTABLISHED": 2
    }
