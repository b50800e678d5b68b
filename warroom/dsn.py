"""Connection strings and their secrets: the one reader that words a bad DSN, the one stripper
(``without_password``, and ``scrub``, its never-failing last guard before a file or a draft).

libpq's own parse messages quote the DSN or a piece of it ("invalid percent-encoded token:
\"S3cret%zz\"", or the whole URI for an unclosed "["), and that piece is often the password.
So a DSN libpq cannot read is described here from a fixed wording chosen by the message's
kind, never from its text. psycopg is imported when a DSN is read, not with this module:
sessions import it and must stay free of psycopg until they connect.
"""

from __future__ import annotations

import re

from warroom.errors import UserError


class DsnError(UserError):
    """A connection string libpq cannot read; one line, with nothing of the string in it."""


# (what libpq's message starts with or contains, how we say it). Matched on the English text;
# any other (a translated libpq, a new message) gets the generic wording: never the text.
_REASONS: tuple[tuple[str, str], ...] = (
    ("invalid percent-encoded token", 'a "%" not followed by two hex digits (write "%" as %25)'),
    ("forbidden value %00", "a %00 in a percent-encoded value"),
    ('looking for matching "]"', 'an unclosed "[" around the host address'),
    ("IPv6 host address may not be empty", 'an empty "[]" host address'),
    ("unexpected character", 'an unexpected character after the host (expected ":" or "/")'),
    ("unexpected spaces", "a space in the URI (write it as %20)"),
    ("extra key/value separator", 'a query parameter with a second "="'),
    ("missing key/value separator", 'a query parameter without "="'),
    ("invalid URI query parameter", "a query parameter libpq does not know"),
    ("unterminated quoted string", "an unclosed quote"),
    ('missing "=" after', 'a word without "=" (the form is key=value; quote values with spaces)'),
    ("invalid connection option", "a keyword libpq does not know (quote a value with spaces)"),
)
_POSITION = re.compile(r"at position (\d+)")


def _reason(libpq_message: str) -> str:
    for needle, wording in _REASONS:
        if needle in libpq_message:
            at = _POSITION.search(libpq_message) if needle == "unexpected character" else None
            return f"{wording} at character {at[1]}" if at else wording
    return "libpq cannot parse it"


def _uri_misread(dsn: str) -> str | None:
    """Why libpq would read part of a URI's password as its host, port or database, if it would.

    libpq ends the user:password part at the first "@" or "/": an unescaped "@" or "/" in a
    password moves what follows into the host or the path, where connection errors quote it.
    """
    scheme, sep, rest = dsn.partition("://")
    if not sep or not scheme.lower().startswith("postgres"):
        return None
    authority, _, path = rest.partition("/")
    if authority.count("@") > 1:
        return 'more than one "@" before the host (write "@" in a user name or password as %40)'
    if "@" in path.split("?", 1)[0]:
        return 'an "@" after the first "/" (write "/" in a user name or password as %2F)'
    return None


def parse(dsn: str, what: str = "the connection string") -> dict[str, str]:
    """libpq's reading of ``dsn`` (keyword form or URI); DsnError names ``what`` and a reason."""
    from psycopg import Error, conninfo

    misread = _uri_misread(dsn)
    if misread is not None:
        raise DsnError(f"cannot read {what}: {misread}")
    try:
        params = conninfo.conninfo_to_dict(dsn)
    except Error as exc:
        raise DsnError(f"cannot read {what}: {_reason(str(exc))}") from None
    return {key: str(value) for key, value in params.items() if value is not None}


def without_password(dsn: str, what: str = "the connection string") -> str:
    """``dsn`` without its password, in libpq's keyword form (URIs included); "" stays "".

    What warroom stores or shows of a DSN goes through here; libpq finds the password again in
    ~/.pgpass, $PGPASSWORD or a service file when it connects. DsnError if libpq cannot read it.
    """
    if not dsn:
        return ""
    from psycopg import conninfo

    params = parse(dsn, what)
    params.pop("password", None)
    return conninfo.make_conninfo(**params)


# The last guard's patterns (``scrub``): a URI's user:password@, a URI's password= parameter and
# a keyword string's password=..., quoted or not. They keep the form the user gave (a URI stays
# a URI in the session file and the draft); libpq judges whatever they leave.
_URI_PASSWORD = re.compile(r"^(?P<head>[a-z][a-z0-9+.-]*://[^:/?#@]*):[^@/?#]*@", re.IGNORECASE)
_QUERY_PASSWORD = re.compile(r"(?P<sep>[?&])password=[^&#]*&?", re.IGNORECASE)
_KV_PASSWORD = re.compile(r"(?:^|(?<=\s))password\s*=\s*(?:'(?:[^'\\]|\\.)*'|\S*)\s*", re.I)


def scrub(dsn: str) -> str:
    """``dsn`` without a password, in the form it came in; never raises.

    Whoever builds a Target strips the password already (``without_password``); this is the
    last line of defence before a session file or a draft, so it takes any text. What still
    names a password afterwards is stripped by libpq (keyword form), and a string libpq cannot
    read, or would misread a password into (an unescaped "@" or "/"), becomes "".
    """
    if not dsn:
        return dsn
    if "://" in dsn:
        if _uri_misread(dsn) is not None:
            return ""
        out = _URI_PASSWORD.sub(r"\g<head>@", dsn)
        out = _QUERY_PASSWORD.sub(lambda m: m["sep"], out).rstrip("?&")
    else:
        out = _KV_PASSWORD.sub("", dsn).strip()
    if "password" not in out.lower():
        return out  # the common case: psycopg is not even imported
    try:
        return without_password(out)
    except Exception:  # a guard: any text at all, never an error
        return ""
