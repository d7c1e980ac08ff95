"""Defects found by an adversarial pass over the CLI; each test reproduces one."""

from __future__ import annotations

import json
import os

import pytest

from support import ssoenv_subprocess
from ssoenv import paths

MINE = "\n[profile mine]\nsso_session = corp\nsso_account_id = 222222222222\nsso_role_name = ReadOnlyAccess\n"


def test_logout_removes_role_credentials_the_catalog_never_knew(logged_in, aws_config, run):
    with open(aws_config, "a") as fh:
        fh.write(MINE)
    assert run("env", "mine")[0] == 0  # fetched through a profile, never synced
    assert list(paths.cli_cache_dir().glob("*.json"))
    assert run("logout")[0] == 0
    assert not list(paths.cli_cache_dir().glob("*.json"))
    status, out, err = run("env", "mine")
    assert status == 3 and out == ""


def test_a_refused_token_is_forgotten_so_login_logs_in(synced, run):
    synced.revoke_tokens()
    for path in paths.cli_cache_dir().glob("*.json"):
        path.unlink()
    status, _, err = run("env", "RootAccount/ReadOnlyAccess")
    assert status == 3 and "ssoenv login --sso-session corp" in err
    status, out, _ = run("status", "--json")
    assert json.loads(out)[0]["logged_in"] is False
    status, _, err = run("login", "--device-code", "--no-browser")
    assert status == 0 and "already logged in" not in err
    assert run("env", "RootAccount/ReadOnlyAccess")[0] == 0


def test_populate_never_writes_a_value_that_leaves_its_line(emulator, aws_config, run):
    emulator.set_accounts([
        {"accountId": "888888888888", "accountName": "x", "emailAddress": "a@b",
         "roles": ["ReadOnly\n[profile injected]\ncredential_process = sh -c 'touch pwned'", "Fine"]},
    ])
    assert run("login", "--device-code", "--no-browser")[0] == 0
    assert run("sync")[0] == 0
    status, _, err = run("populate")
    assert status == 0 and "skipped 1" in err
    text = aws_config.read_text()
    assert "injected" not in text and "credential_process" not in text
    assert "[profile x-Fine]" in text


def test_messages_carry_no_terminal_control_characters(emulator, aws_config, run):
    emulator.set_accounts([{"accountId": f"{i}" * 12, "accountName": "evil\x1b[2J\nname", "emailAddress": "a@b",
                            "roles": ["R\x1b[31mole"]} for i in (3, 4)])
    assert run("login", "--device-code", "--no-browser")[0] == 0
    status, out, err = run("use", "evil", "--shell", "bash")
    assert status == 2 and out == ""
    assert "\x1b" not in err and "evil?[2J?name" in err


def test_exec_target_then_a_command_with_its_own_double_dash(synced):
    proc = ssoenv_subprocess("exec", "RootAccount/ReadOnlyAccess", "sh", "-c", 'echo "$@"', "sh", "a", "--", "b")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["a", "--", "b"]


def test_role_cache_with_wrong_types_is_treated_as_absent(synced, run):
    assert run("env", "RootAccount/ReadOnlyAccess")[0] == 0
    for path in paths.cli_cache_dir().glob("*.json"):
        data = json.loads(path.read_text())
        data["Credentials"]["AccessKeyId"] = 123
        path.write_text(json.dumps(data))
    status, out, err = run("env", "RootAccount/ReadOnlyAccess", "--format", "process")
    assert status == 0, err
    assert json.loads(out)["AccessKeyId"].startswith("ASIA")


def test_configure_refuses_duplicate_sections(home, run):
    path = home / ".aws" / "config"
    path.parent.mkdir()
    text = ("[sso-session corp]\nsso_start_url = https://a/start\nsso_region = us-east-1\n\n"
            "[sso-session corp]\nsso_region = us-east-1\n")
    path.write_text(text)
    status, _, err = run("configure", "--sso-session", "corp", "--region", "us-west-2")
    assert status == 1 and "more than one [sso-session corp]" in err
    assert path.read_text() == text


def test_a_state_path_that_is_a_file_is_one_clear_line(logged_in, home, run):
    state = home / ".cache" / "ssoenv"
    if state.exists():
        import shutil
        shutil.rmtree(state)
    state.parent.mkdir(exist_ok=True)
    state.write_text("not a directory")
    status, _, err = run("sync")
    assert status == 1 and "Traceback" not in err and "internal error" not in err
    assert len(err.strip().splitlines()) == 1


def test_sync_under_another_config_keeps_this_configs_accounts(synced, run, home, monkeypatch):
    other = home / "other-config"
    other.write_text("[sso-session lab]\nsso_start_url = https://lab.awsapps.com/start\nsso_region = us-east-1\n"
                     "sso_registration_scopes = sso:account:access\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(other))
    status, _, err = run("login", "--sso-session", "lab", "--device-code", "--no-browser")
    assert status == 0, err
    status, _, err = run("sync")  # it must really sync, not stop early
    assert status == 0 and "lab: 2 accounts" in err, err
    monkeypatch.delenv("AWS_CONFIG_FILE")
    synced.reset_calls()
    status, out, _ = run("list", "--json")
    assert status == 0 and {r["sso_session"] for r in json.loads(out)} == {"corp"}
    assert len(json.loads(out)) == 4
    assert synced.calls().get("ListAccounts", 0) == 0  # corp's list was kept, not fetched again


@pytest.mark.parametrize("argv", [["list", "--sso-session", "nope"], ["pick", "--shell", "bash", "--sso-session", "nope"]])
def test_unknown_session_is_named(synced, run, argv):
    status, out, err = run(*argv)
    assert status == 1 and out == "" and "no sso-session named 'nope'" in err


def test_populate_bad_templates(synced, run):
    for template in ("{account_name.foo}", "", "{0}"):
        status, _, err = run("populate", f"--template={template}")
        assert status == 2 and "template" in err, (template, err)


def test_pick_without_a_terminal(synced):
    import subprocess
    import sys

    # A new session has no controlling terminal: /dev/tty cannot be opened.
    proc = subprocess.run([sys.executable, "-m", "ssoenv", "pick", "--shell", "bash"], capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL, start_new_session=True)
    assert proc.returncode == 2 and "needs a terminal" in proc.stderr, proc.stderr
    assert proc.stdout == ""


def test_usage_errors_have_one_prefix(run):
    status, _, err = run("use", "--shell", "tcsh", "x")
    assert status == 2 and "ssoenv: use: argument --shell" in err and "ssoenv: ssoenv" not in err
