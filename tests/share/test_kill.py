"""A writer SIGKILLed between its local fsync and its publish: published once after the next start.

The writer is stopped at the exact point by a test hook (it blocks there and touches a flag
file), never by a timed race: "before-outbox" is after the session file's fsync and before the
journal's, "after-outbox" after both and before any network.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from support.share_hosts import Host, wait_until


@pytest.mark.parametrize("point", ["before-outbox", "after-outbox"])
def test_killed_writer_is_published_exactly_once(
    shared: tuple[Host, Host, str], ops: Any, tmp_path: Path, point: str
) -> None:
    a, b, incident = shared
    flag = tmp_path / "held"
    env = {"WARROOM_SHARE_TEST_HOLD": point, "WARROOM_SHARE_TEST_FLAG": str(flag)}
    writer = a.popen("-m", "warroom", "note", "the one that was killed", env=env)
    try:
        wait_until(flag.exists, 30, "writer held at the hook")
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(10)
    # Acknowledged locally (the fsync happened), not yet on the server.
    assert "the one that was killed" in {e.text for e in a.incident().timeline}
    with ops.connect() as conn:
        count = "SELECT count(*) FROM warroom.events WHERE data->>'text' = %s"
        assert conn.execute(count, ("the one that was killed",)).fetchone() == (0,)
    a.run("note", "next start")  # the next writer publishes what is pending
    a.run("note", "and another")  # ... and nothing twice
    with ops.connect() as conn:
        assert conn.execute(count, ("the one that was killed",)).fetchone() == (1,)
        dupes = conn.execute(
            "SELECT count(*) FROM (SELECT data->>'id' FROM warroom.events"
            " WHERE kind = 'entry.added' GROUP BY 1 HAVING count(*) > 1) d"
        ).fetchone()
        assert dupes == (0,)
    b.run("join", incident)
    texts = [e.text for e in b.incident().timeline]
    assert texts.count("the one that was killed") == 1
