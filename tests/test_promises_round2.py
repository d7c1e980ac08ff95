"""Issue 18: promises of the README no test held, each killed by a test when broken
(`scripts/mutate` carries the breaks, in the block of branch `promises`).

Through the real interfaces: a $BROWSER script that plays both the user's browser and
an attacker on the loopback callback, Identity Center refusing clients over real HTTP
(the emulator), another tool writing a shared file at an exact moment (the emulator's
request hooks, or SSOENV_TEST_PAUSE_WRITE: see interrupt_support.py), the real entry
point with stdout on a real terminal (a pty), botocore reading back what `configure`
wrote.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import select
import subprocess
import sys
import textwrap
import time

import pytest
from interrupt_support import PausedWrite
from login_support import SCOPES, START_URL, own_pkce_file, read, register_like_a_newer_cli, shared_slot, token

from ssoenv import cache, paths

BEGIN = "# BEGIN ssoenv managed profiles"


def _on_a_terminal(argv: list[str], timeout: float = 60) -> tuple[int, str, str]:
    """The real entry point with stdout on a pty (a user typing the command at a
    terminal), stdin and stderr on pipes: (status, what reached the terminal, stderr)."""
    master, slave = os.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "ssoenv", *argv], env=dict(os.environ),
                                stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE, text=True)
        os.close(slave)
        chunks = []
        deadline = time.monotonic() + timeout  # a bound for a broken build, not an assertion
        while time.monotonic() < deadline:  # drain the terminal: a full pty would block the process
            if not select.select([master], [], [], 1)[0]:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the last slave is closed
                break
            if not chunk:
                break
            chunks.append(chunk)
        else:
            proc.kill()
        _, err = proc.communicate(timeout=timeout)
        return proc.returncode, b"".join(chunks).decode(errors="replace"), err
    finally:
        os.close(master)


# --- the PKCE login's loopback callback ----------------------------------------------

ATTACKING_BROWSER = """\
#!{python}
# The user's browser, with an attacker first: a callback carrying another state (and a
# code of the attacker's) reaches the login's listener before the real redirect does.
import json, sys, urllib.error, urllib.parse, urllib.request

url = sys.argv[1]
query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
redirect, state = query["redirect_uri"][0], query["state"][0]
port = urllib.parse.urlsplit(redirect).port


def listening(table):
    # The local addresses of the sockets listening on the callback's port.
    found = []
    try:
        lines = open(table).read().splitlines()[1:]
    except OSError:
        return found
    for line in lines:
        local, state_ = line.split()[1], line.split()[3]
        address, _, hexport = local.rpartition(":")
        if state_ == "0A" and int(hexport, 16) == port:
            found.append(address)
    return found


def get(target):
    try:
        with urllib.request.urlopen(target, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


report = {{"tcp": listening("/proc/net/tcp"), "tcp6": listening("/proc/net/tcp6")}}
forged = redirect + "?" + urllib.parse.urlencode({{"code": "attackers-code", "state": "not-" + state}})
report["forged"] = get(forged)
report["real"] = get(url)  # the authorize page redirects to the listener, as a browser follows it
with open({log!r}, "w") as fh:
    json.dump(report, fh)
"""


def test_the_pkce_callback_takes_only_this_logins_state_on_loopback_only(emulator, aws_config, run, tmp_path,
                                                                         monkeypatch):
    log = tmp_path / "browser.json"
    script = tmp_path / "browser"
    script.write_text(ATTACKING_BROWSER.format(python=sys.executable, log=str(log)))
    script.chmod(0o755)
    monkeypatch.setenv("BROWSER", f"{script} %s")
    monkeypatch.setenv("SSOENV_LOGIN_TIMEOUT", "60")  # a bound for a broken build, not an assertion
    status, out, err = run("login", "--sso-session", "corp")
    assert status == 0, err
    report = json.loads(log.read_text())
    assert report["tcp"] == ["0100007F"] and report["tcp6"] == []  # 127.0.0.1, nothing else
    assert report["forged"] == 400  # refused, not "Logged in"
    assert report["real"] == 200
    assert emulator.calls()["CreateToken"] == 1  # only the real code was exchanged
    assert token()["accessToken"]


# --- client registrations ----------------------------------------------------------------

def _device_registration_like_the_aws_cli(emulator) -> dict:
    """What `aws sso login` (any version) writes into the shared slot: a device-code
    registration (no grantTypes), real in the emulator."""
    import boto3

    oidc = boto3.Session(region_name="us-east-1").client("sso-oidc", endpoint_url=emulator.url)
    response = oidc.register_client(clientName="botocore-client-corp", clientType="public", scopes=SCOPES)
    expires = dt.datetime.fromtimestamp(response["clientSecretExpiresAt"], dt.timezone.utc)
    return {"clientId": response["clientId"], "clientSecret": response["clientSecret"],
            "expiresAt": cache.format_time(expires), "scopes": SCOPES}


def test_the_cli_slot_is_emptied_only_while_it_holds_what_ssoenv_read(emulator, aws_config, tmp_path):
    """ssoenv moves a newer CLI's authorization-code registration out of the slot; the
    AWS CLI writing its own registration there at that moment keeps it. The moment:
    ssoenv paused inside writing the moved registration to its own file."""
    register_like_a_newer_cli(emulator)
    theirs = _device_registration_like_the_aws_cli(emulator)
    paused = PausedWrite(tmp_path, own_pkce_file(), ["login", "--sso-session", "corp", "--device-code",
                                                     "--no-browser"])
    paused.wait_inside()
    shared_slot().write_text(json.dumps(theirs))  # another tool, while ssoenv is between read and remove
    paused.release()
    out, err = paused.proc.communicate(timeout=60)
    assert paused.proc.returncode == 0, err
    assert read(shared_slot()) == theirs
    assert token()["clientId"] == theirs["clientId"]  # the device login used the CLI's registration
    assert "authorization_code" in read(own_pkce_file())["grantTypes"]


@pytest.fixture
def recording_browser(tmp_path, monkeypatch):
    from login_support import make_browser

    monkeypatch.setenv("BROWSER", make_browser(tmp_path))
    monkeypatch.setenv("SSOENV_LOGIN_TIMEOUT", "60")


@pytest.mark.parametrize("flow", ["device", "pkce"])
def test_a_client_refused_on_the_first_call_is_registered_once(emulator, aws_config, run, recording_browser,
                                                               flow):
    """No cached registration: the one just made is refused (InvalidClientException).
    A new registration would be refused the same way: exit 1 after exactly one."""
    if flow == "device":
        emulator.inject_fault("StartDeviceAuthorization", status=400, code="InvalidClientException", count=10)
        argv = ["login", "--sso-session", "corp", "--device-code", "--no-browser"]
    else:
        emulator.inject_fault("CreateToken", status=400, code="InvalidClientException", count=10)
        argv = ["login", "--sso-session", "corp"]
    status, out, err = run(*argv)
    assert status == 1, err
    assert out == "" and "InvalidClientException" in err and "Traceback" not in err
    assert emulator.calls()["RegisterClient"] == 1
    assert "registering a new one" not in err
    assert not paths.token_cache_file("corp").exists()


# --- the forced renewal (`recover`) ------------------------------------------------------

def test_a_forced_renewal_removes_only_the_token_it_read(logged_in, run):
    """`recover` (the shell's re-login after a refused command) forces a renewal; the
    service refuses it, and ssoenv forgets the token. Another tool has written a token
    meanwhile (one too short-lived for ssoenv to use): that file stays."""
    token_file = paths.token_cache_file("corp")
    mine = token()
    mine["expiresAt"] = cache.format_time(cache.now() + dt.timedelta(seconds=300))
    token_file.write_text(json.dumps(mine))
    theirs = dict(mine, accessToken="another-tools-token",
                  expiresAt=cache.format_time(cache.now() + dt.timedelta(seconds=30)))
    logged_in.before_next("CreateToken", lambda: token_file.write_text(json.dumps(theirs)))
    logged_in.inject_fault("CreateToken", status=400, code="InvalidGrantException")
    status, out, err = run("recover", "--", "aws", "s3", "ls")
    assert status == 3, err
    assert json.loads(token_file.read_text()) == theirs


# --- populate: the recorded template, the bytes before the block --------------------------

@pytest.mark.parametrize("recorded", ["{acount_name}", "one-name-for-all"])
def test_a_template_recorded_in_the_block_is_checked_by_a_plain_populate(synced, run, aws_config, recorded):
    status, _, err = run("populate", "--template", "{account_id}.{role_name}")
    assert status == 0, err
    text = aws_config.read_text()
    assert "# template: {account_id}.{role_name}\n" in text
    text = text.replace("# template: {account_id}.{role_name}\n", f"# template: {recorded}\n")
    aws_config.write_text(text)
    status, out, err = run("populate")
    assert status == 2
    assert out == "" and err.count("\n") == 1, err
    assert f"template recorded in {aws_config}" in err and repr(recorded) in err
    assert aws_config.read_text() == text


@pytest.mark.parametrize("above", ["\n\n\n\n", "\n# my note about the block\n", "# hugging the marker\n"],
                         ids=["blank-lines", "comment", "comment-no-blank-line"])
def test_populate_keeps_blank_lines_and_a_comment_above_its_block(synced, run, aws_config, above):
    from test_promises import add_an_account

    assert run("populate")[0] == 0
    text = aws_config.read_text()
    start = text.index(BEGIN)
    before = text[:start].rstrip("\n") + "\n" + above
    aws_config.write_text(before + text[start:])
    add_an_account(synced)
    assert run("sync")[0] == 0
    status, _, err = run("populate")
    assert status == 0, err
    new = aws_config.read_text()
    assert "[profile NewAccount-ReadOnlyAccess]" in new
    assert new[:new.index(BEGIN)] == before


# --- what reaches a terminal -------------------------------------------------------------

def test_a_federation_url_never_reaches_stdout_on_a_terminal(synced, monkeypatch):
    """No browser, stdout a terminal, no --print: the sign-in URL (a credential for 15
    minutes) goes to stderr, never to the screen's stdout (scrollback, `script` logs)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_SIGNIN", synced.url)
    status, screen, err = _on_a_terminal(["console", "MemberAccount/ReadOnlyAccess", "--federation"])
    assert status == 0, err
    assert "federation?Action=login" not in screen and "SigninToken" not in screen
    assert "no browser to open here" in err
    assert f"{synced.url}/federation?Action=login&" in err


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_use_with_an_explicit_shell_prints_no_secret_to_a_terminal(synced, shell):
    status, screen, err = _on_a_terminal(["use", "--shell", shell, "--mode", "credentials",
                                          "MemberAccount/ReadOnlyAccess"])
    assert status == 2, err
    assert screen == ""
    assert "AWS_SECRET_ACCESS_KEY" not in err and "nothing changed" in err
    assert synced.calls().get("GetRoleCredentials", 0) == 0  # no credentials fetched at all


# --- configure: an sso-session edit stays inside its section ------------------------------

BOTOCORE_SESSION = """
    import json, botocore.session
    print(json.dumps(botocore.session.Session().full_config["sso_sessions"]["corp"]))
"""


@pytest.mark.parametrize("following", ["[default]", "[DEFAULT]"])
def test_configure_edits_the_session_and_not_the_section_after_it(home, run, following):
    config = home / ".aws" / "config"
    config.parent.mkdir(mode=0o700)
    after = f"{following}\nregion = eu-west-1\n# a note in {following}\noutput = json\n"
    config.write_text("[sso-session corp]\nsso_start_url = https://d-1111111111.awsapps.com/start\n"
                      "sso_region = us-east-1\n" + after)
    status, _, err = run("configure", "--sso-session", "corp", "--start-url", START_URL,
                         "--region", "eu-central-1", "--scopes", "sso:account:access")
    assert status == 0, err
    new = config.read_text()
    assert new.endswith(after)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(BOTOCORE_SESSION)], env=dict(os.environ),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    read_back = json.loads(proc.stdout)  # botocore lends [DEFAULT]'s keys to every section: not ours
    assert {k: read_back.get(k) for k in ("sso_start_url", "sso_region", "sso_registration_scopes")} == {
        "sso_start_url": START_URL, "sso_region": "eu-central-1", "sso_registration_scopes": "sso:account:access"}
