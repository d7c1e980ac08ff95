"""The environment of a switched shell, as (NAME, value-or-None) changes.

Profile mode exports AWS_PROFILE and unsets static keys; credentials mode exports
the keys and unsets AWS_PROFILE. Never both. Always the SSOENV_* facts the prompt
reads, so the prompt needs no process and no file.
"""

from __future__ import annotations

import os

from ssoenv.catalog import Entry
from ssoenv.errors import UsageError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hot paths
if TYPE_CHECKING:
    from ssoenv.shapes import RoleCredentials


CREDENTIAL_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                   "AWS_CREDENTIAL_EXPIRATION", "AWS_SESSION_EXPIRATION")
REGION_VARS = ("AWS_REGION", "AWS_DEFAULT_REGION")
# The credential endpoint of `exec --server` / `serve` (credserver.py): its URL's path, and
# the two variables that point a child at it. A switch or a clear removes them when they
# are ssoenv's (the URL's path is SERVER_PATH); an endpoint of the user's own stays.
SERVER_PATH = "/ssoenv/credentials"
CONTAINER_VARS = ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN")
SSOENV_VARS = ("SSOENV_SESSION", "SSOENV_ACCOUNT_ID", "SSOENV_ACCOUNT_NAME", "SSOENV_ROLE",
               "SSOENV_PROFILE", "SSOENV_MODE", "SSOENV_EXPIRES", "SSOENV_LOGGED_OUT")


def credential_values(creds: RoleCredentials) -> dict[str, str]:
    """AWS_* variables in the order `aws configure export-credentials` prints them."""
    return {"AWS_ACCESS_KEY_ID": creds["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
            "AWS_SESSION_TOKEN": creds["SessionToken"], "AWS_CREDENTIAL_EXPIRATION": creds["Expiration"]}


def changes(entry: Entry, *, mode: str, creds: RoleCredentials | None, expires: int | None,
            region: str | None) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    if mode == "profile":
        out.append(("AWS_PROFILE", entry.profile))
        out += [(name, None) for name in CREDENTIAL_VARS]
    else:
        assert creds is not None
        out += list(credential_values(creds).items())
        out.append(("AWS_SESSION_EXPIRATION", creds["Expiration"]))
        out.append(("AWS_PROFILE", None))
    if region:
        out += [(name, region) for name in REGION_VARS]
    out += [("SSOENV_SESSION", entry.sso_session), ("SSOENV_ACCOUNT_ID", entry.account_id),
            ("SSOENV_ACCOUNT_NAME", entry.account_name or entry.account_id), ("SSOENV_ROLE", entry.role),
            ("SSOENV_PROFILE", entry.profile or None), ("SSOENV_MODE", mode),
            ("SSOENV_EXPIRES", str(expires) if expires else None), ("SSOENV_LOGGED_OUT", None)]
    return _endpoint_changes() + out


def _endpoint_changes() -> list[tuple[str, str | None]]:
    """Unset the variables of an ssoenv credential endpoint this shell runs under (an
    `exec --server` subshell, or `serve`'s exports): they would keep serving the old target."""
    url = os.environ.get(CONTAINER_VARS[0], "")
    if url.split("?", 1)[0].endswith(SERVER_PATH) or os.environ.get("SSOENV_MODE") == "server":
        return [(name, None) for name in CONTAINER_VARS]
    return []


def clear_changes() -> list[tuple[str, str | None]]:
    """Unset the AWS identity of the shell; the regions only if ssoenv set them."""
    out: list[tuple[str, str | None]] = [("AWS_PROFILE", None)]
    out += [(name, None) for name in CREDENTIAL_VARS]
    if os.environ.get("SSOENV_ACCOUNT_ID"):
        out += [(name, None) for name in REGION_VARS]
    out += [(name, None) for name in SSOENV_VARS]
    return _endpoint_changes() + out


def session_state_changes() -> list[tuple[str, str | None]]:
    """SSOENV_LOGGED_OUT=1 when the active entry's sso-session has no valid token
    (after `ssoenv logout`), so the prompt says so instead of a stale time left."""
    from ssoenv import awsconfig, creds, targets, tokens

    current = targets.active()
    if not current:
        return [("SSOENV_LOGGED_OUT", None)]
    config = awsconfig.load()
    entry = Entry(current[0], current[1], "", current[2], os.environ.get("SSOENV_PROFILE") or None)
    try:
        token = tokens.read_token(creds.session_of(config, entry))
    except Exception:  # the sso-session left the config: nothing to log in to
        token = None
    logged_in = bool(token) and (tokens.seconds_left(token) > 0 or tokens.can_refresh(token))
    return [("SSOENV_LOGGED_OUT", None if logged_in else "1")]


def region_for(entry: Entry) -> str | None:
    """The region a switch (`use`, `pick`) or a child (`exec`) gets: the profile's, else
    the default_region setting. None: leave the environment's region as it is."""
    from ssoenv import settings

    return entry.region or settings.get("default_region") or None


def inherited_region() -> str | None:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None


def child_environment(entry: Entry, creds: RoleCredentials, region: str | None, expires: int) -> dict[str, str]:
    """os.environ for `ssoenv exec`: credentials mode, whatever the shell had."""
    env = dict(os.environ)
    for name, value in changes(entry, mode="credentials", creds=creds, expires=expires, region=region):
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def statements(config, entry: Entry, *, shell: str, mode: str | None = None,
               interactive: bool | None = None) -> str:
    """What `use` and `pick` print: switch the shell to `entry`."""
    from ssoenv import cache, login, shellout
    from ssoenv import creds as creds_mod

    if mode == "profile" and not entry.profile:
        raise UsageError(f"{entry.account_name or entry.account_id}/{entry.role} has no profile in the AWS config",
                         hint="create profiles with `ssoenv populate`, or use --mode credentials")
    chosen = mode or ("profile" if entry.profile else "credentials")
    session = creds_mod.session_of(config, entry)
    region = region_for(entry)
    if chosen == "profile":
        token = login.ensure_token(session, interactive=interactive, min_valid=60)
        expires = cache.epoch(cache.parse_time(token["expiresAt"]) or cache.now())
        creds = None
    else:
        creds = creds_mod.get(config, entry, interactive=interactive)
        expires = creds_mod.expiry_epoch(creds)
    return shellout.render(changes(entry, mode=chosen, creds=creds, expires=expires, region=region), shell)
