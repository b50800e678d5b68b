"""The front door: the parser made of every command group's subparsers, and errors as one line.

Errors are one line ``warroom: error: ...`` on stderr: exit 1 for a failure, 2 for bad usage.
No traceback reaches the user unless ``WARROOM_DEBUG=1`` asks for it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from warroom import __version__
from warroom.cli import action, doctor, incident, notify, record, sample, serve, share, watch
from warroom.cli.history import add_history
from warroom.cli.options import PROG, Formatter, Parser, UsageError
from warroom.cli.output import share_warnings_to_stderr
from warroom.errors import UserError
from warroom.sessions.model import ModelError
from warroom.sessions.times import TimeError

# In the order `warroom --help` lists them (the README's "Commands" table).
COMMANDS = (
    incident.add_new, share.add_join, share.add_share, incident.add_note, incident.add_status,
    incident.add_postmortem, watch.add_replay, incident.add_check, incident.add_sessions,
    action.add_action, add_history,
    watch.add_watch, sample.add_sample, record.add_record, record.add_frames, doctor.add_doctor,
    watch.add_demo, serve.add_serve, notify.add_notify,
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=PROG,
        description=(
            "A terminal war room for PostgreSQL incidents: live connections and latency, an "
            "incident clock, a timeline that is on disk the moment you press Enter, and the "
            "postmortem draft."
        ),
        epilog=(
            "sessions live in $WARROOM_HOME, else ~/.local/share/warroom/incidents.\n"
            "`note`, `status` and `action` use the newest unresolved session unless --session "
            "is given."
        ),
        formatter_class=Formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subs = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for add in COMMANDS:
        add(subs)
    return parser


def _fail(message: str, code: int) -> int:
    # One line, always: a multi-line message from below would break scripts that read stderr.
    line = " ".join(str(message).split())
    print(f"{PROG}: error: {line}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    from warroom.sanitize import terminal_streams

    # Everything any command prints (titles, host names, paths, servers' messages, errors)
    # reaches the terminal through one filter: no escape or bidi character it carries is obeyed.
    with terminal_streams():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    # Not the alerts module for its ConfigError (a UserError): importing the collectors costs
    # `warroom note` more than the note itself.
    from warroom.sessions.store import SessionError

    share_warnings_to_stderr()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        result: int = args.func(args)
        return result
    except UsageError as exc:
        return _fail(str(exc), 2)
    except (UserError, SessionError, ModelError, TimeError) as exc:
        return _fail(str(exc), 1)
    except BrokenPipeError:
        # `warroom postmortem x | head`: the reader left; not an error worth a line. Point
        # stdout at /dev/null so the interpreter's last flush cannot complain either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(f"{where}{exc.strerror or exc}", 1)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # last resort: never show a traceback to a responder at 3 a.m.
        if os.environ.get("WARROOM_DEBUG"):
            import traceback  # only here: every command would pay for the import

            traceback.print_exc()
        name = exc.__class__.__name__
        return _fail(f"internal error: {name}: {exc} (WARROOM_DEBUG=1 shows more)", 1)
