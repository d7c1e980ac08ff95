"""The SSO token file and the client registration files: read, write, compare.

The files are the AWS CLI v2's (same names, fields and time format), so one login
serves ssoenv, the AWS CLI v2 and every SDK; ssoenv's PKCE registration has a name of
its own (see "client registrations"). Other tools write those files without our lock:
ssoenv replaces or removes one only while it still holds what ssoenv read.

Storage only: readers (status, doctor, logout, the catalog) import this module, not
the login flows (`login.py`) or the AWS CLI hand-off (`awscli.py`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ssoenv import cache, paths
from ssoenv.awsconfig import SsoSession
from ssoenv.log import get_logger

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hot paths
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from ssoenv.shapes import Registration, Token

log = get_logger(__name__)

REGISTRATION_MARGIN = 15 * 60  # reuse a client registration while more than this remains
PKCE_GRANTS = ("authorization_code", "refresh_token")
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"  # identity.OIDC_GRANT_DEVICE, without botocore


# --- the token file ------------------------------------------------------------------

def read_token(session: SsoSession) -> Token | None:
    data = cache.read_json(paths.token_cache_file(session.cache_key))
    if not isinstance(data, dict) or not isinstance(data.get("accessToken"), str) or not data["accessToken"]:
        return None
    if cache.parse_time(data.get("expiresAt", "")) is None:
        return None
    token: Token = data  # type: ignore[assignment]  # its shape checked above
    return token


def seconds_left(token: Token | None) -> float:
    if not token:
        return float("-inf")
    expires = cache.parse_time(token.get("expiresAt", ""))
    return (expires - cache.now()).total_seconds() if expires else float("-inf")


def can_refresh(token: Token | None) -> bool:
    if not token or not token.get("refreshToken") or not token.get("clientId") or not token.get("clientSecret"):
        return False
    reg_expires = cache.parse_time(token.get("registrationExpiresAt", ""))
    return reg_expires is not None and reg_expires > cache.now()


def same_token(a: Token | None, b: Token | None) -> bool:
    return (a or {}).get("accessToken") == (b or {}).get("accessToken")


def write_token(session: SsoSession, response: dict, registration: Registration, *,
                renewing: Token | None = None) -> Token:
    """Write the token a login or a renewal brought. `renewing`: the token it renews;
    if the file no longer holds that one, another tool (which does not take our lock)
    wrote a newer one meanwhile: keep theirs, and use ours in this process only."""
    expires = cache.now() + dt.timedelta(seconds=int(response.get("expiresIn", 3600)))
    token: Token = {
        "startUrl": session.start_url,
        "region": session.region,
        "accessToken": response["accessToken"],
        "expiresAt": cache.format_time(expires),
        "clientId": registration["clientId"],
        "clientSecret": registration["clientSecret"],
        "registrationExpiresAt": registration["expiresAt"],
    }
    if response.get("refreshToken"):
        token["refreshToken"] = response["refreshToken"]
    if renewing is not None and not same_token(read_token(session), renewing):
        log.info("another tool renewed the token of %s meanwhile; keeping its file", session.label)
        return token
    cache.atomic_write_json(paths.token_cache_file(session.cache_key), token)
    return token


# --- client registrations -------------------------------------------------------------
#
# One registration serves one flow (INTEROP.md). The shared slot, the file every AWS CLI
# v2 reads, only ever gets a device-code registration from ssoenv: every CLI version can
# use one, while a CLI before 2.22 fails with an authorization-code one. ssoenv's PKCE
# registration has a file of its own. Other tools write the shared slot too, so what is
# found there is checked against the flow, and a file is replaced or removed only while
# it still holds what was read.

def registration_args(session: SsoSession) -> tuple[str, str, list[str] | None, str | None]:
    return (session.start_url, session.region, list(session.scopes) or None,
            None if session.legacy else session.name)


def registration_path(session: SsoSession, pkce: bool) -> Path:
    if pkce:
        return paths.pkce_registration_cache_file(*registration_args(session), list(PKCE_GRANTS))
    return paths.registration_cache_file(*registration_args(session))


def fits_flow(registration: Mapping[str, Any], *, pkce: bool) -> bool:
    """PKCE needs the authorization_code grant; the device flow any registration that
    is not restricted to other grants (the AWS CLI v2 registers without grantTypes)."""
    grants = registration.get("grantTypes") or []
    if not isinstance(grants, list):
        return False
    return "authorization_code" in grants if pkce else (not grants or DEVICE_GRANT in grants)


def reusable(data, pkce: bool) -> bool:
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) and data[k]
                                             for k in ("clientId", "clientSecret")):
        return False
    expires = cache.parse_time(data.get("expiresAt", ""))
    return (expires is not None and (expires - cache.now()).total_seconds() > REGISTRATION_MARGIN
            and fits_flow(data, pkce=pkce))


def unchanged(path, seen) -> bool:
    """Whether `path` still holds what was read as `seen` (None: missing or unreadable).

    Other tools do not take ssoenv's lock: comparing just before a replace or a removal
    shrinks the window in which their write could be lost to that instant."""
    return cache.read_json(path) == seen


def release_shared_slot(session: SsoSession) -> None:
    """Take a registration no device flow can use out of the shared slot.

    A CLI before 2.22 would reuse it and fail (UnauthorizedClientException); a newer one
    registers again when the slot is empty. A usable authorization-code registration
    found there becomes ssoenv's own PKCE one (when it has none) instead of being wasted."""
    shared = registration_path(session, pkce=False)
    data = cache.read_json(shared)
    if not isinstance(data, dict) or fits_flow(data, pkce=False):
        return
    own = registration_path(session, pkce=True)
    if reusable(data, pkce=True) and not reusable(cache.read_json(own), pkce=True):
        cache.atomic_write_json(own, data)
    if unchanged(shared, data):
        cache.remove(shared)
        log.info("moved an authorization-code client registration out of the AWS CLI's slot for %s",
                 session.label)


# What a reader tells the user to run when the token is missing or spent.
def login_command(session: SsoSession) -> str:
    import shlex

    if session.legacy:
        return f"ssoenv login --profile {shlex.quote(session.name)}"
    return f"ssoenv login --sso-session {shlex.quote(session.name)}"
