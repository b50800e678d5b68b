"""One log format's records: where a chunk of bytes ends on a whole record, and the events in it.

Formats: ``stderr`` (the server's ``log_line_prefix``; a message's continuation lines start with
a tab and are skipped), ``csvlog`` (records may span lines inside quotes; columns by position,
the same for 0-22 on every major since 13, longer rows on newer majors are fine) and ``jsonlog``
(one object per line). Lines with none of our severities are dropped on the raw bytes before
any decoding: a busy log is mostly lines we do not count.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

from warroom.collectors.serverlog.kinds import COUNTED_SEVERITIES, classify
from warroom.collectors.serverlog.prefix import prefix_regex
from warroom.sanitize import one_line

FORMATS = ("jsonlog", "csvlog", "stderr")  # preferred first: structured, with the SQLSTATE
NAME_LIMIT = 64  # a name longer than this is cut: names are shown, and kept per group

# csvlog columns (PostgreSQL docs, "Using CSV-Format Log Output"), by position.
_CSV_TIME, _CSV_USER, _CSV_DB, _CSV_FROM = 0, 1, 2, 4
_CSV_SEVERITY, _CSV_STATE, _CSV_MESSAGE, _CSV_APP = 11, 12, 13, 22
_SEVERITY_BYTES = {
    "stderr": (b"ERROR:  ", b"FATAL:  ", b"PANIC:  "),
    "csvlog": (b",ERROR,", b",FATAL,", b",PANIC,"),
    "jsonlog": (b'"ERROR"', b'"FATAL"', b'"PANIC"'),
}
_UNKNOWN = "[unknown]"  # what the server prints for a field it does not know yet


@dataclass(frozen=True, slots=True)
class Event:
    kind: str
    second: str  # the log's own time, to the second ("2026-12-04 20:30:01 UTC"), or ""
    user: str
    database: str
    application: str
    client: str  # host or address, without the port; "[local]" for a Unix socket


def complete_end(fmt: str, data: bytes, *, first: bool = False) -> int:
    """How many leading bytes of ``data`` are whole records (0: none yet); with ``first``, the
    end of the first whole record only."""
    if fmt != "csvlog":
        return (data.find(b"\n") if first else data.rfind(b"\n")) + 1
    # A newline ends a CSV record only outside quotes; "" inside a field keeps the parity.
    end = 0
    quotes = 0
    start = 0
    while True:
        nl = data.find(b"\n", start)
        if nl < 0:
            return end
        quotes += data.count(b'"', start, nl)
        if quotes % 2 == 0:
            end = nl + 1
            if first:
                return end
        start = nl + 1


def _name(value: object) -> str:
    text = "" if value is None else str(value)
    return "" if text == _UNKNOWN else one_line(text, NAME_LIMIT)


def _client(value: object) -> str:
    text = _name(value)
    if text.endswith(")") and "(" in text:  # %r: host(port)
        text = text[: text.rindex("(")]
    return text


def _second(stamp: str) -> str:
    # "2026-12-04 20:30:01.123 UTC" -> "2026-12-04 20:30:01 UTC"
    if len(stamp) > 19 and stamp[19] == ".":
        return stamp[:19] + stamp[23:]
    return stamp


def _epoch_second(epoch: str) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(float(epoch)))


class Parser:
    """Events from whole records of one format (``stderr`` needs the server's prefix)."""

    def __init__(self, fmt: str, line_prefix: str = "") -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown log format {fmt!r}")
        self.fmt = fmt
        self._needles = _SEVERITY_BYTES[fmt]
        self._regex: re.Pattern[str] | None = (
            prefix_regex(line_prefix) if fmt == "stderr" else None
        )

    def events(self, data: bytes) -> Iterator[Event]:
        if not any(n in data for n in self._needles):
            return
        if self.fmt == "csvlog":
            yield from self._csv(data)
            return
        for raw in data.split(b"\n"):
            if not any(n in raw for n in self._needles):
                continue
            line = raw.decode("utf-8", "replace")
            event = self._json(line) if self.fmt == "jsonlog" else self._stderr(line)
            if event is not None:
                yield event

    def _stderr(self, line: str) -> Event | None:
        assert self._regex is not None
        m = self._regex.match(line)
        if m is None:
            return None
        fields = m.groupdict()
        kind = classify(fields["severity"], fields.get("sqlstate") or "", fields["message"])
        if kind is None:
            return None
        if fields.get("time"):
            second = _second(fields["time"])
        elif fields.get("epoch"):
            second = _epoch_second(fields["epoch"])
        else:
            second = ""
        return Event(kind, second, _name(fields.get("user")), _name(fields.get("database")),
                     _name(fields.get("application")), _client(fields.get("client")))  # fmt: skip

    def _json(self, line: str) -> Event | None:
        try:
            rec = json.loads(line)
        except ValueError:
            return None
        if not isinstance(rec, dict):
            return None
        kind = classify(str(rec.get("error_severity", "")), str(rec.get("state_code", "")),
                        str(rec.get("message", "")))  # fmt: skip
        if kind is None:
            return None
        return Event(kind, _second(str(rec.get("timestamp", ""))), _name(rec.get("user")),
                     _name(rec.get("dbname")), _name(rec.get("application_name")),
                     _client(rec.get("remote_host")))  # fmt: skip

    def _csv(self, data: bytes) -> Iterator[Event]:
        # Only records holding a severity we count are handed to the csv module.
        text = data.decode("utf-8", "replace")
        for row in csv.reader(io.StringIO(text, newline="")):
            if len(row) <= _CSV_APP or row[_CSV_SEVERITY] not in COUNTED_SEVERITIES:
                continue
            kind = classify(row[_CSV_SEVERITY], row[_CSV_STATE], row[_CSV_MESSAGE])
            if kind is None:
                continue
            client = row[_CSV_FROM]
            if ":" in client and not client.startswith("["):
                client = client.rsplit(":", 1)[0]  # "host:port"; IPv6 has colons of its own
            yield Event(kind, _second(row[_CSV_TIME]), _name(row[_CSV_USER]),
                        _name(row[_CSV_DB]), _name(row[_CSV_APP]), _client(client))  # fmt: skip
