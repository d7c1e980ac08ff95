"""Issue 13: the prompt's in-place renewal with the REAL ssoenv (not a stand-in), in
real bash, zsh and fish under tmux, against the emulator over HTTP."""

from __future__ import annotations

import os
import re
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from support import SHELLS, Tmux, need, shell_sandbox, write_rc  # noqa: E402

PROMPT = r"\[0\](#|\$|>|%) *$"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = shell_sandbox(tmp_path_factory.mktemp("renew-world"))
    yield w
    w.close()


SWITCH = {"bash": 'eval "$(ssoenv use MemberAccount/ReadOnlyAccess --mode credentials --shell bash)"',
          "zsh": 'eval "$(ssoenv use MemberAccount/ReadOnlyAccess --mode credentials --shell zsh)"',
          "fish": "ssoenv use MemberAccount/ReadOnlyAccess --mode credentials --shell fish | source"}
SOON = {"bash": "export SSOENV_EXPIRES=$(( $(date +%s) + 100 ))",
        "zsh": "export SSOENV_EXPIRES=$(( $(date +%s) + 100 ))",
        "fish": "set -gx SSOENV_EXPIRES (math (date +%s) + 100)"}
SHOW = {"bash": 'echo "key=$AWS_ACCESS_KEY_ID left=$(( SSOENV_EXPIRES - $(date +%s) ))"',
        "zsh": 'echo "key=$AWS_ACCESS_KEY_ID left=$(( SSOENV_EXPIRES - $(date +%s) ))"',
        "fish": 'echo "key=$AWS_ACCESS_KEY_ID left="(math $SSOENV_EXPIRES - (date +%s))'}


@pytest.mark.parametrize("shell", SHELLS)
def test_the_prompt_renews_credentials_in_place_with_the_real_ssoenv(shell, world):
    need("tmux", shell)
    tmux = Tmux(world.env)
    try:
        tmux.start(write_rc(shell, world.home))
        tmux.wait(PROMPT)
        tmux.run(SWITCH[shell])
        screen = tmux.run("clear; " + SHOW[shell])
        old_key, left = re.search(r"^key=(ASIA\w+) left=(\d+)", screen, re.M).groups()
        assert int(left) > 3000, screen
        # Five minutes from expiry, with nothing cached: the next prompt must fetch new
        # credentials from the portal and put them in this very shell.
        world.clear_cli_cache()
        world.emulator.reset_calls()
        tmux.run("clear; " + SOON[shell])
        screen = tmux.run("clear; " + SHOW[shell])
        key, left = re.search(r"^key=(ASIA\w+) left=(\d+)", screen, re.M).groups()
        assert key != old_key and int(left) > 3000, screen
        assert "ssoenv:" not in screen and "cannot renew" not in screen, screen
        assert world.emulator.calls()["GetRoleCredentials"] == 1
        tmux.wait(r"^aws:MemberAccount/ReadOnlyAccess (59m|1h00m) " + PROMPT)
    finally:
        tmux.close()
