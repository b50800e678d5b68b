"""What the operating system refuses reaches callers as a SessionDiskError that keeps the errno.

The Recorder tells a full disk (wait and retry) from other failures by that errno alone. A real
full filesystem (a small tmpfs, root only) and real missing files and directories; no mocks.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.small_disk import fill, small_tmpfs

from warroom.sessions.model import Incident, Source, TimelineEntry
from warroom.sessions.store import SessionDiskError, SessionError, Store, load

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with small_tmpfs(tmp_path / "disk") as where:
        yield where


def test_a_full_disk_is_a_disk_error_with_its_errno_and_the_file_is_unchanged(
    small_disk: Path,
) -> None:
    store = Store.create(small_disk / "incident.toml", Incident.create("orders", T0))
    before = store.path.read_bytes()
    fill(small_disk / "filler")
    # Bigger than the page the file's last bytes leave free: the append needs a new one.
    note = TimelineEntry(at=T0, text="typed while full " * 3000, source=Source.MANUAL)
    with pytest.raises(SessionDiskError) as appended:
        store.append_entry(note)
    assert appended.value.errno == errno.ENOSPC
    assert appended.value.reason == "No space left on device"
    assert str(appended.value) == (
        f"{store.path}: append failed (No space left on device); nothing was written"
    )
    with pytest.raises(SessionDiskError) as rewritten:
        store.update(lambda incident: incident.set_severity("SEV1"))
    assert rewritten.value.errno == errno.ENOSPC
    assert "rewrite failed (No space left on device); the file is unchanged" in str(rewritten.value)
    assert store.path.read_bytes() == before
    assert not store.incident.timeline
    assert load(store.path).incident == store.incident


def test_a_missing_file_or_a_directory_is_a_disk_error_worded_as_before(tmp_path: Path) -> None:
    with pytest.raises(SessionDiskError) as missing:
        load(tmp_path / "nowhere.toml")
    assert missing.value.errno == errno.ENOENT
    assert str(missing.value) == f"no such session file: {tmp_path / 'nowhere.toml'}"
    with pytest.raises(SessionDiskError) as directory:
        load(tmp_path)
    assert directory.value.errno == errno.EISDIR
    assert str(directory.value) == f"{tmp_path}: is a directory, not a session file"
    assert isinstance(directory.value, SessionError)  # every caller's except still catches it
