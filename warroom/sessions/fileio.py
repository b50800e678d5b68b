"""Low-level file operations of the session store: locks, durable writes, 0600 files.

Everything here is about the guarantee "acknowledged means on disk": a write returns only after
fsync, a new or renamed name is made durable by fsyncing its directory, and every file we create
is 0600 whatever the umask.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import glob
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

MODE = 0o600
# How long a writer waits for another writer's lock before giving up with an error; holders
# keep it for one write + fsync, so hitting this means a stuck process, not a busy one.
LOCK_WAIT = 10.0


class LockTimeout(OSError):
    """Another process held the lock for longer than LOCK_WAIT."""


def lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def _open_lock(path: Path, create: bool) -> int | None:
    target = lock_path(path)
    if not create:
        try:
            return os.open(target, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None  # readers never create files; without a lock file there is no writer
    fd = os.open(target, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, MODE)
    st = os.fstat(fd)
    if st.st_mode & 0o777 != MODE and st.st_uid == os.geteuid():
        os.fchmod(fd, MODE)  # the umask may have taken bits away at creation
    return fd


@contextlib.contextmanager
def locked(
    path: Path, exclusive: bool, wait: float | None = LOCK_WAIT, create: bool = True
) -> Iterator[bool]:
    """Hold the flock on PATH.lock; yields False when it could not be had.

    ``wait=None`` tries once (the TUI's refresh must never block); otherwise waiting longer than
    ``wait`` seconds raises LockTimeout. Polling rather than a blocking flock keeps that bound.
    """
    fd = _open_lock(path, create)
    if fd is None:
        yield False
        return
    op = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    try:
        deadline = time.monotonic() + (wait or 0.0)
        pause = 0.0005
        while True:
            try:
                fcntl.flock(fd, op | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if wait is None:
                    yield False
                    return
                if time.monotonic() >= deadline:
                    raise LockTimeout(
                        errno.EWOULDBLOCK, f"locked by another process for over {wait:g}s"
                    ) from None
                time.sleep(pause)
                pause = min(pause * 2, 0.005)
        yield True
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    """Write every byte; normally one os.write, more only after a short write."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def temp_beside(path: Path) -> tuple[Path, int]:
    """A new 0600 file in the same directory (so a rename is atomic); hidden, never *.toml."""
    while True:
        # os.urandom, as secrets.token_hex does, without importing secrets (hmac, hashlib,
        # random) into every `warroom note`.
        temp = path.with_name(f".{path.name}.{os.getpid()}-{os.urandom(3).hex()}.tmp")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, MODE)
        except FileExistsError:
            continue
        os.fchmod(fd, MODE)
        return temp, fd


def sweep_dead_temps(path: Path) -> None:
    """Remove temp files beside ``path`` left by writers that died mid-rewrite (SIGKILL, power).

    A temp file names its writer's pid; one whose process is gone can never be renamed into
    place. A live pid (a writer at work, or a reused pid) keeps its file.
    """
    prefix = f".{path.name}."
    for temp in path.parent.glob(f"{glob.escape(prefix)}*.tmp"):
        import psutil  # only when a temp file is there: most opens find none

        pid_text = temp.name[len(prefix) :].split("-", 1)[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid():
            continue
        if not psutil.pid_exists(int(pid_text)):
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()


def write_temp(path: Path, data: bytes) -> Path:
    """``data`` durably in a temp file beside ``path``; the temp file is gone on failure."""
    temp, fd = temp_beside(path)
    try:
        try:
            write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    return temp


def replace_atomically(path: Path, data: bytes) -> None:
    """Temp file, write, fsync, rename over ``path``, fsync the directory."""
    temp = write_temp(path, data)
    try:
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    fsync_dir(path.parent)


def create_exclusively(path: Path, data: bytes) -> None:
    """Write a new file at ``path`` whole or not at all; FileExistsError if it exists.

    Written to a temp file and hard-linked into place, so a crash never leaves a half-written
    header under the real name and an existing file is never replaced.
    """
    temp = write_temp(path, data)
    try:
        try:
            os.link(temp, path)
        except FileExistsError:
            raise
        except OSError:
            # Filesystems without hard links: the caller holds the lock, so check-then-rename
            # only races with writers that do not lock, which do not exist.
            if os.path.lexists(path):
                raise FileExistsError(errno.EEXIST, "file exists", str(path)) from None
            os.rename(temp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    fsync_dir(path.parent)


def save_beside(path: Path, suffix: str, data: bytes) -> Path:
    """Keep ``data`` durably next to ``path`` as PATH.SUFFIX-YYYYmmddTHHMMSS[-N], 0600."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    base = f"{path.name}.{suffix}-{stamp}"
    n = 1
    while True:
        target = path.with_name(base if n == 1 else f"{base}-{n}")
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, MODE)
        except FileExistsError:
            n += 1
            continue
        try:
            os.fchmod(fd, MODE)
            write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_dir(path.parent)
        return target
