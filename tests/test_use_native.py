"""Issue 9 without tmux: --shell detected, frecency (order, cursor, bounds, broken
files), completion candidates and their bash quoting through a real bash, and the
prompt_toolkit picker ranking like fzf."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Literal

import pexpect
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import need

from ssoenv import complete, frecency, paths
from ssoenv.catalog import Entry
from ssoenv.shellout import quote_word_bash

SURROGATES: tuple[Literal["Cs"]] = ("Cs",)  # lone surrogates cannot be encoded


def entries(*keys):
    return [Entry("corp", acct, name, role) for acct, name, role in keys]


E = entries(("111111111111", "RootAccount", "AdministratorAccess"),
            ("111111111111", "RootAccount", "ReadOnlyAccess"),
            ("222222222222", "MemberAccount", "AdministratorAccess"))


# --- --shell detected ------------------------------------------------------------------

@pytest.mark.parametrize("shell, expected", [("bash", "unset SSOENV_ACCOUNT_ID;"), ("zsh", "unset SSOENV_ACCOUNT_ID;"),
                                             ("fish", "set -e SSOENV_ACCOUNT_ID; or true;")])
def test_use_detects_the_shell_that_runs_it(shell, expected):
    need(shell)
    # `; true` keeps the shell as ssoenv's parent
    out = subprocess.run([shell, "-c", f"'{sys.executable}' -m ssoenv use --clear; true"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert expected in out.stdout


# --- frecency --------------------------------------------------------------------------

def order(entries, active=None, now=None):
    """The entries as the picker shows them, and where its cursor starts."""
    places = {e.key: n for n, e in enumerate(entries)}
    first, cursor = frecency.arrange(places.get, len(entries), active, now)
    return frecency.in_order(entries, first), cursor


def test_order_most_valuable_first_and_cursor_on_the_most_recent_other():
    now = 1_000_000.0
    frecency.record(E[2].key, now=now - 7200)  # member admin, 2 h ago, 3 times
    frecency.record(E[2].key, now=now - 7200)
    frecency.record(E[2].key, now=now - 7200)
    frecency.record(E[0].key, now=now - 10)  # root admin, just now, once
    ordered, cursor = order(E, active=None, now=now)
    assert [e.key for e in ordered] == [E[2].key, E[0].key, E[1].key]  # 3x2 > 1x4; never chosen last
    assert ordered[cursor] == E[0]  # the most recent
    ordered, cursor = order(E, active=E[0].key, now=now)
    assert ordered[cursor] == E[2]  # ... that is not active


def test_no_history_keeps_the_order_and_skips_the_active_entry():
    ordered, cursor = order(E, active=E[0].key)
    assert ordered == E and cursor == 1


@pytest.mark.parametrize("content", [b"{not json", b"[]", b'{"version": 99, "entries": {}}',
                                     b'{"version": 1, "entries": {"a": [1, 2], "x\\u001fy\\u001fz": "bad"}}',
                                     b"\xff\xfe"])
def test_a_broken_state_file_is_an_empty_history_and_is_rewritten(content):
    path = paths.frecency_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    assert frecency.load() == {}
    assert order(E)[0] == E
    frecency.record(E[1].key)
    assert list(frecency.load()) == [E[1].key]
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_the_state_file_is_bounded(monkeypatch):
    monkeypatch.setattr(frecency, "MAX_ENTRIES", 5)
    for i in range(8):
        frecency.record(("corp", f"{i:012d}", "R"), now=1000.0 + i)
    kept = frecency.load()
    assert len(kept) == 5 and ("corp", f"{7:012d}", "R") in kept and ("corp", f"{0:012d}", "R") not in kept


def test_an_unwritable_state_dir_does_not_stop_a_switch(tmp_path):
    paths.state_dir().parent.mkdir(parents=True, exist_ok=True)
    paths.state_dir().write_text("a file where the directory should be")
    frecency.record(E[0].key)  # no exception
    assert frecency.load() == {}


def test_use_and_exec_count_as_choices(synced, run):
    status, _, err = run("use", "root", "read", "--shell", "bash")
    assert status == 0, err
    assert ("corp", "111111111111", "ReadOnlyAccess") in frecency.load()
    status = subprocess.run([sys.executable, "-m", "ssoenv", "exec", "--account", "222222222222", "--role",
                             "AdministratorAccess", "--", "true"], capture_output=True, timeout=60).returncode
    assert status == 0
    assert ("corp", "222222222222", "AdministratorAccess") in frecency.load()


# --- completion ------------------------------------------------------------------------

HOSTILE = ["it's $(touch x) `y` \"q\" ;&|*?[a] {b,c} ~ # ! \\ end", "new\nline\ttab\x1b[31m",
           "ünïcödé 雲 🚀", "-dash", "a:b=c", "trailing \\"]


@given(st.text(alphabet=st.characters(blacklist_categories=SURROGATES, blacklist_characters="\0"), max_size=30))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_bash_completion_quoting_round_trips(value):
    word = quote_word_bash(value)
    out = subprocess.run(["bash", "--noprofile", "--norc", "-c", f"printf %s {word}"], capture_output=True,
                         timeout=30)
    assert out.stdout == value.encode(), (value, word)


@pytest.mark.parametrize("name", HOSTILE)
def test_bash_completion_of_hostile_names_evaluates_to_the_name(name):
    word = quote_word_bash(name)
    assert "\n" not in word
    out = subprocess.run(["bash", "--noprofile", "--norc", "-c", f"printf %s {word}"], capture_output=True,
                         timeout=30)
    assert out.stdout == name.encode()


def _catalog(accounts):
    cache = {"version": 1, "sessions": {"corp": {"fetched_at": 0, "accounts": accounts}}}
    paths.catalog_file().parent.mkdir(parents=True, exist_ok=True)
    paths.catalog_file().write_text(json.dumps(cache))


def test_candidates_by_position(aws_config):
    _catalog([{"id": "111111111111", "name": "Root Account", "roles": ["Admin", "ReadOnly"]}])
    with open(aws_config, "a") as fh:
        fh.write("\n[profile root-ro]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = ReadOnly\n")
    c = complete.candidates
    assert "use" in c([], "") and "status" in c([], "")
    assert set(c(["use"], "")) >= {"root-ro", "Root Account/Admin", "Root Account"}
    # by id only once the word starts with a digit (half the candidates less)
    assert not {"111111111111/ReadOnly", "111111111111"} & set(c(["use"], ""))
    assert set(c(["use"], "1")) >= {"111111111111/ReadOnly", "111111111111", "Root Account/Admin"}
    assert c(["use", "--shell"], "") == ["bash", "zsh", "fish"]
    assert c(["use", "--sso-session"], "") == ["corp"]
    assert c(["use"], "--shell=") == ["--shell=bash", "--shell=zsh", "--shell=fish"]
    assert "--mode" in c(["use"], "--") and "--clear" in c(["use"], "--")
    assert "json" in c(["env", "--format"], "")
    assert c(["exec", "root-ro"], "") == [] and c(["exec", "--", "aws"], "") == []
    assert "root-ro" in c(["exec"], "")
    assert "root-ro" in c(["use", "--"], "")  # after `--`: still the TARGET
    assert c(["init"], "") == ["bash", "zsh", "fish"]
    assert c(["nonsense"], "") == []


def test_bash_protocol_matches_quotes_and_cuts_at_readline_words(aws_config, capsys):
    _catalog([{"id": "111111111111", "name": "it's $(x)", "roles": ["Read:Only"]}])
    assert complete.main(["bash", "ssoenv use it", "it"]) == 0
    assert sorted(capsys.readouterr().out.split("\n")[:-1]) == ["it\\'s\\ \\$\\(x\\)", "it\\'s\\ \\$\\(x\\)/Read:Only"]
    # readline cut the word at ':' (COMP_WORDBREAKS): only what follows is replaced
    complete.main(["bash", "ssoenv use 111111111111/Read:O", "O"])
    assert capsys.readouterr().out == "Only\n"
    complete.main(["bash", "ssoenv use --shell=f", "f"])
    assert capsys.readouterr().out == "fish\n"


def test_completion_is_quiet_and_offline_without_any_file(capsys):
    assert complete.main(["bash", "ssoenv use ", ""]) == 0
    assert capsys.readouterr() == ("", "")


def test_completion_imports_neither_boto3_nor_prompt_toolkit(synced):
    code = ("import sys; from ssoenv.cli import main; main(['__complete', 'zsh', 'use', '']); "
            "bad = [m for m in ('boto3', 'botocore', 'prompt_toolkit', 'iterfzf') if m in sys.modules]; "
            "sys.stderr.write(repr(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stderr == "[]" and "MemberAccount/ReadOnlyAccess\0" in out.stdout


# --- the prompt_toolkit picker ranks like fzf ------------------------------------------------

def spawn_builtin(*args):
    env = dict(os.environ, TERM="xterm-256color", SSOENV_PICKER="builtin")
    return pexpect.spawn("bash", ["-c", 'set -o pipefail; "$@" | cat', "_", sys.executable, "-m", "ssoenv",
                                  "pick", "--shell", "bash", *args], env=env, encoding="utf-8", timeout=30,
                         dimensions=(30, 120))


def finish(child):
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus, child.before


def test_builtin_picker_best_match_first(synced, aws_config):
    # a decoy listed first (no account name) matches "root read" only spread out
    with open(aws_config, "a") as fh:
        fh.write("\n[profile r-o-o-t-x-r-e-a-d]\nsso_session = corp\nsso_account_id = 999999999999\n"
                 "sso_role_name = Decoy\n")
    child = spawn_builtin()
    child.expect("aws>")
    child.send("root read\r")
    status, output = finish(child)
    assert status == 0, output
    assert "export SSOENV_ACCOUNT_NAME='RootAccount';" in output and "SSOENV_ROLE='ReadOnlyAccess'" in output


def test_builtin_picker_enter_takes_the_most_recent_other_entry(synced, run):
    run("use", "MemberAccount/AdministratorAccess", "--shell", "bash")
    run("use", "RootAccount/ReadOnlyAccess", "--shell", "bash")
    child = spawn_builtin()
    child.expect("aws>")
    child.expect("Enter: RootAccount")
    child.send("\r")
    status, output = finish(child)
    assert status == 0, output
    assert "export SSOENV_ACCOUNT_NAME='RootAccount';" in output and "SSOENV_ROLE='ReadOnlyAccess'" in output


def test_builtin_picker_none_is_last():
    from ssoenv.picker import NONE_LABEL, best_match

    lines = ["r-o-o-t-x-r-e-a-d 999999999999 Decoy", "RootAccount 111111111111 ReadOnlyAccess",
             NONE_LABEL]
    assert best_match(lines, "root read") == 1
    assert best_match(lines, "none") == 2
    assert best_match(lines, "decoy") == 0
    assert best_match(lines, "zzz") is None


def test_value_options_match_the_parsers():
    """complete.VALUE_OPTIONS steps over option values without building parsers:
    it must name exactly the options that take a value, in every subcommand."""
    from ssoenv.cli import COMMANDS

    taking, flags = set(), set()
    parsers = [complete._subparser(command) for command in COMMANDS]
    while parsers:
        for action in parsers.pop()._actions:
            if isinstance(action.choices, dict):  # nested subcommands (admin ...)
                parsers += list(action.choices.values())
            for option in action.option_strings:
                if option.startswith("--"):
                    (flags if action.nargs == 0 else taking).add(option)
    assert taking == set(complete.VALUE_OPTIONS)
    assert not taking & flags


# --- messages ----------------------------------------------------------------------------

def test_a_wrong_option_gets_the_subcommands_usage(run):
    status, out, err = run("use", "--bogus", "x")
    assert status == 2 and out == ""
    assert err.startswith("usage: ssoenv use ") and "ssoenv: use: unrecognized arguments: --bogus" in err
    assert err.count("ssoenv:") == 1


def test_exec_without_dashes_says_which_word_was_the_target(synced, run):
    status, out, err = run("exec", "aws", "s3", "ls")
    assert status == 1 and out == ""
    assert "no account/role matches 'aws'" in err
    assert "without --, the first word ('aws') is TARGET" in err and "ssoenv exec -- aws" in err
    status, _, err = run("exec", "nomatch", "--", "true")
    assert status == 1 and "without --" not in err


@pytest.mark.parametrize("argv", [("status",), ("sync",), ("pick", "--sso-session", "nope", "--shell", "bash"),
                                  ("recover", "--shell", "bash")])
def test_every_no_sso_session_message_names_configure_and_demo(argv, home, run):
    (home / ".aws").mkdir()
    (home / ".aws" / "config").write_text("[default]\nregion = eu-west-1\n")
    status, out, err = run(*argv)
    assert status != 0 and "no sso-session" in err, err
    assert "ssoenv configure" in err and "ssoenv demo" in err, err
    assert all(line.startswith(("ssoenv:", "hint:")) for line in err.splitlines()), err


def test_quote_words_bash_quotes_only_what_needs_it():
    from ssoenv.shellout import quote_words_bash

    assert quote_words_bash(["plain/Role", "123456789012"]) == ["plain/Role", "123456789012"]
    assert quote_words_bash(["plain", "it's"]) == ["plain", "it\\'s"]
    assert quote_words_bash([]) == []


def test_preview_waits_for_the_file_the_picker_writes_while_fzf_draws(aws_config, capsys):
    import threading

    from ssoenv import awsconfig, preview

    path = paths.picker_preview_file(12345)
    config = awsconfig.load()
    entry = Entry("corp", "111111111111", "RootAccount", "ReadOnlyAccess", None, "eu-west-1")
    timer = threading.Timer(0.2, preview.write, (path, config, [entry], {("corp", "111111111111"): "r@x.com"}))
    timer.start()
    try:
        assert preview.main([str(path), "0"]) == 0
    finally:
        timer.join()
    out = capsys.readouterr().out
    assert "RootAccount  111111111111" in out and "r@x.com" in out and "eu-west-1" in out
    assert "not cached" in out and "not logged in" in out
    assert preview.main([str(path), "1"]) == 0 and "(none)" in capsys.readouterr().out
