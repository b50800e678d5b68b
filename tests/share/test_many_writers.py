"""Two CLI writers on two hosts and a dashboard-like writer on a third, 300 notes each, at once.

Every home ends with the same 900 entries in the same (time, id) order. Each CLI writer is one
process running the `warroom note` code path 300 times (the CLI's main, without 300 interpreter
starts); the third host writes through its Store, as the dashboard does, while its Sharer
publishes them and merges the others' into the same file.
"""

from __future__ import annotations

import threading
from typing import Any

from support.share_hosts import Host, wait_until

from warroom.sessions.model import TimelineEntry
from warroom.sessions.share.sharer import Sharer
from warroom.sessions.store import Store
from warroom.sessions.times import utcnow

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
    store = Store.open(c.session())
    reader = Sharer(store, ops.dsn(), host="hostC", author="carla@hostC").start()

    def dashboard_notes() -> None:
        for i in range(NOTES):
            store.append_entry(TimelineEntry(at=utcnow(), text=f"hostC note {i}",
                                             author="carla@hostC"))

    try:
        writers = [h.popen("-c", WRITER.format(n=NOTES), h.name) for h in (a, b)]
        local = threading.Thread(target=dashboard_notes)
        local.start()
        for w in writers:
            _, err = w.communicate(timeout=600)
            assert w.returncode == 0, err
            assert "warning" not in err, err
        local.join(600)
        wait_until(lambda: reader.status().pending == 0, 10, "the dashboard's notes published")
        a.run("join", incident)  # a last catch-up for the CLI writers' own homes
        b.run("join", incident)
        assert len(a.incident().timeline) == 3 * NOTES
        wait_until(lambda: len(c.incident().timeline) == 3 * NOTES, 10, "reader caught up")
        assert reader.arrivals >= 2 * NOTES
    finally:
        reader.stop()
    orders = [[e.id for e in h.entries()] for h in (a, b, c)]
    assert orders[0] == orders[1] == orders[2]
    assert len(set(orders[0])) == len(orders[0]) == 3 * NOTES
    for host in (a, b, c):
        mine = [e for e in c.incident().timeline if e.text.startswith(f"{host.name} note ")]
        assert len(mine) == NOTES
        assert len({e.author for e in mine}) == 1
