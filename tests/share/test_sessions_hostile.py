"""`warroom sessions --share` shows other hosts' titles and names as text, never as escapes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from support.share_hosts import Host
from support.tmux import ESCAPES, Tmux, run_in_pane


def test_a_hostile_host_name_and_title_reach_the_other_home_as_text(
    ops_dsn: str, hosts: Callable[[str], Host], tmux: Tmux
) -> None:
    a, b = hosts("hostA"), hosts("hostB")
    evil_host = {"WARROOM_HOST": "bastion\x1b]2;HOSTPWN\x07"}
    a.run("share", "init", "--share", ops_dsn)
    made = a.run("new", "--share", ops_dsn, "--title", "orders \x1b[41mred\x1b[0m db",
                 env=evil_host)  # fmt: skip
    assert Path(made.stdout.strip()).exists()

    assert run_in_pane(tmux, "shared", ["sessions", "--share", ops_dsn], b.env()) == "untouched"
    shown = tmux("capture-pane", "-p", "-e", "-t", "term:shared")
    assert "orders" in shown and "bastion" in shown, shown
    assert "\x1b[41m" not in shown

    listed = b.run("sessions", "--share", ops_dsn)
    assert "orders" in listed.stdout
    assert not any(c in listed.stdout + listed.stderr for c in ESCAPES)
