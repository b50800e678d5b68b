"""The parser's parts, and every option more than one command takes, declared once.

Commands add their subparser with ``add_command`` and their shared options with the helpers
here, so an option's name, metavar and help read the same everywhere. Range checks are argparse
types: a bad value is refused while parsing, before any command starts.
"""

from __future__ import annotations

import argparse
import getpass
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from warroom.errors import UserError

PROG = "warroom"

Subparsers = argparse._SubParsersAction  # type: ignore[type-arg]


class CliError(UserError):
    """A failure to report in one line, exit 1."""


class UsageError(Exception):
    """Bad usage, exit 2."""


class Parser(argparse.ArgumentParser):
    """argparse that reports usage errors in the contract's one-line form."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


class Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30)


def add_command(subs: Subparsers, name: str, summary: str, example: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subs.add_parser(
        name,
        help=summary,
        description=summary,
        epilog=f"example:\n  {example}",
        formatter_class=Formatter,
    )
    return parser


# -- shared options --------------------------------------------------------------------------


def session_arg(parser: argparse.ArgumentParser, default_note: str) -> None:
    parser.add_argument(
        "--session",
        metavar="PATH",
        type=Path,
        help=f"session file (default: {default_note})",
    )


def share_arg(parser: argparse.ArgumentParser, meaning: str) -> None:
    parser.add_argument(
        "--share",
        metavar="DSN",
        help=f"ops PostgreSQL to share through (libpq DSN; {meaning})",
    )


SHARE_CONFIGURED = "default: $WARROOM_SHARE, else [share] dsn in the config file"
SHARE_OF_SESSION = "default: where the session is shared; given for an unshared one, shares it"


def time_arg(parser: argparse.ArgumentParser, meaning: str) -> None:
    parser.add_argument(
        "--at",
        metavar="TIME",
        help=f"{meaning}: ISO 8601 with a zone, or HH:MM[:SS] meaning UTC today (default: now)",
    )


def author_arg(parser: argparse.ArgumentParser, who: str, login: str = "your login") -> None:
    """``--author``; its default is resolved by ``author()`` when the command runs."""
    parser.add_argument("--author", help=f"{who} (default: $WARROOM_AUTHOR, else {login})")


def author(given: str | None) -> str:
    """``--author``, else ``$WARROOM_AUTHOR``, else the login name ('' when there is none)."""
    if given:
        return given
    env = os.environ.get("WARROOM_AUTHOR")
    if env:
        return env
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def resolve_session(path: Path | None) -> Path:
    """``--session``, else the newest unresolved session."""
    from warroom.sessions.paths import newest_unresolved

    return path if path is not None else newest_unresolved()


def dsns_arg(parser: argparse.ArgumentParser, several: str, default: list[str] | None) -> None:
    """``--dsn``, repeatable: several servers side by side."""
    parser.add_argument(
        "--dsn", action="append", default=default, metavar="DSN",
        help=f"libpq connection string or URI (default: PG* env); repeat it to {several}",
    )  # fmt: skip


def pgbouncer_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pgbouncer", metavar="DSN", action="append", default=[],
        help="PgBouncer admin console DSN; with several --dsn, one per server in the same order "
             "('' for none)",
    )  # fmt: skip


def interval_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--interval", type=seconds, default=1.0, metavar="S",
                        help="seconds between samples (default: 1)")  # fmt: skip


# -- types: values checked while parsing -----------------------------------------------------


def seconds(text: str) -> float:
    """An interval in seconds: a finite number above 0 (``nan`` and ``inf`` are floats too)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds above 0: {text!r}")
    return value


def count_type(option: str, low: int) -> Callable[[str], int]:
    """A whole number of at least ``low``: ``--count 0`` is ``--count must be at least 1``."""

    def check(text: str) -> int:
        value = int(text)  # not a number: argparse's own "invalid int value: 'x'"
        if value < low:
            # Raised through argparse (it converts only its own and ValueError/TypeError): the
            # wording the command has always had, without the "argument --count:" prefix.
            raise UsageError(f"{option} must be at least {low}")
        return value

    check.__name__ = "int"  # what argparse names in "invalid int value"
    return check


def speed_type(option: str, high: float) -> Callable[[str], float]:
    """A play speed: more than 0 and at most ``high`` (``nan`` fails both)."""

    def check(text: str) -> float:
        value = float(text)  # not a number: argparse's own "invalid float value: 'x'"
        if not 0 < value <= high:
            raise UsageError(f"{option} must be more than 0 and at most {high:g}")
        return value

    check.__name__ = "float"
    return check
