"""Real bash, zsh and fish in tmux, against the real emulator over HTTP: the Ctrl-A
widget (pick, Esc), the prompt, auto re-login with Debian's AWS CLI v2 against
moto's S3, hostile account names through the widget, and `ssoenv demo`."""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from support import (  # noqa: E402
    AWS_CLI,
    SHELLS,
    SSOENV,
    Tmux,
    clean_env,
    moto_s3,
    need,
    pick,
    shell_sandbox,
    write_rc,
)


@pytest.fixture(autouse=True)
def _tmux_installed():
    need("tmux")  # a failure under CI

PROMPT_END = r"\[{status}\](#|\$|>|%) *$"


def _need_shell(shell: str) -> None:
    need(shell)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = shell_sandbox(tmp_path_factory.mktemp("tmux-world"))
    yield w
    w.close()


@pytest.fixture(scope="module")
def s3(world):
    """moto's S3 on loopback with one bucket; the AWS CLI reaches it with --endpoint-url."""
    need(AWS_CLI)
    with moto_s3("ssoenv-demo-bucket") as url:
        yield url


@pytest.fixture
def shell_in_tmux(world):
    started: list[Tmux] = []

    def start(shell: str, before: str = "", after: str = "", env: dict | None = None) -> Tmux:
        _need_shell(shell)
        tmux = Tmux({**world.env, **(env or {})})
        started.append(tmux)
        tmux.start(write_rc(shell, world.home, before, after))
        tmux.wait(PROMPT_END.format(status=0))
        return tmux

    yield start
    for tmux in started:
        tmux.close()


# --- the widget --------------------------------------------------------------------

@pytest.mark.parametrize("shell, before", [("bash", ""), ("bash", "set -o vi"), ("zsh", ""),
                                           ("fish", "")], ids=["bash", "bash-vi", "zsh", "fish"])
def test_ctrl_a_switches_and_esc_changes_nothing(shell, before, shell_in_tmux):
    tmux = shell_in_tmux(shell, before=before)
    tmux.type("echo typed before")  # the widget must keep what was typed
    pick(tmux, "member read")
    screen = tmux.wait(r"^aws:MemberAccount/ReadOnlyAccess (59m|1h00m) \[0\]. echo typed before *$")
    tmux.keys("Enter")
    tmux.wait(r"^typed before$")
    screen = tmux.run('echo "name=$SSOENV_ACCOUNT_NAME role=$SSOENV_ROLE mode=$SSOENV_MODE profile=$AWS_PROFILE"')
    # the config has a profile for it (demo-member): profile mode
    assert "name=MemberAccount role=ReadOnlyAccess mode=profile profile=demo-member" in screen, screen

    tmux.line("clear")
    tmux.wait(PROMPT_END.format(status=0))
    tmux.type("echo kept-line")
    tmux.keys("C-a")
    tmux.wait(r"Enter: switch\s+Esc: cancel")
    tmux.type("root admin")
    tmux.wait(r"^\s*1/\d+")
    tmux.keys("Escape")
    tmux.wait(r"Enter: switch\s+Esc: cancel", gone=True)
    tmux.wait(r"aws:MemberAccount/ReadOnlyAccess \S+ \[0\]. echo kept-line *$")
    tmux.keys("Enter")
    tmux.wait(r"^kept-line$")
    screen = tmux.run('echo "name=$SSOENV_ACCOUNT_NAME"')
    assert "name=MemberAccount" in screen

    # $? still reaches the prompt with a switch active
    tmux.line("false")
    tmux.wait(r"aws:MemberAccount/ReadOnlyAccess \S+ " + PROMPT_END.format(status=1))


def test_picking_none_clears_the_shell(shell_in_tmux):
    tmux = shell_in_tmux("zsh")
    pick(tmux, "root read")
    tmux.wait(r"^aws:RootAccount/ReadOnlyAccess")
    pick(tmux, "none clear")
    screen = tmux.run('echo "[${SSOENV_ACCOUNT_ID-}${AWS_ACCESS_KEY_ID-}]"')
    assert "\n[]" in screen
    assert not re.search(r"^aws:", screen.split("echo")[-1], re.M)


# --- auto re-login with the real AWS CLI v2 --------------------------------------------

def _status(shell: str) -> str:
    return "$status" if shell == "fish" else "$?"


@pytest.mark.parametrize("shell", SHELLS)
def test_auto_relogin_with_the_aws_cli(shell, world, s3, shell_in_tmux):
    tmux = shell_in_tmux(shell)
    use = ("ssoenv use demo-member --shell fish | source" if shell == "fish"
           else f'eval "$(ssoenv use demo-member --shell {shell})"')
    screen = tmux.run(use)
    screen = tmux.run(f"clear; aws --endpoint-url {s3} s3 ls; echo status={_status(shell)}")
    assert "ssoenv-demo-bucket" in screen and "status=0" in screen, screen
    assert re.search(r"^aws:MemberAccount/ReadOnlyAccess ", screen, re.M)

    # The access token dies on the server; the CLI's role credentials are gone:
    # the CLI fails, the wrapper renews silently (refresh token), re-runs once.
    world.emulator.expire_tokens()
    world.clear_cli_cache()
    screen = tmux.run(f"clear; aws --endpoint-url {s3} s3 ls; echo status={_status(shell)}")
    assert "ssoenv: renewed the SSO session demo" in screen, screen
    assert screen.index("ssoenv: renewed") < screen.index("ssoenv-demo-bucket")
    assert "status=0" in screen

    if shell == "bash":
        # Refresh token revoked too: a login (device code, auto-approved here), then the re-run.
        world.emulator.revoke_tokens()
        world.clear_cli_cache()
        screen = tmux.run(f"clear; aws --endpoint-url {s3} s3 ls; echo status=$?")
        assert "has expired; logging in" in screen and "ssoenv: logged in to demo" in screen, screen
        assert "ssoenv-demo-bucket" in screen and "status=0" in screen

    # Turned off: the CLI's own failure and status, nothing else.
    world.emulator.revoke_tokens()
    world.clear_cli_cache()
    screen = tmux.run(f"clear; SSOENV_AUTO_LOGIN=0 aws --endpoint-url {s3} s3 ls; echo status={_status(shell)}")
    assert "status=255" in screen, screen
    assert "ssoenv:" not in screen and "ssoenv-demo-bucket" not in screen
    world.ssoenv("login", "--sso-session", "demo", "--device-code", "--no-browser", "--force")


@pytest.mark.parametrize("shell", SHELLS)
def test_auto_relogin_for_a_command_run_under_the_credential_endpoint(shell, world, s3, shell_in_tmux):
    """SSOENV_WRAP_SERVER: `ssoenv exec --server` cannot log in itself there (its stderr is
    the wrapper's pipe, not a terminal) and says which login to run; the wrapper runs it
    and the command once more, as for the AWS CLI's own expiry message."""
    tmux = shell_in_tmux(shell, env={"SSOENV_WRAP_SERVER": "aws"})
    tmux.run("ssoenv use demo-member")
    _logs_in_then_lists_the_bucket(world, tmux, f"aws --endpoint-url {s3} s3 ls; echo status={_status(shell)}")


def _logs_in_then_lists_the_bucket(world, tmux, command: str) -> None:
    """The session dies (refresh token too); `command` (an `aws s3 ls` and its status)
    fails, the wrapper logs in (device code, auto-approved here), runs it again."""
    world.emulator.revoke_tokens()
    world.clear_cli_cache()
    screen = tmux.run(f"clear; {command}")
    assert "ssoenv: logged in to demo" in screen, screen
    assert screen.index("ssoenv: logged in") < screen.index("ssoenv-demo-bucket")
    assert "status=0" in screen, screen


def test_auto_relogin_for_a_credential_process_profile(world, s3, shell_in_tmux):
    """A profile whose credential_process is `ssoenv credential-process` (which never logs
    in): the AWS CLI quotes its message; the wrapper logs in and runs the command again."""
    config = world.home / ".aws" / "config"
    before = config.read_text()
    config.write_text(before + f"\n[profile cp]\ncredential_process = {SSOENV} credential-process "
                      "--sso-session demo --account 222222222222 --role ReadOnlyAccess\nregion = us-east-1\n")
    try:
        tmux = shell_in_tmux("bash")
        _logs_in_then_lists_the_bucket(world, tmux, f"AWS_PROFILE=cp aws --endpoint-url {s3} s3 ls; echo status=$?")
    finally:
        config.write_text(before)


def test_expired_credentials_are_renewed_before_the_command(world, s3, shell_in_tmux):
    """Credentials mode: SSOENV_EXPIRES passed while the shell sat idle (no prompt in
    between): the wrapper renews first, in place, then runs the command once."""
    tmux = shell_in_tmux("bash")
    tmux.run('eval "$(ssoenv use MemberAccount/ReadOnlyAccess --mode credentials --shell bash)"')
    screen = tmux.run(f"clear; export SSOENV_EXPIRES=$((EPOCHSECONDS - 5)); aws --endpoint-url {s3} s3 ls; "
                      'echo "status=$? left=$((SSOENV_EXPIRES - EPOCHSECONDS))"')
    assert "ssoenv-demo-bucket" in screen, screen
    left = int(re.search(r"status=0 left=(-?\d+)", screen).group(1))
    assert left > 3000


# --- hostile account names through the widget -------------------------------------------

@pytest.fixture(scope="module")
def hostile_world(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    canary = root / "canary"
    names = [
        f"$(touch {canary})",
        f"`touch {canary}`; (touch {canary})",
        f"'; touch {canary}; echo '\"; touch {canary}; \"",
        "back\\slash \\n \\\\ and a trailing \\",
        "new\nline\ttab %n %F{red}%% !! $HOME ${PATH} \\e[31m",
        "-leading dash",
        "ünïcödé 雲 🚀 ' \" \\' end",
    ]
    accounts = [{"accountId": f"3333333333{i:02d}", "accountName": name, "roles": ["ReadOnlyAccess"]}
                for i, name in enumerate(names, start=1)]
    w = shell_sandbox(root, accounts=accounts)
    yield w, names, canary
    w.close()


@pytest.mark.parametrize("shell", SHELLS)
def test_hostile_names_arrive_byte_for_byte_and_run_nothing(shell, hostile_world):
    _need_shell(shell)
    world, names, canary = hostile_world
    tmux = Tmux(world.env)
    try:
        tmux.start(write_rc(shell, world.home))
        tmux.wait(PROMPT_END.format(status=0))
        for i, name in enumerate(names, start=1):
            pick(tmux, f"'3333333333{i:02d}")
            out = world.home / f"name-{shell}-{i}"
            tmux.run(f'clear; printf "%s" "$SSOENV_ACCOUNT_NAME" > "$HOME/{out.name}"')
            assert out.read_bytes() == name.encode(), (i, name)
            # the prompt shows it, control characters made harmless
            tmux.wait(r"^aws:.*/ReadOnlyAccess (59m|1h00m)")
        assert not canary.exists()
    finally:
        tmux.close()
    assert not canary.exists()


# --- ssoenv demo ------------------------------------------------------------------------

def _demo_env(tmp_path: Path) -> dict:
    env = clean_env(tmp_path / "user-home")
    env["AWS_PROFILE"] = "the-users-own"  # must not leak into the demo
    return env


@pytest.mark.parametrize("shell", SHELLS)
def test_demo_opens_a_shell_and_leaves_nothing(shell, tmp_path):
    _need_shell(shell)
    env = _demo_env(tmp_path)
    tmux = Tmux(env)
    started = time.monotonic()
    try:
        # sh keeps the pane open after the demo, to read its last words
        tmux.start(["sh", "-c", f"{SSOENV} demo --shell {shell}; echo demo-status=$?; sleep 60"])
        screen = tmux.wait(r"ssoenv-demo .*(#|\$|>) *$", timeout=30)
        to_shell = time.monotonic() - started
        assert to_shell < 6, f"{to_shell:.1f} s to the shell"
        assert "press ctrl-a" in screen
        screen = tmux.run('clear; echo "home=$HOME profile=[${AWS_PROFILE-}]"' if shell != "fish"
                          else 'clear; echo "home=$HOME profile=[$AWS_PROFILE]"')
        home = Path(re.search(r"^home=(\S+) profile=\[\]", screen, re.M).group(1))
        assert home.is_dir() and home.name.startswith("ssoenv-demo-")
        # no account active: the prompt starts at the margin, no space for an absent segment
        screen = tmux.wait(r"^\s*ssoenv-demo .*(#|\$|>) *$")  # drawn after the command's output
        assert re.search(r"^ssoenv-demo \S", screen, re.M), screen
        pick(tmux, "member read")
        tmux.wait(r"^aws:MemberAccount/ReadOnlyAccess (59m|1h00m) ssoenv-demo")
        screen = tmux.run("clear; ssoenv exec -- env | grep -c '^AWS_ACCESS_KEY_ID='")
        assert re.search(r"^1$", screen, re.M)
        tmux.line("exit")
        tmux.wait(r"ssoenv demo: done.*\n(.*\n)*demo-status=0", timeout=15)
        assert not home.exists()
    finally:
        tmux.close()


def test_demo_cleans_up_when_the_terminal_goes_away(tmp_path):
    _need_shell("bash")
    tmux = Tmux(_demo_env(tmp_path))
    try:
        tmux.start([SSOENV, "demo", "--shell", "bash"])
        tmux.wait(r"ssoenv-demo .*(#|\$) *$", timeout=30)
        screen = tmux.run('clear; echo "home=$HOME"')
        home = Path(re.search(r"^home=(\S+)", screen, re.M).group(1))
        assert home.is_dir()
    finally:
        tmux.close()  # SIGHUP to everything in the terminal
    deadline = time.monotonic() + 10
    while home.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not home.exists()
