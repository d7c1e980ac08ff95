"""Client registrations shared with the AWS CLI v2 (issue 8): a login by ssoenv never
breaks a login by the AWS CLI v2 2.9 (device code only), whichever runs first and
whatever a newer CLI left in the shared slot; a registration the service no longer
knows is replaced once. Real HTTP to the emulator, Debian's /usr/bin/aws, real files."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from login_support import (
    aws_data_path,
    aws_sso_login,
    make_browser,
    need_aws_cli,
    own_pkce_file,
    read,
    register_like_a_newer_cli,
    shared_slot,
    token,
)

from ssoenv import cache, paths


@pytest.fixture
def browser(tmp_path, monkeypatch):
    monkeypatch.setenv("BROWSER", make_browser(tmp_path))


def pkce_login(run):
    status, _, err = run("login", "--sso-session", "corp", "--force")
    assert status == 0, err
    return err


def device_login(run):
    status, _, err = run("login", "--sso-session", "corp", "--device-code", "--no-browser", "--force")
    assert status == 0, err
    return err


# --- 1. ssoenv and the AWS CLI v2 2.9, in both orders ---------------------------------------

def test_pkce_login_leaves_the_aws_cli_slot_alone_and_aws_sso_login_works(emulator, aws_config, run,
                                                                          browser, tmp_path):
    need_aws_cli()
    pkce_login(run)
    assert emulator.calls()["Authorize"] == 1
    assert "grantTypes" in read(own_pkce_file())
    assert not shared_slot().exists()  # the CLI's name holds nothing of ssoenv's PKCE client
    before = token()["accessToken"]
    proc = aws_sso_login(aws_data_path(tmp_path, emulator.url))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert token()["accessToken"] != before
    assert "grantTypes" not in read(shared_slot())


def test_after_aws_sso_login_every_ssoenv_flow_works(emulator, aws_config, run, browser, tmp_path):
    need_aws_cli()
    proc = aws_sso_login(aws_data_path(tmp_path, emulator.url))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    cli_registration = read(shared_slot())
    emulator.reset_calls()
    pkce_login(run)
    assert emulator.calls()["RegisterClient"] == 1  # its own PKCE client...
    assert read(shared_slot()) == cli_registration  # ...not written over the CLI's
    device_login(run)
    assert emulator.calls()["RegisterClient"] == 1  # the device flow reuses the CLI's registration
    assert token()["clientId"] == cli_registration["clientId"]
    data = token()
    data["expiresAt"] = cache.format_time(cache.now() + dt.timedelta(seconds=60))
    paths.token_cache_file("corp").write_text(json.dumps(data))
    status, _, err = run("refresh", "--sso-session", "corp")
    assert status == 0, err
    assert token()["accessToken"] != data["accessToken"]
    proc = aws_sso_login(aws_data_path(tmp_path, emulator.url))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_newer_clis_pkce_registration_in_the_slot(emulator, aws_config, run, tmp_path):
    """A CLI >= 2.22 writes its PKCE registration under the shared name: ssoenv's device
    login replaces it with one every CLI can use, and `aws sso login` 2.9 works again."""
    need_aws_cli()
    data_path = aws_data_path(tmp_path, emulator.url)
    newer = register_like_a_newer_cli(emulator)
    assert aws_sso_login(data_path).returncode != 0  # what 2.9 does with it
    emulator.reset_calls()
    device_login(run)
    assert emulator.calls()["RegisterClient"] == 1
    slot = read(shared_slot())
    assert slot["clientId"] != newer["clientId"] and "grantTypes" not in slot
    assert read(own_pkce_file()) == newer  # kept for ssoenv's own PKCE logins
    proc = aws_sso_login(data_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_pkce_login_adopts_a_pkce_registration_found_in_the_slot(emulator, aws_config, run, browser, tmp_path):
    need_aws_cli()
    newer = register_like_a_newer_cli(emulator)
    emulator.reset_calls()
    pkce_login(run)
    assert emulator.calls()["RegisterClient"] == 0
    assert token()["clientId"] == newer["clientId"]
    assert not shared_slot().exists()
    proc = aws_sso_login(aws_data_path(tmp_path, emulator.url))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_relogin_through_aws_sso_login_clears_a_pkce_registration_first(emulator, aws_config, run,
                                                                       tmp_path, monkeypatch):
    """ssoenv's automatic re-login hands off to `aws sso login`: it must not fail on what
    a newer CLI (or an older ssoenv) left in the slot."""
    need_aws_cli()
    monkeypatch.setenv("AWS_DATA_PATH", aws_data_path(tmp_path, emulator.url))
    newer = register_like_a_newer_cli(emulator)
    status, _, err = run("login", "--sso-session", "corp", "--via-aws-cli")
    assert status == 0, err
    assert "grantTypes" not in read(shared_slot())
    assert read(own_pkce_file()) == newer


@pytest.mark.parametrize("grants, fits", [
    (None, True), ([], True), (["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"], True),
    (["authorization_code", "refresh_token"], False), (["refresh_token"], False), ("authorization_code", False),
])
def test_which_registrations_the_device_flow_can_use(grants, fits):
    from ssoenv import tokens

    registration = {"clientId": "c", "clientSecret": "s"}
    if grants is not None:
        registration["grantTypes"] = grants
    assert tokens.fits_flow(registration, pkce=False) is fits
    assert tokens.fits_flow(registration, pkce=True) is (isinstance(grants, list) and "authorization_code" in grants)


def test_a_registration_written_meanwhile_by_another_tool_is_kept(emulator, aws_config, run):
    """ssoenv replaces the slot only while it holds what ssoenv read."""
    theirs = {"clientId": "another-tools-client", "clientSecret": "x", "expiresAt": "2099-01-01T00:00:00Z"}

    def another_tool_registers():
        shared_slot().parent.mkdir(parents=True, exist_ok=True)
        shared_slot().write_text(json.dumps(theirs))

    emulator.before_next("RegisterClient", another_tool_registers)
    device_login(run)
    assert read(shared_slot()) == theirs
    assert token()["clientId"] != theirs["clientId"]  # this login used its own registration


# --- 3. a registration the service no longer knows -------------------------------------------

def test_device_login_replaces_a_forgotten_registration_once(logged_in, run):
    old = read(shared_slot())
    logged_in.forget_clients()
    logged_in.reset_calls()
    err = device_login(run)
    assert "no longer knows the cached client registration" in err
    assert logged_in.calls()["RegisterClient"] == 1
    assert logged_in.calls()["StartDeviceAuthorization"] == 2
    assert read(shared_slot())["clientId"] != old["clientId"]
    assert token()["clientId"] == read(shared_slot())["clientId"]


def test_pkce_login_replaces_a_forgotten_registration_before_the_browser(emulator, aws_config, run, browser):
    pkce_login(run)
    old = read(own_pkce_file())
    emulator.forget_clients()
    emulator.reset_calls()
    pkce_login(run)
    calls = emulator.calls()
    assert calls["RegisterClient"] == 1
    assert calls["Authorize"] == 1  # the browser was sent once, with the new client
    assert read(own_pkce_file())["clientId"] != old["clientId"]
    assert token()["clientId"] == read(own_pkce_file())["clientId"]


def test_a_second_refusal_does_not_loop(logged_in, run):
    logged_in.reset_calls()
    logged_in.inject_fault("StartDeviceAuthorization", status=401, code="InvalidClientException", count=10)
    status, _, err = run("login", "--sso-session", "corp", "--device-code", "--no-browser", "--force")
    assert status == 1
    assert "InvalidClientException" in err and "Traceback" not in err
    assert logged_in.calls()["RegisterClient"] == 1
    assert logged_in.calls()["StartDeviceAuthorization"] == 2


def test_a_second_refusal_does_not_loop_with_pkce(emulator, aws_config, run, browser):
    pkce_login(run)
    emulator.reset_calls()
    emulator.inject_fault("CreateToken", status=401, code="InvalidClientException", count=10)
    status, _, err = run("login", "--sso-session", "corp", "--force")
    assert status == 1
    assert "InvalidClientException" in err and "Traceback" not in err
    assert emulator.calls()["RegisterClient"] == 1


def test_a_replacement_written_meanwhile_by_another_tool_is_kept(logged_in, run):
    """The refused registration is dropped only while the slot still holds it."""
    theirs = {"clientId": "another-tools-client", "clientSecret": "x", "expiresAt": "2099-01-01T00:00:00Z"}
    logged_in.forget_clients()
    logged_in.before_next("RegisterClient", lambda: shared_slot().write_text(json.dumps(theirs)))
    device_login(run)
    assert read(shared_slot()) == theirs


def test_automatic_relogin_recovers_from_a_forgotten_registration(logged_in, run, monkeypatch):
    """The shell's re-login: the refresh is refused (InvalidClientException), and so is
    the cached registration; one new registration, and the command runs again."""
    from ssoenv import terminal

    monkeypatch.setattr(terminal, "is_interactive", lambda: True)
    monkeypatch.setenv("SSOENV_LOGIN_VIA_AWS_CLI", "false")
    logged_in.forget_clients()
    logged_in.expire_tokens()
    logged_in.reset_calls()
    status, _, err = run("recover", "--", "aws", "s3", "ls")
    assert status == 0, err
    assert err.endswith("ssoenv: logged in to corp\n")
    assert logged_in.calls()["RegisterClient"] == 1
