"""Counting client backends from the server's process titles, when the server has no slot for us.

PostgreSQL sets each backend's title to ``postgres: USER DB CLIENT STATE`` (with
``update_process_title``, on by default on Linux). On the database host that needs no
connection at all, so a server refusing every new connection still shows who holds it. Only the
postmaster's children are read: found from the pid of our own backend while we had one (its
parent), else from a postmaster whose data directory's ``postmaster.pid`` names our port.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import psutil
from psycopg.conninfo import conninfo_to_dict

from warroom.collectors.sample import Connections, Count, Group

# "postgres: " then an optional "cluster_name: ", then user, database, client, state. The client
# is "[local]" or "host(port)": that is what tells a client backend from the background ones.
_TITLE = re.compile(
    r"^postgres: (?:[^:\s]+: )?(?P<user>\S+) (?P<db>\S+) "
    r"(?P<client>\[local\]|\S+\(\d+\)) (?P<state>.+?)\s*$"
)
_LOCAL_HOSTS = {"", "localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True, slots=True)
class Backend:
    user: str
    database: str
    client: str
    state: str
    waiting: bool = False  # the title ends in " waiting": blocked on a lock (heavyweight)


def parse_title(title: str) -> Backend | None:
    m = _TITLE.match(title)
    if m is None:
        return None
    client = m["client"]
    client = "local" if client == "[local]" else client.rsplit("(", 1)[0]
    raw = m["state"]
    state = raw.removesuffix(" waiting")
    if not state.startswith("idle") and state not in ("authentication", "startup"):
        state = "active"  # the title shows the command tag (SELECT, UPDATE ...) while running
    return Backend(m["user"], m["db"], client, state, waiting=raw.endswith(" waiting"))


def is_local(conninfo: str) -> tuple[bool, int]:
    """Whether the DSN's server is on this host (socket or loopback), and its port."""
    try:
        params = conninfo_to_dict(conninfo)
    except Exception:
        return False, 5432
    host = str(params.get("host") or params.get("hostaddr") or "")
    port_text = str(params.get("port") or "5432").split(",")[0]
    port = int(port_text) if port_text.isdigit() else 5432
    hosts = host.split(",")
    return all(h.startswith("/") or h in _LOCAL_HOSTS for h in hosts), port


def _postmaster_port(proc: psutil.Process) -> int | None:
    try:
        lines = (Path(proc.cwd()) / "postmaster.pid").read_text().splitlines()
    except (OSError, psutil.Error):
        return None
    return int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None


def find_postmaster(port: int) -> int | None:
    """A running postmaster on this host listening on ``port`` (its cwd is its data dir)."""
    for proc in psutil.process_iter(["name", "ppid"]):
        try:
            if proc.info["name"] not in ("postgres", "postmaster"):
                continue
            parent = psutil.Process(proc.info["ppid"]) if proc.info["ppid"] else None
            if parent is not None and parent.name() in ("postgres", "postmaster"):
                continue  # a child, not a postmaster
        except psutil.Error:
            continue
        if _postmaster_port(proc) == port:
            return proc.pid
    return None


def _linux_children(pid: int) -> list[int] | None:
    # The kernel's own list of a thread's children: no walk over every process on the host.
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return None
    return [int(p) for p in text.split()]


def _linux_titles(pids: list[int]) -> list[Backend]:
    found: list[Backend] = []
    for pid in pids:
        # os.read, not Path.read_bytes: a fifth of the cost, which counts at 1,000 backends.
        try:
            fd = os.open(f"/proc/{pid}/cmdline", os.O_RDONLY)
            try:
                raw = os.read(fd, 4096)
            finally:
                os.close(fd)
        except OSError:
            continue  # gone since the listing: it held no slot any more
        title = raw.replace(b"\0", b" ").decode("utf-8", "replace").strip()
        backend = parse_title(title)
        if backend is not None:
            found.append(backend)
    return found


def backends(postmaster: int) -> list[Backend]:
    pids = _linux_children(postmaster)
    if pids is not None:
        return _linux_titles(pids)
    found: list[Backend] = []
    try:
        children: Iterable[psutil.Process] = psutil.Process(postmaster).children()
    except psutil.Error:
        return found
    for child in children:
        try:
            cmd = child.cmdline()
        except psutil.Error:
            continue  # gone since the listing: it held no slot any more
        if cmd:
            backend = parse_title(" ".join(cmd))
            if backend is not None:
                found.append(backend)
    return found


def _top(counter: Counter[str], n: int) -> tuple[Count, ...]:
    ranked = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    return tuple(Count(k, v) for k, v in ranked[:n])


def _groups(settled: list[Backend], top: int, clients_each: int) -> tuple[Group, ...]:
    """User and database together, as the server's grouping takes application and user: a
    title carries no application name, and two users are never one service."""
    members: dict[tuple[str, str], list[Backend]] = {}
    for b in settled:
        members.setdefault((b.user, b.database), []).append(b)
    ranked = sorted(members.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:top]
    return tuple(
        Group(
            application="", user=user, count=len(bs), database=db,
            clients=_top(Counter(b.client for b in bs), clients_each),
            client_count=len({b.client for b in bs}),
            idle_in_transaction=sum(1 for b in bs if b.state.startswith("idle in transaction")),
        )
        for (user, db), bs in ranked
    )  # fmt: skip


def count(
    found: list[Backend], *, max_connections: int | None, reserved: int, top: int,
    clients_each: int = 3,
) -> Connections:
    """``max_connections`` None: never learned (no slot since warroom started), so unknown."""
    # Starting backends have no slot yet, and ours never reached one.
    settled = [b for b in found if b.state not in ("authentication", "startup")]
    return Connections(
        total=len(settled),
        max=max_connections,
        reserved=reserved,
        by_state=dict(Counter(b.state for b in settled)),
        waiting=sum(1 for b in settled if b.waiting),  # PostgreSQL marks lock waits in titles
        by_application=(),
        by_user=_top(Counter(b.user for b in settled), top),
        by_client=_top(Counter(b.client for b in settled), top),
        by_database=_top(Counter(b.database for b in settled), top),
        by_group=_groups(settled, top, clients_each),
    )
