"""A loopback TCP proxy that can add latency or stop forwarding.

The demo's decoy: warroom's monitor connects through it, so a "network blip" looks exactly like
a real one from the monitor (every round trip slower, the database itself fine). The tests use
the same proxy for latency measurement and for stalls: ``stall()`` keeps every connection open
but forwards nothing until ``resume()``, which is what a dead network path or a frozen middlebox
looks like to a client. Each chunk is forwarded ``delay`` seconds after it arrived, order kept:
a long wire, not a slow link. Threads only, in the caller's process: nothing to leave behind.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time


class DelayProxy:
    def __init__(
        self, target_port: int, *, target_host: str = "127.0.0.1", delay: float = 0.0
    ) -> None:
        self.target = (target_host, target_port)
        self.delay = max(0.0, delay)  # seconds added to each direction
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._forwarding = threading.Event()
        self._forwarding.set()
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self.connections = 0  # accepted so far
        self.held_bytes = 0  # received but not yet forwarded (grows while stalled)
        threading.Thread(target=self._accept_loop, name="warroom-proxy", daemon=True).start()

    def set_delay(self, seconds: float) -> None:
        self.delay = max(0.0, seconds)

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

    def __enter__(self) -> DelayProxy:
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
                if self._closed.is_set():
                    client.close()
                    server.close()
                    return
                self._sockets += [client, server]
                self.connections += 1
            self._pipe(client, server)
            self._pipe(server, client)

    def _forget(self, *socks: socket.socket) -> None:
        with self._lock:
            for s in socks:
                if s in self._sockets:
                    self._sockets.remove(s)
                with contextlib.suppress(OSError):
                    s.close()

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
                # This pause is the simulated wire latency, the point of the proxy.
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                self._forwarding.wait()
                if self._closed.is_set():
                    return
                try:
                    if not data:
                        dst.shutdown(socket.SHUT_WR)
                        self._forget(src, dst)
                        return
                    dst.sendall(data)
                except OSError:
                    self._forget(src, dst)
                    return
                with self._lock:
                    self.held_bytes -= len(data)

        threading.Thread(target=read, name="warroom-proxy-read", daemon=True).start()
        threading.Thread(target=write, name="warroom-proxy-write", daemon=True).start()
