"""`warroom action list|add|done|drop`: the incident's follow-ups from any shell.

Writes go through the session's Store like `note`: under its file lock, after catching up with
other writers, so any number of shells adding and closing items at once lose none. An item is
added by one append (as a note is); closing one rewrites the file. Nothing of the collectors or
psycopg is imported (see incident.py), and a shared session publishes the change like a note.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import date
from typing import Any

from warroom.cli.incident import _publish
from warroom.cli.options import (
    PROG,
    Formatter,
    Parser,
    Subparsers,
    UsageError,
    add_command,
    author,
    resolve_session,
    session_arg,
)
from warroom.sanitize import one_line
from warroom.sessions.model import ActionItem, ActionKind, ActionStatus, Incident

FORMATS = ("table", "csv", "json")
# The columns of every format, in order; a tracker's CSV import maps them once.
COLUMNS = ("id", "status", "owner", "due", "overdue", "kind", "text", "incident")
# Cells a spreadsheet would run as a formula (OWASP's CSV injection list): prefixed with '.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def add_action(subs: Subparsers) -> None:
    p = add_command(subs, "action", "the incident's follow-ups: list, add, mark done or drop",
                    'warroom action add "cap shop-api\'s pool at 20" --owner ana --due 2026-12-18')
    p.description = (  # the formatter keeps line breaks as written
        "The incident's follow-ups (the draft's action items). Each has a status: open, done\n"
        "or wont_do (dropped, kept on record). An open item past its due date (UTC) is\n"
        "overdue, and `warroom sessions` lists it. IDs are the ones `list` and `add` print;\n"
        "the start of one is enough when no other id starts the same way."
    )
    acts = p.add_subparsers(dest="act", metavar="ACTION", parser_class=Parser, required=True)

    summary = "list the follow-ups (table, csv or json)"
    ls = acts.add_parser("list", help=summary, description=summary, formatter_class=Formatter,
                         epilog="example:\n  warroom action list --format csv > follow-ups.csv")
    session_arg(ls, "the newest unresolved session")
    ls.add_argument("--format", choices=FORMATS, default="table",
                    help=f"output format; columns: {', '.join(COLUMNS)} (default: table)")
    ls.set_defaults(func=cmd_list)

    summary = "add a follow-up (status open) and print its id"
    add = acts.add_parser("add", help=summary, description=summary, formatter_class=Formatter,
                          epilog="example:\n  warroom action add \"alert on pool use over 80 %\" "
                                 "--owner ana --due 2026-12-18 --kind detect")  # fmt: skip
    session_arg(add, "the newest unresolved session")
    add.add_argument("text", nargs="+", metavar="TEXT", help="what is to be done")
    add.add_argument("--owner", default="", help="who sees it through")
    add.add_argument("--due", type=due_date, metavar="DATE", help="due date, YYYY-MM-DD")
    add.add_argument("--kind", default=ActionKind.PREVENT.value,
                     choices=[k.value for k in ActionKind], help="(default: prevent)")
    add.set_defaults(func=cmd_add)

    for name, status, summary in (
        ("done", ActionStatus.DONE, "mark a follow-up done"),
        ("drop", ActionStatus.WONT_DO, "drop a follow-up (status wont_do: decided against, "
                                       "kept on record)"),
    ):
        one = acts.add_parser(name, help=summary, description=summary, formatter_class=Formatter,
                              epilog=f"example:\n  warroom action {name} 01938a7c-5e21")
        session_arg(one, "the newest unresolved session")
        one.add_argument("id", metavar="ID", help="the item's id, or its start")
        one.set_defaults(func=cmd_close, status=status)


def due_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


# -- commands --------------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    from warroom.sessions.followups import today
    from warroom.sessions.store import load

    path = resolve_session(args.session)
    incident = load(path).incident
    rows = [_row(incident, item, today()) for item in incident.action_items]
    if args.format == "json":
        json.dump(rows, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    elif args.format == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: _cell(v) for k, v in row.items()} for row in rows)
    elif not rows:
        print(f"no action items in {path} (add one with `{PROG} action add TEXT`)")
    else:
        _table(rows)
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    from warroom.sessions.model import check_note_text
    from warroom.sessions.share.oneshot import entry_author, open_session

    text = " ".join(args.text).strip()
    if not text:
        raise UsageError("an action item needs some text")
    check_note_text(text, "the action item")
    item = ActionItem(text=text, owner=args.owner.strip(), kind=ActionKind(args.kind),
                      due=args.due)  # fmt: skip
    path = resolve_session(args.session)
    who = entry_author(author(None), path, None)
    store, outbox, dsn = open_session(path, None, who)
    store.append_action_item(item)
    print(item.id)
    _publish(outbox, dsn, who, f"action item {item.id} is")
    return 0


def cmd_close(args: argparse.Namespace) -> int:
    from warroom.sessions.share.oneshot import entry_author, open_session

    path = resolve_session(args.session)
    who = entry_author(author(None), path, None)
    store, outbox, dsn = open_session(path, None, who)
    # The id is looked up under the lock, in the record as it is then (another shell's add
    # just before counts).
    item: ActionItem = store.update(lambda inc: inc.set_action_status(args.id, args.status))
    print(item.id)
    _publish(outbox, dsn, who, f"action item {item.id} ({args.status.value}) is")
    return 0


# -- output ------------------------------------------------------------------------------------


def _row(incident: Incident, item: ActionItem, today: date) -> dict[str, Any]:
    return {
        "id": item.id,
        "status": item.status.value,
        "owner": item.owner,
        "due": item.due.isoformat() if item.due else None,
        "overdue": item.overdue(today),
        "kind": item.kind.value,
        "text": item.text,
        "incident": incident.id,
    }


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def _table(rows: list[dict[str, Any]]) -> None:
    heads = ("ID", "STATUS", "DUE", "OWNER", "KIND", "TEXT")
    cells = [
        (row["id"], row["status"],
         (row["due"] or "-") + (" OVERDUE" if row["overdue"] else ""),
         one_line(row["owner"]) or "-", row["kind"], one_line(row["text"]))
        for row in rows
    ]  # fmt: skip
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(heads[:-1])]
    for line in (heads, *cells):
        print("  ".join(f"{v:<{w}}" for v, w in zip(line, widths, strict=False)) + "  " + line[-1])
