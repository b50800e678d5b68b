"""TCP sockets to one port from the kernel's sock_diag netlink interface (Linux), filtered there.

``/proc/net/tcp`` makes the kernel print every socket of the host as text (a few microseconds
each: 10 ms for a host with a few thousand sockets, most of the host pane's cost); asked over
netlink with a filter on the port, the kernel sends only the sockets to that port, in binary.
Any failure (not Linux, a kernel without the filter's operations, a sandbox without netlink)
returns None and the caller reads ``/proc`` as before.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
INET_DIAG_REQ_BYTECODE = 1
BC_JMP, BC_S_EQ, BC_D_EQ = 1, 11, 12
TCP_LISTEN = 10
# Every state but LISTEN (a listening socket is not a connection): the listening table is not
# walked at all. Bits are 1 << state, ESTABLISHED (1) to NEW_SYN_RECV (12).
STATES = ((1 << 13) - 1) & ~(1 << TCP_LISTEN) & ~1

_HEADER = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, seq, pid
_REQUEST = struct.Struct("=BBBBI")  # inet_diag_req_v2 up to the socket id (48 bytes of zeros)
_MSG = struct.Struct("=BBBB")  # inet_diag_msg: family, state, timer, retrans; then the id
_ID = struct.Struct("!HH16s16s")  # sport, dport (network order), source, destination
_SOCKID_LEN = 48

# (local address, local port, remote address, remote port, kernel state number)
Row = tuple[str, int, str, int, int]


def _filter(port: int) -> bytes:
    """Bytecode for "source port is ``port`` or destination port is ``port``" (as ss builds
    it: a jump past the end rejects, running exactly to the end accepts)."""
    op = struct.Struct("=BBH")
    return b"".join((
        op.pack(BC_S_EQ, 8, 12), op.pack(0, 0, port),  # match: on to the jump; else to D_EQ
        op.pack(BC_JMP, 4, 12),  # a source match jumps to the end: accepted
        op.pack(BC_D_EQ, 8, 12), op.pack(0, 0, port),  # match: the end; else past it
    ))  # fmt: skip


def _request(family: int, port: int) -> bytes:
    bytecode = _filter(port)
    attr = struct.pack("=HH", 4 + len(bytecode), INET_DIAG_REQ_BYTECODE) + bytecode
    body = _REQUEST.pack(family, socket.IPPROTO_TCP, 0, 0, STATES) + bytes(_SOCKID_LEN) + attr
    return _HEADER.pack(_HEADER.size + len(body), SOCK_DIAG_BY_FAMILY,
                        NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + body  # fmt: skip


def _address(family: int, raw: bytes) -> str:
    if family == socket.AF_INET:
        return str(ipaddress.IPv4Address(raw[:4]))
    addr = ipaddress.IPv6Address(raw)
    return str(addr.ipv4_mapped or addr)  # folded, so both ends of a local pair match


def _dump(family: int, port: int) -> list[Row]:
    rows: list[Row] = []
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG) as nl:
        nl.settimeout(2.0)  # the kernel answers at once; never hang the host poller
        nl.sendall(_request(family, port))
        while True:
            data = nl.recv(65536)
            if not data:
                raise OSError("sock_diag: the kernel closed the socket")
            offset = 0
            while offset + _HEADER.size <= len(data):
                length, kind, _, _, _ = _HEADER.unpack_from(data, offset)
                if length < _HEADER.size:
                    raise OSError("sock_diag: a malformed reply")
                body = offset + _HEADER.size
                if kind == NLMSG_DONE:
                    return rows
                if kind == NLMSG_ERROR:
                    (code,) = struct.unpack_from("=i", data, body)
                    raise OSError(-code, os.strerror(-code))
                got_family, state, _, _ = _MSG.unpack_from(data, body)
                sport, dport, src, dst = _ID.unpack_from(data, body + _MSG.size)
                rows.append((_address(got_family, src), sport, _address(got_family, dst),
                             dport, state))  # fmt: skip
                offset += (length + 3) & ~3


def sockets_to(port: int) -> list[Row] | None:
    """TCP sockets with ``port`` at either end (IPv4 and IPv6), LISTEN left out; None when
    the kernel cannot be asked this way."""
    if not hasattr(socket, "AF_NETLINK"):
        return None
    rows: list[Row] = []
    try:
        for family in (socket.AF_INET, socket.AF_INET6):
            rows.extend(_dump(family, port))
    except (OSError, struct.error, ValueError):
        return None
    return rows
