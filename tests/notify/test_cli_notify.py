"""`warroom notify test`, bad config, and the CLI's incident commands publishing their events."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cli_helpers import run_warroom

from notify.helpers import QUICK, write_config
from notify.receiver import Receiver, unique_events


def _env(state: Path, **more: str) -> dict[str, str]:
    return {"XDG_STATE_HOME": str(state / "state"), "WARROOM_CONFIG": str(state / "config.toml"),
            **more}  # fmt: skip


def test_bad_config_is_one_line_naming_the_file_and_entry(state: Path) -> None:
    write_config(state / "config.toml", {"name": "ok", "url": "http://127.0.0.1:9/"},
                 {"name": "broken", "url": "http://x/", "format": "teams"})  # fmt: skip
    for args in (["notify", "test"], ["new", "--title", "t"]):
        out = run_warroom(*args, home=state / "incidents", env=_env(state))
        assert out.returncode != 0
        lines = out.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("warroom: error: ")
        assert str(state / "config.toml") in lines[0] and "#2 ('broken')" in lines[0]
        assert "format" in lines[0] and "Traceback" not in out.stderr
    assert not (state / "incidents").exists()  # `new` wrote nothing


def test_notify_test_prints_each_answer(receiver: Receiver, state: Path) -> None:
    write_config(state / "config.toml", {"name": "good", "url": receiver.base + "/ok"},
                 {"name": "bad", "url": receiver.base + "/500", "format": "slack"})  # fmt: skip
    out = run_warroom("notify", "test", home=state, env=_env(state))
    assert out.returncode == 1
    assert out.stdout.splitlines() == ["good: ok: HTTP 200",
                                       "bad: FAILED: HTTP 500 Internal Server Error"]
    [sample] = receiver.requests("/ok")[0].body["events"]
    assert sample["type"] == "test"
    out = run_warroom("notify", "test", "--name", "good", home=state, env=_env(state))
    assert out.returncode == 0 and out.stdout == "good: ok: HTTP 200\n"
    out = run_warroom("notify", "test", "--name", "nope", home=state, env=_env(state))
    assert out.returncode == 1 and "no [[notify]] destination named 'nope'" in out.stderr


def test_failing_command_destination(state: Path) -> None:
    fail = [sys.executable, "-c",
            "import sys; sys.stdin.read(); print('boom: no route', file=sys.stderr); sys.exit(3)"]
    keep = [sys.executable, "-c",
            "import os, sys; open(sys.argv[1], 'w').write(os.environ['WARROOM_IDEMPOTENCY_KEY']"
            " + '\\n' + sys.stdin.read())", str(state / "got.json")]  # fmt: skip
    write_config(state / "config.toml", {"name": "fails", "command": fail},
                 {"name": "keeps", "command": keep})  # fmt: skip
    out = run_warroom("notify", "test", home=state, env=_env(state))
    assert out.returncode == 1
    assert out.stdout.splitlines() == ["fails: FAILED: exit 3: boom: no route", "keeps: ok: exit 0"]
    key, body = (state / "got.json").read_text().split("\n", 1)
    payload = json.loads(body)
    assert payload["schema"] == "warroom.notify/1" and payload["idempotency_key"] == key
    assert payload["events"][0]["type"] == "test"


def test_incident_commands_publish_their_events(receiver: Receiver, state: Path) -> None:
    write_config(state / "config.toml", {"name": "room", "url": receiver.base + "/ok",
                                         "note_kinds": ["decision"], **QUICK})  # fmt: skip
    env = _env(state)
    home = state / "incidents"
    new = run_warroom("new", "--title", "orders DB <!channel>", "--severity", "SEV1", home=home,
                      env=env, check=True)  # fmt: skip
    session = Path(new.stdout.strip())
    run_warroom("note", "--kind", "decision", "fail over to the replica", home=home, env=env,
                check=True)  # fmt: skip
    run_warroom("note", "just a note", home=home, env=env, check=True)
    run_warroom("status", "identified", home=home, env=env, check=True)
    out = run_warroom("status", "resolved", home=home, env=env, check=True)
    assert out.stderr == ""
    # Each command waited (bounded) for its events before it exited: they are there now.
    got = list(unique_events(receiver.requests("/ok")))
    assert [e["type"] for e in got] == ["incident.opened", "note", "incident.status",
                                        "incident.status", "incident.resolved"]
    assert got[1]["kind"] == "decision" and got[1]["text"] == "fail over to the replica"
    assert [e.get("status") for e in got[2:4]] == ["identified", "resolved"]
    assert got[0]["incident"]["session"] == str(session)
    draft = Path(got[4]["draft"])
    assert draft.exists() and "orders DB" in draft.read_text()


def test_a_down_destination_is_one_warning_and_kept(state: Path) -> None:
    from notify.receiver import free_port

    url = f"http://127.0.0.1:{free_port()}/"
    write_config(state / "config.toml", {"name": "gone", "url": url, **QUICK})
    env = _env(state)
    home = state / "incidents"
    run_warroom("new", "--title", "t", home=home, env=env)
    out = run_warroom("note", "--kind", "escalation", "paged the DBA", home=home, env=env)
    assert out.returncode == 0 and out.stdout.strip()  # the note is written and its id printed
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("warroom: warning: notify gone: cannot connect")
    assert "kept in the outbox" in lines[0]
