"""Start and stop `warroom serve`: check the extra, listen, follow the record, stop on a signal.

This module imports aiohttp only inside ``run``, so `warroom serve --help` and the rest of the
CLI work without the ``web`` extra, and `warroom serve` without it says what to install.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Protocol, TextIO

from warroom.errors import UserError
from warroom.sessions.model import Incident
from warroom.web.access import Access, Bind
from warroom.web.feed import Feed

EXTRA_MISSING = "warroom serve needs the web extra: pip install 'warroom[web]'"


class Source(Protocol):
    """What the server follows: a session file (``feed.FileFollower``)."""

    def first(self) -> Incident:
        """The incident now (may block; raises a one-line error when it cannot be had)."""
        ...

    def describe(self) -> str:
        """A few words for the start-up line, e.g. the session path."""
        ...

    async def run(self, feed: Feed) -> None:
        """Publish every change into ``feed`` until cancelled."""
        ...


def require_extra() -> None:
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        raise UserError(EXTRA_MISSING) from None


def run(source: Source, bind: Bind, access: Access, out: TextIO = sys.stdout) -> int:
    require_extra()
    return asyncio.run(_serve(source, bind, access, out))


async def _serve(source: Source, bind: Bind, access: Access, out: TextIO) -> int:
    from aiohttp import web

    from warroom.web.server import answer_errors_bare, make_app

    incident = await asyncio.to_thread(source.first)
    feed = Feed(incident)
    # No access log: it would write request URLs, and a first visit's URL holds the token.
    # For the same reason a request aiohttp cannot parse gets a bare status, and no log line.
    runner = web.AppRunner(make_app(feed, access), access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    answer_errors_bare(runner)
    site = web.TCPSite(runner, bind.host, bind.port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        reason = exc.strerror or exc
        raise UserError(f"cannot listen on {bind.host}:{bind.port}: {reason}") from None
    port = _port(runner, bind.port)
    url = bind.url(port)
    out.write(f"warroom serve: {url} shows {source.describe()} (read-only; Ctrl+C stops)\n")
    if access.generated:
        # The only time the token is shown; it is never written anywhere else.
        out.write(f"token: {access.token}  (open {url}?token={access.token})\n")
    out.flush()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(_one_line)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(signum, stop.set)
    follower = asyncio.create_task(source.run(feed))
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({follower, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if follower.done() and not follower.cancelled() and follower.exception() is not None:
            raise follower.exception()  # type: ignore[misc]
    finally:
        feed.close()  # ends every event stream, so the shutdown does not wait on them
        follower.cancel()
        stopped.cancel()
        await runner.cleanup()
    # Stopping on a signal is how a server is meant to end (Ctrl+C, systemd): a clean exit.
    return 0


def _one_line(loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
    # asyncio's default prints a traceback and the failing callback's arguments, which for a
    # connection may be the bytes a client sent: the exception's type says enough.
    exc = context.get("exception")
    what = type(exc).__name__ if exc is not None else "no exception"
    print(f"warroom serve: warning: an asyncio callback failed ({what})", file=sys.stderr)


def _port(runner: object, asked: int) -> int:
    addresses = getattr(runner, "addresses", [])
    for address in addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return asked
