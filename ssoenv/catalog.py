"""Accounts x roles x profiles: the entries `list`, `pick` and `use` work on.

The account list of each sso-session is cached in one JSON file (0600, atomic)
with the time it was fetched. When to fetch it (first use, background refresh of a
stale list) is the sync's business: ssoenv.sync.load_fresh. This module never
touches the network.
"""

from __future__ import annotations

from collections import namedtuple

from ssoenv import cache, paths
from ssoenv.awsconfig import AwsConfig, SsoSession
from ssoenv.log import get_logger

log = get_logger(__name__)

CATALOG_VERSION = 1


class Entry(namedtuple("Entry", "sso_session account_id account_name role profile region",
                       defaults=(None, None))):
    """One account x role (and its profile, if the config has one)."""

    __slots__ = ()

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.sso_session, self.account_id, self.role)

    def as_json(self) -> dict:
        return {"sso_session": self.sso_session, "account_id": self.account_id,
                "account_name": self.account_name, "role": self.role, "profile": self.profile}


def legacy_logins(config: AwsConfig) -> dict[str, SsoSession]:
    """Start URL -> the login its legacy profiles share (one token per start URL),
    named after the first of them. Legacy: sso_start_url/sso_region in the profile."""
    out: dict[str, SsoSession] = {}
    for profile in config.sso_profiles():
        url, region = profile.values.get("sso_start_url"), profile.values.get("sso_region")
        if not profile.sso_session and url and region and url not in out:
            out[url] = SsoSession(profile.name, url, region, legacy=True)
    return out


def logins(config: AwsConfig) -> list[SsoSession]:
    """Everything one can log in to: the sso-sessions, then the legacy start URLs."""
    return list(config.sessions.values()) + list(legacy_logins(config).values())


def login_key(session: SsoSession) -> str:
    """The login's name in the catalog and in entries: the sso-session's name, or
    `profile NAME` for a legacy login (which no sso-session name can be)."""
    return session.label if session.legacy else session.name


def canonical(config: AwsConfig, session: SsoSession) -> SsoSession:
    """Legacy profiles of one start URL share one login: the one `legacy_logins` names."""
    if not session.legacy:
        return session
    return legacy_logins(config).get(session.start_url, session)


def profile_key(config: AwsConfig, profile, legacy: dict[str, SsoSession] | None = None) -> str:
    """The catalog key of the login a profile uses (`legacy`: `legacy_logins`, if at hand)."""
    if profile.sso_session:
        return profile.sso_session
    login = (legacy_logins(config) if legacy is None else legacy).get(profile.values.get("sso_start_url"))
    return login_key(login) if login else profile.name


def login_named(config: AwsConfig, name: str) -> SsoSession | None:
    """The login whose catalog key is `name` (an sso-session, or `profile NAME`)."""
    if name in config.sessions:
        return config.sessions[name]
    return next((s for s in legacy_logins(config).values() if login_key(s) == name), None)


def choose_login(config: AwsConfig, *, session: str | None = None, profile: str | None = None) -> SsoSession:
    """What `awsconfig.choose_sessions` picks; in a config without any sso-session,
    its only legacy login (several: say which with --profile)."""
    from ssoenv import awsconfig
    from ssoenv.errors import SsoenvError, UsageError

    try:
        (chosen,) = awsconfig.choose_sessions(config, session=session, profile=profile)
        return chosen
    except SsoenvError:
        legacy = list(legacy_logins(config).values())
        if session or profile or config.sessions or not legacy:
            raise
    if len(legacy) == 1:
        return legacy[0]
    names = ", ".join(s.name for s in legacy)
    raise UsageError(f"several legacy SSO profiles with different start URLs ({names}): "
                     "say which with --profile NAME")


def load() -> dict:
    data = cache.read_json(paths.catalog_file())
    if not isinstance(data, dict) or data.get("version") != CATALOG_VERSION:
        return {"version": CATALOG_VERSION, "sessions": {}}
    if not isinstance(data.get("sessions"), dict):
        data["sessions"] = {}
    return data


def save(data: dict) -> None:
    cache.atomic_write_json(paths.catalog_file(), data, compact=True)


def _session_entries(name: str, record: dict) -> list[Entry]:
    out = []
    for account in record.get("accounts", []):
        try:
            account_id, account_name, roles = account["id"], account["name"], account["roles"]
        except (KeyError, TypeError):
            continue  # a hand-edited or corrupt record: skip it, keep the rest
        for role in roles:
            out.append(Entry(name, account_id, account_name, role))
    return out


def cached_entries(session_name: str | None = None) -> list[Entry]:
    """Catalog entries without profiles (no config read)."""
    sessions = load()["sessions"]
    names = [session_name] if session_name else list(sessions)
    return [e for n in names if n in sessions for e in _session_entries(n, sessions[n])]


def entries(config: AwsConfig, data: dict | None = None) -> list[Entry]:
    """Every account x role, each with its profile when the config has one.

    Profiles whose account/role the catalog does not know (not synced yet, legacy
    start-URL profiles) are entries too.
    """
    data = data if data is not None else load()
    by_key: dict[tuple, str] = {}
    extra: list[Entry] = []
    names: dict[str, str] = {}
    for record in data["sessions"].values():
        for account in record.get("accounts", []):
            if isinstance(account, dict) and "id" in account:
                names.setdefault(account["id"], account.get("name", ""))
    synced_keys = set()
    result: list[Entry] = []
    legacy = legacy_logins(config)
    current = set(config.sessions) | {login_key(s) for s in legacy.values()}
    for name, record in data["sessions"].items():
        if name not in current:
            continue  # the sso-session (or legacy profile) was removed from the config
        for e in _session_entries(name, record):
            synced_keys.add(e.key)
            result.append(e)
    for profile in config.sso_profiles():
        session = profile_key(config, profile, legacy)
        if not profile.account_id or not profile.role_name:
            continue
        key = (session, profile.account_id, profile.role_name)
        if key in by_key:
            continue  # two profiles for one role: the first one wins, like in a picker
        by_key[key] = profile.name
        if key not in synced_keys:
            extra.append(Entry(session, profile.account_id, names.get(profile.account_id, ""),
                               profile.role_name, profile.name, profile.region))
    regions = {p.name: p.region for p in config.profiles.values()}
    merged = [e._replace(profile=by_key[e.key], region=regions.get(by_key[e.key]))
              if e.key in by_key else e for e in result]
    return merged + extra


def unlisted(config: AwsConfig, data: dict) -> list[SsoSession]:
    """The logins whose account list the catalog does not have."""
    return [s for s in logins(config) if login_key(s) not in data["sessions"]]
