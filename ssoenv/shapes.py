"""Typed shapes of the JSON files ssoenv shares with the AWS CLI v2 and botocore.

For the type checker only: modules import these under TYPE_CHECKING (their
annotations are strings), so no hot path pays for importing `typing`.
"""

from __future__ import annotations

from typing import TypedDict


class Token(TypedDict, total=False):
    """~/.aws/sso/cache/<sha1 of the sso-session name or legacy start URL>.json"""

    startUrl: str
    region: str
    accessToken: str
    expiresAt: str
    clientId: str
    clientSecret: str
    registrationExpiresAt: str
    refreshToken: str


class Registration(TypedDict, total=False):
    """A client registration (RegisterClient's answer, as the CLI v2 caches it)."""

    clientId: str
    clientSecret: str
    expiresAt: str
    scopes: list[str]
    grantTypes: list[str]


class RoleCredentials(TypedDict, total=False):
    """`Credentials` of ~/.aws/cli/cache/<sha1>.json: what `exec`, `env` and the endpoint hand out."""

    AccessKeyId: str
    SecretAccessKey: str
    SessionToken: str
    Expiration: str
    AccountId: str
