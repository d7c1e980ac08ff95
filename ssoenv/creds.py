"""Role credentials for an entry: the CLI v2 role cache, then the portal.

The cache is the AWS CLI v2's (~/.aws/cli/cache, same key and format), so each
reuses what the other fetched. Credentials are reused while at least MIN_VALID
seconds remain; a 401 from the portal renews the token once and retries.
"""

from __future__ import annotations

import datetime as dt

from ssoenv import cache, paths
from ssoenv.awsconfig import AwsConfig, SsoSession
from ssoenv.catalog import Entry
from ssoenv.errors import SsoenvError
from ssoenv.log import get_logger
from ssoenv.shellout import printable

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hot paths
if TYPE_CHECKING:
    from ssoenv.shapes import RoleCredentials

log = get_logger(__name__)

MIN_VALID = 5 * 60


def session_of(config: AwsConfig, entry: Entry) -> SsoSession:
    if entry.profile and entry.profile in config.profiles:
        if "role_arn" in config.profiles[entry.profile].values:  # chained: the SSO profile's login
            from ssoenv import chain

            return config.session_for_profile(chain.base_profile(config, entry.profile).name)
        return config.session_for_profile(entry.profile)
    from ssoenv import catalog

    return catalog.login_named(config, entry.sso_session) or config.session(entry.sso_session)


def _cache_path(session: SsoSession, entry: Entry):
    if session.legacy:
        return paths.role_cache_file(entry.account_id, entry.role, start_url=session.start_url)
    return paths.role_cache_file(entry.account_id, entry.role, session_name=session.name)


def cached(session: SsoSession, entry: Entry, min_valid: float = MIN_VALID) -> RoleCredentials | None:
    return cache.read_credentials(_cache_path(session, entry), "sso", min_valid)


def fetch(session: SsoSession, entry: Entry, *, interactive: bool | None = None, client=None) -> RoleCredentials:
    """`client`: a portal client of the caller's (exec --each: one paced client for all)."""
    from ssoenv import identity, login

    token = login.ensure_token(session, interactive=interactive)
    try:
        raw = identity.get_role_credentials(session.region, token["accessToken"], entry.account_id, entry.role,
                                            client)
    except identity.Unauthorized:
        log.info("the portal refused the token of %s; renewing it", session.label)
        token = login.ensure_token(session, interactive=interactive, force_refresh=True)
        raw = identity.get_role_credentials(session.region, token["accessToken"], entry.account_id, entry.role,
                                            client)
    except identity.ApiError as exc:
        if exc.code in ("ForbiddenException", "ResourceNotFoundException", "AccessDeniedException"):
            raise SsoenvError(f"no access to {_account_label(entry)} as {printable(entry.role)}",
                              hint="check the account and role with `ssoenv list`; "
                                   "run `ssoenv sync` to update the list") from None
        raise
    expires = dt.datetime.fromtimestamp(raw["expiration"] / 1000, dt.timezone.utc)
    creds: RoleCredentials = {"AccessKeyId": raw["accessKeyId"], "SecretAccessKey": raw["secretAccessKey"],
                              "SessionToken": raw["sessionToken"], "Expiration": cache.format_time(expires),
                              "AccountId": entry.account_id}
    cache.atomic_write_json(_cache_path(session, entry), {"ProviderType": "sso", "Credentials": creds})
    return creds


def _account_label(entry: Entry) -> str:
    """`MemberAccount (111122223333)` when the entry or the catalog knows the name."""
    name = entry.account_name
    if not name:  # `exec --account ID` skips the catalog; an error is worth one read
        from ssoenv import catalog

        name = next((e.account_name for e in catalog.cached_entries()
                     if e.account_id == entry.account_id and e.account_name), "")
    return f"{printable(name)} ({entry.account_id})" if name else f"account {entry.account_id}"


def get(config: AwsConfig, entry: Entry, *, interactive: bool | None = None,
        min_valid: float = MIN_VALID) -> RoleCredentials:
    profile = config.profiles.get(entry.profile) if entry.profile else None
    if profile is not None and "role_arn" in profile.values:  # a chained role (ssoenv.chain)
        from ssoenv import catalog, chain

        def source(base, fresh: bool) -> RoleCredentials:  # the SSO role the chain starts from
            start = Entry(catalog.profile_key(config, base), base.account_id, "", base.role_name, base.name)
            if fresh:
                return fetch(session_of(config, start), start, interactive=interactive)
            return get(config, start, interactive=interactive)

        return chain.credentials(config, profile.name, min_valid=min_valid, source=source)
    session = session_of(config, entry)
    return cached(session, entry, min_valid) or fetch(session, entry, interactive=interactive)


def expiry_epoch(creds: RoleCredentials) -> int:
    when = cache.parse_time(creds.get("Expiration", ""))
    if when is None:
        raise SsoenvError("credentials without a valid expiration")
    return cache.epoch(when)
