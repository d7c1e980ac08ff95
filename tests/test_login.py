"""Issue 2: configure, login (device code, PKCE), caches shared with botocore and
the AWS CLI v2, silent renewal under a lock, status, logout, failures."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time

import pytest
from support import SESSION_CONFIG

from ssoenv import cache, paths


def token_file(name="corp"):
    return paths.token_cache_file(name)


def read_token(name="corp"):
    return json.loads(token_file(name).read_text())


def set_token_fields(name="corp", **fields):
    data = read_token(name)
    data.update(fields)
    token_file(name).write_text(json.dumps(data))
    return data


def in_seconds(seconds):
    return cache.format_time(cache.now() + dt.timedelta(seconds=seconds))


# --- configure ------------------------------------------------------------------------

def test_configure_adds_session_keeping_every_byte(home, run):
    path = home / ".aws" / "config"
    path.parent.mkdir()
    original = "# top comment\n[profile keep]\nregion = eu-west-1 ; inline\nunknown_key = x\n"
    path.write_text(original)
    status, out, err = run("configure", "--sso-session", "corp", "--start-url",
                           "https://d-1234567890.awsapps.com/start", "--region", "ap-northeast-1")
    assert status == 0, err
    text = path.read_text()
    assert text.startswith(original)
    assert "[sso-session corp]\nsso_start_url = https://d-1234567890.awsapps.com/start\n" \
           "sso_region = ap-northeast-1\nsso_registration_scopes = sso:account:access\n" in text
    assert paths.backup_file(path).read_text() == original
    assert stat.S_IMODE(os.stat(paths.backup_file(path)).st_mode) == 0o600


def test_configure_updates_existing_session_in_place(aws_config, run):
    status, _, err = run("configure", "--sso-session", "corp", "--region", "eu-central-1")
    assert status == 0, err
    text = aws_config.read_text()
    assert text == SESSION_CONFIG.replace("sso_region = us-east-1", "sso_region = eu-central-1")


@pytest.mark.parametrize("argv, message", [
    (["--sso-session", "corp"], "missing --start-url, --region"),
    (["--sso-session", "bad name", "--start-url", "https://x.awsapps.com/start", "--region", "us-east-1"], "bad name"),
    (["--sso-session", "c", "--start-url", "ftp://x", "--region", "us-east-1"], "bad url"),
    (["--sso-session", "c", "--start-url", "https://x.awsapps.com/start", "--region", "mars"], "bad region"),
])
def test_configure_rejects_bad_input_and_writes_nothing(home, run, argv, message):
    status, out, err = run("configure", *argv)
    assert status == 2
    assert message in err
    assert not (home / ".aws" / "config").exists()


def test_configure_refuses_unparseable_config(home, run):
    path = home / ".aws" / "config"
    path.parent.mkdir()
    path.write_text("[sso-session corp\nbroken")
    status, _, err = run("configure", "--sso-session", "x", "--start-url", "https://x.awsapps.com/start",
                         "--region", "us-east-1")
    assert status == 1 and "cannot parse" in err
    assert path.read_text() == "[sso-session corp\nbroken"


# --- login ------------------------------------------------------------------------------

def test_device_code_login_writes_cli_v2_caches(logged_in, home):
    token = read_token()
    assert set(token) == {"startUrl", "region", "accessToken", "expiresAt", "clientId", "clientSecret",
                          "registrationExpiresAt", "refreshToken"}
    assert token_file().name == hashlib.sha1(b"corp").hexdigest() + ".json"
    assert dt.datetime.strptime(token["expiresAt"], "%Y-%m-%dT%H:%M:%SZ")
    key = json.dumps({"tool": "botocore", "startUrl": token["startUrl"], "region": "us-east-1",
                      "scopes": ["sso:account:access"], "session_name": "corp"}, sort_keys=True)
    registration = json.loads((paths.sso_cache_dir() / (hashlib.sha1(key.encode()).hexdigest() + ".json")).read_text())
    assert registration["clientId"] == token["clientId"]
    assert registration["scopes"] == ["sso:account:access"]
    for path in paths.sso_cache_dir().iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(paths.sso_cache_dir().stat().st_mode) == 0o700
    assert not [p for p in paths.sso_cache_dir().iterdir() if p.name.endswith(".tmp")]


def test_login_reuses_the_client_registration(logged_in, run):
    logged_in.reset_calls()
    status, _, err = run("login", "--sso-session", "corp", "--device-code", "--no-browser", "--force")
    assert status == 0, err
    calls = logged_in.calls()
    assert calls.get("RegisterClient", 0) == 0
    assert calls["StartDeviceAuthorization"] == 1


def test_pkce_login_through_a_browser(emulator, aws_config, run, monkeypatch, tmp_path):
    # The "browser" follows the authorize redirect to ssoenv's loopback listener.
    browser = tmp_path / "browser"
    browser.write_text(f"#!{sys.executable}\nimport sys, urllib.request\nurllib.request.urlopen(sys.argv[1]).read()\n")
    browser.chmod(0o755)
    monkeypatch.setenv("BROWSER", f"{browser} %s")
    status, _, err = run("login", "--sso-session", "corp")
    assert status == 0, err
    assert emulator.calls().get("Authorize") == 1
    assert emulator.calls().get("StartDeviceAuthorization", 0) == 0
    token = read_token()
    assert token["refreshToken"]
    assert "authorization_code" in json.loads(next(
        p for p in paths.sso_cache_dir().iterdir() if p != token_file()).read_text())["grantTypes"]


def test_login_without_scopes_has_no_silent_renewal(emulator, home, run):
    (home / ".aws").mkdir()
    (home / ".aws" / "config").write_text(
        "[sso-session plain]\nsso_start_url = https://p.awsapps.com/start\nsso_region = us-east-1\n")
    status, _, err = run("login", "--device-code", "--no-browser")
    assert status == 0, err
    assert "no silent renewal" in err
    assert "refreshToken" not in read_token("plain")


MEMBER_PROFILE = ("\n[profile member]\nsso_session = corp\nsso_account_id = 222222222222\n"
                  "sso_role_name = ReadOnlyAccess\nregion = us-east-1\n")


def in_botocore(code: str) -> subprocess.CompletedProcess:
    """botocore fixes its cache directory from HOME at import: run it in a process of its own."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=dict(os.environ),
                          capture_output=True, text=True, timeout=60)


def test_boto3_uses_the_token_ssoenv_wrote(logged_in, home):
    with open(home / ".aws" / "config", "a") as fh:
        fh.write(MEMBER_PROFILE)
    proc = in_botocore("""
        import boto3
        creds = boto3.Session(profile_name="member").get_credentials().get_frozen_credentials()
        print(creds.access_key)
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ASIA")
    assert logged_in.calls()["GetRoleCredentials"] == 1


@pytest.mark.parametrize("fmt", ["%Y-%m-%dT%H:%M:%SUTC", "%Y-%m-%dT%H:%M:%S.000Z", "%Y-%m-%dT%H:%M:%SZ"])
def test_ssoenv_reads_tokens_in_every_cli_time_format(synced, run, fmt):
    later = (cache.now() + dt.timedelta(hours=1)).strftime(fmt)
    set_token_fields(expiresAt=later)
    synced.reset_calls()
    status, out, err = run("env", "--account", "RootAccount", "--role", "ReadOnlyAccess", "--format", "process")
    assert status == 0, err
    assert json.loads(out)["AccessKeyId"].startswith("ASIA")
    assert synced.calls().get("CreateToken", 0) == 0  # the token was used, not renewed


def test_refresh_by_botocore_is_read_by_ssoenv_and_back(logged_in, home, run):
    with open(home / ".aws" / "config", "a") as fh:
        fh.write(MEMBER_PROFILE)
    load_token = """
        import botocore.session
        from botocore.tokens import SSOTokenProvider
        print(SSOTokenProvider(botocore.session.Session(profile="member")).load_token().get_frozen_token().token)
    """
    # botocore renews a token with < 15 min left and writes the file back...
    old = set_token_fields(expiresAt=in_seconds(300))
    proc = in_botocore(load_token)
    assert proc.returncode == 0, proc.stderr
    by_botocore = read_token()
    assert by_botocore["accessToken"] != old["accessToken"]
    assert proc.stdout.strip() == by_botocore["accessToken"]
    # ...which ssoenv reads as is (no renewal)...
    logged_in.reset_calls()
    status, _, err = run("refresh", "--sso-session", "corp")
    assert status == 0, err
    assert logged_in.calls().get("CreateToken", 0) == 0
    # ...and ssoenv's own renewal leaves a file botocore reads without renewing.
    set_token_fields(expiresAt=in_seconds(120))
    status, _, err = run("refresh", "--sso-session", "corp")
    assert status == 0, err
    by_ssoenv = read_token()
    assert by_ssoenv["accessToken"] != by_botocore["accessToken"]
    logged_in.reset_calls()
    proc = in_botocore(load_token)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == by_ssoenv["accessToken"]
    assert logged_in.calls().get("CreateToken", 0) == 0


def test_twenty_racing_processes_refresh_once(logged_in, run):
    set_token_fields(expiresAt=in_seconds(-60))
    logged_in.reset_calls()
    env = dict(os.environ)
    procs = [subprocess.Popen([sys.executable, "-m", "ssoenv", "env", "--account", "111111111111", "--role",
                               "ReadOnlyAccess", "--format", "process"], env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(20)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 20, results[0][1]
    assert logged_in.calls()["CreateToken"] == 1
    assert all(json.loads(out)["AccessKeyId"] for out, _ in results)


# --- refresh / status / logout ------------------------------------------------------------

def test_refresh_exit_3_without_terminal_when_only_login_helps(logged_in, run):
    logged_in.revoke_tokens()
    set_token_fields(expiresAt=in_seconds(-10))
    status, _, err = run("refresh", "--sso-session", "corp")
    assert status == 3
    assert "ssoenv login --sso-session corp" in err
    assert len(err.strip().splitlines()) == 1


def test_refresh_with_valid_token_makes_no_call(logged_in, run):
    logged_in.reset_calls()
    status, _, _ = run("refresh")
    assert status == 0
    assert sum(logged_in.calls().values()) == 0


def test_status_json(logged_in, run):
    status, out, _ = run("status", "--json")
    assert status == 0
    (row,) = json.loads(out)
    assert row["sso_session"] == "corp" and row["logged_in"] and row["can_renew_silently"]
    assert 3000 < row["seconds_left"] <= 3600


def test_status_not_logged_in(aws_config, run):
    status, out, _ = run("status")
    assert status == 0 and "corp: not logged in" in out


def test_logout_removes_sso_tokens_and_sso_role_credentials_only(synced, run, home):
    status, _, _ = run("env", "--account", "RootAccount", "--role", "ReadOnlyAccess")
    assert status == 0
    foreign = paths.cli_cache_dir() / "assume-role.json"
    foreign.write_text(json.dumps({"ProviderType": "assume-role", "Credentials": {}}))
    unrelated = paths.sso_cache_dir() / "notes.txt"
    unrelated.write_text("mine")
    status, _, err = run("logout", "--all")
    assert status == 0, err
    assert synced.calls()["Logout"] == 1
    assert not token_file().exists()
    assert [p.name for p in paths.cli_cache_dir().iterdir()] == ["assume-role.json"]
    assert unrelated.read_text() == "mine"
    status, _, err = run("refresh")
    assert status == 3


# --- failures ---------------------------------------------------------------------------------

def test_no_config(run):
    status, _, err = run("login")
    assert status == 1 and "no sso-session in" in err and "ssoenv configure" in err


def test_unknown_session(aws_config, run):
    status, _, err = run("login", "--sso-session", "nope")
    assert status == 1 and "no sso-session named 'nope'" in err and "known: corp" in err


def test_malformed_config(home, run):
    (home / ".aws").mkdir()
    (home / ".aws" / "config").write_text("[sso-session corp]\nsso_start_url = x\n  [oops\nnot a line\n")
    status, _, err = run("status")
    assert status == 1 and "cannot parse" in err


def test_session_without_region_is_named(home, run):
    (home / ".aws").mkdir()
    (home / ".aws" / "config").write_text("[sso-session corp]\nsso_start_url = https://x/start\n")
    status, _, err = run("status")
    assert status == 1 and "has no sso_region" in err


def test_corrupt_token_cache_is_treated_as_absent(logged_in, run):
    other = paths.sso_cache_dir() / "other.json"
    other.write_text('{"keep": true}')
    token_file().write_text("{not json")
    status, _, err = run("refresh")
    assert status == 3 and "not logged in to corp" in err
    assert other.read_text() == '{"keep": true}'
    status, _, err = run("login", "--device-code", "--no-browser")
    assert status == 0, err
    assert read_token()["accessToken"]


def test_emulator_down(aws_config, run, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO_OIDC", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO", "http://127.0.0.1:9")
    status, _, err = run("login", "--device-code", "--no-browser")
    assert status == 1
    assert "RegisterClient failed: cannot reach http://127.0.0.1:9" in err


def test_5xx_and_429_are_retried(emulator, aws_config, run):
    emulator.inject_fault("RegisterClient", status=500, count=2)
    emulator.inject_fault("StartDeviceAuthorization", status=429, count=2)
    status, _, err = run("login", "--device-code", "--no-browser")
    assert status == 0, err
    assert emulator.calls()["RegisterClient"] == 3


def test_persistent_5xx_fails_clearly(emulator, aws_config, run):
    emulator.inject_fault("RegisterClient", status=500, count=50)
    status, _, err = run("login", "--device-code", "--no-browser")
    assert status == 1 and "RegisterClient failed" in err
    assert "Traceback" not in err


def test_login_timeout(emulator, aws_config, run, monkeypatch):
    emulator.update(auto_approve=False)
    monkeypatch.setenv("SSOENV_LOGIN_TIMEOUT", "2")
    status, _, err = run("login", "--device-code", "--no-browser")
    assert status == 1 and "timed out waiting for the login" in err
    assert not token_file().exists()


def test_denied_login(emulator, aws_config, run):
    emulator.update(auto_approve=False)
    import threading

    def deny_soon():
        for _ in range(50):
            time.sleep(0.1)
            pending = emulator.pending_user_codes()
            if pending:
                emulator.deny(pending[0])
                return
    threading.Thread(target=deny_soon, daemon=True).start()
    status, _, err = run("login", "--device-code", "--no-browser")
    assert status == 1 and "denied" in err
    assert not token_file().exists()


def test_ctrl_c_during_login_leaves_nothing_half_written(emulator, aws_config, home, tmp_path):
    """Ctrl-C lands while the token is being written (half of it in the temp file)."""
    from interrupt_support import PausedWrite, leftovers

    paused = PausedWrite(tmp_path, token_file(), ["login", "--device-code", "--no-browser"])
    status, out, err = paused.interrupt(signal.SIGINT)
    assert status == 130, err
    assert "Traceback" not in err and out == ""
    assert not token_file().exists()
    assert leftovers(paths.sso_cache_dir()) == []
    assert aws_config.read_text() == SESSION_CONFIG


def test_ctrl_c_while_waiting_for_approval_exits_130(emulator, aws_config, home):
    emulator.update(auto_approve=False)
    proc = subprocess.Popen([sys.executable, "-m", "ssoenv", "login", "--device-code", "--no-browser"],
                            env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 20
    while emulator.calls().get("CreateToken", 0) < 1 and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert not token_file().exists()
    assert not [p for p in paths.sso_cache_dir().iterdir() if p.name.endswith(".tmp")]
    assert aws_config.read_text() == SESSION_CONFIG


def test_secrets_never_reach_argv_or_messages(logged_in, run, monkeypatch):
    token = read_token()
    logged_in.revoke_tokens()
    set_token_fields(expiresAt=in_seconds(-10))
    status, out, err = run("-v", "--debug", "refresh")
    for secret in (token["accessToken"], token["refreshToken"], token["clientSecret"]):
        assert secret not in err and secret not in out


def test_configure_updates_a_header_written_with_odd_spacing(home, run):
    path = home / ".aws" / "config"
    path.parent.mkdir()
    original = "[ sso-session  corp ]\nsso_start_url = https://old.awsapps.com/start\nsso_region = us-east-1\n# keep\n"
    path.write_text(original)
    status, _, err = run("configure", "--sso-session", "corp", "--start-url", "https://new.awsapps.com/start")
    assert status == 0, err
    text = path.read_text()
    assert text.count("sso-session") == 1
    assert "sso_start_url = https://new.awsapps.com/start" in text and "# keep" in text


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
