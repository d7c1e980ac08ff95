"""The local IAM Identity Center emulator, driven over real HTTP by unmodified
botocore clients (and raw http.client where a browser would act)."""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.client
import json
import math
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import boto3
import botocore
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from ssoenv.emulator import Emulator, EmulatorConfig
from ssoenv.emulator.awsdata import write_endpoint_rulesets

REPO = Path(__file__).resolve().parents[1]
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SCOPE = "sso:account:access"
NO_RETRY = Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=15)


# --------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def aws_env(monkeypatch, tmp_path):
    """No real AWS: dummy keys, no profile or endpoint overrides, and a dead
    HTTPS proxy as a net (the emulator is plain http, so it is not proxied)."""
    for key in list(os.environ):
        if key.startswith("AWS_") or key.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-example")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")


@pytest.fixture(scope="module")
def session():
    return boto3.Session(region_name="us-east-1")


@pytest.fixture
def start():
    """start(config=None, **fields) -> a running Emulator, stopped after the test."""
    started = []

    def _start(config=None, **fields):
        emu = Emulator(config, **fields).start()
        started.append(emu)
        return emu

    yield _start
    for emu in started:
        emu.stop()


class Sso:
    """botocore sso-oidc and sso clients pointed at one emulator."""

    def __init__(self, session, url, config=NO_RETRY):
        self.oidc = session.client("sso-oidc", endpoint_url=url, config=config)
        self.portal = session.client("sso", endpoint_url=url, config=config)

    def register(self, scopes=(SCOPE,), **kwargs):
        params = {"clientName": "ssoenv-test", "clientType": "public", **kwargs}
        if scopes:
            params["scopes"] = list(scopes)
        return self.oidc.register_client(**params)

    def start_device(self, client):
        return self.oidc.start_device_authorization(
            clientId=client["clientId"], clientSecret=client["clientSecret"], startUrl="https://d-test.awsapps.com/start"
        )

    def poll(self, client, device):
        return self.oidc.create_token(
            clientId=client["clientId"],
            clientSecret=client["clientSecret"],
            grantType=DEVICE_GRANT,
            deviceCode=device["deviceCode"],
        )

    def login(self, scopes=(SCOPE,)):
        """Device-code login against an auto-approving emulator."""
        client = self.register(scopes)
        return client, self.poll(client, self.start_device(client))

    def refresh(self, client, refresh_token):
        return self.oidc.create_token(
            clientId=client["clientId"],
            clientSecret=client["clientSecret"],
            grantType="refresh_token",
            refreshToken=refresh_token,
        )


def http_request(url, method="GET", body=None, headers=None):
    """One request without following redirects: (status, headers, body bytes)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        data = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body
        conn.request(method, target, body=data, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def control(emu, name, body=None):
    status, _, data = http_request(f"{emu.url}/_emulator/{name}", "POST" if body is not None else "GET", body)
    return status, json.loads(data) if data else None


def code_of(exc):
    """(error code, HTTP status) of a botocore ClientError or pytest ExceptionInfo."""
    err = getattr(exc, "value", exc).response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]


# --------------------------------------------------------------- device code


def test_device_flow_auto_approve_issues_tokens(start, session):
    emu = start()
    sso = Sso(session, emu.url)
    client = sso.register()
    assert client["clientSecretExpiresAt"] - time.time() == pytest.approx(90 * 86400, abs=5)
    assert client["clientIdIssuedAt"] == pytest.approx(time.time(), abs=5)
    device = sso.start_device(client)
    assert re.fullmatch(r"[A-Z]{4}-[A-Z]{4}", device["userCode"])
    assert device["verificationUri"] == f"{emu.url}/device"
    assert device["verificationUriComplete"] == f"{emu.url}/device?user_code={device['userCode']}"
    assert device["interval"] == 1 and device["expiresIn"] == 600
    token = sso.poll(client, device)
    assert token["tokenType"] == "Bearer" and token["expiresIn"] == 3600
    assert token["accessToken"] and token["refreshToken"] and token["idToken"]
    accounts = sso.portal.list_accounts(accessToken=token["accessToken"])["accountList"]
    assert accounts == [
        {"accountId": "111111111111", "accountName": "RootAccount", "emailAddress": "root@example.com"},
        {"accountId": "222222222222", "accountName": "MemberAccount", "emailAddress": "member@example.com"},
    ]
    # A device code is good for one token only.
    with pytest.raises(sso.oidc.exceptions.InvalidGrantException):
        sso.poll(client, device)
    assert emu.calls() == {"RegisterClient": 1, "StartDeviceAuthorization": 1, "CreateToken": 2, "ListAccounts": 1}
    # A browser opened on the verification URL anyway is told all is well.
    status, _, page = http_request(device["verificationUriComplete"])
    assert status == 200 and b"approved" in page


def test_device_flow_pending_until_the_user_approves(start, session):
    emu = start(auto_approve=False)
    sso = Sso(session, emu.url)
    client = sso.register()
    device = sso.start_device(client)
    with pytest.raises(sso.oidc.exceptions.AuthorizationPendingException) as exc:
        sso.poll(client, device)
    body = exc.value.response
    assert code_of(exc) == ("AuthorizationPendingException", 400)
    assert body["error"] == "authorization_pending" and body["error_description"]
    # The user opens verificationUriComplete in a browser: that approves it.
    status, headers, page = http_request(device["verificationUriComplete"])
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b"approved" in page
    token = sso.poll(client, device)
    assert token["accessToken"]
    # The page without a code is a form; an unknown code is refused.
    status, _, page = http_request(f"{emu.url}/device")
    assert status == 200 and b"<form" in page
    assert http_request(f"{emu.url}/device?user_code=ZZZZ-ZZZZ")[0] == 404
    # Deny from the browser.
    denied = sso.start_device(client)
    status, _, page = http_request(f"{emu.url}/device?user_code={denied['userCode']}&action=deny")
    assert status == 200 and b"denied" in page
    with pytest.raises(sso.oidc.exceptions.AccessDeniedException):
        sso.poll(client, denied)


def test_approve_and_deny_from_python(start, session):
    emu = start(auto_approve=False)
    sso = Sso(session, emu.url)
    client = sso.register()
    approved, denied = sso.start_device(client), sso.start_device(client)
    assert emu.pending_user_codes() == [approved["userCode"], denied["userCode"]]
    emu.approve(approved["userCode"].lower().replace("-", ""))  # forgiving like a login page
    emu.deny(denied["userCode"])
    assert sso.poll(client, approved)["accessToken"]
    with pytest.raises(sso.oidc.exceptions.AccessDeniedException):
        sso.poll(client, denied)
    with pytest.raises(KeyError):
        emu.approve("NOPE-NOPE")
    with pytest.raises(KeyError):  # already used
        emu.approve(approved["userCode"])


def test_slow_down_only_after_two_early_polls_in_a_row(start, session):
    emu = start(auto_approve=False, poll_interval=1)
    sso = Sso(session, emu.url)
    client = sso.register()
    device = sso.start_device(client)
    pending = sso.oidc.exceptions.AuthorizationPendingException
    slow = sso.oidc.exceptions.SlowDownException
    # botocore's first two polls come back to back: both merely pending.
    for _ in range(2):
        with pytest.raises(pending):
            sso.poll(client, device)
    with pytest.raises(slow) as exc:
        sso.poll(client, device)
    assert exc.value.response["error"] == "slow_down"
    with pytest.raises(slow):
        sso.poll(client, device)
    time.sleep(1.0)  # a poll after the interval is welcome again
    with pytest.raises(pending):
        sso.poll(client, device)
    emu.approve(device["userCode"])
    assert sso.poll(client, device)["accessToken"]


def test_device_code_expires(start, session):
    emu = start(auto_approve=False, device_code_ttl=0)
    sso = Sso(session, emu.url)
    client = sso.register()
    device = sso.start_device(client)
    assert device["expiresIn"] == 0
    with pytest.raises(sso.oidc.exceptions.ExpiredTokenException) as exc:
        sso.poll(client, device)
    assert exc.value.response["error"] == "expired_token"
    with pytest.raises(KeyError):
        emu.approve(device["userCode"])


def test_invalid_and_expired_clients(start, session):
    emu = start()
    sso = Sso(session, emu.url)
    client = sso.register()
    with pytest.raises(sso.oidc.exceptions.InvalidClientException) as exc:
        sso.start_device({"clientId": client["clientId"], "clientSecret": "wrong"})
    assert code_of(exc) == ("InvalidClientException", 401)
    assert exc.value.response["error"] == "invalid_client"
    with pytest.raises(sso.oidc.exceptions.InvalidClientException):
        sso.start_device({"clientId": "unknown", "clientSecret": client["clientSecret"]})
    with pytest.raises(sso.oidc.exceptions.InvalidClientMetadataException):
        sso.oidc.register_client(clientName="x", clientType="confidential")
    with pytest.raises(sso.oidc.exceptions.UnsupportedGrantTypeException):
        sso.oidc.register_client(clientName="x", clientType="public", grantTypes=["password"])
    emu.update(client_secret_ttl=0)
    expired = sso.register()
    with pytest.raises(sso.oidc.exceptions.InvalidClientException):
        sso.start_device(expired)


# --------------------------------------------------------------- PKCE


def pkce_pair():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def register_pkce(sso, scopes=(SCOPE,)):
    return sso.register(
        scopes,
        grantTypes=["authorization_code", "refresh_token"],
        redirectUris=["http://127.0.0.1/oauth/callback"],
        issuerUrl="https://d-test.awsapps.com/start",
    )


def authorize_url(emu, client, challenge, redirect_uri="http://127.0.0.1:54321/oauth/callback", state="st4te", **extra):
    params = {
        "response_type": "code",
        "client_id": client["clientId"],
        "redirect_uri": redirect_uri,
        "state": state,
        "code_challenge_method": "S256",
        "scopes": SCOPE,
        "code_challenge": challenge,
        **extra,
    }
    return f"{emu.url}/authorize?{urlencode(params)}"


def code_token(sso, client, code, verifier, redirect_uri="http://127.0.0.1:54321/oauth/callback"):
    return sso.oidc.create_token(
        clientId=client["clientId"],
        clientSecret=client["clientSecret"],
        grantType="authorization_code",
        code=code,
        redirectUri=redirect_uri,
        codeVerifier=verifier,
    )


def test_pkce_happy_path_and_single_use_code(start, session):
    emu = start()
    sso = Sso(session, emu.url)
    client = register_pkce(sso)
    verifier, challenge = pkce_pair()
    status, headers, _ = http_request(authorize_url(emu, client, challenge))
    assert status == 302
    location = urlsplit(headers["location"])
    assert (location.scheme, location.hostname, location.port, location.path) == (
        "http", "127.0.0.1", 54321, "/oauth/callback")
    query = parse_qs(location.query)
    assert query["state"] == ["st4te"]
    code = query["code"][0]
    token = code_token(sso, client, code, verifier)
    assert token["accessToken"] and token["refreshToken"]
    assert sso.portal.list_accounts(accessToken=token["accessToken"])["accountList"]
    with pytest.raises(sso.oidc.exceptions.InvalidGrantException):
        code_token(sso, client, code, verifier)
    # A PKCE-only client may not use the device-code grant.
    with pytest.raises(sso.oidc.exceptions.UnauthorizedClientException):
        sso.poll(client, {"deviceCode": "whatever"})
    assert emu.calls()["Authorize"] == 1


def test_pkce_wrong_verifier_is_rejected_and_burns_the_code(start, session):
    emu = start()
    sso = Sso(session, emu.url)
    client = register_pkce(sso)
    verifier, challenge = pkce_pair()
    _, headers, _ = http_request(authorize_url(emu, client, challenge))
    code = parse_qs(urlsplit(headers["location"]).query)["code"][0]
    with pytest.raises(sso.oidc.exceptions.InvalidGrantException) as exc:
        code_token(sso, client, code, verifier + "x")
    assert exc.value.response["error"] == "invalid_grant"
    with pytest.raises(sso.oidc.exceptions.InvalidGrantException):
        code_token(sso, client, code, verifier)
    # The redirect URI at the token endpoint must be the one authorized.
    _, headers, _ = http_request(authorize_url(emu, client, challenge))
    code = parse_qs(urlsplit(headers["location"]).query)["code"][0]
    with pytest.raises(sso.oidc.exceptions.InvalidGrantException):
        code_token(sso, client, code, verifier, redirect_uri="http://127.0.0.1:54322/oauth/callback")
    # Another client cannot redeem it either.
    other = register_pkce(sso)
    _, headers, _ = http_request(authorize_url(emu, client, challenge))
    code = parse_qs(urlsplit(headers["location"]).query)["code"][0]
    with pytest.raises(sso.oidc.exceptions.InvalidGrantException):
        code_token(sso, other, code, verifier)


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.1:5000/other/callback",
        "http://localhost:5000/oauth/callback",
        "https://127.0.0.1:5000/oauth/callback",
        "http://attacker.example:5000/oauth/callback",
        "http://127.0.0.1:notaport/oauth/callback",
    ],
)
def test_pkce_bad_redirect_uri_gets_an_error_page_not_a_redirect(start, session, redirect_uri):
    emu = start()
    sso = Sso(session, emu.url)
    client = register_pkce(sso)
    status, headers, page = http_request(authorize_url(emu, client, "c" * 43, redirect_uri=redirect_uri))
    assert status == 400 and "location" not in headers
    assert headers["content-type"].startswith("text/html") and b"redirect" in page.lower()
    # Any port on the registered loopback URI is fine (RFC 8252).
    url = authorize_url(emu, client, "c" * 43, redirect_uri="http://127.0.0.1:1/oauth/callback")
    assert http_request(url)[0] == 302


def test_pkce_unknown_client_and_missing_challenge(start, session):
    emu = start()
    sso = Sso(session, emu.url)
    client = register_pkce(sso)
    status, headers, _ = http_request(authorize_url(emu, {"clientId": "nope"}, "c" * 43))
    assert status == 400 and "location" not in headers
    status, headers, _ = http_request(authorize_url(emu, client, ""))
    assert status == 302
    assert parse_qs(urlsplit(headers["location"]).query) == {
        "error": ["invalid_request"], "error_description": ["PKCE S256 is required"], "state": ["st4te"]}


def test_pkce_manual_allow_and_deny(start, session):
    emu = start(auto_approve=False)
    sso = Sso(session, emu.url)
    client = register_pkce(sso)
    verifier, challenge = pkce_pair()

    def links():
        status, headers, page = http_request(authorize_url(emu, client, challenge, state="s1"))
        assert status == 200 and headers["content-type"].startswith("text/html")
        found = dict(re.findall(r'id="(allow|deny)" href="([^"]+)"', page.decode()))
        return {k: emu.url + v.replace("&amp;", "&") for k, v in found.items()}

    status, headers, _ = http_request(links()["deny"])
    assert status == 302
    assert parse_qs(urlsplit(headers["location"]).query) == {"error": ["access_denied"], "state": ["s1"]}
    allow = links()["allow"]
    status, headers, _ = http_request(allow)
    assert status == 302
    query = parse_qs(urlsplit(headers["location"]).query)
    assert query["state"] == ["s1"]
    assert code_token(sso, client, query["code"][0], verifier)["accessToken"]
    assert http_request(allow)[0] == 400  # a decision is taken once


# --------------------------------------------------------------- refresh


def test_refresh_rotates_and_old_refresh_token_is_rejected(start, session):
    emu = start()
    sso = Sso(session, emu.url)
    client, first = sso.login()
    second = sso.refresh(client, first["refreshToken"])
    assert second["refreshToken"] != first["refreshToken"]
    assert second["accessToken"] != first["accessToken"]
    with pytest.raises(sso.oidc.exceptions.InvalidGrantException) as exc:
        sso.refresh(client, first["refreshToken"])
    assert exc.value.response["error"] == "invalid_grant"
    # Another client cannot use it, and trying does not burn it.
    other = sso.register()
    with pytest.raises(sso.oidc.exceptions.InvalidGrantException):
        sso.refresh(other, second["refreshToken"])
    third = sso.refresh(client, second["refreshToken"])
    assert sso.portal.list_accounts(accessToken=third["accessToken"])["accountList"]
    with pytest.raises(sso.oidc.exceptions.InvalidGrantException):
        sso.refresh(client, "aor-made-up")


def test_no_refresh_token_without_registration_scopes(start, session):
    emu = start()
    sso = Sso(session, emu.url)
    client, token = sso.login(scopes=())
    assert token["accessToken"] and "refreshToken" not in token
    _, scoped = sso.login(scopes=("codewhisperer:completions",))
    assert "refreshToken" not in scoped


# --------------------------------------------------------------- portal


def test_pagination_over_250_accounts_collects_each_once(start, session):
    emu = start(generate_accounts=250)
    sso = Sso(session, emu.url)
    _, token = sso.login()
    pages = sso.portal.get_paginator("list_accounts").paginate(
        accessToken=token["accessToken"], PaginationConfig={"PageSize": 30}
    )
    ids = [a["accountId"] for page in pages for a in page["accountList"]]
    assert len(ids) == 250
    assert set(ids) == {str(100000000000 + i) for i in range(250)}
    assert emu.calls()["ListAccounts"] == math.ceil(250 / 30)
    # No max_result: 20 per page. An absurd max_result is capped at 100.
    first = sso.portal.list_accounts(accessToken=token["accessToken"])
    assert len(first["accountList"]) == 20 and first["nextToken"]
    assert first["accountList"][5]["accountName"] == "account-00005"
    status, _, body = http_request(
        f"{emu.url}/assignment/accounts?max_result=1000", headers={"x-amz-sso_bearer_token": token["accessToken"]}
    )
    assert status == 200 and len(json.loads(body)["accountList"]) == 100
    # Tokens are opaque and checked.
    with pytest.raises(sso.portal.exceptions.InvalidRequestException):
        sso.portal.list_accounts(accessToken=token["accessToken"], nextToken=first["nextToken"][:-2] + "xx")
    roles_page = sso.portal.list_account_roles(accessToken=token["accessToken"], accountId="100000000001", maxResults=1)
    with pytest.raises(sso.portal.exceptions.InvalidRequestException):
        sso.portal.list_accounts(accessToken=token["accessToken"], nextToken=roles_page["nextToken"])


def test_list_account_roles_paginates(start, session):
    roles = ["AdministratorAccess", "ReadOnlyAccess", "Billing", "SecurityAudit", "Dev"]
    emu = start(accounts=[{"accountId": "333333333333", "accountName": "Five", "emailAddress": "f@example.com",
                           "roles": roles}])
    sso = Sso(session, emu.url)
    _, token = sso.login()
    pages = list(
        sso.portal.get_paginator("list_account_roles").paginate(
            accessToken=token["accessToken"], accountId="333333333333", PaginationConfig={"PageSize": 2}
        )
    )
    assert [len(p["roleList"]) for p in pages] == [2, 2, 1]
    assert [r for p in pages for r in p["roleList"]] == [{"roleName": r, "accountId": "333333333333"} for r in roles]
    generated = start(generate_accounts=3, roles_per_account=4)
    sso2 = Sso(session, generated.url)
    _, token2 = sso2.login()
    got = sso2.portal.list_account_roles(accessToken=token2["accessToken"], accountId="100000000002")["roleList"]
    assert [r["roleName"] for r in got] == ["AdministratorAccess", "ReadOnlyAccess", "PowerUserAccess",
                                            "ViewOnlyAccess"]


def test_role_credentials_and_no_access(start, session):
    emu = start(credentials_ttl=1800)
    sso = Sso(session, emu.url)
    _, token = sso.login()
    before = time.time()
    creds = sso.portal.get_role_credentials(
        accessToken=token["accessToken"], accountId="222222222222", roleName="ReadOnlyAccess"
    )["roleCredentials"]
    assert creds["accessKeyId"].startswith("ASIA") and len(creds["accessKeyId"]) == 20
    assert len(creds["secretAccessKey"]) == 40 and len(creds["sessionToken"]) > 100
    # Epoch milliseconds, not seconds.
    assert (before + 1800) * 1000 - 5000 <= creds["expiration"] <= (time.time() + 1800) * 1000 + 5000
    for account, role in [("222222222222", "PowerUserAccess"), ("999999999999", "ReadOnlyAccess")]:
        with pytest.raises(sso.portal.exceptions.ResourceNotFoundException) as exc:
            sso.portal.get_role_credentials(accessToken=token["accessToken"], accountId=account, roleName=role)
        assert code_of(exc) == ("ResourceNotFoundException", 404)
        assert exc.value.response["Error"]["Message"] == "No access"
    emu.update(no_access_error="ForbiddenException")  # what the real service is seen to answer
    with pytest.raises(ClientError) as exc:
        sso.portal.get_role_credentials(accessToken=token["accessToken"], accountId="1", roleName="x")
    assert code_of(exc) == ("ForbiddenException", 403)


def test_set_accounts_at_runtime(start, session):
    emu = start()
    sso = Sso(session, emu.url)
    _, token = sso.login()
    emu.set_accounts([{"accountId": "444444444444", "accountName": "New $(name)", "emailAddress": "n@example.com",
                       "roles": ["Dev"]}])
    assert sso.portal.list_accounts(accessToken=token["accessToken"])["accountList"] == [
        {"accountId": "444444444444", "accountName": "New $(name)", "emailAddress": "n@example.com"}
    ]
    assert sso.portal.get_role_credentials(accessToken=token["accessToken"], accountId="444444444444", roleName="Dev")
    with pytest.raises(ValueError):
        emu.set_accounts([{"accountName": "no id"}])


def test_unauthorized_after_expire_tokens_but_refresh_still_works(start, session):
    emu = start()
    sso = Sso(session, emu.url)
    client, token = sso.login()
    assert sso.portal.list_accounts(accessToken=token["accessToken"])
    emu.expire_tokens()
    with pytest.raises(sso.portal.exceptions.UnauthorizedException) as exc:
        sso.portal.list_accounts(accessToken=token["accessToken"])
    assert code_of(exc) == ("UnauthorizedException", 401)
    assert exc.value.response["Error"]["Message"] == "Session token not found or invalid"
    fresh = sso.refresh(client, token["refreshToken"])
    assert sso.portal.list_accounts(accessToken=fresh["accessToken"])["accountList"]
    # Missing or unknown bearer tokens are the same 401.
    status, headers, body = http_request(f"{emu.url}/assignment/accounts")
    assert (status, headers["x-amzn-errortype"], json.loads(body)) == (
        401,
        "UnauthorizedException",
        {"message": "Session token not found or invalid"},
    )
    with pytest.raises(sso.portal.exceptions.UnauthorizedException):
        sso.portal.get_role_credentials(accessToken="bogus", accountId="111111111111", roleName="ReadOnlyAccess")


def test_revoke_tokens_kills_access_and_refresh_tokens(start, session):
    emu = start()
    sso = Sso(session, emu.url)
    client, token = sso.login()
    emu.revoke_tokens()
    with pytest.raises(sso.portal.exceptions.UnauthorizedException):
        sso.portal.list_accounts(accessToken=token["accessToken"])
    with pytest.raises(sso.oidc.exceptions.InvalidGrantException):
        sso.refresh(client, token["refreshToken"])
    _, again = sso.login()  # logging in again works
    assert sso.portal.list_accounts(accessToken=again["accessToken"])


def test_logout_revokes_that_session_only(start, session):
    emu = start()
    sso = Sso(session, emu.url)
    client, mine = sso.login()
    rotated = sso.refresh(client, mine["refreshToken"])
    _, theirs = sso.login()
    sso.portal.logout(accessToken=mine["accessToken"])
    for access in (mine["accessToken"], rotated["accessToken"]):
        with pytest.raises(sso.portal.exceptions.UnauthorizedException):
            sso.portal.list_accounts(accessToken=access)
    with pytest.raises(sso.oidc.exceptions.InvalidGrantException):
        sso.refresh(client, rotated["refreshToken"])
    assert sso.portal.list_accounts(accessToken=theirs["accessToken"])["accountList"]
    with pytest.raises(sso.portal.exceptions.UnauthorizedException):
        sso.portal.logout(accessToken=mine["accessToken"])
    assert emu.calls()["Logout"] == 2


# --------------------------------------------------------------- misbehaviour


def test_throttling_answers_429_beyond_the_configured_rate(start, session):
    emu = start()
    sso = Sso(session, emu.url)
    _, token = sso.login()
    emu.update(throttle_rps=5)
    ok = throttled = 0
    began = time.monotonic()
    for _ in range(20):
        try:
            sso.portal.list_account_roles(accessToken=token["accessToken"], accountId="111111111111")
            ok += 1
        except sso.portal.exceptions.TooManyRequestsException as exc:
            assert code_of(exc) == ("TooManyRequestsException", 429)
            assert exc.response["Error"]["Message"] == "Too many requests"
            throttled += 1
    elapsed = time.monotonic() - began
    assert throttled >= 1 and ok + throttled == 20
    if elapsed < 0.9:  # all 20 inside one second: exactly 5 got through
        assert ok == 5
    time.sleep(1.05)
    assert sso.portal.list_accounts(accessToken=token["accessToken"])["accountList"]
    emu.update(throttle_rps=0)
    for _ in range(20):
        sso.portal.list_accounts(accessToken=token["accessToken"])
    assert emu.calls()["ListAccountRoles"] == 20  # refused calls are counted too


def test_injected_faults(start, session):
    emu = start()
    sso = Sso(session, emu.url)
    _, token = sso.login()
    emu.inject_fault("ListAccounts", status=503, count=2)
    for _ in range(2):
        with pytest.raises(ClientError) as exc:
            sso.portal.list_accounts(accessToken=token["accessToken"])
        assert code_of(exc) == ("ServiceUnavailableException", 503)
    # Other operations are untouched, and the fault is used up.
    assert sso.portal.list_account_roles(accessToken=token["accessToken"], accountId="111111111111")
    assert sso.portal.list_accounts(accessToken=token["accessToken"])
    emu.inject_fault("CreateToken", status=500)
    with pytest.raises(sso.oidc.exceptions.InternalServerException) as exc:
        sso.login()
    assert exc.value.response["error"] == "server_error"
    emu.inject_fault("GetRoleCredentials", status=429)
    with pytest.raises(sso.portal.exceptions.TooManyRequestsException):
        sso.portal.get_role_credentials(accessToken=token["accessToken"], accountId="111111111111",
                                        roleName="ReadOnlyAccess")
    with pytest.raises(ValueError):
        emu.inject_fault("NoSuchOperation")


def test_botocore_retries_absorb_a_single_500(start, session):
    emu = start()
    retrying = Sso(session, emu.url, config=Config(retries={"mode": "standard", "max_attempts": 3}))
    _, token = retrying.login()
    emu.reset_calls()
    emu.inject_fault("ListAccounts", status=500, count=1)
    resp = retrying.portal.list_accounts(accessToken=token["accessToken"])
    assert resp["accountList"] and resp["ResponseMetadata"]["RetryAttempts"] == 1
    assert emu.calls() == {"ListAccounts": 2}


def test_random_faults_are_reproducible_with_a_seed(start, session):
    def outcomes(seed):
        emu = start(fault_rate=0.5, seed=seed)
        sso = Sso(session, emu.url)
        result = []
        for _ in range(30):
            try:
                sso.oidc.register_client(clientName="x", clientType="public")
                result.append("ok")
            except sso.oidc.exceptions.InternalServerException as exc:
                assert code_of(exc) == ("InternalServerException", 500)
                result.append("500")
        return result

    first = outcomes(7)
    assert first == outcomes(7)
    assert 3 <= first.count("500") <= 27


def test_latency_and_concurrency(start, session):
    emu = start(latency_ms=200)
    client_config = Config(retries={"total_max_attempts": 1}, max_pool_connections=40)
    sso = Sso(session, emu.url, config=client_config)
    began = time.monotonic()
    _, token = sso.login()
    assert time.monotonic() - began >= 3 * 0.2  # three calls, each delayed
    errors = []

    def worker():
        try:
            sso.portal.list_accounts(accessToken=token["accessToken"])
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(32)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    assert not errors
    assert elapsed < 1.6, f"32 parallel calls of 200 ms took {elapsed:.2f}s: requests are serialised"
    assert emu.calls()["ListAccounts"] == 32


# --------------------------------------------------------------- plumbing


def test_keep_alive_and_content_length(start):
    emu = start()
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
    try:
        conn.request("POST", "/client/register", body=json.dumps({"clientName": "k", "clientType": "public"}))
        resp = conn.getresponse()
        assert resp.status == 200 and int(resp.getheader("Content-Length")) == len(resp.read())
        sock = conn.sock
        for path in ("/assignment/accounts", "/nope", "/device"):
            conn.request("GET", path)
            resp = conn.getresponse()
            assert int(resp.getheader("Content-Length")) == len(resp.read())
            assert conn.sock is sock  # same TCP connection throughout
        conn.request("POST", "/logout")
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 401 and conn.sock is sock
    finally:
        conn.close()
    status, headers, body = http_request(f"{emu.url}/nope")
    assert status == 404 and headers["x-amzn-errortype"] == "UnknownOperationException"
    assert http_request(f"{emu.url}/token")[0] == 405


def test_lifecycle_and_config_validation(session):
    emu = Emulator()
    with pytest.raises(RuntimeError):
        emu.url  # noqa: B018
    with emu:
        url = emu.url
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        with pytest.raises(RuntimeError):
            emu.start()
        with pytest.raises(ValueError):
            emu.update(no_such_field=1)
        with pytest.raises(ValueError):
            emu.update(fault_rate=1.5)
        # A pooled keep-alive connection from before stop() ...
        sso = Sso(session, url)
        sso.register()
    # ... does not keep talking to a stopped emulator.
    with pytest.raises(botocore.exceptions.BotoCoreError):
        sso.register()
    with pytest.raises(ConnectionRefusedError):
        http_request(f"{url}/_emulator/health")
    with pytest.raises(ValueError):
        EmulatorConfig(latency_ms=-1)
    with pytest.raises(ValueError):
        EmulatorConfig(access_token_ttl="1h")
    assert Emulator(generate_accounts=7).config.generate_accounts == 7


def test_ten_thousand_generated_accounts_are_cheap(start, session):
    tracemalloc.start()
    try:
        emu = start(generate_accounts=10_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 1024 * 1024
    sso = Sso(session, emu.url)
    _, token = sso.login()
    last = sso.portal.list_account_roles(accessToken=token["accessToken"], accountId="100000009999")["roleList"]
    assert len(last) == 3
    assert sso.portal.list_account_roles(accessToken=token["accessToken"], accountId="100000010000")["roleList"] == []
    with pytest.raises(sso.portal.exceptions.ResourceNotFoundException):
        sso.portal.get_role_credentials(accessToken=token["accessToken"], accountId="100000010000",
                                        roleName="ReadOnlyAccess")


def test_http_control_endpoints(start, session):
    emu = start(auto_approve=False)
    sso = Sso(session, emu.url)
    assert control(emu, "health") == (200, {"ok": True, "url": emu.url})
    client = sso.register()
    device = sso.start_device(client)
    assert control(emu, "pending") == (200, {"userCodes": [device["userCode"]]})
    assert control(emu, "approve", {"userCode": "NOPE-NOPE"})[0] == 404
    assert control(emu, "approve", {"userCode": device["userCode"]}) == (200, {"ok": True})
    token = sso.poll(client, device)
    assert control(emu, "calls") == (200, {"RegisterClient": 1, "StartDeviceAuthorization": 1, "CreateToken": 1})
    assert control(emu, "reset-calls", {}) == (200, {"ok": True})
    assert control(emu, "calls") == (200, {})  # control calls are not counted

    assert control(emu, "fault", {"op": "ListAccounts", "status": 500, "count": 1})[0] == 200
    with pytest.raises(ClientError) as exc:
        sso.portal.list_accounts(accessToken=token["accessToken"])
    assert code_of(exc) == ("InternalServerException", 500)
    assert control(emu, "fault", {"op": "Nope"})[0] == 400

    new_accounts = [{"accountId": "555555555555", "accountName": "Ctl", "emailAddress": "c@example.com",
                     "roles": ["R"]}]
    assert control(emu, "accounts", new_accounts)[0] == 200
    listed = sso.portal.list_accounts(accessToken=token["accessToken"])["accountList"]
    assert [a["accountName"] for a in listed] == ["Ctl"]

    assert control(emu, "config", {"throttle_rps": 1})[0] == 200
    assert emu.config.throttle_rps == 1
    assert control(emu, "config", {"fault_rate": 3})[0] == 400
    assert control(emu, "config", {"bogus": 1})[0] == 400
    assert control(emu, "config", {"throttle_rps": 0})[0] == 200

    assert control(emu, "expire-tokens", {})[0] == 200
    with pytest.raises(sso.portal.exceptions.UnauthorizedException):
        sso.portal.list_accounts(accessToken=token["accessToken"])
    renewed = sso.refresh(client, token["refreshToken"])
    assert control(emu, "revoke-tokens", {})[0] == 200
    with pytest.raises(sso.oidc.exceptions.InvalidGrantException):
        sso.refresh(client, renewed["refreshToken"])
    assert control(emu, "nothing-here", {})[0] == 404
    assert set(emu.calls()) == {"ListAccounts", "CreateToken"}


def test_endpoint_override_environment_variables(start, monkeypatch):
    emu = start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO_OIDC", emu.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO", emu.url)
    sso = Sso(boto3.Session(region_name="eu-west-1"), None)
    _, token = sso.login()
    assert sso.portal.list_accounts(accessToken=token["accessToken"])["accountList"]
    assert emu.calls()["ListAccounts"] == 1


def test_endpoint_rulesets_via_aws_data_path(start, monkeypatch, tmp_path):
    emu = start()
    written = write_endpoint_rulesets(tmp_path / "data", emu.url)
    assert sorted(Path(p).relative_to(tmp_path / "data").as_posix() for p in written) == [
        "sso-oidc/2019-06-10/endpoint-rule-set-1.json",
        "sso/2019-06-10/endpoint-rule-set-1.json",
        "sts/2011-06-15/endpoint-rule-set-1.json",
    ]
    # Same parameters as botocore's bundled rule sets.
    bundled = Path(botocore.__file__).parent / "data/sso/2019-06-10/endpoint-rule-set-1.json.gz"
    ours = json.loads(Path(written[1]).read_text())
    assert set(ours["parameters"]) == set(json.loads(gzip.decompress(bundled.read_bytes()))["parameters"])

    plain = boto3.Session(region_name="ap-northeast-1").client("sso", config=NO_RETRY)
    assert plain.meta.endpoint_url == "https://portal.sso.ap-northeast-1.amazonaws.com"

    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path / "data"))
    sso = Sso(boto3.Session(region_name="ap-northeast-1"), None)
    _, token = sso.login()
    assert sso.portal.list_accounts(accessToken=token["accessToken"])["accountList"]
    assert emu.calls() == {"RegisterClient": 1, "StartDeviceAuthorization": 1, "CreateToken": 1, "ListAccounts": 1}


def test_from_file_json_and_toml(tmp_path, monkeypatch):
    cfg = tmp_path / "emu.json"
    cfg.write_text(json.dumps({"generate_accounts": 12, "latency_ms": 5, "auto_approve": False}))
    emu = Emulator.from_file(cfg)
    assert (emu.config.generate_accounts, emu.config.latency_ms, emu.config.auto_approve) == (12, 5, False)
    cfg.write_text(json.dumps({"latency": 5}))
    with pytest.raises(ValueError, match="unknown configuration field"):
        Emulator.from_file(cfg)
    toml = tmp_path / "emu.toml"
    toml.write_text(
        'throttle_rps = 3\n[[accounts]]\naccountId = "777777777777"\naccountName = "Toml"\n'
        'emailAddress = "t@example.com"\nroles = ["A", "B"]\n'
    )
    if sys.version_info >= (3, 11):
        emu = Emulator.from_file(toml)
        assert emu.config.throttle_rps == 3 and emu.config.accounts[0]["roles"] == ["A", "B"]
    monkeypatch.setitem(sys.modules, "tomllib", None)  # as on Python 3.10
    with pytest.raises(ValueError, match="TOML .*Python 3.11"):
        Emulator.from_file(toml)


# --------------------------------------------------------------- the CLI


def _cli_env():
    env = {k: v for k, v in os.environ.items()}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_cli_prints_url_serves_and_stops_on_sigterm(session):
    proc = subprocess.Popen(
        [sys.executable, "-m", "ssoenv.emulator", "--port", "0", "--accounts", "25", "--no-auto-approve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_cli_env(),
        cwd=str(REPO),
    )
    try:
        url = proc.stdout.readline().decode().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url), url
        sso = Sso(session, url)
        client = sso.register()
        device = sso.start_device(client)
        with pytest.raises(sso.oidc.exceptions.AuthorizationPendingException):
            sso.poll(client, device)
        status, _, _ = http_request(f"{url}/_emulator/approve", "POST", {"userCode": device["userCode"]})
        assert status == 200
        token = sso.poll(client, device)
        pages = sso.portal.get_paginator("list_accounts").paginate(accessToken=token["accessToken"])
        assert len([a for p in pages for a in p["accountList"]]) == 25
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert out == b"" and err == b""  # nothing but the URL; no logs without -v


@pytest.mark.parametrize(
    "args, message",
    [
        (["--fault-rate", "2"], "fault_rate"),
        (["--no-such-flag"], "unrecognized arguments"),
        (["--latency-ms", "fast"], "invalid float value"),
        (["--config", "/nonexistent/emu.json"], "cannot read config file"),
    ],
)
def test_cli_bad_arguments_exit_2_with_one_line(args, message):
    proc = subprocess.run(
        [sys.executable, "-m", "ssoenv.emulator", *args], capture_output=True, env=_cli_env(), cwd=str(REPO), timeout=20
    )
    assert proc.returncode == 2
    assert proc.stdout == b""
    lines = proc.stderr.decode().splitlines()
    assert len(lines) == 1 and message in lines[0]
