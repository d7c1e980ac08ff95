"""Accounts x roles x profiles: the entries `list`, `pick` and `use` work on.

The account list of each sso-session is cached in one JSON file (0600, atomic)
with the time it was fetched. Readers never wait for the network: when the cache
is older than the TTL they use it at once and start one background `ssoenv sync`.
"""

from __future__ import annotations

import os
import sys
import time
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


def age(data: dict, session_name: str) -> float | None:
    record = data["sessions"].get(session_name)
    if not record or not isinstance(record.get("fetched_at"), (int, float)):
        return None
    return time.time() - record["fetched_at"]


def renewable(session: SsoSession) -> bool:
    """A token that works, or that a refresh token renews without a human."""
    from ssoenv import tokens

    token = tokens.read_token(session)
    return tokens.seconds_left(token) > 60 or tokens.can_refresh(token)


def unlisted(config: AwsConfig, data: dict) -> list[SsoSession]:
    """The logins whose account list the catalog does not have."""
    return [s for s in logins(config) if login_key(s) not in data["sessions"]]


def refresh_in_background(config: AwsConfig, data: dict, ttl: int) -> bool:
    """Start one detached `ssoenv sync` when a logged-in session's list is stale."""
    stale = []
    for session in logins(config):
        entry_age = age(data, login_key(session))
        if entry_age is not None and entry_age < ttl:
            continue
        if renewable(session):  # `sync --no-login` renews a token silently, never more
            stale.append(login_key(session))
    if not stale:
        return False
    lock = paths.lock_dir() / "background-sync.stamp"
    try:  # one background sync a minute at most, however many pickers open
        if time.time() - os.stat(lock).st_mtime < 60:
            return False
    except FileNotFoundError:
        pass
    cache.ensure_private_dir(lock.parent)
    lock.touch()
    import subprocess

    devnull = subprocess.DEVNULL
    subprocess.Popen([sys.executable, "-m", "ssoenv", "sync", "--quiet", "--no-login"],
                     stdin=devnull, stdout=devnull, stderr=devnull, start_new_session=True,
                     close_fds=True)
    log.info("refreshing the account list of %s in the background", ", ".join(stale))
    return True


def fetch_lists(config: AwsConfig, sessions: list[SsoSession], *,
                interactive: bool | None = False) -> dict[str, Exception]:
    """Fetch the account lists of `sessions`, renewing their tokens silently, or
    logging in when `interactive` allows (None: when a human is at a terminal).

    Returns login key -> error for each list that could not be fetched
    (LoginRequired: it needs a login that cannot happen here).
    """
    from ssoenv import sync, terminal
    from ssoenv.errors import SsoenvError

    if interactive is None:
        interactive = terminal.is_interactive()
    failed: dict[str, Exception] = {}
    for session in sessions:
        try:
            sync.sync(config, [session], allow_login=interactive, quiet=True)
        except SsoenvError as exc:
            log.info("no account list for %s: %s", session.label, exc.message)
            failed[login_key(session)] = exc
    return failed


def load_fresh(config: AwsConfig, failed: dict[str, Exception] | None = None) -> dict:
    """The catalog, fetched first for logins that were never synced and whose token
    works or renews silently (no login: that is the caller's decision). A fetch that
    fails is a warning, not a failure: the other lists still serve; `failed`, if
    given, receives login key -> error.

    A stale list is refreshed in the background; only a missing one is worth a wait.
    """
    from ssoenv import settings
    from ssoenv.errors import LoginRequired

    data = load()
    missing = [s for s in unlisted(config, data) if renewable(s)]
    if missing:
        log.info("fetching the account list of %s for the first time", ", ".join(s.label for s in missing))
        errors = fetch_lists(config, missing, interactive=False)
        for name, exc in errors.items():
            if not isinstance(exc, LoginRequired):  # a needed login is the caller's to name
                print(f"ssoenv: could not fetch the account list of {name}: {exc.message}", file=sys.stderr)
        if failed is not None:
            failed.update(errors)
        data = load()
    else:
        refresh_in_background(config, data, settings.get_int("catalog_ttl"))
    return data
