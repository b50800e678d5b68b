"""Drill fixtures: a private sessions dir and marker dir per test; processes checked by pid."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from warroom.drill.sandbox import SandboxUnavailable, find_binaries, run_as_prefix


@pytest.fixture(autouse=True)
def drill_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    try:
        find_binaries()
        run_as_prefix()
    except SandboxUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {exc}", pytrace=False)
        pytest.skip(f"no PostgreSQL server available: {exc}")
    home = tmp_path / "incidents"
    runtime = tmp_path / "run"
    monkeypatch.setenv("WARROOM_HOME", str(home))
    monkeypatch.setenv("WARROOM_DRILL_RUNTIME", str(runtime))
    monkeypatch.delenv("WARROOM_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # default thresholds
    return {"home": home, "runtime": runtime}
