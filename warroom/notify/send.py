"""One attempt to hand one message to one destination: an HTTP POST or a command's stdin.

The answer is one line for people: ``HTTP 200``, ``HTTP 500``, ``timed out after 10s``,
``exit 3: <its stderr's first line>``. Secrets resolved for the attempt are blanked out of it
(a proxy's or a server's error may echo the URL), so it can be shown, logged and stored.
"""

from __future__ import annotations

import os
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass

from warroom import __version__
from warroom.notify.config import Destination
from warroom.notify.events import Event
from warroom.notify.formats import encode
from warroom.sanitize import one_line

KEY_HEADER = "Idempotency-Key"


@dataclass(frozen=True, slots=True)
class Answer:
    ok: bool
    text: str


def deliver(dest: Destination, key: str, events: list[Event]) -> Answer:
    secrets: list[str] = []
    try:
        if dest.command:
            return _run(dest, key, encode("json", key, events, dest.name))
        url, headers, secrets = dest.resolve()
        return _post(dest, url, headers, key, encode(dest.format, key, events, dest.name))
    except ValueError as exc:
        return Answer(False, _scrub(str(exc), secrets))
    except Exception as exc:  # one bad answer must never stop the sender thread
        return Answer(False, _scrub(f"{type(exc).__name__}: {exc}", secrets))


def _post(dest: Destination, url: str, headers: dict[str, str], key: str, body: bytes) -> Answer:
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/json; charset=utf-8")
    request.add_header("User-Agent", f"warroom/{__version__}")
    request.add_header(KEY_HEADER, key)
    for name, value in headers.items():
        request.add_header(name, value)
    secrets = [url, *headers.values()]
    try:
        with urllib.request.urlopen(request, timeout=dest.timeout_s) as response:
            response.read(65536)
            code = response.status
    except urllib.error.HTTPError as exc:
        return Answer(False, _scrub(f"HTTP {exc.code} {exc.reason}", secrets))
    except TimeoutError:
        return Answer(False, f"timed out after {dest.timeout_s:g}s")
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            return Answer(False, f"timed out after {dest.timeout_s:g}s")
        return Answer(False, _scrub(f"cannot connect: {reason}", secrets))
    except OSError as exc:
        return Answer(False, _scrub(f"connection failed: {exc}", secrets))
    return Answer(200 <= code < 300, f"HTTP {code}")


def _run(dest: Destination, key: str, body: bytes) -> Answer:
    env = dict(os.environ, WARROOM_IDEMPOTENCY_KEY=key)
    try:
        done = subprocess.run(list(dest.command), input=body, capture_output=True,
                              timeout=dest.timeout_s, env=env, check=False)  # fmt: skip
    except subprocess.TimeoutExpired:
        return Answer(False, f"timed out after {dest.timeout_s:g}s")
    except OSError as exc:
        return Answer(False, f"cannot run {dest.command[0]}: {exc.strerror or exc}")
    if done.returncode == 0:
        return Answer(True, "exit 0")
    said = done.stderr.decode("utf-8", "replace").strip().splitlines()
    first = f": {said[0]}" if said else ""
    return Answer(False, one_line(f"exit {done.returncode}{first}", 200))


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "<secret>")
    return one_line(text, 200)
