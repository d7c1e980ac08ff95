"""Issue 17 (wrong account), in real bash, zsh and fish under tmux: with a history that
puts the picker's cursor on another entry, typing a query and Enter switches to the
best match, whether the typing starts at once or after a pause; the prompt_toolkit
fallback agrees; the header's keys fit at 80 columns with the preview open."""

from __future__ import annotations

import json
import os
import re
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from support import SHELLS, Tmux, finish, need, shell_sandbox, spawn_pick, wait_for, write_rc  # noqa: E402

HEADER = r"Enter: switch\s+Esc: cancel"
PROMPT = r"\[0\](#|\$|>|%) *$"
ORG = [{"accountId": "111111111111", "accountName": "dev", "emailAddress": "dev@example.com",
        "roles": ["AdministratorAccess", "ReadOnlyAccess"]},
       {"accountId": "333333333333", "accountName": "prod", "emailAddress": "prod@example.com",
        "roles": ["AdministratorAccess", "ReadOnlyAccess"]},
       {"accountId": "444444444444", "accountName": "prod-eu", "emailAddress": "eu@example.com",
        "roles": ["AdministratorAccess", "ReadOnlyAccess"]}]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    need("tmux")
    w = shell_sandbox(tmp_path_factory.mktemp("cursor-world"), accounts=ORG)
    yield w
    w.close()


@pytest.fixture
def history(world):
    """dev/AdministratorAccess chosen often, prod-eu/AdministratorAccess just now: the
    cursor starts on prod-eu/AdministratorAccess, the second line."""
    now = time.time()
    state = world.home / ".cache" / "ssoenv" / "frecency.json"
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps({"version": 1, "entries": {
        "demo\x1f111111111111\x1fAdministratorAccess": [5, now - 7200],
        "demo\x1f444444444444\x1fAdministratorAccess": [1, now - 60]}}))
    return state


@pytest.fixture
def shell_in_tmux(world):
    started: list[Tmux] = []

    def start(shell: str, width: int = 180) -> Tmux:
        need(shell)
        tmux = Tmux(dict(world.env), width=width, height=24)
        started.append(tmux)
        tmux.start(write_rc(shell, world.home))
        tmux.wait(PROMPT)
        return tmux

    yield start
    for tmux in started:
        tmux.close()


def _switched_to(tmux: Tmux) -> str:
    screen = tmux.run('echo "now=[$SSOENV_ACCOUNT_NAME/$SSOENV_ROLE]"')
    found = re.findall(r"^now=\[(.*)\]", screen, re.M)
    return found[-1] if found else screen


@pytest.mark.parametrize("at_once", [True, False], ids=["at_once", "after_a_pause"])
@pytest.mark.parametrize("shell", SHELLS)
def test_typing_puts_the_cursor_on_the_best_match(shell, at_once, history, shell_in_tmux):
    tmux = shell_in_tmux(shell)
    tmux.keys("C-a")
    if not at_once:  # the list is drawn and the cursor placed on the history's entry first
        tmux.wait(r"^\s*8/8")
        tmux.wait(r"^▌ .*prod-eu +444444444444 +AdministratorAccess")
    tmux.type("prod read")
    tmux.wait(r"> prod read")
    tmux.wait(r"^\s*4/8")  # filtered for the whole query: prod, prod-eu, and two spread-out matches
    tmux.keys("Enter")
    tmux.wait(HEADER, gone=True)
    assert _switched_to(tmux) == "prod/ReadOnlyAccess"


def test_no_query_still_starts_on_the_most_likely_entry(history, shell_in_tmux):
    tmux = shell_in_tmux("bash")
    tmux.keys("C-a")
    tmux.wait(r"^\s*8/8")
    tmux.keys("Enter")
    tmux.wait(HEADER, gone=True)
    assert _switched_to(tmux) == "prod-eu/AdministratorAccess"


def test_the_header_fits_at_80_columns_with_the_preview_open(world, shell_in_tmux):
    tmux = shell_in_tmux("bash", width=80)
    tmux.keys("C-a")
    screen = tmux.wait(r"│ sso-session +demo")  # the preview pane is open
    for label in ("Enter: switch", "Esc: cancel", "^Y: copy id", "^O: console", "^/: preview"):
        assert label in screen, screen
    tmux.keys("Escape")
    tmux.wait(HEADER, gone=True)


def test_the_builtin_picker_agrees(synced_with_history):
    child = spawn_pick(env_extra={"SSOENV_PICKER": "builtin"})
    child.expect("aws>")
    child.send("prod read")
    child.send("\r")
    status, output = finish(child)
    assert status == 0, output
    assert "export SSOENV_ACCOUNT_NAME='prod';" in output
    assert "export SSOENV_ROLE='ReadOnlyAccess';" in output


def test_fzf_with_a_history_and_a_typed_query(synced_with_history):
    child = spawn_pick()
    wait_for(child, "7/7")
    child.send("prod read")
    wait_for(child, "prod read")
    child.send("\r")
    status, output = finish(child)
    assert status == 0, output
    assert "export SSOENV_ACCOUNT_NAME='prod';" in output
    assert "export SSOENV_ROLE='ReadOnlyAccess';" in output


@pytest.fixture
def synced_with_history(emulator, aws_config, run):
    """The in-process world with the same organisation and history."""
    emulator.set_accounts([dict(a) for a in ORG])
    assert run("login", "--sso-session", "corp", "--device-code", "--no-browser")[0] == 0
    assert run("sync")[0] == 0
    from ssoenv import frecency

    now = time.time()
    for _ in range(5):
        frecency.record(("corp", "111111111111", "AdministratorAccess"), now=now - 7200)
    frecency.record(("corp", "444444444444", "AdministratorAccess"), now=now - 60)
