"""Who may read the page: where the server listens, and the token that guards it.

Loopback (127.0.0.0/8, ::1, ``localhost``) needs no token. Anywhere else a token is required:
``--token TOKEN`` gives one, ``--token generate`` has one made and printed once at start; a
non-loopback bind with neither is refused before anything listens. The token is compared in
constant time and never written to a file or a log.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from dataclasses import dataclass

from warroom.errors import UserError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
GENERATE = "generate"
MIN_TOKEN = 16
COOKIE = "warroom_token"


class AccessError(UserError):
    """Bad --bind or --token; one line for ``warroom: error:``."""


@dataclass(frozen=True, slots=True)
class Bind:
    host: str
    port: int

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    def url(self, port: int | None = None) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port if port is None else port}/"


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve anywhere, so it is not loopback


def parse_bind(text: str | None) -> Bind:
    """``HOST:PORT``, ``[IPv6]:PORT``, or ``HOST`` (port 8765); port 0 picks a free one."""
    if text is None:
        return Bind(DEFAULT_HOST, DEFAULT_PORT)
    value = text.strip()
    host, port_text = value, ""
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            raise AccessError(f"--bind {text!r}: missing ']' after the IPv6 address")
        host, rest = value[1:end], value[end + 1 :]
        if rest and not rest.startswith(":"):
            raise AccessError(f"--bind {text!r}: want [ADDRESS]:PORT")
        port_text = rest[1:]
    elif value.count(":") == 1:
        host, port_text = value.split(":")
    elif value.count(":") > 1:
        raise AccessError(f"--bind {text!r}: put an IPv6 address in brackets, e.g. [::1]:8765")
    if not host:
        raise AccessError(f"--bind {text!r}: want HOST:PORT, e.g. 127.0.0.1:8765")
    if not port_text:
        return Bind(host, DEFAULT_PORT)
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise AccessError(f"--bind {text!r}: the port must be a number from 0 to 65535")
    return Bind(host, int(port_text))


@dataclass(frozen=True, slots=True)
class Access:
    """The token the server demands (None: open) and whether it was made here."""

    token: str | None
    generated: bool = False

    def allows(self, offered: str | None) -> bool:
        if self.token is None:
            return True
        if not offered:
            return False
        return hmac.compare_digest(offered.encode("utf-8"), self.token.encode("utf-8"))


def decide(bind: Bind, token: str | None) -> Access:
    if token is None:
        if bind.loopback:
            return Access(None)
        raise AccessError(
            f"binding {bind.host} (not loopback) needs a token: pass --token generate to have "
            "one made and printed, or --token TOKEN"
        )
    if token == GENERATE:
        return Access(secrets.token_urlsafe(24), generated=True)
    if len(token) < MIN_TOKEN or not token.isprintable() or " " in token:
        raise AccessError(
            f"--token must be at least {MIN_TOKEN} printable characters without spaces "
            "(or `generate`)"
        )
    return Access(token)
