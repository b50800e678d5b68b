"""Requests aiohttp cannot parse, carrying the real token, against a running `warroom serve`.

aiohttp's default answer quotes the bad bytes in the body and logs a traceback quoting them
too, so an oversized ``Cookie`` or a long ``?token=`` URL put the token on the server's stderr.
Each request here is sent raw over a socket to 127.0.0.1; the answer must be a bare status,
the server must write nothing, and it must still serve an authorised viewer afterwards.
"""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.web import ServerProcess, cli_env

from warroom.web.access import COOKIE

TOKEN = "tok-hostile-0123456789abcdef"
T = TOKEN.encode()
OVER = b"x" * 9000  # past aiohttp's 8190-byte line and field limits

HOSTILE = {
    "oversized-cookie": b"GET / HTTP/1.1\r\nHost: a\r\nCookie: " + COOKIE.encode() + b"=" + T
    + b"; pad=" + OVER + b"\r\n\r\n",
    "long-url": b"GET /?token=" + T + b"&pad=" + OVER + b" HTTP/1.1\r\nHost: a\r\n\r\n",
    "junk-after-version": b"GET /?token=" + T + b" HTTP/1.1 junk\r\nHost: a\r\n\r\n",
    "nul-in-method": b"G\x00T /?token=" + T + b" HTTP/1.1\r\nHost: a\r\n\r\n",
    "bad-header-name": b"GET / HTTP/1.1\r\nHost: a\r\nX-" + T + b"\x01: y\r\n\r\n",
    "oversized-authorization": b"GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer " + T
    + b" " + OVER + b"\r\n\r\n",
    "too-many-headers": b"GET /?token=" + T + b" HTTP/1.1\r\nHost: a\r\n"
    + b"".join(b"X-%d: " % i + T + b"\r\n" for i in range(200)) + b"\r\n",
}


@pytest.fixture
def guarded(home: Path, session_file: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(["--session", str(session_file), "--token", TOKEN], cli_env(home))
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def _raw(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    """Send ``data`` and read until the server closes the connection (or the deadline)."""
    got = b""
    deadline = time.monotonic() + timeout
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        while time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
    return got


def _authorised_get(port: int) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/", headers={"Authorization": f"Bearer {TOKEN}"})
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def _stopped_output(server: ServerProcess) -> str:
    proc = server.proc
    assert proc is not None
    server.proc = None
    proc.terminate()
    out, err = proc.communicate(timeout=10)
    assert err == "", err  # not one line: a client cannot make the server write
    return out + "".join(server.first_lines)


@pytest.mark.parametrize("request_bytes", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_malformed_request_gets_a_bare_status_and_nothing_is_logged(
    guarded: ServerProcess, request_bytes: bytes
) -> None:
    answer = _raw(guarded.port, request_bytes)
    head, sep, body = answer.partition(b"\r\n\r\n")
    assert sep, answer[:200]
    status = int(head.split(b" ", 2)[1])
    assert status in (400, 414, 431), head
    assert body == b""
    assert T not in answer
    # The server is still there for the people it is meant for.
    code, page = _authorised_get(guarded.port)
    assert code == 200 and "orders DB refusing connections" in page
    assert TOKEN not in _stopped_output(guarded)


def test_a_client_sending_many_bad_requests_leaves_no_trace(guarded: ServerProcess) -> None:
    for _ in range(3):
        for request_bytes in HOSTILE.values():
            assert T not in _raw(guarded.port, request_bytes)
    code, _ = _authorised_get(guarded.port)
    assert code == 200
    assert TOKEN not in _stopped_output(guarded)
