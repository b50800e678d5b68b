"""Another process holding a session's writer lock (a stuck `warroom note`, a slow disk).

The holder takes the exclusive lock, says so on stdout, and keeps it until ``release()``: the
test decides how long, no sleep guesses when it has it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import TracebackType

_CODE = (
    "import sys\n"
    "from pathlib import Path\n"
    "from warroom.sessions.fileio import locked\n"
    "with locked(Path(sys.argv[1]), exclusive=True):\n"
    "    print('locked', flush=True)\n"
    "    sys.stdin.readline()\n"
)


class LockHolder:
    def __init__(self, session: Path) -> None:
        self.session = session
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> LockHolder:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _CODE, str(self.session)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line.strip() != "locked":
            raise RuntimeError(f"lock holder failed: {line!r}")
        return self

    def release(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.write("\n")
            self.proc.stdin.flush()
            self.proc.wait(10)

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.release()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
