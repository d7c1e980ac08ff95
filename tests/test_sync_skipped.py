"""`ssoenv sync` without --sso-session: it names the sessions it skipped because they
are not logged in, with the command that logs in; at a terminal it offers that login."""

from __future__ import annotations

import json
import os
import sys

import pexpect
import pytest

from ssoenv import paths

LAB = """
[sso-session lab]
sso_start_url = https://d-1111111111.awsapps.com/start
sso_region = eu-west-1
sso_registration_scopes = sso:account:access
"""
SKIPPED_LAB = "ssoenv: skipped lab (not logged in); to sync it, log in with: ssoenv login --sso-session lab\n"


@pytest.fixture
def two_sessions(logged_in, aws_config):
    """corp logged in, lab never."""
    with open(aws_config, "a") as fh:
        fh.write(LAB)
    return logged_in


def synced_sessions() -> set[str]:
    return set(json.loads(paths.catalog_file().read_text())["sessions"])


def test_without_a_terminal_it_names_the_skipped_session_and_the_command(two_sessions, run):
    status, out, err = run("sync")
    assert status == 0 and out == ""
    assert SKIPPED_LAB in err
    assert "ssoenv: synced corp: 2 accounts" in err
    assert synced_sessions() == {"corp"}
    assert two_sessions.calls()["StartDeviceAuthorization"] == 1  # corp's login only: nothing offered


def test_an_expired_session_is_named_as_expired(two_sessions, run):
    token_file = paths.token_cache_file("corp")
    token = json.loads(token_file.read_text())
    token_file.write_text(json.dumps(dict(token, expiresAt="2020-01-01T00:00:00Z", refreshToken="")))
    status, _, err = run("sync")
    assert status == 3
    assert "ssoenv: skipped corp (expired); to sync it, log in with: ssoenv login --sso-session corp\n" in err
    assert SKIPPED_LAB in err
    assert "ssoenv: nothing synced: no sso-session is logged in\n" in err
    assert not paths.catalog_file().exists()


def test_quiet_says_nothing_when_something_synced(two_sessions, run):
    status, _, err = run("sync", "--quiet")
    assert status == 0 and err == ""


def spawn_sync():
    env = dict(os.environ, TERM="dumb")
    return pexpect.spawn(sys.executable, ["-m", "ssoenv", "sync"], env=env, encoding="utf-8", timeout=60)


def test_at_a_terminal_no_means_nothing_happens(two_sessions):
    child = spawn_sync()
    child.expect_exact("ssoenv: lab is not logged in. Log in now? [y/N] ")
    child.sendline("n")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert "skipped lab (not logged in)" in child.before and "ssoenv login --sso-session lab" in child.before
    assert synced_sessions() == {"corp"}
    assert two_sessions.calls()["StartDeviceAuthorization"] == 1
    assert not paths.token_cache_file("lab").exists()


def test_at_a_terminal_yes_logs_in_with_the_device_code_and_syncs(two_sessions):
    child = spawn_sync()
    child.expect_exact("ssoenv: lab is not logged in. Log in now? [y/N] ")
    child.sendline("y")
    child.expect_exact("to log in to lab, open")  # no browser here: the device code flow
    child.expect_exact("ssoenv: logged in to lab")
    child.expect_exact("ssoenv: synced corp: 2 accounts; lab: 2 accounts")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert "skipped" not in child.before
    assert synced_sessions() == {"corp", "lab"}
    assert two_sessions.calls()["StartDeviceAuthorization"] == 2
    assert json.loads(paths.token_cache_file("lab").read_text())["startUrl"] == "https://d-1111111111.awsapps.com/start"
