"""An expired SSO token and no account list yet: commands renew silently and fetch
the list; when only a login would do and none can run here, exit 3 with the login
command, never "no account/role matches"."""

from __future__ import annotations

import json

import pytest
from support import ssoenv_subprocess

from ssoenv import paths

LOGIN_HINT = "run: ssoenv login --sso-session corp"


def expire_access_token(emulator, *, renewable: bool = True) -> dict:
    """The access token is past its expiry, in the cache and at the service;
    the refresh token stays (or, `renewable=False`, is gone: a login is needed)."""
    emulator.expire_tokens()
    path = paths.token_cache_file("corp")
    token = json.loads(path.read_text())
    token["expiresAt"] = "2020-01-01T00:00:00Z"
    if not renewable:
        del token["refreshToken"]
    path.write_text(json.dumps(token))
    assert not paths.catalog_file().exists()
    return token


def test_list_renews_and_fetches(logged_in, run):
    expire_access_token(logged_in)
    status, out, err = run("list")
    assert status == 0, err
    assert "MemberAccount\t222222222222\tReadOnlyAccess" in out
    assert logged_in.calls()["CreateToken"] == 2  # the login, then one silent renewal
    token = json.loads(paths.token_cache_file("corp").read_text())
    assert token["expiresAt"] > "2020-01-01T00:00:00Z"


@pytest.mark.parametrize("argv", [
    ["exec", "MemberAccount/ReadOnlyAccess", "--", "sh", "-c", 'test -n "$AWS_SESSION_TOKEN" && echo ok'],
    ["env", "MemberAccount/ReadOnlyAccess"],
    ["use", "MemberAccount/ReadOnlyAccess", "--shell", "bash"],
    ["credential-process", "--account", "MemberAccount", "--role", "ReadOnlyAccess"],
])
def test_a_target_is_found_after_a_silent_renewal(logged_in, argv):
    expire_access_token(logged_in)
    proc = ssoenv_subprocess(*argv)  # no terminal: only a silent renewal can help
    assert proc.returncode == 0, proc.stderr
    assert "no account/role matches" not in proc.stderr
    assert proc.stdout.strip()
    assert json.loads(paths.catalog_file().read_text())["sessions"]["corp"]["accounts"]


@pytest.mark.parametrize("argv", [
    ["exec", "MemberAccount/ReadOnlyAccess", "--", "true"],
    ["env", "MemberAccount/ReadOnlyAccess"],
    ["use", "MemberAccount/ReadOnlyAccess", "--shell", "bash"],
    ["credential-process", "--account", "MemberAccount", "--role", "ReadOnlyAccess"],
])
def test_without_renewal_and_terminal_it_says_log_in(logged_in, argv):
    expire_access_token(logged_in, renewable=False)
    proc = ssoenv_subprocess(*argv)
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == ""
    assert LOGIN_HINT in proc.stderr and "no account/role matches" not in proc.stderr
    assert logged_in.calls()["StartDeviceAuthorization"] == 1  # no login started on its own


def test_a_refused_renewal_says_log_in_too(logged_in):
    expire_access_token(logged_in)
    logged_in.revoke_tokens()  # the refresh token is refused too
    proc = ssoenv_subprocess("exec", "MemberAccount/ReadOnlyAccess", "--", "true")
    assert proc.returncode == 3 and LOGIN_HINT in proc.stderr, proc.stderr


def test_list_without_renewal_says_log_in(logged_in, run):
    expire_access_token(logged_in, renewable=False)
    status, out, err = run("list")
    assert status == 3 and out == ""
    assert err == f"ssoenv: no accounts of corp (its SSO session has expired); {LOGIN_HINT}\n"
    status, out, err = run("list", "--json")
    assert status == 3 and json.loads(out) == [] and LOGIN_HINT in err


def test_list_never_logged_in_says_log_in(emulator, aws_config, run):
    status, out, err = run("list")
    assert status == 3 and out == ""
    assert err == f"ssoenv: no accounts of corp (not logged in); {LOGIN_HINT}\n"


def test_an_unknown_target_is_still_no_match(logged_in, run):
    expire_access_token(logged_in)
    status, _, err = run("env", "NoSuchAccount/ReadOnlyAccess")
    assert status == 1 and "no account/role matches 'NoSuchAccount/ReadOnlyAccess'" in err


def test_a_list_that_cannot_be_fetched_is_a_warning_not_a_failure(logged_in, aws_config, run):
    with open(aws_config, "a") as fh:
        fh.write("\n[profile member-ro]\nsso_session = corp\nsso_account_id = 222222222222\n"
                 "sso_role_name = ReadOnlyAccess\n")
    logged_in.inject_fault("ListAccounts", status=400, code="InvalidRequestException", count=2)
    status, out, err = run("list")
    assert status == 0
    assert out == "\t222222222222\tReadOnlyAccess\tmember-ro\tcorp\n"  # the profile, without its name
    assert err.startswith("ssoenv: could not fetch the account list of corp: ListAccounts failed: "
                          "InvalidRequestException")
    assert "ssoenv login" not in err  # logging in again would not help
    status, out, err = run("env", "NoSuchAccount/ReadOnlyAccess")
    assert status == 1 and "no account/role matches" in err and "could not fetch the account list of corp" in err
    assert logged_in.calls()["ListAccounts"] == 2  # once per command, not retried within one
