"""Run the real `warroom` command in a subprocess, the way a user's shell does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_warroom(
    *args: str, home: Path, check: bool = False, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ)
    full_env.pop("WARROOM_DEBUG", None)
    full_env.update({"WARROOM_HOME": str(home), "WARROOM_AUTHOR": "tester"})
    full_env.update(env or {})
    result = subprocess.run(
        [sys.executable, "-m", "warroom", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"warroom {' '.join(args)} failed: {result.stderr}")
    return result
