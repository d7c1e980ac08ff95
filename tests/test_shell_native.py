"""Issue 9, in real bash, zsh and fish under tmux against the emulator: `ssoenv use`
switches the shell through the `ssoenv` function; the picker ranks, remembers,
starts on the likely entry, lists "(none)" last and previews; the prompt shows
the segment by default (and only once); Tab completes hostile names safely."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from support import SHELLS, Tmux, need, shell_sandbox, write_rc  # noqa: E402


@pytest.fixture(autouse=True)
def _tmux_installed():
    need("tmux")  # a failure under CI


HEADER = r"Enter: switch\s+Esc: cancel"
# The prompt of a shell whose rc holds nothing but the init line (default prompts).
BARE_PROMPT = {"bash": r"[$#] *$", "zsh": r"[%#] *$", "fish": r"[>#] *$"}


def _need(shell: str) -> None:
    need(shell)


def bare_rc(shell: str, home: Path, before: str = "") -> list[str]:
    """An rc file with nothing but (settings and) the init line."""
    if shell == "bash":
        (home / ".bashrc").write_text(f'{before}\neval "$(ssoenv init bash)"\n')
        return ["bash", "--noprofile", "--rcfile", str(home / ".bashrc"), "-i"]
    if shell == "zsh":
        (home / ".zshrc").write_text(f'{before}\neval "$(ssoenv init zsh)"\n')
        return ["zsh", "-d", "-i"]
    conf = home / ".config" / "fish"
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "config.fish").write_text(f"{before}\nssoenv init fish | source\n")
    return ["fish", "-i"]


def echo_vars(shell: str) -> str:
    return 'echo "name=[$SSOENV_ACCOUNT_NAME] role=[$SSOENV_ROLE]"'


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = shell_sandbox(tmp_path_factory.mktemp("native-world"))
    yield w
    w.close()


@pytest.fixture
def start(world):
    started: list[Tmux] = []

    def _start(shell: str, argv: list[str], env: dict | None = None, ready: str | None = None) -> Tmux:
        _need(shell)
        tmux = Tmux({**world.env, **(env or {})})
        started.append(tmux)
        tmux.start(argv)
        tmux.wait(ready or BARE_PROMPT[shell])
        return tmux

    yield _start
    for tmux in started:
        tmux.close()


def last_prompt_line(screen: str) -> str:
    lines = [line for line in screen.rstrip("\n").split("\n") if line.strip()]
    return lines[-1] if lines else ""


# --- `ssoenv use` switches; the segment is in the default prompt, once -------------

@pytest.mark.parametrize("shell", SHELLS)
def test_use_switches_and_the_bare_prompt_shows_the_segment(shell, world, start):
    tmux = start(shell, bare_rc(shell, world.home))
    screen = tmux.run("ssoenv use member read")
    screen = tmux.run(f"clear; {echo_vars(shell)}")
    assert "name=[MemberAccount] role=[ReadOnlyAccess]" in screen, screen
    line = tmux.wait(r"^aws:MemberAccount/ReadOnlyAccess (59m|1h00m) ")
    assert last_prompt_line(line).count("aws:") == 1
    # the program's other subcommands run unchanged, with their exit status
    status_var = "$status" if shell == "fish" else "$?"
    screen = tmux.run(f"clear; ssoenv use --account 999999999999 --role Nope; echo st={status_var}")
    assert re.search(r"^st=1$", screen, re.M), screen
    screen = tmux.run(f"clear; ssoenv list | grep -c ReadOnlyAccess; echo st={'$status' if shell == 'fish' else '$?'}")
    assert re.search(r"^2$", screen, re.M) and re.search(r"^st=0$", screen, re.M), screen
    screen = tmux.run("clear; ssoenv use --clear; " + echo_vars(shell))
    assert "name=[] role=[]" in screen
    assert "aws:" not in last_prompt_line(tmux.screen())


@pytest.mark.parametrize("shell", SHELLS)
def test_the_segment_is_not_doubled_when_the_prompt_already_shows_it(shell, world, start):
    tmux = start(shell, write_rc(shell, world.home), ready=r"\[0\](#|\$|>|%) *$")
    tmux.run("ssoenv use root read")
    screen = tmux.run("clear; true")
    screen = tmux.wait(r"^aws:RootAccount/ReadOnlyAccess \S+ \[0\]")
    assert all(line.count("aws:") <= 1 for line in screen.split("\n")), screen


@pytest.mark.parametrize("shell", SHELLS)
def test_ssoenv_prompt_0_leaves_the_prompt_alone(shell, world, start):
    setting = "set -gx SSOENV_PROMPT 0" if shell == "fish" else "SSOENV_PROMPT=0"
    tmux = start(shell, bare_rc(shell, world.home, before=setting))
    tmux.run("ssoenv use member read")
    screen = tmux.run(f"clear; {echo_vars(shell)}")
    assert "name=[MemberAccount]" in screen
    assert "aws:" not in screen, screen


@pytest.mark.parametrize("shell", SHELLS)
def test_logout_through_the_function_shows_in_the_prompt(shell, world, start):
    tmux = start(shell, bare_rc(shell, world.home))
    tmux.run("ssoenv use member read")
    tmux.wait(r"^aws:MemberAccount/ReadOnlyAccess (59m|1h00m) ")
    try:
        tmux.run("clear; ssoenv logout")
        screen = tmux.wait(r"^aws:MemberAccount/ReadOnlyAccess logged out ")
        assert not re.search(r"ReadOnlyAccess (\d+m|\dh\d\dm)", screen), screen
        tmux.run("clear; ssoenv login --device-code --no-browser")
        tmux.run("clear; true")
        tmux.wait(r"^aws:MemberAccount/ReadOnlyAccess \d+h?\d*m? ")
        assert "logged out" not in tmux.screen()
    finally:
        world.ssoenv("login", "--sso-session", "demo", "--device-code", "--no-browser")


def test_without_the_integration_use_prints_no_secret_to_a_terminal(world, start):
    tmux = start("bash", ["bash", "--noprofile", "--norc", "-i"], ready=r"[$#] *$")
    screen = tmux.run("clear; command ssoenv use member read --mode credentials; echo st=$?")
    assert re.search(r"^st=2$", screen, re.M), screen
    assert "AWS_SECRET_ACCESS_KEY" not in screen and "export" not in screen
    assert "shell integration" in screen and 'eval "$(ssoenv init bash)"' in screen
    assert 'eval "$(ssoenv use member read)"' in screen
    screen = tmux.run("clear; command ssoenv pick; echo st=$?")
    assert re.search(r"^st=2$", screen, re.M) and HEADER.split("\\")[0] not in screen


@pytest.mark.parametrize("shell", SHELLS)
def test_eval_without_shell_option_detects_the_shell(shell, world, start):
    tmux = start(shell, bare_rc(shell, world.home))
    line = ("command ssoenv use root admin | source" if shell == "fish"
            else 'eval "$(command ssoenv use root admin)"')
    tmux.run(line)
    screen = tmux.run(f"clear; {echo_vars(shell)}")
    assert "name=[RootAccount] role=[AdministratorAccess]" in screen, screen


# --- the picker --------------------------------------------------------------------

def list_rows(screen: str) -> list[str]:
    """The picker's entries, top to bottom (the list, without the preview pane)."""
    rows = []
    for line in screen.split("\n"):
        left = line.split("│")[0]
        if re.search(r"\d{12}|\(none", left) and not re.match(r"^\s*\d+/\d+", left):
            rows.append(left)
    return rows


def open_picker(tmux: Tmux) -> str:
    tmux.keys("C-a")
    tmux.wait(HEADER)
    return tmux.wait(r"\(none: clear")  # the last row: the list is all there


DECOY = "\n[profile r-o-o-t-x-r-e-a-d]\nsso_session = demo\nsso_account_id = 999999999999\nsso_role_name = Decoy\n"


@pytest.mark.parametrize("shell", SHELLS)
def test_picker_best_match_first(shell, world, start):
    """`root read`: a decoy profile (no account name: listed first) matches it
    spread out; RootAccount/ReadOnlyAccess matches it whole and must win."""
    config = world.home / ".aws" / "config"
    saved = config.read_text()
    (world.home / ".cache" / "ssoenv" / "frecency.json").unlink(missing_ok=True)  # list order = names
    config.write_text(saved + DECOY)
    try:
        tmux = start(shell, bare_rc(shell, world.home))
        screen = open_picker(tmux)
        rows = list_rows(screen)
        assert "r-o-o-t-x-r-e-a-d" in rows[0], screen  # first in list order
        tmux.type("root read")
        tmux.wait(r"^\s*2/\d+")  # both match
        tmux.keys("Enter")
        tmux.wait(HEADER, gone=True)
        screen = tmux.run(f"clear; {echo_vars(shell)}")
        assert "name=[RootAccount] role=[ReadOnlyAccess]" in screen, screen
    finally:
        config.write_text(saved)


@pytest.mark.parametrize("shell", SHELLS)
def test_picker_starts_on_the_most_recent_other_entry(shell, world, start):
    tmux = start(shell, bare_rc(shell, world.home))
    tmux.run("ssoenv use root admin")
    tmux.run("ssoenv use member read")
    open_picker(tmux)
    tmux.keys("Enter")
    tmux.wait(HEADER, gone=True)
    screen = tmux.run(f"clear; {echo_vars(shell)}")
    assert "name=[RootAccount] role=[AdministratorAccess]" in screen, screen


def test_frecency_survives_a_new_shell_and_a_corrupt_file(world, start):
    state = world.home / ".cache" / "ssoenv" / "frecency.json"
    tmux = start("bash", bare_rc("bash", world.home))
    tmux.run("ssoenv use member admin")
    tmux.run("ssoenv use root read")
    tmux.close()
    # a new shell, nothing active: the most recent choice comes first
    tmux = start("zsh", bare_rc("zsh", world.home))
    open_picker(tmux)
    tmux.keys("Enter")
    tmux.wait(HEADER, gone=True)
    screen = tmux.run(f"clear; {echo_vars('zsh')}")
    assert "name=[RootAccount] role=[ReadOnlyAccess]" in screen, screen
    # a corrupt state file: the picker still opens, the next choice rewrites it
    state.write_text("{not json")
    open_picker(tmux)
    tmux.type("member admin")
    tmux.wait(r"^\s*\d+/\d+")
    tmux.keys("Enter")
    tmux.wait(HEADER, gone=True)
    screen = tmux.run(f"clear; {echo_vars('zsh')}")
    assert "name=[MemberAccount] role=[AdministratorAccess]" in screen, screen
    doc = json.loads(state.read_text())
    assert list(doc["entries"]) == ["demo\x1f222222222222\x1fAdministratorAccess"]
    state.unlink()  # missing: fine too
    tmux.run("ssoenv use root read")
    assert state.exists()


def test_none_is_last_and_says_what_it_cleared(world, start):
    tmux = start("bash", bare_rc("bash", world.home))
    tmux.run("ssoenv use member read")
    screen = open_picker(tmux)
    rows = list_rows(screen)
    assert rows and "(none" in rows[-1], screen
    assert sum("(none" in r for r in rows) == 1
    tmux.type("none clear")
    tmux.wait(r"^\s*1/\d+")
    tmux.keys("Enter")
    tmux.wait(HEADER, gone=True)
    screen = tmux.run(f"clear; {echo_vars('bash')}")
    assert "name=[] role=[]" in screen


def test_none_says_what_it_cleared(world, start):
    tmux = start("bash", bare_rc("bash", world.home))
    tmux.run("ssoenv use member read")
    tmux.line("clear; ssoenv pick none clear")
    tmux.wait(r"^\s*1/\d+")
    tmux.keys("Enter")
    screen = tmux.wait(r"ssoenv: cleared MemberAccount/ReadOnlyAccess from this shell")
    assert "aws:" not in last_prompt_line(screen)


def test_preview_shows_the_entry_under_the_cursor(world, start):
    tmux = start("bash", bare_rc("bash", world.home))
    open_picker(tmux)
    tmux.type("member read")
    screen = tmux.wait(r"member@example\.com")
    for expected in (r"account\s+MemberAccount\s+222222222222", r"role\s+ReadOnlyAccess",
                     r"profile\s+demo-member", r"sso-session\s+demo", r"region\s+us-east-1",
                     r"sso token\s+\d+h\d\dm left|\d+m left", r"credentials\s+(cached|not cached)"):
        assert re.search(expected, screen), (expected, screen)
    tmux.keys("Escape")
    tmux.wait(HEADER, gone=True)


# --- Tab completion -------------------------------------------------------------------

HOSTILE = "Hostile $(touch CANARY) `touch CANARY` 'q' \"d\" ;&|*? \\ ünï"


@pytest.fixture(scope="module")
def hostile_world(tmp_path_factory):
    root = tmp_path_factory.mktemp("native-hostile")
    canary = root / "canary"
    name = HOSTILE.replace("CANARY", str(canary))
    accounts = [{"accountId": "444444444401", "accountName": name, "roles": ["ReadOnlyAccess"]},
                {"accountId": "444444444402", "accountName": "Plain", "roles": ["ReadOnlyAccess"]}]
    w = shell_sandbox(root, accounts=accounts)
    yield w, name, canary
    w.close()


@pytest.mark.parametrize("shell", SHELLS)
def test_tab_completes_a_hostile_target_that_runs_with_the_exact_name(shell, hostile_world):
    _need(shell)
    world, name, canary = hostile_world
    tmux = Tmux(world.env)
    try:
        tmux.start(bare_rc(shell, world.home))
        tmux.wait(BARE_PROMPT[shell])
        tmux.type("ssoenv use Hos")
        tmux.keys("Tab")
        # the account name alone and NAME/ROLE: the common part first, then the role
        tmux.wait(r"touch")
        tmux.type("/")
        tmux.keys("Tab")
        tmux.wait(r"ReadOnlyAccess")
        tmux.keys("Enter")
        out = world.home / f"tab-{shell}"
        tmux.run(f'clear; printf "%s" "$SSOENV_ACCOUNT_NAME" > "$HOME/{out.name}"')
        assert out.read_bytes() == name.encode(), tmux.screen()
        assert not canary.exists()
    finally:
        tmux.close()
    assert not canary.exists()


@pytest.mark.parametrize("shell", SHELLS)
def test_tab_completes_subcommands_and_option_values(shell, world, start):
    tmux = start(shell, bare_rc(shell, world.home))
    tmux.type("ssoenv sta")
    tmux.keys("Tab")
    tmux.wait(r"ssoenv status")
    tmux.keys("C-c")
    tmux.wait(BARE_PROMPT[shell])
    tmux.type("ssoenv use --sso-session ")
    tmux.keys("Tab")
    tmux.wait(r"--sso-session demo")
    tmux.keys("C-c")


def test_copy_key_puts_the_account_id_on_the_clipboard(world, start):
    """Ctrl-Y: the account id under the cursor, through OSC 52 (tmux keeps it as a buffer)."""
    tmux = start("bash", bare_rc("bash", world.home))
    tmux._tmux("set-option", "-g", "set-clipboard", "on")
    open_picker(tmux)
    tmux.type("member read")
    tmux.wait(r"^\s*1/\d+")
    tmux.keys("C-y")
    for _ in range(100):
        if "222222222222" in tmux._tmux("show-buffer", check=False).stdout:
            break
        time.sleep(0.05)
    assert tmux._tmux("show-buffer", check=False).stdout == "222222222222"
    tmux.keys("Escape")
    tmux.wait(HEADER, gone=True)


@pytest.mark.parametrize("browser", ["records", "none"])
def test_console_key_opens_the_portal_link_and_changes_nothing(world, start, browser, tmp_path):
    """Ctrl-O: the access portal's shortcut link for the entry under the cursor, opened
    through $BROWSER; without a browser the link goes to the screen (stderr), never to
    what the widget evals; the shell's identity stays as it was."""
    opened = tmp_path / "opened.txt"
    env = {}
    if browser == "records":
        script = tmp_path / "browser.sh"
        script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> "{opened}"\n')
        script.chmod(0o755)
        env["BROWSER"] = str(script)
    tmux = start("bash", bare_rc("bash", world.home), env=env)
    open_picker(tmux)
    tmux.type("member read")
    tmux.wait(r"^\s*1/\d+")
    tmux.keys("C-o")
    tmux.wait(HEADER, gone=True)
    link = "#/console?account_id=222222222222&role_name=ReadOnlyAccess"
    if browser == "records":
        for _ in range(200):
            if opened.exists() and link in opened.read_text():
                break
            time.sleep(0.05)
        assert link in opened.read_text(), tmux.screen()
    else:
        tmux.wait(re.escape(link))
    out = world.home / "console-key-vars"
    tmux.run(f'printf "[%s]" "${{SSOENV_ACCOUNT_ID-}}" > "$HOME/{out.name}"')
    assert out.read_text() == "[]", tmux.screen()


@pytest.mark.parametrize("shell", SHELLS)
def test_wrapped_commands_named_in_wrap_server_run_under_the_endpoint(shell, world, start, tmp_path):
    """SSOENV_WRAP_SERVER: a wrapped command listed there runs under `ssoenv exec --server`
    while the shell is switched (no static keys; the endpoint's two variables); the other
    wrapped commands run as they are."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("longtool", "quicktool"):
        script = bin_dir / name
        script.write_text("#!/bin/sh\nprintf 'uri=%s creds=%s%s\\n' \"${AWS_CONTAINER_CREDENTIALS_FULL_URI:+set}\" "
                          "\"${AWS_ACCESS_KEY_ID:+keys}\" \"${AWS_PROFILE:+profile}\" "
                          f"> \"{tmp_path}/{name}.out\"\n")
        script.chmod(0o755)
    env = {"PATH": f"{bin_dir}:{world.env['PATH']}", "SSOENV_WRAP": "aws longtool quicktool",
           "SSOENV_WRAP_SERVER": "longtool"}
    tmux = start(shell, bare_rc(shell, world.home), env=env)
    tmux.run("ssoenv use member read")
    tmux.run("clear; longtool; quicktool")
    assert (tmp_path / "longtool.out").read_text() == "uri=set creds=\n", tmux.screen()
    assert (tmp_path / "quicktool.out").read_text() == "uri= creds=profile\n", tmux.screen()
    # Not switched: nothing to serve, the command runs as it is.
    tmux.run("clear; ssoenv use --clear; longtool")
    assert (tmp_path / "longtool.out").read_text() == "uri= creds=\n", tmux.screen()
