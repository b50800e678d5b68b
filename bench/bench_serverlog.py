"""Reading the server log at 1,000 refused connections/s: warroom's CPU per second of log.

How the log is made: a real server (logging_collector on, each of stderr with a rich prefix,
csvlog, jsonlog) is filled and then refuses real connects; those real FATAL records are taken
from its log and appended to the server's current log file at --rate records/s (verbatim, in
batches every 0.1 s) for --seconds, while a ServerLogReader reads once a second, as a sample
would. The reader's thread CPU over those reads, divided by the seconds of log, is the figure.
(Making a server refuse 1,000 connects/s for real needs more than this machine's 2 cores: each
attempt is a fork on the server and a connect on the client.)

Prints figures, asserts nothing: .venv/bin/python bench/bench_serverlog.py [--rate 1000]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.pgcluster import APP_ROLE, PgCluster
from support.serverlog_events import REFUSED_APP, server_full, try_connect

from warroom.collectors.serverlog import ServerLogReader
from warroom.collectors.serverlog.parse import complete_end

PREFIX = "%m [%p] %q%u@%d/%a %h "
CAPTURED = 100  # real refusals taken from the server, then replayed


def capture(cluster: PgCluster, reader: ServerLogReader, path: Path) -> list[bytes]:
    start = path.stat().st_size
    with server_full(cluster):
        for _ in range(CAPTURED):
            try_connect(cluster, APP_ROLE, REFUSED_APP)
    deadline = time.monotonic() + 10
    seen = 0
    while seen < CAPTURED + 2 and time.monotonic() < deadline:
        seen += reader.read().totals["refused"]
        time.sleep(0.05)
    data = path.read_bytes()[start:]
    fmt = reader.location.format if reader.location else "stderr"
    records, pos = [], 0
    while pos < len(data):
        end = complete_end(fmt or "stderr", data[pos:], first=True)
        if end == 0:
            break
        record = data[pos : pos + end]
        if b"too many clients" in record or b"reserved for" in record:
            records.append(record)
        pos += end
    return records


def run(fmt: str, rate: int, seconds: float, bin_dir: Path | None) -> str:
    conf = {"logging_collector": "on", "log_destination": fmt, "log_line_prefix": PREFIX}
    cluster = PgCluster(max_connections=8, extra_conf=conf, bin_dir=bin_dir)
    try:
        cluster.start()
        with cluster.connect() as conn:
            reader = ServerLogReader(conn)
            reader.read()
            where = reader.location
            assert where is not None and where.local_path is not None
            path = where.local_path
            records = capture(cluster, reader, path)
            assert records, "no refusal was logged"
            reader.read()  # the window starts after the capture
            stop = threading.Event()
            written = [0]

            def writer() -> None:
                batch = max(rate // 10, 1)
                i = 0
                with path.open("ab") as out:
                    t0 = time.monotonic()
                    for n in range(int(seconds * 10)):
                        chunk = b"".join(records[(i + k) % len(records)] for k in range(batch))
                        i += batch
                        out.write(chunk)
                        out.flush()
                        written[0] += batch
                        time.sleep(max(0.0, t0 + (n + 1) / 10 - time.monotonic()))
                stop.set()

            thread = threading.Thread(target=writer)
            thread.start()
            cpu, counted, reads = 0.0, 0, 0
            while True:
                done = stop.is_set()
                c0 = time.thread_time()
                counts = reader.read()
                cpu += time.thread_time() - c0
                reads += 1
                counted += counts.totals["refused"]
                if done and counts.behind_bytes == 0:
                    break
                stop.wait(1.0)
            thread.join()
            reader.close()
        per_s = cpu / seconds
        return (f"{fmt:8} {written[0]:>7,} refusals in {seconds:.0f} s of log "
                f"({len(records)} real records replayed), counted {counted:,}: "
                f"{per_s * 1000:.2f} ms CPU per second of log ({per_s * 100:.2f}% of a core), "
                f"{reads} reads")
    finally:
        cluster.cleanup()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=int, default=1000, help="refused connections per second")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--bin-dir", type=Path, default=None, help="PostgreSQL bin dir")
    args = ap.parse_args()
    print(f"server log at {args.rate:,} refused connections/s, read once a second")
    for fmt in ("stderr", "csvlog", "jsonlog"):
        print(run(fmt, args.rate, args.seconds, args.bin_dir), flush=True)


if __name__ == "__main__":
    main()
