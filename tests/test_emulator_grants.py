"""The emulator keeps Identity Center's rules on client registrations (INTEROP.md):
one registration serves one flow, and a forgotten client is refused. Driven over
real HTTP by unmodified botocore clients, like tests/test_emulator.py."""

from __future__ import annotations

import os

import boto3
import pytest
from botocore.config import Config

from ssoenv.emulator import Emulator

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SCOPE = "sso:account:access"
START_URL = "https://d-test.awsapps.com/start"
NO_RETRY = Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=15)


@pytest.fixture(autouse=True)
def aws_env(monkeypatch, tmp_path):
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")


@pytest.fixture
def emu():
    emulator = Emulator().start()
    yield emulator
    emulator.stop()


@pytest.fixture
def oidc(emu):
    return boto3.Session(region_name="us-east-1").client("sso-oidc", endpoint_url=emu.url, config=NO_RETRY)


def register(oidc, **kwargs):
    return oidc.register_client(clientName="t", clientType="public", scopes=[SCOPE], **kwargs)


def start_device(oidc, client):
    return oidc.start_device_authorization(clientId=client["clientId"], clientSecret=client["clientSecret"],
                                           startUrl=START_URL)


def test_a_pkce_client_cannot_start_a_device_authorization(emu, oidc):
    pkce = register(oidc, grantTypes=["authorization_code", "refresh_token"],
                    redirectUris=["http://127.0.0.1/oauth/callback"], issuerUrl=START_URL)
    with pytest.raises(oidc.exceptions.UnauthorizedClientException) as exc:
        start_device(oidc, pkce)
    assert exc.value.response["error"] == "unauthorized_client"
    # A registration without grant types (what the AWS CLI v2 2.9 makes), or one
    # naming the device grant, can.
    assert start_device(oidc, register(oidc))["userCode"]
    assert start_device(oidc, register(oidc, grantTypes=[DEVICE_GRANT, "refresh_token"]))["userCode"]


def test_one_registration_cannot_serve_both_flows(emu, oidc):
    with pytest.raises(oidc.exceptions.InvalidScopeException):
        register(oidc, grantTypes=["authorization_code", DEVICE_GRANT, "refresh_token"],
                 redirectUris=["http://127.0.0.1/oauth/callback"], issuerUrl=START_URL)


def test_forgotten_clients_are_invalid_everywhere(emu, oidc):
    client = register(oidc)
    device = start_device(oidc, client)
    token = oidc.create_token(clientId=client["clientId"], clientSecret=client["clientSecret"],
                              grantType=DEVICE_GRANT, deviceCode=device["deviceCode"])
    emu.forget_clients()
    with pytest.raises(oidc.exceptions.InvalidClientException):
        start_device(oidc, client)
    with pytest.raises(oidc.exceptions.InvalidClientException):
        oidc.create_token(clientId=client["clientId"], clientSecret=client["clientSecret"],
                          grantType="refresh_token", refreshToken=token["refreshToken"])
    assert start_device(oidc, register(oidc))["userCode"]  # new registrations work


def test_forget_clients_over_http(emu, oidc):
    import http.client

    client = register(oidc)
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=10)
    conn.request("POST", "/_emulator/forget-clients", body=b"{}")
    assert conn.getresponse().status == 200
    conn.close()
    with pytest.raises(oidc.exceptions.InvalidClientException):
        start_device(oidc, client)


def test_a_hook_runs_once_just_before_the_next_call(emu, oidc):
    seen = []
    emu.before_next("RegisterClient", lambda: seen.append(emu.calls()["RegisterClient"]))
    register(oidc)
    register(oidc)
    assert seen == [1]  # during the first call, once
    with pytest.raises(ValueError, match="unknown operation"):
        emu.before_next("Nope", lambda: None)
