"""The draft's ## Metrics with several servers, and single-server drafts kept byte for byte."""

from __future__ import annotations

from pathlib import Path

from support.servers import single_server_incident

from warroom.sessions.postmortem import render
from warroom.sessions.store import load

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def test_a_single_server_draft_is_unchanged() -> None:
    # Rendered before several servers were known to the draft; server None means "as ever".
    assert render(single_server_incident()) == (FIXTURES / "golden-single-server.md").read_text()
    schema1 = load(FIXTURES / "schema1-session.toml").incident
    assert render(schema1) == (FIXTURES / "golden-schema1.md").read_text()
