"""A refresh race with another tool never logs anyone out (issue 8).

The other tool is real: botocore renewing the token in a process of its own, or
Debian's AWS CLI v2 logging in. It acts at an exact point, just before ssoenv's
CreateToken reaches the emulator (a hook in the emulator), so the race is the same
on every run: no sleeps, no timing."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap

from login_support import aws_data_path, aws_sso_login, need_aws_cli, token

from ssoenv import cache, paths

MEMBER_PROFILE = ("\n[profile member]\nsso_session = corp\nsso_account_id = 222222222222\n"
                  "sso_role_name = ReadOnlyAccess\nregion = us-east-1\n")


def set_expiry(seconds: float) -> dict:
    data = token()
    data["expiresAt"] = cache.format_time(cache.now() + dt.timedelta(seconds=seconds))
    paths.token_cache_file("corp").write_text(json.dumps(data))
    return data


def botocore_renews(results: list):
    """Another tool: botocore's SSO token provider renews the token (< 15 min left) with
    the same refresh token and writes the file back, in a process of its own."""
    def hook():
        code = textwrap.dedent("""
            import botocore.session
            from botocore.tokens import SSOTokenProvider
            provider = SSOTokenProvider(botocore.session.Session(profile="member"))
            print(provider.load_token().get_frozen_token().token)
        """)
        proc = subprocess.run([sys.executable, "-c", code], env=dict(os.environ), capture_output=True,
                              text=True, timeout=60)
        results.append(proc)
    return hook


def test_a_refresh_lost_to_botocore_uses_botocores_token(logged_in, aws_config, run):
    with open(aws_config, "a") as fh:
        fh.write(MEMBER_PROFILE)
    mine = set_expiry(-60)
    results: list = []
    logged_in.before_next("CreateToken", botocore_renews(results))
    logged_in.reset_calls()
    status, _, err = run("refresh", "--sso-session", "corp")
    (proc,) = results
    assert proc.returncode == 0, proc.stdout + proc.stderr
    theirs = proc.stdout.strip()
    assert theirs != mine["accessToken"]
    assert status == 0, err  # not "run: ssoenv login"
    assert token()["accessToken"] == theirs  # the file botocore wrote, untouched
    assert logged_in.calls()["CreateToken"] == 2  # botocore's, and ssoenv's refused one


def test_a_forced_refresh_lost_to_botocore_keeps_botocores_file(logged_in, aws_config, run):
    """`ssoenv recover` (the shell's re-login) forces a renewal: a refused refresh must
    not delete the token another tool has just written."""
    with open(aws_config, "a") as fh:
        fh.write(MEMBER_PROFILE)
    set_expiry(300)
    results: list = []
    logged_in.before_next("CreateToken", botocore_renews(results))
    status, out, err = run("recover", "--", "aws", "s3", "ls")
    (proc,) = results
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert token()["accessToken"] == proc.stdout.strip()  # not deleted
    assert status == 0, err
    assert "renewed the SSO session corp" in err


def test_a_forced_refresh_refused_for_good_still_forgets_the_token(logged_in, run):
    """No other writer: the refused token is removed as before (so `status` stops
    calling it valid), and the command needs a login."""
    set_expiry(300)
    logged_in.revoke_tokens()
    status, _, err = run("recover", "--", "aws", "s3", "ls")
    assert status == 3, err
    assert not paths.token_cache_file("corp").exists()


def test_a_refresh_does_not_overwrite_a_login_made_meanwhile(logged_in, run, tmp_path):
    """The AWS CLI takes no lock of ours: `aws sso login` in another terminal writes its
    token while ssoenv's renewal is on the wire. ssoenv keeps the CLI's file."""
    need_aws_cli()
    data_path = aws_data_path(tmp_path, logged_in.url)
    mine = set_expiry(60)
    results: list = []
    logged_in.before_next("CreateToken", lambda: results.append((aws_sso_login(data_path), token())))
    status, _, err = run("refresh", "--sso-session", "corp")
    ((proc, by_cli),) = results
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert by_cli["accessToken"] != mine["accessToken"]
    assert status == 0, err
    assert token() == by_cli
    assert logged_in.calls()["CreateToken"] == 3  # the fixture's login, the CLI's, ssoenv's renewal
