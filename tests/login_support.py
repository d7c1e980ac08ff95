"""Helpers for the login interop tests (test_registration.py, test_token_race.py,
test_login_endpoint.py); no tests here."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from support import need

from ssoenv import cache, paths
from ssoenv.emulator.awsdata import write_endpoint_rulesets

AWS_CLI = "/usr/bin/aws"  # Debian's AWS CLI v2 2.9: device code flow only
START_URL = "https://d-0000000000.awsapps.com/start"  # conftest.SESSION_CONFIG's
SCOPES = ["sso:account:access"]
PKCE_GRANTS = ["authorization_code", "refresh_token"]


def need_aws_cli() -> None:
    need(AWS_CLI)


def shared_slot() -> Path:
    """The registration file of sso-session corp every AWS CLI v2 reads."""
    return paths.registration_cache_file(START_URL, "us-east-1", SCOPES, "corp")


def own_pkce_file() -> Path:
    return paths.pkce_registration_cache_file(START_URL, "us-east-1", SCOPES, "corp", PKCE_GRANTS)


def read(path: Path) -> dict:
    return json.loads(path.read_text())


def token() -> dict:
    return read(paths.token_cache_file("corp"))


def make_browser(tmp_path: Path) -> str:
    """A $BROWSER that records each URL in tmp_path/browser.log and follows the authorize
    redirect to ssoenv's loopback listener, as a real browser would; exits 1 when the
    URL does not load."""
    script = tmp_path / "browser"
    script.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import sys, urllib.request
        with open({str(tmp_path / "browser.log")!r}, "a") as log:
            log.write(sys.argv[1] + "\\n")
        try:
            urllib.request.urlopen(sys.argv[1], timeout=30).read()
        except Exception as exc:
            sys.exit(f"browser: {{exc}}")
        """))
    script.chmod(0o755)
    return f"{script} %s"


def browser_urls(tmp_path: Path) -> list[str]:
    log = tmp_path / "browser.log"
    return log.read_text().splitlines() if log.exists() else []


def aws_data_path(tmp_path: Path, url: str) -> str:
    """Endpoint rule sets sending the AWS CLI v2 2.9 (and botocore) to `url`."""
    write_endpoint_rulesets(tmp_path / "awsdata", url)
    return str(tmp_path / "awsdata")


def aws_sso_login(data_path: str) -> subprocess.CompletedProcess:
    """`aws sso login --no-browser` of Debian's AWS CLI v2 2.9 against the emulator
    (auto-approving), in this test's HOME."""
    env = {**os.environ, "AWS_DATA_PATH": data_path}
    return subprocess.run([AWS_CLI, "sso", "login", "--no-browser", "--sso-session", "corp"], env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)


def register_like_a_newer_cli(emulator, region: str = "us-east-1") -> dict:
    """A real PKCE registration, written into the shared slot as the AWS CLI v2 >= 2.22 does."""
    import boto3

    oidc = boto3.Session(region_name=region).client("sso-oidc", endpoint_url=emulator.url)
    response = oidc.register_client(clientName="botocore-client-corp", clientType="public", scopes=SCOPES,
                                    grantTypes=PKCE_GRANTS, redirectUris=["http://127.0.0.1/oauth/callback"],
                                    issuerUrl=START_URL)
    registration = {"clientId": response["clientId"], "clientSecret": response["clientSecret"],
                    "expiresAt": cache.format_time(dt.datetime.fromtimestamp(response["clientSecretExpiresAt"],
                                                                             dt.timezone.utc)),
                    "scopes": SCOPES, "grantTypes": PKCE_GRANTS}
    slot = shared_slot()
    slot.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    slot.write_text(json.dumps(registration))
    return registration
