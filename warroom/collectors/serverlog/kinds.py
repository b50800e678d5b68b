"""What counts: the server-side failures only the server's log tells, by SQLSTATE or message.

The SQLSTATE decides when the line carries it (csvlog, jsonlog, or ``%e`` in log_line_prefix);
otherwise the English message does (so a stderr log without ``%e`` needs ``lc_messages`` in
English). 57014 and 55P03 also cover a user's cancel and NOWAIT: only the timeouts count.
"""

from __future__ import annotations

REFUSED = "refused"
AUTH_FAILED = "auth_failed"
TERMINATED = "terminated"
OUT_OF_MEMORY = "out_of_memory"
DEADLOCK = "deadlock"
STATEMENT_TIMEOUT = "statement_timeout"
LOCK_TIMEOUT = "lock_timeout"

KINDS: tuple[str, ...] = (
    REFUSED, AUTH_FAILED, TERMINATED, OUT_OF_MEMORY, DEADLOCK, STATEMENT_TIMEOUT, LOCK_TIMEOUT,
)  # fmt: skip

_BY_STATE = {
    "53300": REFUSED,
    "28P01": AUTH_FAILED,
    "28000": AUTH_FAILED,
    "57P01": TERMINATED,
    "53200": OUT_OF_MEMORY,
    "40P01": DEADLOCK,
}
# (message start, kind): the server's own English texts, for lines without a SQLSTATE.
_BY_MESSAGE = (
    ("sorry, too many clients already", REFUSED),
    ("remaining connection slots are reserved", REFUSED),
    ("password authentication failed for user", AUTH_FAILED),
    ("no pg_hba.conf entry for", AUTH_FAILED),
    ("pg_hba.conf rejects connection", AUTH_FAILED),
    ("terminating connection due to administrator command", TERMINATED),
    ("out of memory", OUT_OF_MEMORY),
    ("deadlock detected", DEADLOCK),
    ("canceling statement due to statement timeout", STATEMENT_TIMEOUT),
    ("canceling statement due to lock timeout", LOCK_TIMEOUT),
)
COUNTED_SEVERITIES = frozenset({"ERROR", "FATAL", "PANIC"})


def classify(severity: str, sqlstate: str, message: str) -> str | None:
    """The kind of one ERROR/FATAL/PANIC line, or None when it is none of ours."""
    if severity not in COUNTED_SEVERITIES:
        return None
    if sqlstate == "57014":
        return STATEMENT_TIMEOUT if "statement timeout" in message else None
    if sqlstate == "55P03":
        return LOCK_TIMEOUT if "lock timeout" in message else None
    if sqlstate:
        return _BY_STATE.get(sqlstate)
    for start, kind in _BY_MESSAGE:
        if message.startswith(start):
            return kind
    if severity == "FATAL" and "authentication failed for user" in message:
        return AUTH_FAILED  # ident, peer, ldap, ...: "X authentication failed for user"
    return None
