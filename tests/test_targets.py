"""Issue 17 (wrong account): one TARGET grammar for every command, and an exact name
(account name or id, profile, ACCOUNT/ROLE) wins over partial matches, through the real
entry points against the emulator (`prod` beside `prod-eu`)."""

from __future__ import annotations

import json
import re
import sys

import pytest
from support import ssoenv_subprocess

ORG = [{"accountId": "111111111111", "accountName": "dev", "emailAddress": "dev@example.com",
        "roles": ["AdministratorAccess", "ReadOnlyAccess"]},
       {"accountId": "333333333333", "accountName": "prod", "emailAddress": "prod@example.com",
        "roles": ["AdministratorAccess", "ReadOnlyAccess"]},
       {"accountId": "444444444444", "accountName": "prod-eu", "emailAddress": "eu@example.com",
        "roles": ["AdministratorAccess", "ReadOnlyAccess"]},
       {"accountId": "555555555555", "accountName": "member", "emailAddress": "m@example.com",
        "roles": ["ReadOnlyAccess"]}]


@pytest.fixture
def org(emulator, aws_config, run):
    emulator.set_accounts([dict(a) for a in ORG])
    assert run("login", "--sso-session", "corp", "--device-code", "--no-browser")[0] == 0
    assert run("sync")[0] == 0
    return emulator


def switched_to(out: str) -> tuple[str, str]:
    account = re.search(r"export SSOENV_ACCOUNT_ID='(\d+)';", out)
    role = re.search(r"export SSOENV_ROLE='([^']*)';", out)
    assert account and role, out
    return account[1], role[1]


def issued_to(emulator, access_key_id: str) -> tuple[str, str]:
    """(account id, role) the emulator issued these credentials for."""
    issued = emulator._center.federation._issued[access_key_id]
    return issued.account_id, issued.role


@pytest.mark.parametrize("words, expected", [
    (["prod", "ReadOnlyAccess"], ("333333333333", "ReadOnlyAccess")),
    (["prod", "read"], ("333333333333", "ReadOnlyAccess")),
    (["prod/ReadOnlyAccess"], ("333333333333", "ReadOnlyAccess")),
    (["333333333333", "read"], ("333333333333", "ReadOnlyAccess")),
    (["prod-eu", "read"], ("444444444444", "ReadOnlyAccess")),
    (["eu", "read"], ("444444444444", "ReadOnlyAccess")),
    (["member"], ("555555555555", "ReadOnlyAccess")),
])
def test_an_exact_name_wins_over_a_partial_match(org, run, words, expected):
    status, out, err = run("use", *words, "--shell", "bash")
    assert status == 0, err
    assert switched_to(out) == expected


def test_an_exact_account_with_several_roles_is_still_ambiguous(org, run):
    status, out, err = run("use", "prod", "--shell", "bash")
    assert status == 2 and out == ""
    assert "matches 2 entries" in err and "prod-eu" not in err


def test_partial_words_matching_several_accounts_are_ambiguous(org, run):
    status, out, err = run("use", "pro", "read", "--shell", "bash")
    assert status == 2 and out == "" and "matches 2 entries" in err


def test_an_exact_profile_name_wins(org, aws_config, run):
    aws_config.write_text(aws_config.read_text() + "\n[profile prod]\nsso_session = corp\n"
                          "sso_account_id = 444444444444\nsso_role_name = AdministratorAccess\n")
    status, out, err = run("use", "prod", "--shell", "bash")
    assert status == 0, err
    assert switched_to(out) == ("444444444444", "AdministratorAccess")


@pytest.mark.parametrize("command", ["env", "credential-process"])
def test_several_words_in_env_and_credential_process(org, run, command):
    argv = [command, "prod", "read"] + (["--format", "process"] if command == "env" else [])
    status, out, err = run(*argv)
    assert status == 0, err
    assert issued_to(org, json.loads(out)["AccessKeyId"]) == ("333333333333", "ReadOnlyAccess")


def test_several_words_in_console(org, run):
    status, out, err = run("console", "prod", "read", "--print")
    assert status == 0, err
    assert "account_id=333333333333" in out and "role_name=ReadOnlyAccess" in out


def test_pick_calls_its_words_target_too():
    out = ssoenv_subprocess("pick", "--help").stdout
    assert "[TARGET ...]" in out and "[query" not in out


ECHO = [sys.executable, "-c", "import os, sys; print(os.environ['SSOENV_ACCOUNT_ID'], os.environ['SSOENV_ROLE'], "
        "sys.argv[1:])"]


def test_exec_with_several_words_before_the_dashes(org):
    proc = ssoenv_subprocess("exec", "prod", "read", "--", *ECHO, "a")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "333333333333 ReadOnlyAccess ['a']"


def test_exec_target_then_a_command_with_its_own_dashes(org):
    proc = ssoenv_subprocess("exec", "prod/ReadOnlyAccess", *ECHO, "a", "--", "b")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "333333333333 ReadOnlyAccess ['a', '--', 'b']"


def test_exec_hint_does_not_say_the_dashes_are_missing_when_they_are_there(org):
    proc = ssoenv_subprocess("exec", "nomatch", "words", "--", "true")
    assert proc.returncode == 1
    assert "no account/role matches 'nomatch words'" in proc.stderr
    assert "without --" not in proc.stderr
    proc = ssoenv_subprocess("exec", "nomatch", "true")
    assert proc.returncode == 1 and "without --, the first word ('nomatch') is TARGET" in proc.stderr


def test_serve_takes_several_words(org, tmp_path):
    """`serve prod read` resolves (it then serves: the first lines are its exports)."""
    import subprocess

    proc = subprocess.Popen([sys.executable, "-m", "ssoenv", "serve", "prod", "read", "--shell", "bash"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stderr is not None
        line = proc.stderr.readline()
        assert "serving credentials for prod/ReadOnlyAccess" in line, line + proc.stderr.read()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
