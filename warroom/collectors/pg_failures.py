"""Turn what libpq and the server say into a typed ``Failure``.

The server's SQLSTATE is the truth when we have it (query errors always carry it; connection
errors carry it when libpq is in verbose mode, see ``pg_wire``). Without it we fall back to the
server's standard English texts, and finally to "unreachable": a connection that failed without
the server saying why is, to the responder, a server they cannot reach.
"""

from __future__ import annotations

import re

from warroom.collectors.sample import Failure, FailureKind

_BY_SQLSTATE: dict[str, FailureKind] = {
    "53300": FailureKind.TOO_MANY_CONNECTIONS,
    "57P01": FailureKind.SHUTTING_DOWN,  # admin_shutdown: fast/immediate stop, terminate
    "57P02": FailureKind.SHUTTING_DOWN,  # crash_shutdown: another backend crashed
    "57P03": FailureKind.SHUTTING_DOWN,  # cannot_connect_now: starting, stopping, recovering
    "28P01": FailureKind.AUTH,
    "28000": FailureKind.AUTH,
    "42501": FailureKind.PERMISSION,
    "57014": FailureKind.TIMEOUT,  # query_canceled: our statement_timeout fired
    "55P03": FailureKind.TIMEOUT,  # lock_not_available: our lock_timeout fired
}

_BY_CLASS: dict[str, FailureKind] = {
    "08": FailureKind.UNREACHABLE,  # connection exception
    "28": FailureKind.AUTH,
    "57": FailureKind.SHUTTING_DOWN,
}

# Server texts for when libpq did not give us the SQLSTATE (non-verbose libpq, older servers).
_BY_TEXT: tuple[tuple[str, FailureKind, str | None], ...] = (
    ("too many clients", FailureKind.TOO_MANY_CONNECTIONS, "53300"),
    ("connection slots are reserved", FailureKind.TOO_MANY_CONNECTIONS, "53300"),
    ("the database system is shutting down", FailureKind.SHUTTING_DOWN, "57P03"),
    ("the database system is starting up", FailureKind.SHUTTING_DOWN, "57P03"),
    ("the database system is in recovery mode", FailureKind.SHUTTING_DOWN, "57P03"),
    ("not yet accepting connections", FailureKind.SHUTTING_DOWN, "57P03"),
    ("password authentication failed", FailureKind.AUTH, "28P01"),
    ("no pg_hba.conf entry", FailureKind.AUTH, "28000"),
    ("no password supplied", FailureKind.AUTH, None),
    ("permission denied", FailureKind.PERMISSION, "42501"),
    ("timeout expired", FailureKind.TIMEOUT, None),
)

# libpq's verbose form: "FATAL:  53300: sorry, too many clients already\nLOCATION:  ..."
_VERBOSE = re.compile(r"\b(?:FATAL|ERROR|PANIC):\s+([0-9A-Z]{5}):\s+")
_LOCATION = re.compile(r"\n?LOCATION:[^\n]*")


def kind_for_sqlstate(sqlstate: str) -> FailureKind:
    return _BY_SQLSTATE.get(sqlstate) or _BY_CLASS.get(sqlstate[:2]) or FailureKind.OTHER


def from_sqlstate(sqlstate: str | None, message: str) -> Failure:
    if not sqlstate:
        return from_libpq_message(message)
    return Failure(kind_for_sqlstate(sqlstate), tidy(message), sqlstate)


def from_libpq_message(message: str) -> Failure:
    """Classify a connection-level error message (what PQerrorMessage returns)."""
    m = _VERBOSE.search(message)
    if m:
        return Failure(kind_for_sqlstate(m.group(1)), tidy(message), m.group(1))
    lowered = message.lower()
    for needle, kind, sqlstate in _BY_TEXT:
        if needle in lowered:
            return Failure(kind, tidy(message), sqlstate)
    return Failure(FailureKind.UNREACHABLE, tidy(message) or "connection failed", None)


def tidy(message: str) -> str:
    """One readable line: without libpq's verbose SQLSTATE and LOCATION noise."""
    message = _LOCATION.sub("", message)
    message = _VERBOSE.sub(lambda m: m.group(0).split(":")[0] + ": ", message)
    return " ".join(message.split())
