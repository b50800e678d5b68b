"""Two CLI writers on two hosts, 300 notes each, in parallel, and a dashboard's Sharer reading.

Every home ends with the same entries in the same (time, id) order. Each writer is one process
running the `warroom note` code path 300 times (the CLI's main, without 300 interpreter starts).
"""

from __future__ import annotations

from typing import Any

from support.share_hosts import Host, wait_until

from warroom.sessions.share.sharer import Sharer
from warroom.sessions.store import Store

NOTES = 300

WRITER = """
import sys
from warroom.cli import main
for i in range({n}):
    if main(["note", f"{{sys.argv[1]}} note {{i}}"]) != 0:
        raise SystemExit(1)
"""


def test_two_writers_and_a_reader_end_with_the_same_record(
    shared: tuple[Host, Host, str], ops: Any, hosts: Any
) -> None:
    a, b, incident = shared
    c = hosts("hostC")
    c.run("join", incident, "--share", ops.dsn())
    reader = Sharer(Store.open(c.session()), ops.dsn(), host="hostC", author="reader").start()
    try:
        writers = [h.popen("-c", WRITER.format(n=NOTES), h.name) for h in (a, b)]
        for w in writers:
            _, err = w.communicate(timeout=600)
            assert w.returncode == 0, err
            assert "warning" not in err, err
        a.run("join", incident)  # a last catch-up for the writers' own homes
        b.run("join", incident)
        want = len(a.incident().timeline)
        assert want >= 2 * NOTES
        wait_until(lambda: len(c.incident().timeline) >= want, 10, "reader caught up")
        assert reader.arrivals >= 2 * NOTES
    finally:
        reader.stop()
    orders = [[e.id for e in h.entries()] for h in (a, b, c)]
    assert orders[0] == orders[1] == orders[2]
    assert len(set(orders[0])) == len(orders[0])
    for host in (a, b):
        mine = [e for e in c.incident().timeline if e.text.startswith(f"{host.name} note ")]
        assert len(mine) == NOTES
        assert {e.author for e in mine} == {f"{host.author}@{host.name}"}
