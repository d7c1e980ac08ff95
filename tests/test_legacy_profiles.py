"""Legacy profiles (sso_start_url and sso_region in the profile, no sso-session; one
token per start URL, no refresh token) against the emulator: status, sync, list,
refresh, logout and the target commands work as for sso-sessions, or say plainly why not."""

from __future__ import annotations

import json

import pytest
from support import SESSION_CONFIG, need, ssoenv_subprocess

from ssoenv import paths

START_URL = "https://d-2222222222.awsapps.com/start"
LEGACY = f"""\
[profile legacy]
sso_start_url = {START_URL}
sso_region = us-east-1
sso_account_id = 222222222222
sso_role_name = ReadOnlyAccess
region = eu-west-3

[profile legacy-admin]
sso_start_url = {START_URL}
sso_region = us-east-1
sso_account_id = 111111111111
sso_role_name = AdministratorAccess
"""


@pytest.fixture
def legacy_config(home, emulator):
    path = home / ".aws" / "config"
    path.parent.mkdir(mode=0o700)
    path.write_text(LEGACY)
    return path


@pytest.fixture
def legacy_login(legacy_config, run):
    status, _, err = run("login", "--profile", "legacy", "--device-code", "--no-browser")
    assert status == 0, err
    token = json.loads(paths.token_cache_file(START_URL).read_text())
    assert "refreshToken" not in token  # a legacy login registers without scopes
    return token


def test_status_text_and_json_agree(legacy_login, run):
    status, out, err = run("status", "--json")
    assert status == 0, err
    (row,) = json.loads(out)  # two profiles, one start URL: one login
    assert row["legacy"] is True and row["sso_session"] is None and row["profile"] == "legacy"
    assert row["start_url"] == START_URL and row["logged_in"] is True
    assert row["can_renew_silently"] is False and 3000 < row["seconds_left"] <= 3600
    status, out, err = run("status")
    assert status == 0, err
    (line,) = out.splitlines()
    assert line.startswith("  profile legacy: logged in, ")
    assert "; no silent renewal (legacy profile) (https://d-2222222222.awsapps.com/start, us-east-1)" in line


def test_status_of_a_legacy_login_never_made(legacy_config, run):
    status, out, _ = run("status", "--json")
    (row,) = json.loads(out)
    assert status == 0 and row["logged_in"] is False and row["expires_at"] is None
    status, out, _ = run("status")
    assert status == 0 and out == ("  profile legacy: not logged in; no silent renewal (legacy profile) "
                                   f"({START_URL}, us-east-1)\n")


def test_status_with_nothing_configured_agrees_too(home, run):
    status, out, err = run("status", "--json")
    assert status == 1 and json.loads(out) == [] and "no sso-session" in err
    status, out, err = run("status")
    assert status == 1 and out == "" and "no sso-session" in err


def test_sync_and_list_show_the_accounts_and_their_names(legacy_login, run):
    status, _, err = run("sync", "--profile", "legacy-admin")  # one start URL, one login, one list
    assert status == 0, err
    assert "synced profile legacy: 2 accounts" in err
    status, out, err = run("list")
    assert status == 0, err
    rows = out.splitlines()
    assert "MemberAccount\t222222222222\tReadOnlyAccess\tlegacy\tprofile legacy" in rows
    assert "RootAccount\t111111111111\tAdministratorAccess\tlegacy-admin\tprofile legacy" in rows
    assert "RootAccount\t111111111111\tReadOnlyAccess\t-\tprofile legacy" in rows  # no profile for it
    assert len(rows) == 4


def test_list_fetches_a_legacy_login_by_itself(legacy_login, run):
    status, out, err = run("list", "--json")
    assert status == 0, err
    names = {(e["account_name"], e["role"], e["profile"]) for e in json.loads(out)}
    assert ("MemberAccount", "ReadOnlyAccess", "legacy") in names


def test_target_commands_use_the_legacy_login(legacy_login, run):
    assert run("sync")[0] == 0
    status, out, err = run("env", "legacy", "--format", "json")
    assert status == 0, err
    doc = json.loads(out)
    assert doc["AccountName"] == "MemberAccount" and doc["AccountId"] == "222222222222"
    # an account no profile names, through the legacy login's list
    proc = ssoenv_subprocess("exec", "RootAccount/ReadOnlyAccess", "--", "sh", "-c",
                             'echo "$SSOENV_ACCOUNT_ID $SSOENV_SESSION"')
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "111111111111 profile legacy\n"
    # the role cache is the AWS CLI v2's legacy key (start URL, not a session name)
    assert paths.role_cache_file("111111111111", "ReadOnlyAccess", start_url=START_URL).exists()


def test_refresh_says_a_legacy_login_has_no_refresh_token(legacy_login, run):
    status, _, err = run("refresh", "--profile", "legacy-admin")
    assert status == 0
    assert err.startswith("ssoenv: profile legacy-admin is valid until ")
    assert "cannot be renewed silently" in err
    status, _, err = run("refresh", "--profile", "legacy", "--min-valid", "7200")
    assert status == 3
    assert "profile legacy expires at" in err and "a legacy login has no refresh token" in err
    assert "run: ssoenv login --profile legacy" in err and "hint: an [sso-session] renews silently" in err


def test_refresh_of_an_expired_legacy_login_never_logs_in(legacy_login, run, emulator):
    path = paths.token_cache_file(START_URL)
    path.write_text(json.dumps(dict(legacy_login, expiresAt="2020-01-01T00:00:00Z")))
    emulator.reset_calls()
    status, _, err = run("refresh", "--profile", "legacy")
    assert status == 3 and "profile legacy has expired" in err and "no refresh token" in err
    assert sum(emulator.calls().values()) == 0


def test_logout_of_a_legacy_profile(legacy_login, emulator, run):
    assert run("env", "legacy")[0] == 0
    status, _, err = run("logout", "--profile", "legacy-admin")
    assert status == 0, err
    assert "logged out of profile legacy-admin (2 cached files removed)" in err  # token + role credentials
    assert emulator.calls()["Logout"] == 1
    assert not paths.token_cache_file(START_URL).exists()
    status, out, _ = run("status", "--json")
    assert json.loads(out)[0]["logged_in"] is False


def test_logout_all_ends_legacy_portal_sessions_too(legacy_login, emulator, home, run):
    (home / ".aws" / "config").write_text(SESSION_CONFIG + "\n" + LEGACY)
    status, _, err = run("logout", "--all")
    assert status == 0, err
    assert "logged out of corp, profile legacy" in err
    assert emulator.calls()["Logout"] == 1  # the legacy token was live: its portal session ends
    assert not paths.token_cache_file(START_URL).exists()


def test_legacy_and_sso_session_side_by_side(legacy_login, home, run):
    (home / ".aws" / "config").write_text(SESSION_CONFIG + "\n" + LEGACY)
    assert run("login", "--sso-session", "corp", "--device-code", "--no-browser")[0] == 0
    status, _, err = run("sync")
    assert status == 0 and "corp: 2 accounts" in err and "profile legacy: 2 accounts" in err
    status, out, _ = run("list")
    sessions = {line.split("\t")[-1] for line in out.splitlines()}
    assert sessions == {"corp", "profile legacy"}
    status, out, _ = run("status", "--json")
    assert [(r["sso_session"], r["profile"]) for r in json.loads(out)] == [("corp", None), (None, "legacy")]


def test_list_refresh_before_a_legacy_login_names_the_login(legacy_config, run):
    status, out, err = run("list", "--refresh")
    assert status == 3 and out == ""
    assert "not logged in to profile legacy; run: ssoenv login --profile legacy" in err
    assert "no sso-session in" not in err


def test_recover_in_a_shell_switched_to_a_legacy_entry_without_profile(legacy_login, run):
    import subprocess
    import sys

    assert run("sync")[0] == 0
    script = ('eval "$("$PY" -m ssoenv use RootAccount/ReadOnlyAccess --shell bash)" && '
              'echo "session=$SSOENV_SESSION" && "$PY" -m ssoenv recover --preflight --shell bash -- aws s3 ls')
    proc = subprocess.run(["bash", "--noprofile", "--norc", "-c", script], capture_output=True, text=True,
                          env=dict(__import__("os").environ, PY=sys.executable), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "session=profile legacy" in proc.stdout


def test_with_only_legacy_profiles_refresh_and_logout_need_no_flag(legacy_login, emulator, run):
    status, _, err = run("refresh")
    assert status == 0 and err.startswith("ssoenv: profile legacy is valid until "), err
    status, _, err = run("logout")
    assert status == 0 and "logged out of profile legacy" in err, err
    assert emulator.calls()["Logout"] == 1


def test_several_legacy_start_urls_ask_which(legacy_config, run):
    with open(legacy_config, "a") as fh:
        fh.write("\n[profile other]\nsso_start_url = https://d-3333333333.awsapps.com/start\n"
                 "sso_region = us-east-1\nsso_account_id = 111111111111\nsso_role_name = ReadOnlyAccess\n")
    status, _, err = run("refresh")
    assert status == 2 and "several legacy SSO profiles" in err and "--profile NAME" in err


AWS_CLI = "/usr/bin/aws"


def test_a_legacy_login_is_shared_with_the_aws_cli_v2(legacy_config, emulator, run, tmp_path, monkeypatch):
    """`aws sso login --profile` (Debian's CLI v2) logs in; ssoenv sees and uses that login,
    and the CLI reuses the role credentials ssoenv cached (the legacy start-URL key)."""
    import subprocess

    from ssoenv.emulator.awsdata import write_endpoint_rulesets

    need(AWS_CLI)
    write_endpoint_rulesets(tmp_path / "awsdata", emulator.url)
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path / "awsdata"))
    proc = subprocess.run([AWS_CLI, "sso", "login", "--profile", "legacy-admin", "--no-browser"],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
    assert proc.returncode == 0, proc.stderr
    status, out, _ = run("status", "--json")
    (row,) = json.loads(out)
    assert row["logged_in"] and row["profile"] == "legacy" and not row["can_renew_silently"]
    status, out, err = run("list")
    assert status == 0 and "MemberAccount\t222222222222\tReadOnlyAccess\tlegacy\tprofile legacy" in out, err
    status, out, err = run("env", "legacy", "--format", "process")
    assert status == 0, err
    ours = json.loads(out)
    emulator.reset_calls()
    proc = subprocess.run([AWS_CLI, "configure", "export-credentials", "--profile", "legacy", "--format", "process"],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["AccessKeyId"] == ours["AccessKeyId"]
    assert emulator.calls()["GetRoleCredentials"] == 0
