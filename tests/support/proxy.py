"""A local TCP proxy that can add latency or stop forwarding, for latency and stall tests.

Every chunk is forwarded ``delay`` seconds after it arrived (order kept), so the proxy behaves
like a long wire, not like a slow link. ``stall()`` keeps every connection open but forwards
nothing until ``resume()``: what a dead network path or a frozen middlebox looks like to a
client. Loopback only.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time


class TcpProxy:
    def __init__(self, target_port: int, *, target_host: str = "127.0.0.1", delay: float = 0.0):
        self.target = (target_host, target_port)
        self.delay = delay
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._forwarding = threading.Event()
        self._forwarding.set()
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self.connections = 0  # accepted so far
        self.held_bytes = 0  # received but not yet forwarded (grows while stalled)
        threading.Thread(target=self._accept_loop, name="proxy-accept", daemon=True).start()

    def dsn_params(self) -> dict[str, str | int]:
        return {"host": "127.0.0.1", "port": self.port}

    def stall(self) -> None:
        """Stop forwarding in both directions; connections stay open, bytes wait."""
        self._forwarding.clear()

    def resume(self) -> None:
        self._forwarding.set()

    def close(self) -> None:
        self._closed.set()
        self._forwarding.set()  # release writers so they see the close
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            socks, self._sockets = self._sockets, []
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._sockets += [client, server]
                self.connections += 1
            self._pipe(client, server)
            self._pipe(server, client)

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        chunks: queue.Queue[tuple[float, bytes]] = queue.Queue()

        def read() -> None:
            while True:
                try:
                    data = src.recv(65536)
                except OSError:
                    data = b""
                with self._lock:
                    self.held_bytes += len(data)
                chunks.put((time.monotonic() + self.delay, data))
                if not data:
                    return

        def write() -> None:
            while True:
                due, data = chunks.get()
                # Emulates the wire's latency; this is the behaviour under test, not a race fix.
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                self._forwarding.wait()
                if self._closed.is_set():
                    return
                try:
                    if not data:
                        dst.shutdown(socket.SHUT_WR)
                        return
                    dst.sendall(data)
                except OSError:
                    return
                with self._lock:
                    self.held_bytes -= len(data)

        threading.Thread(target=read, name="proxy-read", daemon=True).start()
        threading.Thread(target=write, name="proxy-write", daemon=True).start()
