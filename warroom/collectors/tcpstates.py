"""TCP sockets to one port, counted by state, without walking every process's file descriptors.

``psutil.net_connections`` maps each socket to its pid by reading every ``/proc/*/fd``: costly
on a busy database host and pointless here. On Linux we read ``/proc/net/tcp`` and ``tcp6``
directly (one pass over the kernel's socket table); elsewhere we fall back to psutil.

A connection between two local endpoints appears twice in the socket table (client side and
server side); it is counted once. Listening sockets are not connections and are not counted.

Reading the table costs the kernel a walk of its whole connection hash (about 10 ms on a
machine with 262,144 buckets, however few sockets it holds); ``socket_totals`` is the
kernel's own running count of the host's TCP sockets (``/proc/net/sockstat``, microseconds),
which says whether a new walk can show anything new.
"""

from __future__ import annotations

import functools
import ipaddress
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import psutil

# Kernel state numbers (include/net/tcp_states.h), named as psutil names them.
_STATES = {
    "01": "ESTABLISHED",
    "02": "SYN_SENT",
    "03": "SYN_RECV",
    "04": "FIN_WAIT1",
    "05": "FIN_WAIT2",
    "06": "TIME_WAIT",
    "07": "CLOSE",
    "08": "CLOSE_WAIT",
    "09": "LAST_ACK",
    "0A": "LISTEN",
    "0B": "CLOSING",
    "0C": "SYN_RECV",  # NEW_SYN_RECV: a request socket, shown as SYN_RECV like ss does
}

_PROC_TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))
_SOCKSTATS = (Path("/proc/net/sockstat"), Path("/proc/net/sockstat6"))

# (local address, local port, remote address, remote port, state)
Socket = tuple[str, int, str, int, str]


@functools.lru_cache(maxsize=4096)  # a host's sockets share a few addresses
def _address(hex_addr: str) -> str:
    """``0100007F`` -> ``127.0.0.1``; IPv4-mapped IPv6 is folded to IPv4 so both ends match."""
    raw = bytes.fromhex(hex_addr)
    # The kernel prints each 32-bit word in host (little-endian on every Linux we run on) order.
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    if len(words) == 4:
        return str(ipaddress.IPv4Address(words))
    addr = ipaddress.IPv6Address(words)
    return str(addr.ipv4_mapped or addr)


def _parse_proc(lines: Iterable[str], port: int | None = None) -> Iterator[Socket]:
    """The table's sockets; with ``port``, only those that may have it at either end (the
    rest, thousands of TIME_WAITs on a busy host, skipped unparsed)."""
    needle = f":{port:04X} " if port is not None else None
    for line in lines:
        if needle is not None and needle not in line:
            continue
        parts = line.split()
        # "sl local_address rem_address st ..." header, and any malformed line, are skipped.
        if len(parts) < 4 or ":" not in parts[1] or parts[0] == "sl":
            continue
        local_addr, _, local_port = parts[1].rpartition(":")
        remote_addr, _, remote_port = parts[2].rpartition(":")
        try:
            yield (
                _address(local_addr),
                int(local_port, 16),
                _address(remote_addr),
                int(remote_port, 16),
                _STATES.get(parts[3].upper(), "NONE"),
            )
        except ValueError:
            continue


def _proc_sockets(port: int | None = None) -> list[Socket] | None:
    found: list[Socket] = []
    read_any = False
    for table in _PROC_TABLES:
        try:
            with table.open() as handle:
                found.extend(_parse_proc(handle, port))
            read_any = True
        except OSError:
            continue
    return found if read_any else None


def _psutil_sockets() -> list[Socket]:
    found: list[Socket] = []
    for conn in psutil.net_connections(kind="tcp"):
        if not conn.laddr:
            continue
        raddr = conn.raddr or ("", 0)
        found.append((str(conn.laddr[0]), int(conn.laddr[1]), str(raddr[0]), int(raddr[1]),
                      conn.status))  # fmt: skip
    return found


def count_by_state(sockets: Iterable[Socket], port: int) -> dict[str, int]:
    """Connections with ``port`` at either end, by state, each local pair counted once."""
    server_side: set[tuple[str, int, str, int]] = set()
    client_side: list[Socket] = []
    counts: Counter[str] = Counter()
    seen: set[tuple[str, int, str, int]] = set()
    for sock in sockets:
        local_addr, local_port, remote_addr, remote_port, state = sock
        if state == "LISTEN":
            continue
        # /proc/net/tcp is printed a chunk per read(), not as one snapshot: a busy host's
        # sockets moving between hash buckets meanwhile may be listed twice. One socket per
        # pair of ends.
        ends = (local_addr, local_port, remote_addr, remote_port)
        if ends in seen:
            continue
        seen.add(ends)
        if local_port == port:
            server_side.add((local_addr, local_port, remote_addr, remote_port))
            counts[state] += 1
        elif remote_port == port:
            client_side.append(sock)
    for local_addr, local_port, remote_addr, remote_port, state in client_side:
        # The same connection seen from the server's end is already counted.
        if (remote_addr, remote_port, local_addr, local_port) not in server_side:
            counts[state] += 1
    return dict(sorted(counts.items()))


def socket_totals() -> int | None:
    """The host's TCP sockets in use plus those in TIME_WAIT (IPv4 and IPv6), as the kernel
    keeps count of them; None where there is no /proc (a walk of the table is then the only
    way to know)."""
    total = 0
    for table in _SOCKSTATS:
        try:
            text = table.read_text()
        except OSError:
            if table is _SOCKSTATS[0]:
                return None
            continue  # no IPv6
        for line in text.splitlines():
            # "TCP: inuse 12 orphan 0 tw 3 alloc 14 mem 1" / "TCP6: inuse 2"
            name, _, rest = line.partition(":")
            if name in ("TCP", "TCP6"):
                words = rest.split()
                figures = dict(zip(words[::2], words[1::2], strict=False))
                try:
                    total += int(figures.get("inuse", 0)) + int(figures.get("tw", 0))
                except ValueError:
                    return None
    return total


def tcp_by_state(port: int) -> dict[str, int]:
    """TCP connections to or from ``port`` on this host, by state (``ESTABLISHED``: 12, ...)."""
    sockets = _proc_sockets(port)
    if sockets is None:
        sockets = _psutil_sockets()
    return count_by_state(sockets, port)
