"""Which servers `watch` watches: repeated --dsn, --target from [[targets]], a resumed record."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import run_warroom

from warroom.collectors.alerts import ConfigError
from warroom.sessions.model import Server, Target
from warroom.targets import TargetError, choose, parse_targets

CONFIGURED = [Server("primary", "host=db1", "host=db1 port=6432"), Server("replica-1", "host=db2")]


def test_repeated_dsns_are_named_host_port_and_pgbouncers_pair_by_position() -> None:
    servers = choose(["host=db1 port=5433", "host=db2", "host=db2"], ["host=pgb", ""], [])
    assert [s.name for s in servers] == ["db1:5433", "db2:5432", "db2:5432-2"]
    assert [s.pgbouncer for s in servers] == ["host=pgb", "", ""]


def test_targets_pick_from_the_config_and_unknown_names_list_the_known_ones() -> None:
    picked = choose([], [], ["replica-1"], configured=CONFIGURED)
    assert picked == [CONFIGURED[1]]
    assert choose([], [], [], configured=CONFIGURED) == CONFIGURED  # no flags: all of them
    with pytest.raises(TargetError, match=r"'replica-9'.*known: primary, replica-1"):
        choose([], [], ["replica-9"], configured=CONFIGURED)
    with pytest.raises(TargetError, match="cannot be combined"):
        choose(["host=x"], [], ["primary"], configured=CONFIGURED)
    with pytest.raises(TargetError, match="pairs with the --dsn"):
        choose(["host=x"], ["a", "b"], [])


def test_a_resumed_session_watches_what_it_watched() -> None:
    resumed = Target("host=db1", "", (Server("primary", "host=db1"), Server("r", "host=db2")))
    assert [s.name for s in choose([], [], [], resumed, configured=[])] == ["primary", "r"]
    one = choose([], [], [], Target("host=db7 port=5999"), configured=CONFIGURED)
    assert [(s.name, s.dsn) for s in one] == [("db7:5999", "host=db7 port=5999")]


@pytest.mark.parametrize(
    ("targets", "problem"),
    [
        ([{"name": "a"}], "targets[0].dsn: missing"),
        ([{"name": "a b", "dsn": "x"}], "targets[0].name: expected"),
        ([{"name": "a", "dsn": "x"}, {"name": "a", "dsn": "y"}], "'a' is listed twice"),
        ([{"name": "a", "dsn": "x", "passwd": "y"}], "unknown key 'passwd'"),
        ([{"name": "a", "dsn": 5}], "targets[0].dsn: expected a string"),
        ({"name": "a"}, "expected [[targets]] tables"),
    ],
)
def test_bad_targets_are_one_clear_line(targets: object, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        parse_targets({"targets": targets}, "cfg.toml")


def test_watch_with_a_bad_target_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[[targets]]\nname = "primary"\ndsn = "host=127.0.0.1 port=1"\n')
    home = tmp_path / "home"
    result = run_warroom("watch", "--target", "nope", home=home,
                         env={"WARROOM_CONFIG": str(config)})
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("warroom: error: no target named 'nope'")
    assert "known: primary" in result.stderr
    assert not home.exists()
