"""Is there a human here: a terminal to talk to, a browser to open. One home for both
checks, so every command decides "may I prompt / open a browser" the same way."""

from __future__ import annotations

import os
import sys


def is_interactive() -> bool:
    """A human at a terminal: stdin to read an answer, stderr to show the question.
    (stdout is often a pipe that a shell evals, so it does not count.)"""
    try:
        return sys.stdin.isatty() and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def browser_available() -> bool:
    """Whether opening a browser can work here (not over SSH without a display)."""
    if os.environ.get("BROWSER"):
        return True
    if sys.platform == "darwin" or sys.platform.startswith("win"):
        return not os.environ.get("SSH_CONNECTION")
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def say(message: str) -> None:
    """A message for the user: stderr, since stdout may be what a shell evals."""
    print(message, file=sys.stderr, flush=True)
