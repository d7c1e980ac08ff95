"""Issue 22 (Tab, as the shell runs it) and issue 17 (Tab with hostile names): bash's
completion function reads the candidates in one go (strace counts its read(2) calls);
the kept TARGET list follows the config and the catalog; in real bash, zsh and fish
under tmux, names that need quoting complete to words that run with the exact name,
a target starting with `-` is offered after `--`, and a name with a newline never
reaches fish (fish 3.6 aborts on one)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from support import SSOENV, Tmux, clean_env, need, shell_sandbox  # noqa: E402

from ssoenv import complete, paths  # noqa: E402


def _big_catalog(home, accounts: int) -> None:
    """`accounts` x 3 roles in the catalog file, as a sync leaves it."""
    cache = home / ".cache" / "ssoenv"
    cache.mkdir(parents=True, exist_ok=True)
    rows = [{"id": f"1{i:011d}", "name": f"account-{i:05d}",
             "roles": ["AdministratorAccess", "ReadOnlyAccess", "PowerUserAccess"]} for i in range(accounts)]
    (cache / "catalog.json").write_text(json.dumps({"version": 1, "sessions": {"corp": {"fetched_at": 0,
                                                                                         "accounts": rows}}}))


# --- bash reads the candidates in one go ------------------------------------------------

def test_bash_completion_reads_the_candidates_in_one_go(tmp_path):
    """`mapfile < <(...)` reads a pipe one byte per read(2) (226,723 reads for 227 KB at
    5,000 entries). The completion function, traced while it runs, must read its 1,667
    account names (~23 KB) in a few dozen reads at most."""
    need("bash", "strace")
    home = tmp_path / "home"
    env = clean_env(home)
    _big_catalog(home, 1667)
    init = subprocess.run([SSOENV, "init", "bash"], env=env, capture_output=True, text=True, check=True).stdout
    (home / "init.bash").write_text(init)
    script = ('source "$HOME/init.bash"\n'
              "COMP_LINE='ssoenv use '; COMP_POINT=${#COMP_LINE}; COMP_WORDS=(ssoenv use ''); COMP_CWORD=2\n"
              "echo BEGIN >&2; __ssoenv_complete; echo END >&2\n"
              'printf "%s\\n" "${#COMPREPLY[@]}" "${COMPREPLY[0]}" "${COMPREPLY[-1]}"\n')
    trace = tmp_path / "trace"
    # the shell alone (no -f): the reads of the program's output are the shell's own
    out = subprocess.run(["strace", "-qq", "-s", "16", "-e", "trace=read,write", "-o", str(trace),
                          "bash", "--noprofile", "--norc", "-c", script],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    count, first, last = out.stdout.split("\n")[:3]
    assert int(count) == 1667  # the accounts by name (NAME/ROLE once few are left, ids after a digit)
    assert first and last and "\n" not in first
    lines = trace.read_text().splitlines()
    begin = next(i for i, line in enumerate(lines) if '"BEGIN' in line)
    end = next(i for i, line in enumerate(lines) if '"END' in line)
    reads = [line for line in lines[begin:end] if line.startswith("read(")]
    size = len(subprocess.run([SSOENV, "__complete", "bash", "ssoenv use ", ""], env=env, capture_output=True,
                              timeout=60).stdout)
    assert size > 20_000
    assert len(reads) < 200, f"{len(reads)} read(2) calls for {size} bytes: a byte-wise read is back"


# --- the kept TARGET list ----------------------------------------------------------------

def test_the_kept_targets_follow_the_config_and_the_catalog(aws_config):
    cache = paths.catalog_file()
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"version": 1, "sessions": {"corp": {"fetched_at": 0, "accounts": [
        {"id": "111111111111", "name": "First", "roles": ["Admin"]}]}}}))
    assert "First/Admin" in complete.targets()
    index = paths.completion_index_file()
    assert index.exists() and index.stat().st_mode & 0o777 == 0o600
    # a new profile in the config: offered at once
    with open(aws_config, "a") as fh:
        fh.write("\n[profile added-later]\nsso_session = corp\nsso_account_id = 111111111111\n"
                 "sso_role_name = Admin\n")
    assert "added-later" in complete.targets()
    # a new sync: the new account at once, the old one gone
    cache.write_text(json.dumps({"version": 1, "sessions": {"corp": {"fetched_at": 1, "accounts": [
        {"id": "222222222222", "name": "Second", "roles": ["Admin"]}]}}}))
    found = complete.targets()
    assert "Second/Admin" in found and "First/Admin" not in found
    # the kept list itself is what answers while nothing changed
    before = index.read_bytes()
    assert complete.targets() == found and index.read_bytes() == before
    # a broken or foreign kept list is made anew, never believed
    index.write_bytes(b"garbage\nFirst/Admin\0\0")
    assert "First/Admin" not in complete.targets()
    index.unlink()
    index.symlink_to(cache)
    assert "Second/Admin" in complete.targets()


def test_accounts_by_name_first_then_their_roles(aws_config):
    """Thousands of accounts: Tab offers each by name (like a directory before its files);
    NAME/ROLE once the typed word leaves few; ids once it starts with a digit."""
    _big_catalog(paths.catalog_file().parent.parent.parent, 1667)
    c = complete.candidates
    everything = c(["use"], "")
    assert len(everything) == 1667 and "account-00012" in everything
    assert not [t for t in everything if "/" in t]
    narrowed = c(["use"], "account-0001", lambda t: t.startswith("account-0001"))
    assert "account-00012/ReadOnlyAccess" in narrowed and "account-00012" in narrowed
    # zsh/fish: "read" matches no name, so the roles it matches are offered
    keep = complete.loosely("read")
    assert keep is not None
    assert "account-00012/ReadOnlyAccess" in c(["use"], "read", keep)
    assert "100000000012" in c(["use"], "1000000000", lambda t: t.startswith("1000000000"))


# --- hostile names in the real shells ----------------------------------------------------

TAB_NAMES = ["mixed one", "mixed\ttwo", "tab\tone", "tab\ttwo", "-dash", "new\nline", "ctl\tone", "ctl\x1btwo",
             "dollar one", "dollar$two"]


@pytest.fixture(scope="module")
def tab_world(tmp_path_factory):
    need("tmux")
    accounts = [{"accountId": f"55555555550{i}", "accountName": name, "roles": ["ReadOnlyAccess"]}
                for i, name in enumerate(TAB_NAMES)]
    w = shell_sandbox(tmp_path_factory.mktemp("tab-world"), accounts=accounts)
    yield w
    w.close()


def _start(shell: str, world) -> Tmux:
    need(shell)
    home = world.home
    if shell == "bash":
        (home / ".bashrc").write_text('eval "$(ssoenv init bash)"\nPS1="[$?]\\$ "\n')
        argv = ["bash", "--noprofile", "--rcfile", str(home / ".bashrc"), "-i"]
    elif shell == "zsh":
        (home / ".zshrc").write_text('eval "$(ssoenv init zsh)"\nPROMPT="[%?]%# "\n')
        argv = ["zsh", "-d", "-i"]
    else:
        conf = home / ".config" / "fish"
        conf.mkdir(parents=True, exist_ok=True)
        (conf / "config.fish").write_text("set -g fish_greeting\nssoenv init fish | source\n"
                                          "function fish_prompt; printf '[%s]> ' $status; end\n")
        argv = ["fish", "-i"]
    tmux = Tmux(world.env).start(argv)
    tmux.wait(r"\[0\][$#%>] *$")
    return tmux


def _switched_to(tmux: Tmux, world, shell: str) -> bytes:
    out = world.home / f"tab-name-{shell}"
    tmux.run(f'clear; printf "%s" "$SSOENV_ACCOUNT_NAME" > "$HOME/{out.name}"')
    return out.read_bytes()


def test_bash_tab_keeps_the_typed_prefix_next_to_control_characters(tab_world):
    """`mixed one` (backslash quoting) and `mixed<TAB>two` ($'...'): the common part is
    inserted; `tab<TAB>one` and `tab<TAB>two`: the inserted part never ends inside $'."""
    tmux = _start("bash", tab_world)
    try:
        tmux.type("ssoenv use mi")
        tmux.keys("Tab")
        tmux.wait(r"ssoenv use mixed *$")
        tmux.keys("C-u")
        # `ctl$'\t'one`, `ctl$'\E'two`: readline's own common part would be `ctl$'\`
        tmux.type("ssoenv use ct")
        tmux.keys("Tab")
        tmux.wait(r"ssoenv use ctl *$")
        tmux.keys("C-u")
        # `dollar\ one`, `dollar\$two`: ... and here `dollar\`
        tmux.type("ssoenv use do")
        tmux.keys("Tab")
        tmux.wait(r"ssoenv use dollar *$")
        tmux.keys("C-u")
        tmux.type("ssoenv use ta")
        tmux.keys("Tab")
        tmux.wait(r"ssoenv use tab\$'\\t' *$")
        tmux.type("o")
        tmux.keys("Tab")
        tmux.wait(r"ssoenv use tab\$'\\t'one *$")
        tmux.keys("Enter")
        assert _switched_to(tmux, tab_world, "bash") == b"tab\tone"
    finally:
        tmux.close()


def test_bash_tab_offers_a_target_starting_with_a_dash_after_dashes(tab_world):
    tmux = _start("bash", tab_world)
    try:
        tmux.type("ssoenv use -da")
        tmux.keys("Tab")
        tmux.wait(r"ssoenv use -- -dash *$")
        tmux.keys("Enter")
        assert _switched_to(tmux, tab_world, "bash") == b"-dash"
    finally:
        tmux.close()


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_tab_with_hostile_names_in_zsh_and_fish(shell, tab_world):
    """zsh and fish complete a name that needs quoting to a word that runs with the
    exact name, and survive a name with a newline (fish never sees it: fish 3.6
    aborts on one)."""
    tmux = _start(shell, tab_world)
    try:
        tmux.type("ssoenv use ne")
        tmux.keys("Tab")
        tmux.keys("C-u")
        tmux.run("clear; echo still-alive")
        assert tmux.alive()
        tmux.type("ssoenv use mixed\\ o")
        tmux.keys("Tab")
        tmux.wait(r"ssoenv use mixed\\ one")
        tmux.type("/R")
        tmux.keys("Tab")
        tmux.wait(r"ssoenv use mixed\\ one/ReadOnlyAccess")
        tmux.keys("Enter")
        assert _switched_to(tmux, tab_world, shell) == b"mixed one"
    finally:
        tmux.close()


def test_fish_is_never_handed_a_newline(tab_world):
    out = subprocess.run([SSOENV, "__complete", "fish", "use", ""], env=tab_world.env, capture_output=True,
                         timeout=60)
    found = out.stdout.split(b"\0")
    assert out.returncode == 0 and b"mixed one" in found
    assert not [c for c in found if b"\n" in c or b"\t" in c]
