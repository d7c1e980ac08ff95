"""Stop an ssoenv process half-way through writing one file, deterministically.

`cache._write_data` honours SSOENV_TEST_PAUSE_WRITE="TARGET<os.pathsep>FIFO": it writes
half of TARGET's new bytes (to its temp file), then holds FIFO open for reading and
polls it until a byte arrives. The test opening FIFO for writing succeeds only once
the process holds the reading end: that is the signal "inside the write", with no
sleep and no race. The test then signals or kills the process, or writes the byte
that lets the write go on.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from pathlib import Path


def leftovers(directory: Path) -> list[str]:
    """Temp files of atomic writes left in `directory`."""
    return [p.name for p in directory.iterdir() if p.name.endswith(".tmp")] if directory.exists() else []


class PausedWrite:
    """A `python -m ssoenv ARGV` process stopped half-way through writing `target`."""

    def __init__(self, tmp_path: Path, target: Path, argv: list[str], env: dict | None = None):
        self.fifo = tmp_path / f"pause-{time.monotonic_ns()}"
        os.mkfifo(self.fifo)
        env = dict(env or os.environ)
        env["SSOENV_TEST_PAUSE_WRITE"] = f"{target}{os.pathsep}{self.fifo}"
        self.proc = subprocess.Popen([sys.executable, "-m", "ssoenv", *argv], env=env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.fd: int | None = None

    def wait_inside(self, limit: float = 60) -> None:
        """Return once the process is blocked inside the write (it opened the FIFO)."""
        deadline = time.monotonic() + limit
        while self.fd is None:
            try:  # succeeds only once the process holds the reading end
                self.fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:
                if exc.errno != errno.ENXIO:
                    raise
                if self.proc.poll() is not None:
                    out, err = self.proc.communicate()
                    raise AssertionError(f"the process ended ({self.proc.returncode}) before it paused "
                                         f"inside the write: {err}") from None
                if time.monotonic() > deadline:
                    self.proc.kill()
                    raise AssertionError("the process never reached the paused write") from None
                time.sleep(0.02)

    def release(self) -> None:
        if self.fd is not None:
            try:
                os.write(self.fd, b"g")  # go on (a killed process has no reader left)
            except (BrokenPipeError, BlockingIOError):
                pass
            os.close(self.fd)
            self.fd = None

    def interrupt(self, sig: int) -> tuple[int, str, str]:
        self.wait_inside()
        self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=60)
        self.release()
        return self.proc.returncode, out, err

    def finish(self) -> tuple[int, str, str]:
        self.wait_inside()
        self.release()
        out, err = self.proc.communicate(timeout=60)
        return self.proc.returncode, out, err
