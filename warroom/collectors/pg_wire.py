"""libpq driven in non-blocking mode with our own deadline on every wait.

Server-side timeouts cannot help when the server does not answer at all (a SIGSTOPped backend,
a network path that silently drops packets): a blocking libpq call would wait forever. So we
drive libpq through psycopg's documented low-level ``psycopg.pq`` layer and wait on the socket
ourselves with ``poll`` until a deadline, in short slices so a stop request is seen at once.
libpq still does everything about the connection string: DSN or URI, PG* variables, .pgpass,
service files, multiple hosts.
"""

from __future__ import annotations

import ctypes
import functools
import select
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
from psycopg import pq

from warroom.collectors import pg_failures
from warroom.collectors.sample import Failure, FailureKind

_SLICE = 0.05  # seconds between checks of the stop flag while waiting on a socket


class WireError(Exception):
    """A typed failure; ``broken`` means the connection is unusable and must be discarded."""

    def __init__(self, failure: Failure, *, broken: bool) -> None:
        super().__init__(failure.message)
        self.failure = failure
        self.broken = broken


class Stopped(Exception):
    """The owner asked us to stop (collector closing) while we were waiting."""


@functools.cache
def _set_error_verbosity() -> Callable[[int, int], int] | None:
    """PQsetErrorVerbosity from the libpq psycopg actually uses, or None.

    psycopg does not expose it, yet only verbose mode puts the SQLSTATE in *connection* errors
    (53300 during a storm, 57P03 while stopping). We only ever call into the very library that
    psycopg loaded (found in this process's memory map), never a look-alike.
    """
    try:
        if pq.__impl__ == "python":
            from psycopg.pq import _pq_ctypes

            lib = _pq_ctypes.pq
        else:
            lib = ctypes.CDLL(_loaded_libpq(binary=pq.__impl__ == "binary"))
        fn = lib.PQsetErrorVerbosity
        fn.argtypes = [ctypes.c_void_p, ctypes.c_int]
        fn.restype = ctypes.c_int
        return fn  # type: ignore[no-any-return]
    except Exception:
        return None


def _loaded_libpq(*, binary: bool) -> str:
    paths = set()
    for line in Path("/proc/self/maps").read_text().splitlines():
        parts = line.split(maxsplit=5)
        path = parts[5] if len(parts) == 6 else ""
        name = Path(path).name
        if name.startswith("libpq") and ".so" in name and ("psycopg_binary" in path) == binary:
            paths.add(path)
    if len(paths) != 1:
        raise LookupError(f"cannot tell which libpq is loaded: {sorted(paths)}")
    return paths.pop()


def _verbose(pgconn: pq.PGconn) -> None:
    fn = _set_error_verbosity()
    ptr = pgconn.pgconn_ptr
    if fn is not None and ptr:
        fn(ptr, 2)  # PQERRORS_VERBOSE


def wait_fd(fd: int, writing: bool, deadline: float, stop: threading.Event | None) -> bool:
    """Wait for ``fd``; False when the deadline passed first. Raises Stopped on request."""
    poller = select.poll()
    poller.register(fd, select.POLLOUT if writing else select.POLLIN)
    while True:
        if stop is not None and stop.is_set():
            raise Stopped
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        if poller.poll(min(remaining, _SLICE) * 1000.0):
            return True


def connect(
    conninfo: str, deadline: float, stop: threading.Event | None = None
) -> pq.PGconn:
    """A new connection in non-blocking mode, or WireError (typed) by the deadline."""
    pgconn = pq.PGconn.connect_start(conninfo.encode())
    try:
        _verbose(pgconn)
        if pgconn.status == pq.ConnStatus.BAD:
            raise WireError(_conn_failure(pgconn), broken=True)
        while True:
            status = pgconn.connect_poll()
            if status == pq.PollingStatus.OK:
                break
            if status == pq.PollingStatus.FAILED:
                raise WireError(_conn_failure(pgconn), broken=True)
            writing = status == pq.PollingStatus.WRITING
            if not wait_fd(pgconn.socket, writing, deadline, stop):
                raise WireError(
                    Failure(FailureKind.TIMEOUT, "no answer from the server while connecting"),
                    broken=True,
                )
        pgconn.nonblocking = 1
        return pgconn
    except BaseException:
        pgconn.finish()
        raise


def _conn_failure(pgconn: pq.PGconn) -> Failure:
    return pg_failures.from_libpq_message(pgconn.get_error_message())


def execute(
    pgconn: pq.PGconn,
    send: Callable[[pq.PGconn], None],
    deadline: float,
    stop: threading.Event | None = None,
) -> list[pq.PGresult]:
    """Send with ``send(pgconn)`` and collect every result, all by ``deadline``.

    A server error (SQLSTATE) raises WireError with ``broken`` only if the connection died;
    a missed deadline or a lost socket always breaks it: the reply may still arrive later and
    would be read as the answer to our next question.
    """
    try:
        send(pgconn)
        while pgconn.flush():
            if not wait_fd(pgconn.socket, True, deadline, stop):
                raise _timeout()
        results: list[pq.PGresult] = []
        while True:
            pgconn.consume_input()
            if pgconn.is_busy():
                if not wait_fd(pgconn.socket, False, deadline, stop):
                    raise _timeout()
                continue
            res = pgconn.get_result()
            if res is None:
                break
            results.append(res)
    except psycopg.OperationalError as exc:
        raise WireError(pg_failures.from_libpq_message(str(exc)), broken=True) from None
    for res in results:
        if res.status in (pq.ExecStatus.FATAL_ERROR, pq.ExecStatus.BAD_RESPONSE):
            raise WireError(_result_failure(res), broken=pgconn.status != pq.ConnStatus.OK)
    return results


def _timeout() -> WireError:
    return WireError(
        Failure(FailureKind.TIMEOUT, "the server did not answer within the sample budget"),
        broken=True,
    )


def _result_failure(res: pq.PGresult) -> Failure:
    def field(code: pq.DiagnosticField) -> str:
        raw = res.error_field(code)
        return raw.decode("utf-8", "replace") if raw else ""

    sqlstate = field(pq.DiagnosticField.SQLSTATE) or None
    message = field(pq.DiagnosticField.MESSAGE_PRIMARY) or res.get_error_message().decode(
        "utf-8", "replace"
    )
    return pg_failures.from_sqlstate(sqlstate, message)


def value(res: pq.PGresult, row: int = 0, col: int = 0) -> str | None:
    raw = res.get_value(row, col)
    return None if raw is None else raw.decode("utf-8")
