"""The decoy: a loopback TCP proxy in front of the sandbox whose latency the drill can switch on.

warroom's monitor connects through it, so a "network blip" shows up as exactly what a real one
looks like from the monitor: every round trip slower, the database itself fine. Each chunk is
forwarded ``delay`` seconds after it arrived, order kept: a long wire, not a slow link.
Threads only, in the demo's own process: nothing to leave behind when it exits.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time


class DelayProxy:
    def __init__(self, target_port: int, *, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.delay = 0.0  # seconds added to each direction; the drill switches it
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept_loop, name="drill-proxy", daemon=True).start()

    def set_delay(self, seconds: float) -> None:
        self.delay = max(0.0, seconds)

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            socks, self._sockets = self._sockets, []
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()

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

        threading.Thread(target=read, name="drill-proxy-read", daemon=True).start()
        threading.Thread(target=write, name="drill-proxy-write", daemon=True).start()
