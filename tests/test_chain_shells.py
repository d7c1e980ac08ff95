"""A chained role (role_arn + source_profile) in real bash, zsh and fish under tmux: the
Ctrl-A picker lists it (`via hub`) with its role ARN in the preview, and after the
switch the prompt shows the chained account and role, not the hub's."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from support import CHAINED_CONFIG, SHELLS, Tmux, need, shell_sandbox, write_rc  # noqa: E402


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    need("tmux")
    box = shell_sandbox(tmp_path_factory.mktemp("chain-shells"), aws_config=CHAINED_CONFIG)
    yield box
    box.close()


@pytest.mark.parametrize("shell", SHELLS)
def test_the_picker_and_the_prompt_show_the_chained_role(shell, world):
    need(shell)
    tmux = Tmux(world.env)
    try:
        tmux.start(write_rc(shell, world.home))
        tmux.wait(r"\[0\](#|\$|>|%) *$")
        tmux.keys("C-a")
        tmux.wait(r"Enter: switch\s+Esc: cancel")
        tmux.type("prod-deploy")
        screen = tmux.wait(r"^\s*1/\d+")
        assert "profile:prod-deploy via hub" in screen, screen
        # the preview: the role ARN, its source, the session name
        screen = tmux.wait(r"arn:aws:iam::999999999999:role/Deploy")
        assert "prod-deploy via hub" in screen and "role arn" in screen, screen
        tmux.keys("Enter")
        tmux.wait(r"Enter: switch\s+Esc: cancel", gone=True)
        tmux.wait(r"^aws:prod-deploy/Deploy (59m|1h00m) \[0\]")
        screen = tmux.run('echo "acct=$SSOENV_ACCOUNT_ID role=$SSOENV_ROLE profile=$AWS_PROFILE"')
        assert "acct=999999999999 role=Deploy profile=prod-deploy" in screen, screen
    finally:
        tmux.close()
