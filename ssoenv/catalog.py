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
from ssoenv.awsconfig import AwsConfig
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
    for name, record in data["sessions"].items():
        if name not in config.sessions:
            continue  # the sso-session was removed from the config
        for e in _session_entries(name, record):
            synced_keys.add(e.key)
            result.append(e)
    for profile in config.sso_profiles():
        session = profile.sso_session or profile.name
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


def refresh_in_background(config: AwsConfig, data: dict, ttl: int) -> bool:
    """Start one detached `ssoenv sync` when a logged-in session's list is stale."""
    from ssoenv import login

    stale = []
    for name, session in config.sessions.items():
        entry_age = age(data, name)
        if entry_age is not None and entry_age < ttl:
            continue
        if login.seconds_left(login.read_token(session)) > 60:
            stale.append(name)
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


def load_fresh(config: AwsConfig) -> dict:
    """The catalog, fetched first for logged-in sessions that were never synced.

    A stale list is refreshed in the background; only a missing one is worth a wait.
    """
    from ssoenv import login, settings

    data = load()
    missing = [s for name, s in config.sessions.items()
               if name not in data["sessions"] and login.seconds_left(login.read_token(s)) > 60]
    if missing:
        from ssoenv import sync

        log.info("fetching the account list of %s for the first time", ", ".join(s.name for s in missing))
        sync.sync(config, missing, allow_login=False, quiet=True)
        data = load()
    else:
        refresh_in_background(config, data, settings.get_int("catalog_ttl"))
    return data
