"""`warroom notify test`: a sample event to each `[[notify]]` destination, and its answer."""

from __future__ import annotations

import argparse

from warroom.cli.options import CliError, Parser, Subparsers, UsageError, add_command


def add_notify(subs: Subparsers) -> None:
    p = add_command(subs, "notify", "check the [[notify]] destinations of the config file",
                    "warroom notify test --name oncall")  # fmt: skip
    actions = p.add_subparsers(dest="notify_command", metavar="ACTION", parser_class=Parser)
    q = add_command(actions, "test", "send a sample event to each destination (or --name's); "
                    "print what each answered; exit 1 if any failed",
                    "warroom notify test --name oncall")  # fmt: skip
    q.add_argument("--name", metavar="NAME", help="only this destination")
    q.set_defaults(func=cmd_notify_test)
    p.set_defaults(func=_needs_an_action)


def _needs_an_action(_args: argparse.Namespace) -> int:
    raise UsageError("notify needs an action: test")


def cmd_notify_test(args: argparse.Namespace) -> int:
    from warroom.config import read_config
    from warroom.notify import config, events
    from warroom.notify.send import deliver
    from warroom.sanitize import one_line

    found = read_config()
    destinations = config.parse(found)
    if not destinations:
        raise CliError(f"{found.where}: no [[notify]] destinations")
    if args.name is not None:
        destinations = tuple(d for d in destinations if d.name == args.name)
        if not destinations:
            known = ", ".join(d.name for d in config.parse(found))
            raise CliError(f"{found.where}: no [[notify]] destination named "
                           f"{one_line(args.name, 64)!r} (known: {known})")  # fmt: skip
    failed = 0
    for dest in destinations:
        sample = events.sample()
        answer = deliver(dest, sample["id"], [sample])
        print(f"{dest.name}: {'ok' if answer.ok else 'FAILED'}: {answer.text}", flush=True)
        failed += not answer.ok
    return 1 if failed else 0
