"""The history of incidents (issue 23): many sessions read cheaply and counted together.

``read`` takes one session's header, findings and action items without its rollups;
``findings`` tells findings' kinds and the names in them; ``figures`` counts (pure);
``sources`` finds the sessions (the directory, an ops database). `warroom history` and the
page's index both read with ``local`` (the command adds ``shared``), then ``collect``.
"""

from __future__ import annotations

from warroom.sessions.history.figures import History, as_json, collect
from warroom.sessions.history.read import Summary, read_summary
from warroom.sessions.history.sources import local, shared

__all__ = ["History", "Summary", "as_json", "collect", "local", "read_summary", "shared"]
