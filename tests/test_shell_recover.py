"""`ssoenv recover`, the Python half of auto re-login: which sso-session a failed
command used, silent renewal, login (own flow, or `aws sso login`), one login for
a burst of failures, and the statements a switched shell must eval."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from support import AWS_CLI, SSOENV, need, tests_path, tools_dir  # noqa: E402

from ssoenv import awscli, awsconfig  # noqa: E402
from ssoenv.commands import recover  # noqa: E402
from ssoenv.emulator.awsdata import write_endpoint_rulesets  # noqa: E402
from ssoenv.errors import SsoenvError  # noqa: E402

TWO_SESSIONS = """\
[sso-session corp]
sso_start_url = https://d-0000000000.awsapps.com/start
sso_region = us-east-1

[sso-session lab]
sso_start_url = https://d-1111111111.awsapps.com/start
sso_region = eu-west-1

[profile corp-ro]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = ReadOnlyAccess

[profile lab-admin]
sso_session = lab
sso_account_id = 222222222222
sso_role_name = AdministratorAccess

[profile legacy]
sso_start_url = https://d-2222222222.awsapps.com/start
sso_region = us-east-1
sso_account_id = 333333333333
sso_role_name = ReadOnlyAccess

[profile static]
aws_access_key_id = AKIAEXAMPLE
"""


@pytest.mark.parametrize("argv, expected", [
    (["aws", "s3", "ls"], None),
    (["aws", "--profile", "prod", "s3", "ls"], "prod"),
    (["aws", "s3", "ls", "--profile=dev"], "dev"),
    (["aws", "--profile"], None),
    (["terraform", "plan"], None),
])
def test_profile_in_argv(argv, expected):
    assert recover.profile_in_argv(argv) == expected


def test_which_session_the_command_used(home, monkeypatch):
    path = home / ".aws" / "config"
    path.parent.mkdir()
    path.write_text(TWO_SESSIONS)
    config = awsconfig.load()
    assert recover.session_for(config, ["aws", "--profile", "lab-admin", "s3", "ls"]).name == "lab"
    assert recover.session_for(config, ["aws", "--profile=corp-ro"]).name == "corp"
    legacy = recover.session_for(config, ["aws", "--profile", "legacy"])
    assert legacy.legacy and legacy.start_url == "https://d-2222222222.awsapps.com/start"
    with pytest.raises(SsoenvError, match="does not use IAM Identity Center"):
        recover.session_for(config, ["aws", "--profile", "static"])
    with pytest.raises(SsoenvError, match="cannot tell which sso-session"):
        recover.session_for(config, ["aws", "s3", "ls"])
    monkeypatch.setenv("SSOENV_SESSION", "corp")
    assert recover.session_for(config, ["terraform", "plan"]).name == "corp"
    monkeypatch.setenv("AWS_PROFILE", "lab-admin")  # what the command really used wins
    assert recover.session_for(config, ["terraform", "plan"]).name == "lab"
    assert recover.session_for(config, ["aws", "--profile", "corp-ro"]).name == "corp"


@pytest.mark.parametrize("line, expected", [
    ("ssoenv credential-process --sso-session lab --account 222222222222 --role AdministratorAccess", "lab"),
    ("/opt/bin/ssoenv credential-process --sso-session corp --account 111111111111 --role ReadOnlyAccess",
     "corp"),
    ("ssoenv credential-process --account 111111111111 --role ReadOnlyAccess", "ambiguous"),  # two sessions
    ("python3 -m ssoenv credential-process lab-admin", "lab"),  # TARGET: a profile
    ("'/path with space/ssoenv' credential-process corp-ro", "corp"),
    ("aws-vault export --format=json corp", None),  # another tool's
    ("ssoenv-helper credential-process corp-ro", None),
    ("ssoenv credential-process --account", None),  # a line credential-process refuses too
    ("ssoenv credential-process 'unclosed", None),
])
def test_a_credential_process_profile_of_ssoenv_names_its_session(home, line, expected):
    path = home / ".aws" / "config"
    path.parent.mkdir()
    path.write_text(TWO_SESSIONS + f"\n[profile cp]\ncredential_process = {line}\n")
    config = awsconfig.load()
    if expected is None:
        with pytest.raises(SsoenvError, match="does not use IAM Identity Center"):
            recover.session_for(config, ["aws", "--profile", "cp", "s3", "ls"])
    elif expected == "ambiguous":
        with pytest.raises(SsoenvError, match="cannot tell which sso-session the credential_process of "
                                              "profile 'cp' uses: several sso-sessions"):
            recover.session_for(config, ["aws", "--profile", "cp", "s3", "ls"])
    else:
        assert recover.session_for(config, ["aws", "--profile", "cp", "s3", "ls"]).name == expected


def test_the_only_session_is_the_one(aws_config):
    assert recover.session_for(awsconfig.load(), ["aws", "s3", "ls"]).name == "corp"


def test_expired_token_is_renewed_silently(logged_in, run):
    emu = logged_in
    emu.expire_tokens()
    before = emu.calls()["CreateToken"]
    status, out, err = run("recover", "--", "aws", "s3", "ls")
    calls = emu.calls()
    assert status == 0, err
    assert out == ""  # the shell is not switched: nothing to eval
    assert "ssoenv: renewed the SSO session corp\n" in err and "Traceback" not in err, err
    assert calls["CreateToken"] == before + 1, (calls, err)
    assert calls["StartDeviceAuthorization"] == 1, (calls, err)  # the first login only


def test_no_terminal_means_no_login(logged_in, run):
    logged_in.revoke_tokens()
    status, out, err = run("recover", "--shell", "bash", "--", "aws", "s3", "ls")
    assert status == 3
    assert out == ""
    assert "ssoenv login --sso-session corp" in err
    assert "Traceback" not in err


def _switch(monkeypatch, mode="credentials"):
    for key, value in {"SSOENV_SESSION": "corp", "SSOENV_ACCOUNT_ID": "222222222222",
                       "SSOENV_ACCOUNT_NAME": "MemberAccount", "SSOENV_ROLE": "ReadOnlyAccess",
                       "SSOENV_MODE": mode, "AWS_ACCESS_KEY_ID": "ASIASTALE"}.items():
        monkeypatch.setenv(key, value)


def test_switched_shell_gets_fresh_credentials(synced, run, monkeypatch, home, tmp_path):
    _switch(monkeypatch)
    synced.expire_tokens()
    shutil.rmtree(home / ".aws" / "cli" / "cache", ignore_errors=True)
    status, out, err = run("recover", "--shell", "bash", "--", "aws", "s3", "ls")
    assert status == 0, err
    assert "export AWS_ACCESS_KEY_ID='ASIA" in out and "unset AWS_PROFILE;" in out
    shell = subprocess.run(["bash", "-c", 'eval "$1"; echo "$SSOENV_ACCOUNT_NAME $SSOENV_MODE $SSOENV_EXPIRES"',
                            "_", out], capture_output=True, text=True)
    name, mode, expires = shell.stdout.split()
    assert (name, mode) == ("MemberAccount", "credentials")
    assert int(expires) > time.time() + 3000


def test_preflight_keeps_a_valid_token(synced, run, monkeypatch):
    _switch(monkeypatch)
    before = synced.calls()["CreateToken"]
    status, out, err = run("recover", "--preflight", "--shell", "fish", "--", "aws", "s3", "ls")
    assert status == 0, err
    assert err == ""
    assert "set -gx AWS_ACCESS_KEY_ID 'ASIA" in out
    assert synced.calls()["CreateToken"] == before


def test_profile_mode_shell_gets_the_new_expiry(synced, run, monkeypatch, aws_config):
    aws_config.write_text(aws_config.read_text() + "\n[profile member-ro]\nsso_session = corp\n"
                          "sso_account_id = 222222222222\nsso_role_name = ReadOnlyAccess\n")
    _switch(monkeypatch, mode="profile")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.setenv("SSOENV_PROFILE", "member-ro")
    monkeypatch.setenv("AWS_PROFILE", "member-ro")
    synced.expire_tokens()
    status, out, err = run("recover", "--shell", "zsh", "--", "aws", "s3", "ls")
    assert status == 0, err
    assert "export AWS_PROFILE='member-ro';" in out and "export SSOENV_EXPIRES=" in out
    assert "AWS_ACCESS_KEY_ID='" not in out


def _fake_aws(tmp_path: Path, version: str) -> Path:
    bin_dir = tmp_path / f"bin-{version}"
    bin_dir.mkdir()
    (bin_dir / "aws").write_text(f"#!/bin/sh\necho 'aws-cli/{version} Python/3.11 Linux'\n")
    (bin_dir / "aws").chmod(0o755)
    return bin_dir


def test_login_via_aws_cli_auto_wants_a_v2(tmp_path, monkeypatch):
    v1, v2 = _fake_aws(tmp_path, "1.29.0"), _fake_aws(tmp_path, "2.15.0")
    monkeypatch.setenv("SSOENV_LOGIN_VIA_AWS_CLI", "auto")
    monkeypatch.setenv("PATH", f"{v1}:{tools_dir()}")
    assert awscli.relogin_aws_cli() is None
    monkeypatch.setenv("PATH", f"{v2}:{tools_dir()}")
    assert awscli.relogin_aws_cli() == str(v2 / "aws")
    monkeypatch.setenv("SSOENV_LOGIN_VIA_AWS_CLI", "false")
    assert awscli.relogin_aws_cli() is None
    monkeypatch.setenv("SSOENV_LOGIN_VIA_AWS_CLI", "true")
    monkeypatch.setenv("PATH", f"{v1}:{tools_dir()}")
    monkeypatch.setattr("shutil.which", lambda name, path=None: str(v1 / "aws"))
    with pytest.raises(SsoenvError, match="no AWS CLI v2"):
        awscli.relogin_aws_cli()


def test_login_with_a_terminal_uses_the_own_flow(logged_in, run, monkeypatch):
    from ssoenv import terminal

    monkeypatch.setattr(terminal, "is_interactive", lambda: True)
    monkeypatch.setenv("SSOENV_LOGIN_VIA_AWS_CLI", "false")
    logged_in.revoke_tokens()
    status, out, err = run("recover", "--", "aws", "s3", "ls")
    assert status == 0, err
    assert "has expired; logging in\n" in err and err.endswith("ssoenv: logged in to corp\n")
    assert logged_in.calls()["StartDeviceAuthorization"] == 2


def test_login_with_a_terminal_via_the_aws_cli_v2(logged_in, run, monkeypatch, tmp_path):
    need(AWS_CLI)
    from ssoenv import terminal, tokens

    write_endpoint_rulesets(tmp_path / "awsdata", logged_in.url)
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path / "awsdata"))
    monkeypatch.setenv("PATH", tests_path())  # its `aws` is AWS_CLI
    monkeypatch.setenv("SSOENV_LOGIN_VIA_AWS_CLI", "auto")
    monkeypatch.setattr(terminal, "is_interactive", lambda: True)
    logged_in.revoke_tokens()
    status, out, err = run("recover", "--", "aws", "s3", "ls")
    assert status == 0, err
    assert "logging in with `aws sso login`" in err
    assert out == ""
    assert tokens.seconds_left(tokens.read_token(awsconfig.load().session("corp"))) > 3000


def test_a_burst_of_failures_makes_one_login(logged_in, home, tmp_path):
    """Four commands fail at once, each in its own terminal: one device login."""
    need("script")
    logged_in.revoke_tokens()
    env = {**os.environ, "HOME": str(home), "SSOENV_LOGIN_VIA_AWS_CLI": "false"}
    procs = [subprocess.Popen(["script", "-qec", f"{SSOENV} recover -- aws s3 ls", "/dev/null"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
             for _ in range(4)]
    outputs = [p.communicate(timeout=60)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], outputs
    assert logged_in.calls()["StartDeviceAuthorization"] == 2  # the fixture's login, and one more
    assert sum("logging in" in o for o in outputs) == 1
