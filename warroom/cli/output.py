"""What commands print besides their result: warnings on stderr, and files written whole."""

from __future__ import annotations

import sys
from pathlib import Path

from warroom.cli.options import PROG, CliError


def warn(message: str) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def share_warnings_to_stderr() -> None:
    import logging

    log = logging.getLogger("warroom.share")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(f"{PROG}: warning: %(message)s"))
        log.addHandler(handler)
        log.propagate = False


def write_atomically(path: Path, text: str) -> None:
    from warroom.sessions.fileio import replace_atomically

    try:
        replace_atomically(path, text.encode("utf-8"))
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None
