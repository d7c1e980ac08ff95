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


# Text-mode browsers: Python's webbrowser falls through to them without a display, and
# the AWS sign-in page cannot work in one (lynx would take over the terminal, or wait
# with no terminal at all). ssoenv treats them as no browser.
TEXT_BROWSERS = frozenset({"www-browser", "lynx", "w3m", "links", "links2", "elinks", "browsh"})


def _graphical_browsers(browser: str | None = None) -> list[str]:
    """The entries of `browser` (default $BROWSER: os.pathsep-separated command lines)
    that are not text-mode browsers."""
    import shlex

    kept = []
    for entry in (os.environ.get("BROWSER", "") if browser is None else browser).split(os.pathsep):
        try:
            words = shlex.split(entry)
        except ValueError:
            words = entry.split()
        if words and os.path.basename(words[0]) not in TEXT_BROWSERS:
            kept.append(entry)
    return kept


def _display() -> bool:
    if sys.platform == "darwin" or sys.platform.startswith("win"):
        return not os.environ.get("SSH_CONNECTION")
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def browser_available() -> bool:
    """Whether a graphical browser can be opened here: a $BROWSER that is not a text-mode
    one, or a display (not over SSH without one)."""
    return bool(_graphical_browsers()) or _display()


def browser_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """`environ` (default os.environ) as a process that opens a browser with Python's
    webbrowser should see it: $BROWSER's text-mode entries dropped, and no $TERM, since
    webbrowser registers lynx, w3m and the like only when $TERM is set. For ssoenv itself
    and for `aws sso login`, which opens its browser the same way."""
    env = dict(os.environ if environ is None else environ)
    env.pop("TERM", None)
    # An empty $BROWSER is no browser to webbrowser, as an unset one is.
    env["BROWSER"] = os.pathsep.join(_graphical_browsers(env.get("BROWSER", "")))
    return env


def open_browser(url: str) -> bool:
    """Open `url` in a graphical browser; False when none opened it. Never a text-mode
    one: webbrowser builds its list of browsers here from `browser_env()`."""
    if not browser_available():
        return False
    import webbrowser

    saved = {name: os.environ.get(name) for name in ("BROWSER", "TERM")}
    env = browser_env()
    for name in saved:
        if name in env:
            os.environ[name] = env[name]
        else:
            os.environ.pop(name, None)
    try:
        webbrowser.register_standard_browsers()
        return bool(webbrowser.open(url))
    except Exception:  # a broken $BROWSER must not abort a login or the console
        return False
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def say(message: str) -> None:
    """A message for the user: stderr, since stdout may be what a shell evals."""
    print(message, file=sys.stderr, flush=True)
