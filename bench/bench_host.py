"""Host collector cost: a sample without the TCP scan, and the TCP scan by socket count.

Run: .venv/bin/python bench/bench_host.py   (prints figures; asserts nothing)
"""

from __future__ import annotations

import socket
import statistics
import time
from collections.abc import Callable
from contextlib import ExitStack

import psutil

from warroom.collectors.host import HostCollector
from warroom.collectors.tcpstates import tcp_by_state


def timed(fn: Callable[[], object], rounds: int = 20) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    for conns in (0, 1000, 5000):
        with ExitStack() as stack:
            server = stack.enter_context(socket.socket())
            server.bind(("127.0.0.1", 0))
            server.listen(4096)
            port = server.getsockname()[1]
            for _ in range(conns):
                client = stack.enter_context(socket.socket())
                client.connect(("127.0.0.1", port))
                accepted, _ = server.accept()
                stack.enter_context(accepted)
            cheap = HostCollector(None)
            print(
                f"{conns:5d} conns: host sample w/o tcp {timed(cheap.sample):7.3f} ms | "
                f"/proc tcp scan {timed(lambda port=port: tcp_by_state(port)):7.3f} ms | "
                f"psutil.net_connections "
                f"{timed(lambda: psutil.net_connections('tcp'), 5):7.3f} ms"
            )


if __name__ == "__main__":
    main()
