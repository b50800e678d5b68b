"""The HTTP side of `warroom serve` (aiohttp): the page, the event stream, static files.

Read-only by construction: only GET and HEAD are routed, everything else is 405 before any
handler runs. Every response carries a strict CSP (no inline script or style, nothing from
elsewhere) and ``nosniff``. The token, when there is one, is checked before any content.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from warroom.sessions.times import utcnow
from warroom.web import history_page, page, view
from warroom.web.access import COOKIE, Access
from warroom.web.feed import Feed, Snapshot
from warroom.web.view import encode

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".txt": "text/plain"}
PARTS = ("header", "timeline", "figures")
# A viewer that takes no data for this long (a laptop lid closed mid-stream) is let go, so a
# stuck socket never holds a handler; its browser reconnects and gets the whole state again.
WRITE_TIMEOUT = 30.0
# A comment or clock event this often keeps proxies from closing an idle stream and lets the
# browser notice a dead server.
HEARTBEAT_SECONDS = 15.0
RETRY_MS = 2000

SITE: web.AppKey[Site] = web.AppKey("site")  # filled in below; tests read viewer counts

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Rendered:
    """One snapshot turned into what viewers need, once for all of them."""

    version: int
    state: view.State
    events: dict[str, bytes]
    digests: dict[str, bytes]


class Renderer:
    def __init__(self) -> None:
        self._last: Rendered | None = None

    def get(self, snapshot: Snapshot) -> Rendered:
        last = self._last
        if last is not None and last.version == snapshot.version:
            return last
        state = view.build(snapshot.incident, utcnow(), snapshot.problem)
        events: dict[str, bytes] = {}
        digests: dict[str, bytes] = {}
        for name, part in state.parts().items():
            data = encode(part)
            digests[name] = hashlib.blake2b(data.encode("utf-8"), digest_size=16).digest()
            events[name] = f"id: {snapshot.version}\nevent: {name}\ndata: {data}\n\n".encode()
        self._last = Rendered(snapshot.version, state, events, digests)
        return self._last


def _static_files() -> dict[str, tuple[bytes, str]]:
    files: dict[str, tuple[bytes, str]] = {}
    for item in resources.files("warroom.web").joinpath("static").iterdir():
        suffix = "." + item.name.rsplit(".", 1)[-1]
        if item.is_file() and suffix in STATIC_TYPES:
            files[item.name] = (item.read_bytes(), STATIC_TYPES[suffix])
    return files


def _unauthorized() -> web.Response:
    return web.Response(
        status=401,
        text="401: Unauthorized\n",
        headers={"WWW-Authenticate": 'Bearer realm="warroom"', "Cache-Control": "no-store"},
    )


def _offered_token(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(COOKIE)


def make_guard(access: Access) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method not in ("GET", "HEAD"):
            return web.Response(
                status=405, text="405: Method Not Allowed (this page is read-only)\n",
                headers={"Allow": "GET, HEAD"},
            )
        if access.token is None:
            return await handler(request)
        if "token" in request.query:
            if not access.allows(request.query.get("token")):
                return _unauthorized()
            # Keep it in a cookie and take it out of the address bar (and the history).
            rest = [(k, v) for k, v in request.query.items() if k != "token"]
            found = web.HTTPSeeOther(str(request.rel_url.with_query(rest)))
            secure = request.secure or request.headers.get("X-Forwarded-Proto") == "https"
            found.set_cookie(COOKIE, access.token, httponly=True, samesite="Strict", path="/",
                             secure=secure)
            found.headers["Cache-Control"] = "no-store"
            return found
        if not access.allows(_offered_token(request)):
            return _unauthorized()
        return await handler(request)

    return guard


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(SECURITY_HEADERS)


class Site:
    """The handlers, over one Feed."""

    def __init__(self, feed: Feed) -> None:
        self.feed = feed
        self.renderer = Renderer()
        self.static = _static_files()
        self.viewers = 0

    async def page(self, request: web.Request) -> web.Response:
        kind = request.query.get("kind") or None
        if kind not in view.KINDS:
            kind = None
        snapshot = self.feed.snapshot
        rendered = self.renderer.get(snapshot)
        now = utcnow()
        # Timeline and figures come from the shared render; the header has the clock in it.
        state = view.State(
            view.header(snapshot.incident, now, snapshot.problem),
            rendered.state.timeline,
            rendered.state.figures,
        )
        return web.Response(
            text=page.render(state, now, kind),
            content_type="text/html",
            charset="utf-8",
            headers={"Cache-Control": "no-store"},
        )

    async def history(self, request: web.Request) -> web.Response:
        # Reads every session's header: a worker thread's job, never the event loop's.
        text = await asyncio.to_thread(history_page.build, utcnow())
        return web.Response(text=text, content_type="text/html", charset="utf-8",
                            headers={"Cache-Control": "no-store"})

    async def asset(self, request: web.Request) -> web.Response:
        found = self.static.get(request.match_info["name"])
        if found is None:
            raise web.HTTPNotFound()
        body, kind = found
        return web.Response(body=body, content_type=kind, charset="utf-8",
                            headers={"Cache-Control": "no-cache"})

    async def events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache, no-store",
                # nginx buffers proxied responses by default; this turns it off for the stream.
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        if request.method == "HEAD":
            return response
        self.viewers += 1
        try:
            await self._stream(response)
        except (ConnectionError, TimeoutError):
            pass  # the viewer left, or stopped reading
        finally:
            self.viewers -= 1
        return response

    async def _stream(self, response: web.StreamResponse) -> None:
        # Every connection starts with the whole state, whatever Last-Event-ID says: after a
        # restart the versions start again, so only a full state is safe to resume from.
        sent: dict[str, bytes] = {}
        snapshot = self.feed.snapshot
        await self._send(response, f"retry: {RETRY_MS}\n\n".encode() + self._clock())
        while True:
            rendered = self.renderer.get(snapshot)
            chunk = b"".join(
                rendered.events[name]
                for name in PARTS
                if sent.get(name) != rendered.digests[name]
            )
            if chunk:
                await self._send(response, chunk)
                sent = dict(rendered.digests)
            newer = await self.feed.wait(snapshot.version, HEARTBEAT_SECONDS)
            if self.feed.closed:
                return
            if newer is None:
                await self._send(response, self._clock())
                continue
            snapshot = newer

    @staticmethod
    async def _send(response: web.StreamResponse, data: bytes) -> None:
        await asyncio.wait_for(response.write(data), WRITE_TIMEOUT)

    @staticmethod
    def _clock() -> bytes:
        now = view.iso(utcnow())
        return f"event: clock\ndata: {encode({'now': now})}\n\n".encode()


async def _no_icon(request: web.Request) -> web.Response:
    # Browsers ask for it on every visit; an empty answer keeps their consoles free of 404s.
    return web.Response(status=204, headers={"Cache-Control": "max-age=86400"})


def make_app(feed: Feed, access: Access) -> web.Application:
    site = Site(feed)
    app = web.Application(middlewares=[make_guard(access)])
    app.on_response_prepare.append(_security_headers)
    app.router.add_get("/", site.page)
    app.router.add_get("/events", site.events)
    app.router.add_get("/history", site.history)
    app.router.add_get("/static/{name}", site.asset)
    app.router.add_get("/favicon.ico", _no_icon)
    app[SITE] = site
    return app


# -- requests aiohttp cannot parse ---------------------------------------------------------------
# aiohttp answers a malformed request (a header or URL over its size limit, a bad request line)
# with its parser's message as the body, and logs a traceback with the same message: both quote
# the offending bytes, which carry the token when it is in a Cookie header or a ?token= URL, and
# any client could make the server write tracebacks at will. aiohttp has no setting for either
# (aio-libs/aiohttp#3287), so each connection's handler is a subclass changing only that.


class BareErrorHandler(RequestHandler):
    """aiohttp's connection handler, answering errors with a status and no body."""

    __slots__ = ()  # RequestHandler's layout: BareErrorServer swaps the class of each one

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        # A client's malformed request is its own business, not a line in our output; a 500 is
        # ours: one line naming the exception's type, never its text (it may quote the input).
        if exc is not None and not isinstance(exc, HttpProcessingError):
            self.log_exception("", exc_info=exc)
        if request.writer.output_size > 0:
            raise ConnectionError("the response had started; the connection is closed")
        response = web.Response(status=status, headers={"Cache-Control": "no-store"})
        response.force_close()
        return response

    def log_exception(self, *args: Any, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info")
        name = type(exc).__name__ if isinstance(exc, BaseException) else "an error"
        self.logger.error("warroom serve: a request failed (%s)", name)


class BareErrorServer(web.Server):
    """aiohttp's low-level server, making BareErrorHandler connections."""

    def __call__(self) -> RequestHandler:
        handler = super().__call__()
        handler.__class__ = BareErrorHandler
        return handler


def answer_errors_bare(runner: web.BaseRunner) -> None:
    """After ``runner.setup()``: every connection made from now on answers errors bare."""
    server = runner.server
    if server is None:
        raise RuntimeError("answer_errors_bare needs a runner that has been set up")
    server.__class__ = BareErrorServer
