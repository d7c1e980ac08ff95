"""`ssoenv console`: the access-portal shortcut link, and federation sign-in with the
role's credentials against the emulator's sign-in endpoint (which checks that it
issued them), opened through a $BROWSER script that records the URL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from support import ssoenv_subprocess  # noqa: E402

from ssoenv import console

START = "https://d-0000000000.awsapps.com/start"


@pytest.fixture
def browser(tmp_path, monkeypatch):
    """A $BROWSER that writes the URL it is given to a file."""
    log = tmp_path / "opened.txt"
    script = tmp_path / "browser.sh"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> "{log}"\n')
    script.chmod(0o755)
    monkeypatch.setenv("BROWSER", str(script))
    return log


def _console(*argv, **env):
    return ssoenv_subprocess("console", *argv, env={**os.environ, **env})


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_shortcut_link_opens_in_the_browser(synced, browser):
    result = _console("MemberAccount/ReadOnlyAccess")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == "ssoenv: opened the console for MemberAccount/ReadOnlyAccess in the browser\n"
    assert browser.read_text() == f"{START}/#/console?account_id=222222222222&role_name=ReadOnlyAccess\n"
    assert synced.calls()["GetRoleCredentials"] == 0  # no credentials involved


def test_shortcut_link_with_destination_and_the_active_entry(synced, run, monkeypatch):
    for key, value in {"SSOENV_SESSION": "corp", "SSOENV_ACCOUNT_ID": "111111111111",
                       "SSOENV_ACCOUNT_NAME": "RootAccount", "SSOENV_ROLE": "AdministratorAccess"}.items():
        monkeypatch.setenv(key, value)
    status, out, err = run("console", "--destination", "s3", "--region", "eu-west-1", "--print")
    assert status == 0, err
    url = out.strip()
    assert url.startswith(f"{START}/#/console?")
    query = parse_qs(url.split("?", 1)[1])
    assert query == {"account_id": ["111111111111"], "role_name": ["AdministratorAccess"],
                     "destination": ["https://console.aws.amazon.com/s3/home?region=eu-west-1"]}


def test_without_a_browser_the_url_is_printed_with_a_clear_line(synced, run):
    status, out, err = run("console", "MemberAccount/AdministratorAccess")
    assert status == 0, err
    assert err == ("ssoenv: no browser to open here; open this URL to reach the console for "
                   "MemberAccount/AdministratorAccess:\n")
    assert out == f"{START}/#/console?account_id=222222222222&role_name=AdministratorAccess\n"


def test_federation_signs_in_through_the_emulator(synced, browser):
    result = _console("MemberAccount/ReadOnlyAccess", "--federation", "--destination", "ec2",
                      AWS_ENDPOINT_URL_SIGNIN=synced.url, AWS_REGION="eu-central-1")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and "opened the console" in result.stderr
    (url,) = browser.read_text().splitlines()
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == synced.url and parts.path == "/federation"
    query = parse_qs(parts.query)
    assert query["Action"] == ["login"] and query["Issuer"] == [START]
    assert query["Destination"] == ["https://console.aws.amazon.com/ec2/home?region=eu-central-1"]
    status, page = _get(url)  # the emulator accepts the token and lands on the console
    assert status == 200, page
    assert 'id="account">222222222222<' in page and 'id="role">ReadOnlyAccess<' in page
    assert _get(url)[0] == 400  # a sign-in token is spent once


def test_federation_url_goes_to_stdout_only_when_asked(synced, run, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_SIGNIN", synced.url)
    status, out, err = run("console", "MemberAccount/ReadOnlyAccess", "--federation", "--print")
    assert status == 0, err
    assert out.startswith(f"{synced.url}/federation?Action=login&") and err == ""
    assert _get(out.strip())[0] == 200


def test_the_emulator_refuses_tampered_sessions(synced, home):
    from ssoenv import awsconfig, creds
    from ssoenv.catalog import Entry

    config = awsconfig.load()
    good = creds.get(config, Entry("corp", "222222222222", "MemberAccount", "ReadOnlyAccess"))
    endpoint = f"{synced.url}/federation"

    def signin(**changes):
        session = {"sessionId": good["AccessKeyId"], "sessionKey": good["SecretAccessKey"],
                   "sessionToken": good["SessionToken"], **changes}
        return _get(f"{endpoint}?{urlencode({'Action': 'getSigninToken', 'Session': json.dumps(session)})}")

    assert signin(sessionKey=good["SecretAccessKey"][:-1] + "x")[0] == 400
    assert signin(sessionToken=good["SessionToken"] + "x")[0] == 400
    assert signin(sessionId="ASIAAAAAAAAAAAAAAAAA")[0] == 400
    status, body = signin()
    assert status == 200
    token = json.loads(body)["SigninToken"]
    login = console.login_url(endpoint, token[:-2] + "xx", START, "https://console.aws.amazon.com/")
    assert _get(login)[0] == 400
    status, page = _get(f"{synced.url}/console?session=forged")
    assert status == 403 and "222222222222" not in page
    # Expired credentials are refused too.
    synced.update(credentials_ttl=0)
    stale = creds.fetch(creds.session_of(config, Entry("corp", "111111111111", "", "ReadOnlyAccess")),
                        Entry("corp", "111111111111", "", "ReadOnlyAccess"))
    with pytest.raises(Exception, match="HTTP 400"):
        console.signin_token(endpoint, stale)


def test_federation_failures_are_one_line(synced, run, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_SIGNIN", "http://127.0.0.1:9")  # nothing listens
    status, out, err = run("console", "MemberAccount/ReadOnlyAccess", "--federation", "--print")
    assert status == 1 and out == ""
    assert err.startswith("ssoenv: cannot reach the sign-in endpoint 127.0.0.1:9:") and err.count("\n") == 1
    assert "Secret" not in err and "ASIA" not in err


@pytest.mark.parametrize("destination", ["javascript:alert(1)", "s3 ec2", "https://x/\n"])
def test_bad_destinations_are_usage_errors(synced, run, destination):
    status, out, err = run("console", "MemberAccount/ReadOnlyAccess", "--destination", destination, "--print")
    assert status == 2 and out == "" and err.startswith("ssoenv: ")


def test_no_target_and_nothing_active(synced, run):
    status, out, err = run("console", "--print")
    assert status == 2 and out == "" and "no account/role is active" in err


@pytest.mark.parametrize("region, signin, home", [
    ("eu-west-1", "https://signin.aws.amazon.com/federation", "https://console.aws.amazon.com/"),
    ("us-gov-west-1", "https://signin.amazonaws-us-gov.com/federation", "https://console.amazonaws-us-gov.com/"),
    ("cn-north-1", "https://signin.amazonaws.cn/federation", "https://console.amazonaws.cn/"),
])
def test_partition_endpoints(region, signin, home):
    assert console.federation_endpoint(region) == signin
    assert console.destination_url(None, region) == f"{home}console/home?region={region}"


def test_shortcut_link_quotes_the_role():
    url = console.shortcut_url(START + "/#/", "111111111111", "Odd Role&x=1", None)
    assert url == f"{START}/#/console?account_id=111111111111&role_name=Odd%20Role%26x%3D1"


def test_the_demo_signs_in_to_its_emulator(tmp_path):
    from support import SSOENV, clean_env

    fetch = 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())'
    script = (f'u=$(ssoenv console MemberAccount/ReadOnlyAccess --federation --print) && '
              f'"{sys.executable}" -c \'{fetch}\' "$u"')
    out = subprocess.run([SSOENV, "demo", "--command", script], env=clean_env(tmp_path / "user"),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert 'id="account">222222222222<' in out.stdout and 'id="role">ReadOnlyAccess<' in out.stdout


def test_a_failing_browser_falls_back_to_printing(synced, tmp_path):
    result = _console("MemberAccount/ReadOnlyAccess", BROWSER="/bin/false")
    assert result.returncode == 0, result.stderr
    assert "no browser to open here" in result.stderr
    assert result.stdout == f"{START}/#/console?account_id=222222222222&role_name=ReadOnlyAccess\n"
