"""Role chaining: a profile with `role_arn` + `source_profile` whose chain of sources
ends in an IAM Identity Center profile is a target like any other.

    [profile prod-deploy]                 hop 1: AssumeRole Deploy in 999999999999
    role_arn = arn:aws:iam::999999999999:role/Deploy
    source_profile = hub                  with the credentials of `hub`, an SSO profile

Profile mode exports AWS_PROFILE and lets the SDKs walk the chain; credentials mode
(`exec`, `env`, the endpoint) assumes each hop here with the previous hop's
credentials, starting from the SSO role's. Each hop's credentials are cached like
role credentials (0600, atomic, reused while MIN_VALID remains), keyed by the role
ARN, session name, external id, duration and source. Without `role_session_name`
the session name is the SSO user's own (the source role's caller identity, looked up
once per login and kept in paths.sso_users_file()), so CloudTrail says who acted.

Only identity.py talks to STS; this module never imports boto3 itself, and the
cached path reads two small files.
"""

from __future__ import annotations

import re
from collections import namedtuple

from ssoenv import cache, paths
from ssoenv.awsconfig import AwsConfig, Profile
from ssoenv.errors import SsoenvError
from ssoenv.log import get_logger
from ssoenv.shellout import printable

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hot paths
if TYPE_CHECKING:
    from ssoenv.shapes import RoleCredentials

log = get_logger(__name__)

MAX_CHAINED_DURATION = 3600  # STS limits a role assumed with a role's credentials to 1 hour
SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)
ROLE_ARN = re.compile(r"arn:aws[\w-]*:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})", re.ASCII)


class Hop(namedtuple("Hop", "profile role_arn account_id role external_id duration session_name")):
    """One AssumeRole of a chain (`session_name` None: the SSO user's name)."""

    __slots__ = ()


def is_chained(profile: Profile | None) -> bool:
    """botocore's rule: `role_arn` makes a profile assume a role, whatever else it has."""
    return profile is not None and "role_arn" in profile.values


def is_chained_name(config: AwsConfig, name: str | None) -> bool:
    return bool(name) and is_chained(config.profiles.get(name or ""))


def _hop(profile: Profile) -> Hop:
    values = profile.values
    arn = values["role_arn"]
    found = ROLE_ARN.fullmatch(arn)
    if not found:
        raise SsoenvError(f"profile {printable(profile.name)}: role_arn {printable(arn)!r} is not "
                          "arn:aws:iam::ACCOUNT:role/NAME")
    duration = None
    if values.get("duration_seconds"):
        try:
            duration = int(values["duration_seconds"])
        except ValueError:
            duration = 0
        if not 900 <= duration <= 43200:
            raise SsoenvError(f"profile {printable(profile.name)}: duration_seconds must be 900 to 43200, "
                              f"not {printable(values['duration_seconds'])!r}")
    name = values.get("role_session_name") or None
    if name is not None and not SESSION_NAME.fullmatch(name):
        raise SsoenvError(f"profile {printable(profile.name)}: role_session_name {printable(name)!r} must be "
                          "2 to 64 characters of letters, digits and +=,.@_-")
    return Hop(profile.name, arn, found[1], found[2], values.get("external_id") or None, duration, name)


def resolve(config: AwsConfig, name: str) -> tuple[list[Hop], Profile]:
    """The hops from the SSO profile up to `name` (the last hop is `name`'s own), and
    that SSO profile. One line naming the profile for a loop, a missing source,
    credential_source or mfa_serial anywhere in the chain."""
    profile = config.profiles.get(name)
    if profile is None:
        raise SsoenvError(f"no profile named {printable(name)!r} in {config.path}")
    hops: list[Hop] = []
    seen = [name]
    while is_chained(profile):
        shown = printable(profile.name)
        within = f" (in the chain of {printable(name)})" if profile.name != name else ""
        if "credential_source" in profile.values:
            raise SsoenvError(f"profile {shown} takes credential_source "
                              f"({printable(profile.values['credential_source'])}), not an IAM Identity Center "
                              f"login: ssoenv cannot switch to it{within}")
        if "mfa_serial" in profile.values:
            raise SsoenvError(f"profile {shown} sets mfa_serial: ssoenv does not prompt for MFA codes "
                              f"in a chain{within}")
        source = profile.values.get("source_profile")
        if not source:
            raise SsoenvError(f"profile {shown} has role_arn but no source_profile")
        hops.append(_hop(profile))
        if source in seen:
            loop = " -> ".join(map(printable, [*seen, source]))
            raise SsoenvError(f"profile {printable(name)}: source_profile loops ({loop})")
        if source not in config.profiles:
            raise SsoenvError(f"profile {shown}: its source_profile {printable(source)!r} is not in {config.path}")
        seen.append(source)
        profile = config.profiles[source]
    if not (profile.is_sso and profile.account_id and profile.role_name):
        raise SsoenvError(f"profile {printable(name)}: its chain ends in profile {printable(profile.name)}, "
                          "which is not an IAM Identity Center profile (sso_account_id and sso_role_name)")
    hops.reverse()
    return hops, profile


def base_profile(config: AwsConfig, name: str) -> Profile:
    """The SSO profile at the end of `name`'s chain (whose login it needs)."""
    return resolve(config, name)[1]


def login_key(base: Profile) -> str:
    """Which login an SSO profile uses, for the caches here: its sso-session, else
    (legacy) its start URL."""
    return base.sso_session or f"url:{base.values.get('sso_start_url', '')}"


def sources(config: AwsConfig) -> dict[str, str]:
    """Chained profile -> its source_profile (what `list` and the picker say: `via hub`)."""
    return {p.name: p.values.get("source_profile", "") for p in config.profiles.values() if is_chained(p)}


def inputs(config: AwsConfig) -> list:
    """What of the config the chained entries depend on (a kept listing is stale when it changes)."""
    keys = ("role_arn", "source_profile", "credential_source", "mfa_serial", "role_session_name", "duration_seconds")
    return sorted([p.name, *(p.values.get(k, "") for k in keys), p.region or ""]
                  for p in config.profiles.values() if is_chained(p))


def describe(config: AwsConfig, name: str) -> dict:
    """What the picker's preview shows: role ARN, source, session name (None: not
    known yet) and the cache file of the chained credentials (None: not known yet)."""
    hops, base = resolve(config, name)
    login = login_key(base)
    path = _cache_file(hops, login, base)
    return {"role_arn": hops[-1].role_arn, "source": config.profiles[name].values.get("source_profile"),
            "session_name": hops[-1].session_name or _known_user(login), "hops": len(hops),
            "cache_file": str(path) if path else None}


def _cache_file(hops: list[Hop], login: str, base: Profile):
    """Where the last hop's credentials are cached, if every session name is known without a call."""
    user = _known_user(login)
    if not user and not all(h.session_name for h in hops):
        return None
    key: dict = {"sso": [login, base.account_id, base.role_name]}
    for hop in hops:
        key = _cache_args(hop, hop.session_name or user or "", key)
    return paths.chained_cache_file(key)


# --- session names -------------------------------------------------------------------------

def _known_user(login: str) -> str | None:
    users = cache.read_json(paths.sso_users_file())
    name = users.get(login) if isinstance(users, dict) else None
    return name if isinstance(name, str) and SESSION_NAME.fullmatch(name) else None


def _remember_user(login: str, name: str) -> None:
    # no lock: two processes racing here write the same name
    users = cache.read_json(paths.sso_users_file())
    users = users if isinstance(users, dict) else {}
    users[login] = name
    cache.atomic_write_json(paths.sso_users_file(), users)


def fallback_session_name() -> str:
    """`ssoenv-<local user>`, cut to what STS accepts."""
    import getpass

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "user"
    return sanitize(f"ssoenv-{user}")


def sanitize(name: str) -> str:
    """`name` with every character STS refuses as `-`, cut to 64 (at least 2 characters)."""
    cleaned = re.sub(r"[^\w+=,.@-]", "-", name, flags=re.ASCII)[:64]
    return cleaned if len(cleaned) >= 2 else "ssoenv"


def user_session_name(login: str, sso_creds: RoleCredentials, region: str | None) -> str:
    """The SSO user's name: the session name of the SSO role's caller identity
    (`…:assumed-role/AWSReservedSSO_<set>_<id>/<user>`), looked up once per login."""
    known = _known_user(login)
    if known:
        return known
    from ssoenv import identity

    try:
        arn = identity.caller_identity(dict(sso_creds), region).get("Arn", "")
    except SsoenvError as exc:
        log.info("GetCallerIdentity failed (%s); the session name is %s", exc.message, fallback_session_name())
        return fallback_session_name()
    parts = arn.split(":assumed-role/", 1)[-1].split("/")
    if ":assumed-role/" not in arn or len(parts) < 2 or not parts[-1]:
        return fallback_session_name()
    name = sanitize(parts[-1])
    try:
        _remember_user(login, name)
    except (OSError, SsoenvError) as exc:
        log.debug("could not keep the SSO user name: %s", exc)
    return name


# --- credentials ----------------------------------------------------------------------------

def _cache_args(hop: Hop, session_name: str, source: dict) -> dict:
    return {"RoleArn": hop.role_arn, "RoleSessionName": session_name, "ExternalId": hop.external_id,
            "DurationSeconds": _duration(hop, quiet=True), "Source": source}


def _duration(hop: Hop, *, quiet: bool = False) -> int | None:
    if hop.duration and hop.duration > MAX_CHAINED_DURATION:
        if not quiet:
            import sys

            print(f"ssoenv: profile {printable(hop.profile)}: duration_seconds {hop.duration} is above the "
                  f"1 hour STS allows a chained role; asking for {MAX_CHAINED_DURATION}", file=sys.stderr)
        return MAX_CHAINED_DURATION
    return hop.duration


def _source_label(hops: list[Hop], i: int, base: Profile) -> str:
    if i == 0:
        return (f"SSO role {printable(base.role_name or '')} in {base.account_id} "
                f"(profile {printable(base.name)})")
    return f"{hops[i - 1].role_arn} (profile {printable(hops[i - 1].profile)})"


def credentials(config: AwsConfig, name: str, *, min_valid: float, source) -> RoleCredentials:
    """Credentials of the chained profile `name`: cached while `min_valid` seconds
    remain, else assumed hop by hop. `source(profile, fresh)` gives the role
    credentials of the SSO profile at the chain's end (ssoenv.creds: cached, or
    `fresh` from the portal)."""
    hops, base = resolve(config, name)
    login = login_key(base)
    session = config.sessions.get(base.sso_session or "")
    sso_region = session.region if session else None
    source_key: dict = {"sso": [login, base.account_id, base.role_name]}
    path = _cache_file(hops, login, base)  # the cached path: no call at all
    found = cache.read_credentials(path, "assume-role", min_valid) if path else None
    if found:
        return found
    try:
        return _assume_chain(hops, base, login, source(base, False), source_key, min_valid, sso_region)
    except SsoenvError as exc:
        if getattr(exc, "code", "") not in ("ExpiredToken", "InvalidClientTokenId"):
            raise
    # the SSO role's cached credentials were no good to STS (revoked, another emulator): once more, fresh
    return _assume_chain(hops, base, login, source(base, True), source_key, min_valid, sso_region, fresh=True)


def _assume_chain(hops: list[Hop], base: Profile, login: str, source: RoleCredentials, source_key: dict,
                  min_valid: float, sso_region: str | None, fresh: bool = False) -> RoleCredentials:
    from ssoenv import identity

    # STS is regional: the hub profile's region, else its login's (the same partition)
    region = base.region or base.values.get("sso_region") or sso_region
    user = None
    key = source_key
    current = source
    for i, hop in enumerate(hops):
        session_name = hop.session_name
        if session_name is None:
            user = user or user_session_name(login, source, region)
            session_name = user
        key = _cache_args(hop, session_name, key)
        path = paths.chained_cache_file(key)
        found = None if fresh else cache.read_credentials(path, "assume-role", min_valid)
        if found:
            current = found
            continue
        try:
            raw = identity.assume_role(dict(current), region, role_arn=hop.role_arn, session_name=session_name,
                                       external_id=hop.external_id, duration=_duration(hop))
        except identity.ApiError as exc:
            if exc.code in ("AccessDenied", "AccessDeniedException", "ForbiddenException"):
                raise identity.ApiError(exc.code, f"profile {printable(hops[-1].profile)}: "
                                        f"{_source_label(hops, i, base)} may not assume {hop.role_arn} "
                                        "(AccessDenied: the role's trust policy does not name it)") from None
            raise
        current = {"AccessKeyId": raw["AccessKeyId"], "SecretAccessKey": raw["SecretAccessKey"],
                   "SessionToken": raw["SessionToken"], "Expiration": cache.format_time(raw["Expiration"]),
                   "AccountId": hop.account_id}
        cache.atomic_write_json(path, {"ProviderType": "assume-role", "Credentials": current})
    return current
