"""The only module that imports boto3/botocore.

sso-oidc (register, device authorization, PKCE, refresh), the sso portal (accounts,
roles, role credentials, logout) and clients for the administration commands.
Everything here raises SsoenvError subclasses, never a botocore exception, and never
puts a token or secret in a message.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import botocore.session
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)

from ssoenv.errors import ExitStatus, SsoenvError
from ssoenv.log import get_logger

log = get_logger(__name__)

OIDC_GRANT_DEVICE = "urn:ietf:params:oauth:grant-type:device_code"
OIDC_GRANT_CODE = "authorization_code"
OIDC_GRANT_REFRESH = "refresh_token"

# Standard mode retries 429/5xx with jittered exponential backoff.
_RETRIES = {"mode": "standard", "max_attempts": 8}


class ApiError(SsoenvError):
    """An AWS API answered with an error `code`."""

    def __init__(self, code: str, message: str, exit_status: int = ExitStatus.ERROR, reason: str = ""):
        super().__init__(message, exit_status)
        self.code = code
        self.reason = reason  # e.g. ConstraintViolationException's Reason


class Unauthorized(ApiError):
    """The portal rejected the access token (expired, revoked, logged out)."""


_session = None
_clients: dict[tuple, Any] = {}


def _botocore_session():
    global _session
    if _session is None:
        _session = botocore.session.get_session()
    return _session


def _unsigned_client(service: str, region: str):
    """A cached client (one per service and region for the whole process)."""
    key = (service, region)
    client = _clients.get(key)
    if client is None:
        client = _new_unsigned_client(service, region, max_pool=10)
        _clients[key] = client
    return client


def _new_unsigned_client(service: str, region: str, *, max_pool: int, retries: dict = _RETRIES):
    config = Config(signature_version=UNSIGNED, retries=retries, max_pool_connections=max_pool,
                    connect_timeout=10, read_timeout=30, user_agent_extra="ssoenv")
    return _botocore_session().create_client(service, region_name=region, config=config)


# A throttled call is retried as often as it takes (the pacer spaces the attempts);
# this only stops a service that refuses everything. Other transient errors (5xx,
# connection) are retried like botocore's standard mode does, with jittered backoff.
_THROTTLE_ATTEMPTS = 100
_TRANSIENT_ATTEMPTS = 8
_THROTTLE_CODES = frozenset(("TooManyRequestsException", "ThrottlingException", "Throttling",
                             "SlowDownException", "RequestLimitExceeded"))


def paced_portal(region: str, pacer, *, max_pool: int):
    """One portal client for a bulk listing: every attempt waits for `pacer`
    (ssoenv.pacing.Pacer, shared by the listing threads) and tells it whether the
    service accepted it. Throttles are retried at once (the pacer spaces them);
    5xx and connection errors after a jittered backoff. botocore's own retries are
    off for this client: its retry quota would count the throttles and then refuse
    to retry a 500."""
    import random

    client = _new_unsigned_client("sso", region, max_pool=max_pool,
                                  retries={"mode": "standard", "total_max_attempts": 1})

    def before_send(**_):
        pacer.acquire()

    def observe(response=None, attempts=1, caught_exception=None, **_):
        if response is None:
            transient = caught_exception is not None and isinstance(caught_exception, (
                EndpointConnectionError, ConnectionClosedError, ReadTimeoutError, ConnectTimeoutError))
        else:
            http, parsed = response
            code = parsed.get("Error", {}).get("Code") if isinstance(parsed, dict) else None
            if http.status_code == 429 or code in _THROTTLE_CODES:
                pacer.throttled(_retry_after(http.headers))
                return 0 if attempts < _THROTTLE_ATTEMPTS else None
            if http.status_code < 400:
                pacer.accepted()
                return None
            transient = http.status_code >= 500
        if transient and attempts < _TRANSIENT_ATTEMPTS:
            return random.uniform(0, min(0.1 * 2 ** attempts, 10.0))
        return None

    client.meta.events.register("before-send.sso", before_send)
    client.meta.events.register_first("needs-retry.sso", observe)
    return client


def _retry_after(headers) -> float | None:
    try:
        return float(headers.get("Retry-After", ""))
    except (TypeError, ValueError):
        return None  # absent, or an HTTP date: the pacer's own estimate does


def oidc_endpoint(region: str) -> str:
    """The sso-oidc base URL that CreateToken really goes to.

    botocore resolves endpoint rule sets (bundled, or from AWS_DATA_PATH) per request:
    `meta.endpoint_url` can be the default while every call goes elsewhere. Ask the
    client's resolver, as a request would (it also honours AWS_ENDPOINT_URL_SSO_OIDC
    and the config's [services])."""
    client = _unsigned_client("sso-oidc", region)
    try:
        url, _, _ = client._resolve_endpoint_ruleset(
            client.meta.service_model.operation_model("CreateToken"), {}, {})
    except (AttributeError, TypeError, ValueError, BotoCoreError) as exc:  # an older or newer botocore
        log.debug("endpoint rule set not resolved (%s); using the client's endpoint", type(exc).__name__)
        url = client.meta.endpoint_url
    return url.rstrip("/")


def _describe(exc: Exception, what: str) -> SsoenvError:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = err.get("Code", "Unknown")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = err.get("Message") or exc.response.get("error_description") or ""
        text = f"{what} failed: {code}" + (f" ({message})" if message else "")
        if code == "UnauthorizedException" or status == 401 and code != "InvalidClientException":
            return Unauthorized(code, f"{what} failed: the SSO token is expired or was revoked")
        if code == "ForbiddenException" or status == 403:
            return ApiError(code, f"{what} failed: access denied ({code})")
        return ApiError(code, text, reason=str(exc.response.get("Reason") or err.get("Reason") or ""))
    if isinstance(exc, EndpointConnectionError):
        return ApiError("EndpointConnectionError", f"{what} failed: cannot reach {exc.kwargs.get('endpoint_url')}")
    if isinstance(exc, BotoCoreError):
        return ApiError(type(exc).__name__, f"{what} failed: {exc}")
    return ApiError(type(exc).__name__, f"{what} failed: {type(exc).__name__}")


def _call(client, op: str, what: str, **params) -> dict:
    try:
        return getattr(client, op)(**params)
    except (ClientError, BotoCoreError) as exc:
        raise _describe(exc, what) from None


# --- sso-oidc -----------------------------------------------------------------------

def register_client(region: str, *, client_name: str, scopes: list[str] | None,
                    grant_types: list[str] | None = None, redirect_uris: list[str] | None = None,
                    issuer_url: str | None = None) -> dict:
    params: dict[str, Any] = {"clientName": client_name, "clientType": "public"}
    if scopes:
        params["scopes"] = scopes
    if grant_types:
        params["grantTypes"] = grant_types
    if redirect_uris:
        params["redirectUris"] = redirect_uris
    if issuer_url:
        params["issuerUrl"] = issuer_url
    return _call(_unsigned_client("sso-oidc", region), "register_client", "RegisterClient", **params)


def start_device_authorization(region: str, client_id: str, client_secret: str, start_url: str) -> dict:
    return _call(_unsigned_client("sso-oidc", region), "start_device_authorization",
                 "StartDeviceAuthorization", clientId=client_id, clientSecret=client_secret,
                 startUrl=start_url)


def create_token(region: str, **params) -> dict:
    """CreateToken. OIDC error codes (AuthorizationPendingException...) come back as ApiError.code."""
    client = _unsigned_client("sso-oidc", region)
    try:
        return client.create_token(**params)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "Unknown")
        desc = exc.response.get("error_description") or exc.response.get("Error", {}).get("Message") or ""
        raise ApiError(code, f"CreateToken failed: {code}" + (f" ({desc})" if desc else "")) from None
    except BotoCoreError as exc:
        raise _describe(exc, "CreateToken") from None


# --- sso portal ---------------------------------------------------------------------

def list_accounts(region: str, access_token: str, client=None) -> Iterator[dict]:
    """Every account (all pages). `client`: e.g. a `paced_portal`."""
    client = client or _unsigned_client("sso", region)
    token = None
    while True:
        params = {"accessToken": access_token, "maxResults": 100}
        if token:
            params["nextToken"] = token
        page = _call(client, "list_accounts", "ListAccounts", **params)
        yield from page.get("accountList", [])
        token = page.get("nextToken")
        if not token:
            return


def list_account_roles(region: str, access_token: str, account_id: str, client=None) -> list[dict]:
    client = client or _unsigned_client("sso", region)
    roles: list[dict] = []
    token = None
    while True:
        params = {"accessToken": access_token, "accountId": account_id, "maxResults": 100}
        if token:
            params["nextToken"] = token
        page = _call(client, "list_account_roles", "ListAccountRoles", **params)
        roles.extend(page.get("roleList", []))
        token = page.get("nextToken")
        if not token:
            return roles


def get_role_credentials(region: str, access_token: str, account_id: str, role_name: str, client=None) -> dict:
    """roleCredentials: accessKeyId, secretAccessKey, sessionToken, expiration (epoch ms).
    `client`: e.g. a `paced_portal` (exec --each fetches many)."""
    page = _call(client or _unsigned_client("sso", region), "get_role_credentials", "GetRoleCredentials",
                 accessToken=access_token, accountId=account_id, roleName=role_name)
    return page["roleCredentials"]


def logout(region: str, access_token: str) -> None:
    _call(_unsigned_client("sso", region), "logout", "Logout", accessToken=access_token)


# --- signed clients for the administration commands -----------------------------------

def admin_client(service: str, *, profile: str | None = None, region: str | None = None,
                 credentials: dict | None = None):
    """A signed client for `service` (organizations, sso-admin, ...).

    Credentials from `profile`, or explicit `credentials` (AccessKeyId/SecretAccessKey/
    SessionToken), or the environment (e.g. what `ssoenv use` exported).
    """
    import boto3

    try:
        if credentials:
            session = boto3.Session(aws_access_key_id=credentials["AccessKeyId"],
                                    aws_secret_access_key=credentials["SecretAccessKey"],
                                    aws_session_token=credentials.get("SessionToken"),
                                    region_name=region)
        else:
            session = boto3.Session(profile_name=profile, region_name=region)
        return session.client(service, region_name=region or session.region_name or "us-east-1",
                              config=Config(retries=_RETRIES))
    except ProfileNotFound:
        raise SsoenvError(f"profile {profile!r} is not in the AWS config") from None
    except NoCredentialsError:
        raise SsoenvError("no AWS credentials: pass --profile or switch with `ssoenv use`") from None


def admin_call(client, op: str, **params) -> dict:
    """Call `op` on an admin client; errors become ApiError with the AWS error code."""
    what = op[:1].upper() + "".join(w.capitalize() for w in op.split("_"))[1:]
    try:
        return getattr(client, op)(**params)
    except NoCredentialsError:
        raise SsoenvError("no AWS credentials: pass --profile or switch with `ssoenv use`") from None
    except (ClientError, BotoCoreError) as exc:
        raise _describe(exc, what) from None


def paginate(client, op: str, key: str, **params) -> Iterator[dict]:
    try:
        for page in client.get_paginator(op).paginate(**params):
            yield from page.get(key, [])
    except NoCredentialsError:
        raise SsoenvError("no AWS credentials: pass --profile or switch with `ssoenv use`") from None
    except (ClientError, BotoCoreError) as exc:
        raise _describe(exc, op) from None


# --- regions ----------------------------------------------------------------------------

def known_regions() -> frozenset[str]:
    """Every region of every partition, from the list botocore ships (partitions.json,
    else endpoints.json for an older botocore); empty when neither can be read."""
    import json
    import os

    data = os.path.join(os.path.dirname(botocore.session.__file__), "data")
    for name in ("partitions.json", "endpoints.json"):
        try:
            with open(os.path.join(data, name), encoding="utf-8") as file:
                partitions = json.load(file).get("partitions", [])
        except (OSError, ValueError):
            continue
        regions = {r for p in partitions for r in p.get("regions", {}) if not r.endswith("-global")}
        if regions:
            return frozenset(regions)
    return frozenset()


def unknown_region(region: str) -> str | None:
    """"unknown region eu-wset-1; did you mean eu-west-1?" for a region no partition has
    (a typo there only shows later, as "cannot reach https://oidc.eu-wset-1..."); else None."""
    import difflib

    known = known_regions()
    if not known or region in known:
        return None
    close = difflib.get_close_matches(region, sorted(known), n=1, cutoff=0.6)
    return f"unknown region {region}" + (f"; did you mean {close[0]}?" if close else "")


# --- STS (role chaining) ---------------------------------------------------------------

def _sts_client(credentials: dict, region: str | None):
    """A signed STS client with explicit credentials (never the environment's)."""
    return _botocore_session().create_client(
        "sts", region_name=region or "us-east-1", aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"], aws_session_token=credentials.get("SessionToken"),
        config=Config(retries=_RETRIES, connect_timeout=10, read_timeout=30, user_agent_extra="ssoenv"))


def caller_identity(credentials: dict, region: str | None = None) -> dict:
    """GetCallerIdentity: Account, Arn, UserId."""
    return _call(_sts_client(credentials, region), "get_caller_identity", "GetCallerIdentity")


def assume_role(credentials: dict, region: str | None, *, role_arn: str, session_name: str,
                external_id: str | None = None, duration: int | None = None) -> dict:
    """AssumeRole with `credentials`: the new Credentials (AccessKeyId, SecretAccessKey,
    SessionToken, Expiration as a datetime). Throttling is retried (standard mode)."""
    params: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": session_name}
    if external_id:
        params["ExternalId"] = external_id
    if duration:
        params["DurationSeconds"] = duration
    return _call(_sts_client(credentials, region), "assume_role", "AssumeRole", **params)["Credentials"]
