"""Which sso-session a command means, and which region it gets (issue 11): the
precedence is written once (awsconfig.session_claims) and both `refresh` (through
choose_sessions) and `recover` (the failed command's session) follow it; `exec`
and `use` apply the same region rule. Through the CLI, real files."""

from __future__ import annotations

import os
import sys

import pytest
from support import ssoenv_subprocess

# Three sso-sessions, none logged in: a command names the one it chose in its
# "log in with ..." message (exit 3), with no network involved.
THREE_SESSIONS = """\
[sso-session one]
sso_start_url = https://d-1111111111.awsapps.com/start
sso_region = us-east-1

[sso-session two]
sso_start_url = https://d-2222222222.awsapps.com/start
sso_region = us-east-1

[sso-session three]
sso_start_url = https://d-3333333333.awsapps.com/start
sso_region = us-east-1

[profile one-ro]
sso_session = one
sso_account_id = 111111111111
sso_role_name = ReadOnlyAccess

[profile three-ro]
sso_session = three
sso_account_id = 333333333333
sso_role_name = ReadOnlyAccess
"""


@pytest.fixture
def three(home):
    path = home / ".aws" / "config"
    path.parent.mkdir(mode=0o700)
    path.write_text(THREE_SESSIONS)
    return path


def chosen(run, *argv) -> str:
    """The sso-session `refresh` or `recover` chose: the one it says to log in to."""
    status, out, err = run(*argv)
    assert status == 3, err
    assert out == ""
    (name,) = [n for n in ("one", "two", "three") if f"ssoenv login --sso-session {n}" in err]
    return name


def both(run, profile_flag=None):
    refresh = ["refresh"] + (["--profile", profile_flag] if profile_flag else [])
    recover = ["recover", "--", "aws"] + (["--profile", profile_flag] if profile_flag else []) + ["s3", "ls"]
    return chosen(run, *refresh), chosen(run, *recover)


def credentials_mode(monkeypatch, session):
    monkeypatch.setenv("SSOENV_SESSION", session)
    monkeypatch.setenv("SSOENV_MODE", "credentials")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE")


def test_rung_1_an_explicit_profile_wins_over_everything(three, run, monkeypatch):
    credentials_mode(monkeypatch, "two")
    monkeypatch.setenv("AWS_PROFILE", "three-ro")
    assert both(run, "one-ro") == ("one", "one")
    assert chosen(run, "refresh", "--sso-session", "one") == "one"


def test_rung_2_exported_keys_win_over_aws_profile(three, run, monkeypatch):
    """Every botocore tool uses exported keys before AWS_PROFILE."""
    credentials_mode(monkeypatch, "two")
    monkeypatch.setenv("AWS_PROFILE", "three-ro")
    assert both(run) == ("two", "two")


def test_rung_3_aws_profile_wins_over_the_switched_session(three, run, monkeypatch):
    monkeypatch.setenv("SSOENV_SESSION", "two")
    monkeypatch.setenv("SSOENV_MODE", "profile")
    monkeypatch.setenv("AWS_PROFILE", "three-ro")
    assert both(run) == ("three", "three")
    # credentials mode without the keys exported (unset by hand): AWS_PROFILE still wins
    monkeypatch.setenv("SSOENV_MODE", "credentials")
    assert both(run) == ("three", "three")


def test_rung_4_the_switched_session(three, run, monkeypatch):
    monkeypatch.setenv("SSOENV_SESSION", "two")
    assert both(run) == ("two", "two")


def test_rung_5_the_only_session(home, run):
    path = home / ".aws" / "config"
    path.parent.mkdir(mode=0o700)
    path.write_text(THREE_SESSIONS.split("[sso-session two]")[0])
    assert both(run) == ("one", "one")


def test_without_a_rung_several_sessions_need_a_name(three, run):
    status, out, err = run("refresh")
    assert status != 0 and out == ""
    assert err.startswith("ssoenv: several sso-sessions (one, three, two)")
    status, out, err = run("recover", "--", "aws", "s3", "ls")
    assert status != 0 and out == ""
    assert err.startswith("ssoenv: cannot tell which sso-session the command used")


# --- the region rule: `exec` and `use` -------------------------------------------------

REGION_CHILD = [sys.executable, "-c", "import os; print(os.environ.get('AWS_REGION', '-'), "
                                      "os.environ.get('AWS_DEFAULT_REGION', '-'))"]


def test_exec_applies_the_default_region_setting_as_use_does(synced, run, monkeypatch):
    """A target without a region of its own: default_region, for `use` and `exec` alike."""
    monkeypatch.setenv("SSOENV_DEFAULT_REGION", "ap-southeast-2")
    status, out, err = run("use", "--shell", "bash", "--mode", "credentials", "MemberAccount/ReadOnlyAccess")
    assert status == 0, err
    assert "export AWS_REGION='ap-southeast-2';" in out
    proc = ssoenv_subprocess("exec", "MemberAccount/ReadOnlyAccess", "--", *REGION_CHILD,
                             env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "ap-southeast-2 ap-southeast-2\n"


def test_exec_keeps_the_environment_region_without_a_setting(synced, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-north-1")
    proc = ssoenv_subprocess("exec", "MemberAccount/ReadOnlyAccess", "--", *REGION_CHILD,
                             env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "eu-north-1 eu-north-1\n"
