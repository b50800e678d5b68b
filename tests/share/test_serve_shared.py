"""`warroom serve --share DSN --incident ID`: the stakeholder page of a shared incident."""

from __future__ import annotations

import urllib.request
from typing import Any

from support.share_hosts import Host, wait_until
from support.web import ServerProcess


def page(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return answer.read().decode("utf-8")


def test_the_page_of_a_shared_incident_follows_every_hosts_notes(
    shared: tuple[Host, Host, str], hosts: Any, ops_dsn: str
) -> None:
    a, b, incident = shared
    viewer = hosts("hostPage")  # the page runs on a host of its own, like a status server
    server = ServerProcess(["--share", ops_dsn, "--incident", incident], viewer.env()).start()
    try:
        a.run("note", "from host A")
        b.run("note", "from host B")
        wait_until(lambda: "from host A" in page(server.url) and "from host B" in page(server.url),
                   10, "both hosts' notes on the page")
        a.run("status", "identified")
        wait_until(lambda: "identified" in page(server.url).lower(), 10, "the new status")
    finally:
        server.stop()
    # The page's host holds a copy of the record now, and published nothing of its own.
    copy = viewer.entries()
    assert {e.text for e in copy} >= {"from host A", "from host B"}
    assert not [e for e in copy if "stakeholder" in e.author]
