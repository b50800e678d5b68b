"""How the dashboard answers with a 1 MB note on its timeline, against the same record without.

Prints figures, asserts nothing. From the repo root:

    .venv/bin/python bench/bench_long_note.py [--size 1000000] [--rounds 10] [--busy N]
                                               [--before COMMIT]

The dashboard (``WarroomApp`` recording into a real session file through a Recorder, 120x40,
Textual's headless pilot, a sample fed each second as ``watch`` takes them) runs twice: on a
record of 40 short notes, then on the same record with one note of ``--size`` characters among
them (as an older file or another host may hold: typing one is refused over 64 KiB). For each:
- ``?``: from the key to the help panel on screen, and back (``--rounds`` times each);
- another shell: from a ``Store.append_entry`` in another thread (as ``warroom note`` writes)
  to the row on the timeline;
- a typed note: ``n``, text, Enter, until it is fsynced in the file.
``--busy N`` keeps N processes spinning meanwhile (the issue's "busy machine"); ``--before``
runs the timeline widget of an earlier commit (e.g. one before folding) for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "tui"))
sys.path.insert(0, str(REPO / "tests"))


def load_widget(commit: str) -> None:
    """Put the timeline widget of ``commit`` in place of today's, before the app imports it."""
    show = ["git", "-C", str(REPO), "show", f"{commit}:warroom/widgets/timeline.py"]
    source = subprocess.run(show, capture_output=True, text=True, check=True).stdout
    path = Path(tempfile.mkdtemp()) / "timeline.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("warroom.widgets.timeline", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["warroom.widgets.timeline"] = module
    spec.loader.exec_module(module)


def spin() -> None:
    while True:
        pass


def figures(label: str, values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    return (f"{label:<28} median {statistics.median(ms):8.1f} ms   max {ms[-1]:8.1f} ms   "
            f"(n={len(ms)})")


async def measure(size: int, rounds: int) -> list[str]:
    from tui_support import T0, Clock, make_app, new_store, sample

    from warroom.sessions.model import Source, TimelineEntry
    from warroom.sessions.store import Store
    from warroom.widgets.timeline import TimelineTable

    tmp = Path(tempfile.mkdtemp())
    store = new_store(tmp)
    for i in range(40):
        store.append_entry(TimelineEntry(at=T0 + timedelta(seconds=10 * i), text=f"note {i}",
                                         author="ana", source=Source.CLI))
    if size:
        words = " ".join(f"line{i} of a pasted log" for i in range(size // 10 + 1))[:size]
        with store.path.open("a") as handle:  # as an older record holds it (no limit then)
            handle.write('\n[[timeline]]\nid = "big"\nat = 2026-11-24T09:05:00Z\n'
                         f'kind = "note"\ntext = "{words}"\nauthor = "bo"\nsource = "cli"\n')
        store = Store.open(store.path)
    clock = Clock()
    app = make_app(store, clock)
    out: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one(TimelineTable)

        async def until(condition, timeout: float = 60.0) -> float:
            start = time.perf_counter()
            while not condition():
                if time.perf_counter() - start > timeout:
                    raise TimeoutError("the dashboard did not answer within 60 s")
                await asyncio.sleep(0.005)
            return time.perf_counter() - start

        async def feeding() -> None:
            while True:
                clock.advance(1)
                app.feed(sample(clock.now))
                await asyncio.sleep(1)

        feeder = asyncio.create_task(feeding())
        await until(lambda: table.row_count >= 40)
        await pilot.pause(2)
        help_open, help_close, other, typed = [], [], [], []
        for n in range(rounds):
            start = time.perf_counter()
            await pilot.press("question_mark")
            await until(lambda: bool(app.screen.query("HelpPanel")))
            await pilot.pause()  # the frame that shows it
            help_open.append(time.perf_counter() - start)
            start = time.perf_counter()
            await pilot.press("question_mark")
            await until(lambda: not app.screen.query("HelpPanel"))
            await pilot.pause()
            help_close.append(time.perf_counter() - start)

            rows = table.row_count
            other_store = Store.open(store.path, lazy=True)
            entry = TimelineEntry(at=clock.now, text=f"from another shell {n}", source=Source.CLI)
            wrote = threading.Thread(target=other_store.append_entry, args=(entry,))
            start = time.perf_counter()
            wrote.start()
            await until(lambda rows=rows: table.row_count > rows)
            other.append(time.perf_counter() - start)
            wrote.join()

            text = f"typed {n}"
            start = time.perf_counter()
            await pilot.press("n", *text, "enter")
            await until(lambda text=text: f'"{text}"'.encode() in store.path.read_bytes())
            typed.append(time.perf_counter() - start)
        feeder.cancel()
        out.append(figures("? shows the help", help_open))
        out.append(figures("? hides it", help_close))
        out.append(figures("note from another shell", other))
        out.append(figures("typed note on disk", typed))
        if size:
            key = next(k for k in table.rows if k.value == "big")
            out.append(f"{'the note on the timeline':<28} {table.rows[key].height} lines")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="the long note's characters")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--busy", type=int, default=0, help="spinning processes meanwhile")
    parser.add_argument("--before", metavar="COMMIT", help="the timeline widget of COMMIT")
    args = parser.parse_args()
    if args.before:
        load_widget(args.before)
    spinners = [multiprocessing.Process(target=spin, daemon=True) for _ in range(args.busy)]
    for proc in spinners:
        proc.start()
    try:
        widget = f"timeline widget of {args.before}" if args.before else "today's timeline widget"
        print(f"120x40 headless, {args.rounds} rounds, {args.busy} busy processes, {widget}")
        for size in (0, args.size):
            print(f"-- {'40 short notes' if not size else f'the same + one {size:,}-char note'}")
            for line in asyncio.run(measure(size, args.rounds)):
                print(line, flush=True)
    finally:
        for proc in spinners:
            proc.terminate()
            proc.join()


if __name__ == "__main__":
    main()
