"""The dashboard's terminal driver: a terminal that goes away ends the dashboard, never wedges it.

Textual's LinuxDriver assumes the terminal outlives the app. When it does not (an SSH drop, a
killed tmux session: the pty is hung up), three things go wrong, each seen keeping a dashboard
alive for minutes:

- Its writer thread dies on the first write that fails (EIO) and leaves its bounded queue
  behind: after 30 more writes, the UI thread blocks forever in ``Queue.put``, whether it is
  drawing a frame or restoring the terminal on the way out (``WriterThread.stop``).
- Reads of a hung-up tty return end-of-file, which its input thread treats as "nothing yet"
  and spins on; nothing tells the app the terminal is gone.
- Any SIGCONT restarts "application mode", and the kernel sends one with the SIGHUP of a
  hang-up: a second input thread (not a daemon) replaces the first, whose reference is lost.

Here a failed write marks the terminal lost and later writes are dropped (the writer keeps
draining, so nothing waits on a terminal that is gone); a thread waits for the tty's hang-up
(POLLHUP, no polling); either sends this process SIGHUP, so a lost terminal leaves through the
same door as an SSH drop (ExitGuard: exit status 129, within its grace time). SIGCONT resumes
only after a suspend (Ctrl+Z).

The input thread sleeps until a key comes: Textual's wakes ten times a second to see whether
the app is leaving, a sixth of an idle dashboard's CPU. Here leaving writes a byte to a pipe the
thread waits on too, and it wakes on a clock only while a lone Escape waits to be told from the
start of a longer key sequence (the parser's own timeout).
"""

from __future__ import annotations

import contextlib
import os
import select
import selectors
import signal
import threading
from codecs import getincrementaldecoder
from typing import IO, Any

from textual.drivers.linux_driver import LinuxDriver


class TerminalOutput:
    """The file Textual's writer thread writes to: a write that fails marks the terminal lost,
    and from then on writes are dropped instead of raised (a raise kills the writer thread)."""

    def __init__(self, file: IO[str], on_lost: Any) -> None:
        self._file = file
        self._on_lost = on_lost
        self.lost = False

    def write(self, text: str) -> int:
        if not self.lost:
            try:
                return self._file.write(text)
            except (OSError, ValueError):  # EIO from a hung-up tty; ValueError: file closed
                self._lose()
        return len(text)

    def flush(self) -> None:
        if not self.lost:
            try:
                self._file.flush()
            except (OSError, ValueError):
                self._lose()

    def fileno(self) -> int:
        return self._file.fileno()

    def _lose(self) -> None:
        self.lost = True
        self._on_lost()


def silence_output() -> None:
    """Point stdout and stderr at /dev/null: the terminal is gone, and the interpreter's last
    flush of what could not be written must not fail the exit too (status 120)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        with contextlib.suppress(OSError):
            os.dup2(devnull, fd)
    os.close(devnull)


def hang_up() -> None:
    """The terminal is gone: tell this process the way the kernel tells a session leader.

    Process-directed, so the kernel hands it to the main thread, where Python runs handlers.
    """
    os.kill(os.getpid(), signal.SIGHUP)


class WakingEvent(threading.Event):
    """The driver's exit event, which also wakes the input thread's wait (a byte on a pipe)."""

    def __init__(self, wake_fd: int) -> None:
        super().__init__()
        self._wake_fd = wake_fd

    def set(self) -> None:
        super().set()
        with contextlib.suppress(OSError):  # the pipe is full: the thread is woken already
            os.write(self._wake_fd, b"\0")


class DashboardDriver(LinuxDriver):
    """LinuxDriver whose lost terminal ends the app (see the module's doc)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lost = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self.exit_event = WakingEvent(self._wake_w)
        self._suspended = False
        self._watching = False
        self._output = TerminalOutput(self._file, self.terminal_lost)
        self._file = self._output  # what start_application_mode hands its WriterThread

    def terminal_lost(self) -> None:
        """Called once, from whichever thread noticed first."""
        if self._lost.is_set():
            return
        self._lost.set()
        self._output.lost = True
        hang_up()

    def start_application_mode(self) -> None:
        super().start_application_mode()
        if self.input_tty and not self._watching:
            self._watching = True
            threading.Thread(target=self._wait_for_hangup, name="warroom-hangup",
                             daemon=True).start()  # fmt: skip

    def _wait_for_hangup(self) -> None:
        poller = select.poll()
        # POLLHUP is always reported, asked for or not: no event asked means no wake-up for
        # input, only for the hang-up (or an error on the fd).
        poller.register(self.fileno, 0)
        while not self._lost.is_set():
            try:
                events = poller.poll()
            except OSError:
                return
            if any(mask & (select.POLLHUP | select.POLLERR | select.POLLNVAL)
                   for _, mask in events):  # fmt: skip
                if not self.exit_event.is_set():
                    self.terminal_lost()
                return

    def suspend_application_mode(self) -> None:
        self._suspended = True
        super().suspend_application_mode()

    def _sigcont_application(self, *args: Any) -> None:
        # Only a resume after our own suspend restarts application mode; the SIGCONT that
        # comes with a hang-up (or a stray `kill -CONT`) must not start a second input thread.
        if self._suspended:
            self._suspended = False
            super()._sigcont_application(*args)

    def close(self) -> None:
        super().close()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def run_input_thread(self) -> None:
        """Textual's input loop (LinuxDriver.run_input_thread), asleep between keys.

        It drives Textual's key parser, which is not a public API: where the installed Textual's
        parser is not the one this was written against, Textual's own loop runs instead (it
        wakes ten times a second, and works).
        """
        try:
            from textual._parser import ParseError
            from textual._time import get_time
            from textual._xterm_parser import XTermParser

            parser = XTermParser(self._debug)
        except (ImportError, TypeError):
            super().run_input_thread()
            return
        if not (hasattr(parser, "tick") and hasattr(parser, "_timeout_time")):
            super().run_input_thread()
            return
        tty = self.fileno
        wake = self._wake_r
        selector = selectors.SelectSelector()
        selector.register(tty, selectors.EVENT_READ)
        selector.register(wake, selectors.EVENT_READ)
        decode = getincrementaldecoder("utf-8")().decode

        def timeout() -> float | None:
            # Set while a lone Escape may still be the start of a key sequence.
            due = parser._timeout_time
            return None if due is None else max(due - get_time(), 0.0)

        def process(events: list[tuple[selectors.SelectorKey, int]], final: bool = False) -> None:
            for key, _mask in events:
                if key.fd == wake:
                    with contextlib.suppress(OSError):
                        os.read(wake, 64)
                    continue
                data = decode(os.read(tty, 1024 * 4), final=final)
                if not data:  # end of file: the hang-up thread tells the app
                    break
                for event in parser.feed(data):
                    self.process_message(event)
            for event in parser.tick():
                self.process_message(event)

        try:
            while not self.exit_event.is_set():
                process(selector.select(timeout()))
            selector.unregister(wake)
            process(selector.select(0.1), final=True)
        finally:
            selector.close()
            with contextlib.suppress(EOFError, ParseError):
                for _ in parser.feed(""):
                    pass

    def _run_input_thread(self) -> None:
        try:
            self.run_input_thread()
        except OSError:
            # A read that fails (EIO while the pty is being hung up): the terminal is gone;
            # Textual's own wrapper would end the app with a traceback and status 0.
            with contextlib.suppress(Exception):
                self.terminal_lost()
        except Exception as exc:
            # Any other failure is a bug: the app's internal-error path (one line, status 1).
            self._app.call_later(self._app._handle_exception, exc)
