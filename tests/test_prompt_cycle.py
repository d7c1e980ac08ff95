"""The prompt hook keeps the segment it rendered and renders again only when needed: each
test drives the real hook of each shell (no terminal) and reads SSOENV_PROMPT_SEGMENT
after it, so a kept segment that outlives a change of its inputs or of the clock shows."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from support import SHELLS, clean_env, need, rendered  # noqa: E402

HOOK = {"bash": "__ssoenv_hook", "zsh": "__ssoenv_precmd", "fish": "__ssoenv_on_prompt"}
ARGV = {"bash": ["bash", "--noprofile", "--norc", "-c"], "zsh": ["zsh", "-f", "-c"],
        "fish": ["fish", "--no-config", "-c"]}
NOW = 2_000_000_000  # the shells' clock, where a test can set it


def run(shell: str, tmp_path, steps: list[str]) -> list[str]:
    """Source the snippet, then each step followed by the hook and the segment it left."""
    need(shell)
    snippet = tmp_path / f"ssoenv.{shell}"
    snippet.write_text(rendered(shell))
    show = 'echo "[$SSOENV_PROMPT_SEGMENT]"'
    lines = [f"source {snippet}"]
    for step in steps:
        lines += [step, HOOK[shell], show]
    out = subprocess.run(ARGV[shell] + ["\n".join(lines)], env=clean_env(tmp_path / "h"), capture_output=True,
                         text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    return out.stdout.splitlines()


def _set(shell: str, **values: str) -> str:
    if shell == "fish":  # \037 in fish: unquoted \x1f
        return "; ".join(f"set -gx {k} '{v}'".replace("\\037", "'\\x1f'") for k, v in values.items())
    return "; ".join(f"export {k}=$'{v}'" for k, v in values.items())


def _unset(shell: str, name: str) -> str:
    return f"set -e {name}" if shell == "fish" else f"unset {name}"


@pytest.mark.parametrize("shell", SHELLS)
def test_the_kept_segment_follows_every_change_of_its_inputs(shell, tmp_path):
    s = lambda **v: _set(shell, **v)  # noqa: E731
    out = run(shell, tmp_path, [
        s(SSOENV_PROMPT_COLOR="0", SSOENV_ACCOUNT_ID="1", SSOENV_ACCOUNT_NAME="A", SSOENV_ROLE="r",
          SSOENV_MODE="credentials", AWS_ACCESS_KEY_ID="k"),
        ":",                                   # nothing changed
        s(SSOENV_ACCOUNT_NAME="B"),
        # two sets of values that run together alike once the key's separator is in them
        s(SSOENV_ACCOUNT_ID="1\\037B", SSOENV_ACCOUNT_NAME=""),
        s(SSOENV_ACCOUNT_ID="1", SSOENV_ACCOUNT_NAME="B\\037"),
        s(SSOENV_ACCOUNT_NAME="B"),
        s(SSOENV_ROLE="r", SSOENV_LOGGED_OUT="1"),
        _unset(shell, "SSOENV_LOGGED_OUT"),
        s(SSOENV_MODE="profile", SSOENV_PROFILE="p", AWS_PROFILE="p"),
        s(AWS_PROFILE="other"),                # the user switched away by hand
        s(AWS_PROFILE="p"),
        _unset(shell, "SSOENV_ACCOUNT_ID"),
    ])
    assert out == ["[aws:A/r]", "[aws:A/r]", "[aws:B/r]", "[aws:1?B/r]", "[aws:B?/r]", "[aws:B/r]",
                   "[aws:B/r logged out]", "[aws:B/r]", "[aws:B/r]", "[]", "[aws:B/r]", "[]"]


# The clock can be set in bash (an unset EPOCHSECONDS is a plain variable) and zsh (without
# the zsh/datetime module, likewise); fish reads its clock from a file's mtime.
CLOCK = {"bash": "unset EPOCHSECONDS; EPOCHSECONDS={t}",
         "zsh": "zmodload -u zsh/datetime 2>/dev/null; typeset -g EPOCHSECONDS={t}"}


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_the_kept_segment_follows_the_clock(shell, tmp_path):
    clock = CLOCK[shell].format
    s = lambda **v: _set(shell, **v)  # noqa: E731
    out = run(shell, tmp_path, [
        # no renewal in the last minute here (it would start ssoenv): tried "just now"
        clock(t=NOW) + f"; __ssoenv_retry_at={NOW + 10**6}; "
        + s(SSOENV_PROMPT_COLOR="0", SSOENV_ACCOUNT_ID="1", SSOENV_ROLE="r", SSOENV_MODE="profile",
            SSOENV_PROFILE="p", AWS_PROFILE="p", SSOENV_EXPIRES=str(NOW + 42 * 60 + 30)),
        clock(t=NOW + 30),   # the same minute
        clock(t=NOW + 31),   # the next one
        clock(t=NOW + 42 * 60 - 30),  # the last minute: seconds
        clock(t=NOW + 42 * 60 - 29),
    ])
    assert out == ["[aws:p/r 42m]", "[aws:p/r 42m]", "[aws:p/r 41m]", "[aws:p/r 1m!]", "[aws:p/r 59s!]"]
