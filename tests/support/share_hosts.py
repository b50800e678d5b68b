"""Hosts for the sharing tests: one WARROOM_HOME, host name and author each."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support.polling import wait_until as wait_until  # where the sharing tests found it
from warroom.sessions.model import Incident, TimelineEntry
from warroom.sessions.store import load


class Host:
    def __init__(self, base: Path, name: str) -> None:
        self.name = name
        self.home = base / name / "incidents"
        self.home.mkdir(parents=True)
        self.config = base / name / "config"
        self.config.mkdir()
        self.author = f"{name}-user"

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ)
        for key in ("WARROOM_DEBUG", "WARROOM_SHARE", "WARROOM_CONFIG"):
            env.pop(key, None)
        env.update(
            WARROOM_HOME=str(self.home),
            WARROOM_HOST=self.name,
            WARROOM_AUTHOR=self.author,
            XDG_CONFIG_HOME=str(self.config),
        )
        env.update(extra or {})
        return env

    def run(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 60, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "warroom", *args],
            capture_output=True,
            text=True,
            env=self.env(env),
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"{self.name}: warroom {' '.join(args)}: {result.stderr}")
        return result

    def popen(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env(env),
        )

    def session(self) -> Path:
        found = sorted(self.home.glob("*.toml"))
        assert len(found) == 1, found
        return found[0]

    def incident(self) -> Incident:
        return load(self.session()).incident

    def entries(self) -> list[TimelineEntry]:
        """The timeline in the merge order every host shares: time, then id."""
        return sorted(self.incident().timeline, key=lambda e: (e.at, e.id))
