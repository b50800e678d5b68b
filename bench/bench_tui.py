"""The dashboard's cost in a real terminal, side by side with pg_activity, plus RSS after a day.

Prints figures, asserts nothing. Run as root (or the server's owner) from the repo root:

    .venv/bin/pip install pg-activity py-spy   # benchmark only, never runtime dependencies
    .venv/bin/python bench/bench_tui.py [--seconds 60] [--idle 100] [--starts 3]
                                        [--profile 30] [--no-day] [--servers N]
                                        [--baseline DIR]

One throwaway cluster with ``--idle`` idle client connections held by this process. A private
tmux server (own socket, no user config) runs ``warroom watch --interval 1``,
``pg_activity --refresh 1`` (both against that cluster) and the Textual floor
(bench/tui_floor.py: one line redrawn once a second) in 120x40 sessions, all at the same time:
- first frame: spawn until ``capture-pane`` shows warroom's header clock ("T+") or
  pg_activity's header ("Ref.:"); each tool is started ``--starts`` times, one at a time
  (round by round: each tool once a round), and
  the last start of each is kept running for the window below. The warroom package that runs
  is byte-compiled first, as installing it from a wheel does: with PYTHONDONTWRITEBYTECODE=1 in
  the environment (this machine's) an editable copy would otherwise be compiled at each start;
- CPU: utime+stime of the tool's own python process (/proc/PID/stat, all its threads; not
  tmux) over the ``--seconds`` window that starts once both have drawn and settled, and from
  spawn to the end of the window; warroom's also by thread (named by ``py-spy dump``);
- terminal output: ``pipe-pane -o`` bytes over the same window, and for warroom which widget's
  screen rows they went to (cursor-addressed runs attributed by row and column);
- ``--baseline DIR``: a second warroom ("warroom B", the package in DIR, e.g. a copy of the
  last commit) runs beside the first through all of it, so an A/B shares the machine's noise;
- then, optionally, ``py-spy record`` of warroom's steady state (``--profile SECONDS``);
- RSS after 86,400 PgSamples through ``WarroomApp.feed`` in a headless ``run_test()``
  (bench/tui_day.py, in a fresh process).
Everything started here (tmux server, the tools, connections, cluster) is stopped on exit,
Ctrl+C included.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.pgcluster import MONITOR_ROLE, PgCluster

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
TICK = os.sysconf("SC_CLK_TCK")
COLS, ROWS = 120, 40
TARGET_KBPS = 2.0
TARGET_FIRST_FRAME_S = 0.6  # issue 25's aims: median first frame, and the CPU ratio below
TARGET_CPU_RATIO = 1.5
TARGET_RSS_MB = 120.0


def proc_cpu_s(pid: int, task: int | None = None) -> float:
    where = f"/proc/{pid}/task/{task}/stat" if task is not None else f"/proc/{pid}/stat"
    fields = Path(where).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def threads_cpu_s(pid: int) -> dict[int, float]:
    """CPU seconds of each thread of ``pid`` so far, by thread id: the scheduler's nanosecond
    count (schedstat), as a thread that wakes for a tenth of a millisecond is mostly missed by
    the 10 ms ticks of utime and stime."""
    out: dict[int, float] = {}
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            ran = Path(f"/proc/{pid}/task/{task}/schedstat").read_text().split()[0]
            out[int(task)] = int(ran) / 1e9
        except (OSError, IndexError, ValueError):  # the thread ended meanwhile
            continue
    return out


def thread_names(pid: int) -> dict[int, str]:
    """Python thread names by OS thread id (py-spy dump), or {} without py-spy."""
    pyspy = VENV_BIN / "py-spy"
    if not pyspy.exists():
        return {}
    proc = subprocess.run([str(pyspy), "dump", "--json", "-p", str(pid)],
                          capture_output=True, text=True, check=False, timeout=30)  # fmt: skip
    try:
        dump = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return {}
    return {t["os_thread_id"]: t.get("thread_name") or "?" for t in dump if t.get("os_thread_id")}


def open_idle(cluster: PgCluster, n: int, into: list[psycopg.Connection], threads: int = 4) -> None:
    """``n`` idle client backends from a few threads, so forking them does not take a minute."""
    lock = threading.Lock()
    per = [n // threads + (1 if i < n % threads else 0) for i in range(threads)]

    def work(k: int, t: int) -> None:
        mine = [cluster.connect(user="app", application_name=f"idle-{t}") for _ in range(k)]
        with lock:
            into.extend(mine)

    ts = [threading.Thread(target=work, args=(k, t)) for t, k in enumerate(per)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if len(into) != n:
        raise RuntimeError(f"opened {len(into)} of {n} idle connections")


class Tmux:
    """A private tmux server: its own socket, no ~/.tmux.conf, killed on close."""

    def __init__(self, base: Path, env: dict[str, str]) -> None:
        self.socket = base / "tmux.sock"
        self.env = env
        # A neutral working directory: `python -m warroom` must not import the repo's copy
        # from the current directory when --warroom-src names another one.
        self.cwd = base

    def run(self, *args: str, check: bool = True) -> str:
        proc = subprocess.run(
            ["tmux", "-S", str(self.socket), "-f", "/dev/null", *args],
            capture_output=True, text=True, env=self.env, check=False, timeout=10,
        )  # fmt: skip
        if check and proc.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout

    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> int:
        """A detached COLSxROWS session whose pane process *is* ``argv`` (exec); its pid."""
        command = "exec " + " ".join(_quote(a) for a in argv)
        env_args = [x for k, v in env.items() for x in ("-e", f"{k}={v}")]
        self.run("new-session", "-d", "-s", name, "-x", str(COLS), "-y", str(ROWS),
                 "-c", str(self.cwd), *env_args, command)  # fmt: skip
        return int(self.run("display-message", "-p", "-t", name, "#{pane_pid}").strip())

    def capture(self, name: str) -> str:
        return self.run("capture-pane", "-p", "-t", name, check=False)

    def close(self) -> None:
        if self.socket.exists():
            self.run("kill-server", check=False)


def _quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\\''") + "'"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _end(pid: int, deadline_s: float = 5.0) -> None:
    """SIGTERM, then SIGKILL if it is still there after ``deadline_s``."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)
        if not _alive(pid):
            return


@dataclass
class Tool:
    name: str
    argv: list[str]
    env: dict[str, str]
    ready: str  # text on screen that says the first frame is drawn
    quit_key: str
    first_frames: list[float] = field(default_factory=list)
    pid: int = 0
    spawned: float = 0.0
    pipe: Path | None = None

    @property
    def session(self) -> str:
        return self.name.replace(" ", "-")


def start(tmux: Tmux, tool: Tool, timeout: float = 30.0) -> float:
    """Spawn ``tool`` and poll the pane until its first frame; seconds from spawn to it."""
    session = tool.session
    t0 = time.perf_counter()
    tool.pid = tmux.spawn(session, tool.argv, tool.env)
    tool.spawned = t0
    deadline = t0 + timeout
    while time.perf_counter() < deadline:
        if tool.ready in tmux.capture(session):
            return time.perf_counter() - t0
        if not _alive(tool.pid):
            break
        time.sleep(0.01)
    raise RuntimeError(f"{tool.name} drew no first frame in {timeout:.0f}s:\n"
                       f"{tmux.capture(session)}")


def stop(tmux: Tmux, tool: Tool) -> None:
    """Quit the way a user does, so the next start is a clean one; force it if need be."""
    session = tool.session
    tmux.run("send-keys", "-t", session, tool.quit_key, check=False)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(tool.pid):
        time.sleep(0.05)
    if _alive(tool.pid):
        _end(tool.pid)
    tmux.run("kill-session", "-t", session, check=False)


# -- where warroom's bytes go --------------------------------------------------------------

CURSOR = re.compile(rb"\x1b\[(\d+);(\d+)H")


def regions(screen: str) -> list[tuple[str, int, int, int, int]]:
    """(name, first row, last row, first col, last col), 1-based, from a captured screen."""
    lines = screen.splitlines()
    found: list[tuple[str, int, int, int, int]] = [("header", 1, 1, 1, COLS)]
    panes_row = timeline_row = None
    for y, line in enumerate(lines, start=1):
        if "╭─ Connections" in line:
            panes_row = y
        if "╭─ Timeline" in line:
            timeline_row = y
    if panes_row and timeline_row:
        top = lines[panes_row - 1]
        starts = [m.start() + 1 for m in re.finditer("╭─ ", top)]
        names = [m.group(1) for m in re.finditer(r"╭─ (\w+)", top)]
        for i, (name, col) in enumerate(zip(names, starts, strict=True)):
            end = starts[i + 1] - 1 if i + 1 < len(starts) else COLS
            found.append((name.lower(), panes_row, timeline_row - 1, col, end))
        found.append(("timeline", timeline_row, ROWS - 1, 1, COLS))
    found.append(("footer", ROWS, ROWS, 1, COLS))
    return found


def attribute(data: bytes, areas: list[tuple[str, int, int, int, int]]) -> Counter[str]:
    """Bytes per screen area: each cursor-addressed run is charged to where it starts."""
    out: Counter[str] = Counter()
    pos = 0
    where = "other"
    for m in CURSOR.finditer(data):
        out[where] += m.start() - pos
        row, col = int(m.group(1)), int(m.group(2))
        where = next((n for n, r0, r1, c0, c1 in areas if r0 <= row <= r1 and c0 <= col <= c1),
                     "other")
        pos = m.start()
    out[where] += len(data) - pos
    return out


# -- profile -------------------------------------------------------------------------------


def profile(pid: int, seconds: int, out: Path) -> str:
    pyspy = VENV_BIN / "py-spy"
    if not pyspy.exists():
        return "py-spy is not installed (.venv/bin/pip install py-spy)"
    proc = subprocess.run(
        [str(pyspy), "record", "-p", str(pid), "-d", str(seconds), "-r", "250", "-f", "raw",
         "--nonblocking", "-o", str(out)],
        capture_output=True, text=True, check=False, timeout=seconds + 60,
    )  # fmt: skip
    if proc.returncode != 0 or not out.exists():
        return f"py-spy failed: {proc.stderr.strip()[-300:]}"
    if os.environ.get("WARROOM_BENCH_KEEP_PROFILE"):
        shutil.copy(out, os.environ["WARROOM_BENCH_KEEP_PROFILE"])
    return summarise_profile(out.read_text())


BUCKETS = (  # first match wins, checked from the innermost frame outwards
    ("collector: postgres sample", ("PostgresCollector.", "pg_wire.py")),
    ("collector: host sample (psutil, /proc/net/tcp)", ("HostCollector.", "tcpstates.py")),
    ("app: feed / views / tick", ("WarroomApp.feed", "WarroomApp.tick", "WarroomApp.refresh_live",
                                  "LiveState.")),
    ("textual: compositor + widget render", ("Screen._refresh_layout", "Compositor.")),
    ("textual: terminal write", ("LinuxDriver.write", "WriterThread.")),
    ("textual: message pump / timers", ("MessagePump.", "Timer.")),
)


WAITS = ("Condition.wait ", "select (selectors.py", "Queue.get ", "Event.wait ", "sleep ",
         "wait_fd ", "_wait_for_tstate_lock ")


def _frame_name(frame: str) -> str:
    # py-spy raw frames look like "func (path/to/file.py:123)"
    name, _, loc = frame.partition(" (")
    return f"{name} ({Path(loc.split(':')[0]).name})" if loc else name


def summarise_profile(raw: str) -> str:
    inclusive: Counter[str] = Counter()
    buckets: Counter[str] = Counter()
    total = idle = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = stack.split(";")
        # py-spy's idle detection lets some blocked threads through (a lock wait, a select):
        # a stack that ends in a wait is not CPU.
        if any(w in frames[-1] for w in WAITS):
            idle += n
            continue
        total += n
        for name in {_frame_name(f) for f in frames}:
            inclusive[name] += n
        for frame in reversed(frames):
            hit = next((b for b, keys in BUCKETS if any(k in frame for k in keys)), None)
            if hit:
                buckets[hit] += n
                break
        else:
            buckets["other (event loop, input thread, pollers' bookkeeping)"] += n
    if not total:
        return "no samples"
    lines = [f"py-spy: {total} on-CPU samples at 250 Hz (~{total / 250:.2f} CPU s; {idle} more"
             " samples ending in a wait were dropped)"]
    lines.append("  by part:")
    for name, n in buckets.most_common():
        lines.append(f"    {n / total:6.1%}  {name}")
    lines.append("  top functions (inclusive):")
    shown = 0
    skip = ("<module>", "run_until_complete", "run_forever", "_run_once", "Runner.run",
            "App.run ", "run (runners", "main (cli", "cmd_watch", "run_watch", "_bootstrap",
            "Handle._run", "Thread.run")  # fmt: skip
    for name, n in inclusive.most_common():
        if any(s in name for s in skip):
            continue
        lines.append(f"    {n / total:6.1%}  {name}")
        shown += 1
        if shown == 22:
            break
    return "\n".join(lines)


# -- the run -------------------------------------------------------------------------------


def day_rss(samples: int, src: Path | None) -> dict[str, object]:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src.resolve())
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "bench" / "tui_day.py"), "--samples", str(samples)],
        stdout=subprocess.PIPE, text=True, cwd=REPO, env=env,
    )  # fmt: skip
    try:
        out, _ = proc.communicate(timeout=1800)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(f"tui_day.py failed ({proc.returncode})")
    return json.loads(out.strip().splitlines()[-1])


def ok(flag: bool) -> str:
    return "ok" if flag else "MISS"


@dataclass
class Measured:
    elapsed: float
    cpu: dict[str, float]
    since_spawn: dict[str, float]
    written: dict[str, int]
    where: Counter[str]
    threads: dict[str, dict[str, float]]  # each warroom's CPU s in the window, by thread name


def measure(tmux: Tmux, tools: list[Tool], base: Path, seconds: int) -> Measured:
    """CPU and terminal bytes of every tool over the same window (all of them running)."""
    for tool in tools:
        tool.pipe = base / f"{tool.session}.out"
        tmux.run("pipe-pane", "-o", "-t", tool.session, f"cat >> {_quote(str(tool.pipe))}")
    war = tools[0]
    wars = [t for t in tools if t.name.startswith("warroom")]
    # Before the window: py-spy stops the process to read it.
    names = {t.name: thread_names(t.pid) for t in wars}
    cpu0 = {t.name: proc_cpu_s(t.pid) for t in tools}
    threads0 = {t.name: threads_cpu_s(t.pid) for t in wars}
    t0 = time.perf_counter()
    time.sleep(seconds)  # the measurement window itself
    elapsed = time.perf_counter() - t0
    cpu = {t.name: proc_cpu_s(t.pid) - cpu0[t.name] for t in tools}
    threads: dict[str, dict[str, float]] = {}
    for tool in wars:
        by_name: Counter[str] = Counter()
        for tid, spent in threads_cpu_s(tool.pid).items():
            by_name[names[tool.name].get(tid, f"thread {tid}")] += \
                spent - threads0[tool.name].get(tid, 0.0)
        threads[tool.name] = dict(by_name.most_common())
    since_spawn = {t.name: proc_cpu_s(t.pid) for t in tools}
    written = {t.name: t.pipe.stat().st_size if t.pipe and t.pipe.exists() else 0 for t in tools}
    for tool in tools:
        if not _alive(tool.pid):
            raise RuntimeError(f"{tool.name} died during the window")
    screen = tmux.capture(war.session)
    data = war.pipe.read_bytes()[: written[war.name]] if war.pipe else b""
    return Measured(elapsed, cpu, since_spawn, written, attribute(data, regions(screen)),
                    threads)  # fmt: skip


def report(tools: list[Tool], m: Measured, day: dict[str, object] | None) -> None:
    names = [t.name for t in tools]
    war, pga = names[0], names[1]
    width = 14

    def row(label: str, cells: list[str], target: str = "") -> None:
        print(f"{label:<32}" + "".join(f"{c:>{width}}" for c in cells) + f"   {target}")

    row("", names, "target")
    row("CPU s in the window", [f"{m.cpu[n]:.2f}" for n in names])
    row("CPU % of one core", [f"{m.cpu[n] / m.elapsed * 100:.2f}%" for n in names])
    ratio = m.cpu[war] / m.cpu[pga] if m.cpu[pga] > 0 else float("inf")
    row("CPU ratio to pg_activity",
        [f"{m.cpu[n] / m.cpu[pga]:.2f}" if m.cpu[pga] > 0 else "-" for n in names],
        f"warroom <= {TARGET_CPU_RATIO:g}  {ok(ratio <= TARGET_CPU_RATIO)}")
    row("CPU s since spawn", [f"{m.since_spawn[n]:.2f}" for n in names])
    kbps = {n: m.written[n] / m.elapsed / 1024 for n in names}
    row("terminal output KB/s", [f"{kbps[n]:.2f}" for n in names],
        f"<= {TARGET_KBPS:g}  {ok(kbps[war] <= TARGET_KBPS)}")
    med = {t.name: statistics.median(t.first_frames) for t in tools}
    row("first frame s (median)", [f"{med[n]:.3f}" for n in names],
        f"<= {TARGET_FIRST_FRAME_S:g}  {ok(med[war] <= TARGET_FIRST_FRAME_S)}")
    row("first frame s (max)", [f"{max(t.first_frames):.3f}" for t in tools])
    if day is not None:
        rss = float(str(day["rss_after_mb"]))
        row("RSS MB after 24 h of samples", [f"{rss:.1f}"] + [""] * (len(names) - 1),
            f"<= {TARGET_RSS_MB:g}  {ok(rss <= TARGET_RSS_MB)}")
        print(f"  day run: {day['samples']} samples, RSS {day['rss_before_mb']} MB before,"
              f" hourly {day['rss_hourly_mb']}, peak {day['rss_peak_mb']} MB;"
              f" {day['feed_cpu_us']} us CPU per sample incl. renders;"
              f" {day['timeline_entries']} alert entries, {day['rollups']} rollups,"
              f" session file {day['session_kb']} KB")
    for tool, by_thread in m.threads.items():
        print(f"{tool} CPU s in the window by thread (schedstat): " + ", ".join(
            f"{name} {spent:.3f}" for name, spent in by_thread.items()
        ))
    total = sum(m.where.values())
    print("warroom terminal bytes by screen area (B/s): " + ", ".join(
        f"{name} {n / m.elapsed:.0f}" for name, n in m.where.most_common() if n
    ) + f"  [{total / m.elapsed:.0f} total]")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--idle", type=int, default=100)
    ap.add_argument("--starts", type=int, default=3, help="first-frame starts per tool")
    ap.add_argument("--settle", type=float, default=3.0, help="seconds after start-up")
    ap.add_argument("--profile", type=int, default=0, help="py-spy seconds after the window")
    ap.add_argument("--no-day", action="store_true", help="skip the 24 h RSS run")
    ap.add_argument("--day-samples", type=int, default=86_400)
    ap.add_argument("--servers", type=int, default=1,
                    help="warroom watches the cluster this many times (one --dsn each: a "
                         "monitoring connection, a poller and a strip row per server)")
    ap.add_argument("--warroom-src", type=Path, default=None,
                    help="run the warroom package found in this directory (an A/B copy)")
    ap.add_argument("--baseline", type=Path, default=None,
                    help="also run the warroom package found in this directory, as "
                         "'warroom B', in the same window (A/B on the same noise)")
    args = ap.parse_args()

    def interrupted(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    # SIGINT too: a shell starts background jobs with it ignored, and Ctrl+C must still clean up.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupted)

    base = Path(tempfile.mkdtemp(prefix="warroom-bench-tui-"))
    home = base / "home"
    home.mkdir()
    cluster = PgCluster(max_connections=args.idle + 50)
    held: list[psycopg.Connection] = []
    # The tools' terminal and environment: nothing of the caller's PG* or colour settings.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PG", "COLORTERM", "NO_COLOR", "TMUX", "WARROOM"))}
    tmux = Tmux(base, env)
    tools: list[Tool] = []
    try:
        pga = VENV_BIN / "pg_activity"
        if not pga.exists():
            raise SystemExit("pg_activity is missing: .venv/bin/pip install pg-activity")
        cluster.start()
        open_idle(cluster, args.idle, held)
        for src in (args.warroom_src or REPO, args.baseline):
            if src is not None:
                subprocess.run([str(VENV_BIN / "python"), "-m", "compileall", "-q",
                                str(src.resolve() / "warroom")], check=True)  # fmt: skip
        version = cluster.version_num
        tmux.run("start-server", ";", "set-option", "-g", "exit-empty", "off")
        tmux.run("set-option", "-g", "default-terminal", "tmux-256color")
        war_env = {"WARROOM_HOME": str(home)}
        war_cmd = [str(VENV_BIN / "warroom")]
        if args.warroom_src is not None or args.baseline is not None:
            # Both copies start the same way, so their first frames compare.
            war_env["PYTHONPATH"] = str((args.warroom_src or REPO).resolve())
            war_cmd = [str(VENV_BIN / "python"), "-m", "warroom"]
        watch = ["watch", *["--dsn", cluster.dsn(user=MONITOR_ROLE)] * args.servers,
                 "--interval", "1"]
        tools = [
            Tool("warroom", [*war_cmd, *watch], war_env, "T+", "q"),
            Tool("pg_activity",
                 [str(pga), "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres",
                  "-d", "postgres", "--refresh", "1"],
                 {}, "Ref.:", "q"),
            Tool("textual floor", [str(VENV_BIN / "python"), str(REPO / "bench" / "tui_floor.py")],
                 {}, "T+", "q"),
        ]  # fmt: skip
        if args.baseline is not None:
            home_b = base / "home-b"
            home_b.mkdir()
            tools.append(Tool("warroom B", [*war_cmd, *watch],
                              {"WARROOM_HOME": str(home_b),
                               "PYTHONPATH": str(args.baseline.resolve())}, "T+", "q"))
        # Round by round, each tool once a round: a noisy spell on the shared machine falls on
        # all of them rather than on one tool's starts.
        for i in range(args.starts):
            for tool in tools:
                tool.first_frames.append(start(tmux, tool))
                if i < args.starts - 1:
                    stop(tmux, tool)
        time.sleep(args.settle)  # let start-up work finish before the window opens
        measured = measure(tmux, tools, base, args.seconds)
        profile_text = profile(tools[0].pid, args.profile, base / "pyspy.txt") \
            if args.profile > 0 else ""
        for tool in tools:
            stop(tmux, tool)
        for conn in held:
            conn.close()
        held.clear()
        cluster.cleanup()
        day = day_rss(args.day_samples, args.warroom_src) if not args.no_day else None

        print()
        if args.warroom_src is not None:
            print(f"warroom package from {args.warroom_src.resolve()}")
        if args.baseline is not None:
            print(f"warroom B: the package from {args.baseline.resolve()}")
        print(f"PostgreSQL {version // 10000}.{version % 10000}, {args.idle} idle client"
              f" connections; tmux {COLS}x{ROWS} TERM=tmux-256color; refresh 1 s;"
              f" window {measured.elapsed:.1f} s with all three running;"
              f" {args.starts} starts each for the first frame;"
              f" warroom watching {args.servers} server(s) (the same cluster)")
        report(tools, measured, day)
        if profile_text:
            print(profile_text)
    except KeyboardInterrupt:
        print("\ninterrupted; cleaning up", file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl+C must not skip cleanup
        for tool in tools:
            if tool.pid and _alive(tool.pid):
                _end(tool.pid)
        tmux.close()
        for conn in held:
            try:
                conn.close()
            except Exception:
                pass
        cluster.cleanup()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
