"""Issue 17: the `ssoenv` shell function returns the program's own status, also after
Ctrl-C and after Ctrl-Z, `fg`, Ctrl-C (zsh went on with the rest of the function in a
forked shell that saw only the stop and reported 0). Real bash, zsh and fish under tmux,
a real `ssoenv exec` against the emulator."""

from __future__ import annotations

import os
import re
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from support import SHELLS, Tmux, need, shell_sandbox, write_rc  # noqa: E402

PROMPT_END = r"\[{status}\](#|\$|>|%) *$"
# A child that handles Ctrl-C itself and exits 130 (as terraform does), saying when it
# started and when it goes on after a stop (the screen shows the command line too).
RUN = ("ssoenv exec demo-member -- python -c 'import signal as s, sys, time; "
       "s.signal(s.SIGCONT, lambda *a: print(\"res\" \"umed\", flush=True)); "
       "s.signal(s.SIGINT, lambda *a: sys.exit(130)); print(\"sta\" \"rted\", flush=True); time.sleep(120)'")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    need("tmux")
    w = shell_sandbox(tmp_path_factory.mktemp("status-world"))
    yield w
    w.close()


@pytest.fixture
def shell_in_tmux(world):
    started: list[Tmux] = []

    def start(shell: str) -> Tmux:
        need(shell)
        tmux = Tmux(world.env)
        started.append(tmux)
        tmux.start(write_rc(shell, world.home))
        tmux.wait(PROMPT_END.format(status=0))
        return tmux

    yield start
    for tmux in started:
        tmux.close()


def _status(tmux: Tmux, shell: str) -> int:
    marker = f"st-{len(tmux.screen())}"
    screen = tmux.run(f"echo {marker}={'$status' if shell == 'fish' else '$?'}", marker="done-" + marker)
    return int(re.findall(rf"^{marker}=(\d+)", screen, re.M)[-1])


def _interrupt(tmux: Tmux, command: str, suspend: bool) -> None:
    tmux.line("clear")
    tmux.wait(PROMPT_END.format(status=r"\d+"))
    tmux.line(command)
    tmux.wait(r"^started\s*$", timeout=60)
    if suspend:
        tmux.keys("C-z")
        tmux.wait(PROMPT_END.format(status=r"\d+"))
        tmux.line("fg")
        tmux.wait(r"^resumed\s*$", timeout=60)
    tmux.keys("C-c")
    tmux.wait(PROMPT_END.format(status=r"\d+"))


@pytest.mark.parametrize("shell", SHELLS)
def test_ctrl_c_through_the_function_gives_the_programs_status(shell, shell_in_tmux):
    tmux = shell_in_tmux(shell)
    _interrupt(tmux, RUN, suspend=False)
    assert _status(tmux, shell) == 130


@pytest.mark.parametrize("shell", SHELLS)
def test_ctrl_z_fg_ctrl_c_through_the_function_gives_what_the_program_gives(shell, shell_in_tmux):
    """zsh and bash: 130, as `command ssoenv` gives. fish 3.6's `fg` reports 0 for any job
    (`command ssoenv` too): the function can only match it."""
    tmux = shell_in_tmux(shell)
    _interrupt(tmux, "command " + RUN, suspend=True)
    direct = _status(tmux, shell)
    _interrupt(tmux, RUN, suspend=True)
    through = _status(tmux, shell)
    assert through == direct
    if shell != "fish":
        assert through == 130
