"""`warroom history`: the incidents of the sessions directory (and an ops database) counted
together, as a table, JSON or CSV."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from typing import TYPE_CHECKING

from warroom.cli.options import Subparsers, add_command, share_arg
from warroom.cli.output import warn
from warroom.formats import format_duration
from warroom.sanitize import one_line

if TYPE_CHECKING:
    from warroom.sessions.history import History
    from warroom.sessions.history.figures import Mean

FORMATS = ("table", "json", "csv")
CSV_COLUMNS = ("month", "incidents", "SEV1", "SEV2", "SEV3", "SEV4", "mttd_s", "mttm_s",
               "mttr_s", "open_follow_ups", "overdue_follow_ups")
# Widest a text column of the table gets; longer text is cut with an ellipsis.
TEXT_WIDTH = 60


def add_history(subs: Subparsers) -> None:
    p = add_command(subs, "history", "count incidents across sessions: by severity and month, "
                    "MTTD/MTTM/MTTR, recurring findings and names, follow-ups",
                    "warroom history --format csv > incidents-by-month.csv")
    p.epilog += (
        "\n\nreads every session in the sessions directory (headers, findings and action items;"
        "\nnever the samples). With --share, also the incidents shared there that this host has"
        "\nno copy of. csv has one row per month (durations in seconds); json has everything."
    )
    share_arg(p, "also count the incidents shared there; default: local sessions only")
    p.add_argument("--format", choices=FORMATS, default="table",
                   help="output format (default: table)")
    p.set_defaults(func=cmd_history)


def gather(share: str | None) -> History:
    """The history of the local sessions, plus the shared ones when ``share`` is given."""
    from warroom.sessions.followups import today
    from warroom.sessions.history import collect, local, shared
    from warroom.sessions.paths import sessions_dir

    found, problems = local()
    for problem in problems:
        warn(f"left out of the history: {problem}")
    if share:
        from warroom.sessions.share import client

        dsn = client.configured_dsn(share) or share
        found += shared(dsn, {s.incident.id for s in found}, warn)
    elif not found and not problems:
        warn(f"no incidents in {sessions_dir()}")
    return collect(found, today(), problems)


def cmd_history(args: argparse.Namespace) -> int:
    history = gather(args.share)
    if args.format == "json":
        from warroom.sessions.history import as_json

        json.dump(as_json(history), sys.stdout, indent=2)
        print()
    elif args.format == "csv":
        write_csv(history)
    else:
        print("\n".join(table(history)))
    return 0


def _seconds(mean: Mean) -> str:
    return "" if mean.value is None else str(int(mean.value.total_seconds()))


def write_csv(history: History) -> None:
    """One row per month, newest first, then ``all``; recorded text never appears here."""
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(CSV_COLUMNS)
    for m in history.months:
        out.writerow([m.month, m.incidents, *m.by_severity.values(),
                      *(_seconds(mean) for mean in m.means.values()),
                      m.open_follow_ups, m.overdue_follow_ups])
    out.writerow(["all", history.incidents, *history.by_severity.values(),
                  *(_seconds(mean) for mean in history.means.values()),
                  history.open_follow_ups, len(history.overdue)])


def _mean_text(mean: Mean) -> str:
    return "—" if mean.value is None else format_duration(mean.value)


def _cut(text: str, width: int = TEXT_WIDTH) -> str:
    line = one_line(text)
    return line if len(line) <= width else line[: width - 1] + "…"


def table(history: History) -> list[str]:
    """The figures as text for a terminal: recorded text on one line, cut to fit."""
    if not history.incidents:
        return ["no incidents to count"]
    months = history.months
    span = months[-1].month + (f" to {months[0].month}" if len(months) > 1 else "")
    severities = " · ".join(f"{s} {n:,}" for s, n in history.by_severity.items())
    means = " · ".join(f"{key.upper()} {_mean_text(mean)} (of {mean.over:,})"
                       for key, mean in history.means.items())
    lines = [f"{history.incidents:,} incidents, {span}: {severities}", f"mean times: {means}", ""]
    head = f"{'month':<8} {'incidents':>9} {'SEV1':>5} {'SEV2':>5} {'SEV3':>5} {'SEV4':>5} " \
           f"{'MTTD':>8} {'MTTM':>8} {'MTTR':>8} {'open':>5} {'overdue':>7}"
    lines.append(head)
    for m in months:
        sev = " ".join(f"{n:>5}" for n in m.by_severity.values())
        times = " ".join(f"{_mean_text(mean):>8}" for mean in m.means.values())
        lines.append(f"{m.month:<8} {m.incidents:>9} {sev} {times} {m.open_follow_ups:>5} "
                     f"{m.overdue_follow_ups:>7}")
    lines += ["", "most frequent findings (incidents):"]
    lines += [f"  {n:>5}  {_cut(kind)}" for kind, n in history.findings] or ["  none recorded"]
    lines += ["", "named more than once (application or user, incidents):"]
    lines += [f"  {n:>5}  {_cut(name)}" for name, n in history.villains] or ["  none"]
    lines += ["", f"follow-ups: {history.open_follow_ups:,} open, {len(history.overdue):,} "
              f"overdue (due before {history.today:%Y-%m-%d}), {history.done_follow_ups:,} done, "
              f"{history.dropped_follow_ups:,} won't do"]
    for item in history.overdue[:20]:
        owner = _cut(item.owner, 20) or "no owner"
        lines.append(f"  due {item.due:%Y-%m-%d}  {owner}  {_cut(item.text, 50)}  "
                     f"({_cut(item.incident, 50)})")
    if len(history.overdue) > 20:
        lines.append(f"  and {len(history.overdue) - 20:,} more (--format json lists them all)")
    return lines
