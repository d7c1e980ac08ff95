"""The browser login (issue 8): its /authorize URL points where CreateToken goes,
whatever sends botocore there (an AWS_DATA_PATH endpoint rule set here, with no
AWS_ENDPOINT_URL_* at all); and a browser that cannot be opened never leaves the
login waiting for nothing."""

from __future__ import annotations

import json

import pytest
from login_support import aws_data_path, browser_urls, make_browser

from ssoenv import paths
from ssoenv.emulator import Emulator


@pytest.fixture
def ruleset_emulator(tmp_path, monkeypatch):
    """The emulator reached only through an AWS_DATA_PATH rule set, as the AWS CLI v2 2.9 is."""
    emu = Emulator().start()
    monkeypatch.setenv("AWS_DATA_PATH", aws_data_path(tmp_path, emu.url))
    yield emu
    emu.stop()


def test_authorize_url_follows_an_endpoint_rule_set(ruleset_emulator, aws_config, run, tmp_path, monkeypatch):
    monkeypatch.setenv("BROWSER", make_browser(tmp_path))
    status, _, err = run("login", "--sso-session", "corp")
    assert status == 0, err
    (url,) = browser_urls(tmp_path)
    assert url.startswith(ruleset_emulator.url + "/authorize?")
    calls = ruleset_emulator.calls()
    assert (calls["Authorize"], calls["CreateToken"]) == (1, 1)
    assert json.loads(paths.token_cache_file("corp").read_text())["refreshToken"]


def test_oidc_endpoint_is_the_one_requests_use(ruleset_emulator, monkeypatch):
    from ssoenv import identity

    assert identity.oidc_endpoint("eu-west-1") == ruleset_emulator.url
    monkeypatch.delenv("AWS_DATA_PATH")
    identity._clients.clear()
    identity._session = None
    assert identity.oidc_endpoint("eu-west-1") == "https://oidc.eu-west-1.amazonaws.com"


def test_no_browser_and_no_terminal_fails_at_once(emulator, aws_config, run, tmp_path, monkeypatch):
    broken = tmp_path / "no-browser"
    broken.write_text("#!/bin/sh\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setenv("BROWSER", f"{broken} %s")
    monkeypatch.setenv("SSOENV_LOGIN_TIMEOUT", "60")  # a bound for a broken build, not an assertion
    status, out, err = run("login", "--sso-session", "corp")
    assert status == 3
    assert out == ""
    assert err == ("ssoenv: could not open a browser to log in to corp; "
                   "run: ssoenv login --sso-session corp --device-code\n")
    assert emulator.calls()["CreateToken"] == 0
    assert not paths.token_cache_file("corp").exists()


def test_no_browser_with_a_terminal_falls_back_to_the_device_code(emulator, aws_config, run, tmp_path,
                                                                  monkeypatch):
    from ssoenv import terminal

    monkeypatch.setattr(terminal, "is_interactive", lambda: True)
    broken = tmp_path / "no-browser"
    broken.write_text("#!/bin/sh\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setenv("BROWSER", f"{broken} %s")
    monkeypatch.setenv("SSOENV_LOGIN_TIMEOUT", "60")  # a bound for a broken build, not an assertion
    status, _, err = run("login", "--sso-session", "corp")
    assert status == 0, err
    assert "could not open a browser; logging in with a device code instead" in err
    assert emulator.calls()["StartDeviceAuthorization"] == 1
    assert emulator.calls()["Authorize"] == 0
