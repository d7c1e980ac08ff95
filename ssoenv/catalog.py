"""Accounts x roles x profiles: the entries `list`, `pick` and `use` work on.

The account list of each sso-session is cached in one JSON file (0600, atomic)
with the time it was fetched. When to fetch it (first use, background refresh of a
stale list) is the sync's business: ssoenv.sync.load_fresh. This module never
touches the network.

Each save gives the file a new generation, a random token written first so that
it can be read without parsing the rest: what is derived from the catalog (the
rendered listings of ssoenv.listing) names the generation it was made from.
"""

from __future__ import annotations

import contextlib
import gc
from collections import namedtuple
from operator import itemgetter

from ssoenv import cache, paths
from ssoenv.awsconfig import AwsConfig, SsoSession
from ssoenv.log import get_logger

log = get_logger(__name__)

CATALOG_VERSION = 1
_GENERATION_PREFIX = b'{"generation":"'
_GENERATION_LENGTH = 32  # hex digits


class Entry(namedtuple("Entry", "sso_session account_id account_name role profile region",
                       defaults=(None, None))):
    """One account x role (and its profile, if the config has one)."""

    __slots__ = ()

    # (sso_session, account_id, role), in C: the picker and list read it for every entry
    key = property(itemgetter(0, 1, 3))

    def as_json(self) -> dict:
        return {"sso_session": self.sso_session, "account_id": self.account_id,
                "account_name": self.account_name, "role": self.role, "profile": self.profile}


class ChainedEntry(Entry):
    """The entry of a chained role (role_arn + source_profile: ssoenv.chain). Its key
    names the profile too: two chained profiles may reach one account and role."""

    __slots__ = ()

    key = property(itemgetter(0, 1, 3, 4))


def chained_entry(config: AwsConfig, name: str, account_names: dict[str, str] | None = None) -> Entry:
    """The chained profile `name` as an entry: the chained account and role, in the
    login of the SSO profile its chain starts from. Errors name the profile."""
    from ssoenv import chain

    hops, base = chain.resolve(config, name)
    last = hops[-1]
    # an account IAM Identity Center does not list goes by the profile's name (prompt, picker)
    account_name = (account_names or {}).get(last.account_id) or name
    return ChainedEntry(profile_key(config, base), last.account_id, account_name, last.role, name,
                        config.profiles[name].region)


def chained_entries(config: AwsConfig, data: dict, names: dict[str, str] | None = None) -> list[Entry]:
    """Every chained profile that reaches an SSO profile of a current login (a broken
    chain is left out here; naming it as a target says what is wrong). `names`:
    account_names(data), when at hand (from a listing's rows)."""
    from ssoenv import chain
    from ssoenv.errors import SsoenvError

    chained = list(chain.sources(config))
    if not chained:
        return []
    if names is None:
        names = account_names(data)
    current, out = current_logins(config), []
    for name in chained:
        try:
            found = chained_entry(config, name, names)
        except SsoenvError as exc:
            log.debug("profile %s is not a target: %s", name, exc.message)
            continue
        if found.sso_session in current:
            out.append(found)
    return out


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


@contextlib.contextmanager
def no_gc():
    """The cyclic garbage collector paused for the block. Parsing 10,000 accounts and
    building 30,000 entries allocates only acyclic containers, yet every 700 of them
    start a collection that walks what came before: a third of `list`'s time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            # What the block made is all in the youngest generation: the first collection
            # after it would walk every object (~30 ms for 30,000 entries). Kept out of
            # the collector instead (refcounting still frees them: they hold no cycles).
            gc.freeze()
            gc.enable()


def load() -> dict:
    with no_gc():
        data = cache.read_json(paths.catalog_file())
    if not isinstance(data, dict) or data.get("version") != CATALOG_VERSION:
        return {"version": CATALOG_VERSION, "sessions": {}}
    if not isinstance(data.get("sessions"), dict):
        data["sessions"] = {}
    return data


def save(data: dict) -> None:
    """Write the catalog under a new generation (data["generation"] is set to it), each
    login's accounts in the order the listings show them."""
    import os

    for record in data.get("sessions", {}).values():
        if isinstance(record, dict):
            _put_in_listing_order(record)
    data["generation"] = os.urandom(_GENERATION_LENGTH // 2).hex()
    # the generation first, where generation() reads it (json.dumps keeps key order)
    ordered = {"generation": data["generation"], **{k: v for k, v in data.items() if k != "generation"}}
    cache.atomic_write_json(paths.catalog_file(), ordered, compact=True)


def _put_in_listing_order(record: dict) -> None:
    """Sort a login's accounts as the listings show them (name ignoring case, then id),
    and each one's roles, and mark the record "sorted": a listing of that login alone
    then needs no sort of its 30,000 entries (in_listing_order)."""
    record.pop("sorted", None)
    accounts = record.get("accounts")
    if not isinstance(accounts, list):
        return
    try:
        accounts.sort(key=lambda a: (a["name"].lower(), a["id"]))
        for account in accounts:
            if not all(isinstance(role, str) for role in account["roles"]):
                return
            account["roles"] = sorted(account["roles"])
    except (AttributeError, KeyError, TypeError):
        return  # a hand-edited record: the listing sorts it
    record["sorted"] = 1


def in_listing_order(data: dict, entries: list[Entry]) -> bool:
    """True when `entries` are exactly one login's record as save() put it in listing
    order: none from another login, no profile the catalog does not know."""
    if not entries:
        return True
    name = entries[0][0]
    record = data["sessions"].get(name)
    if not (isinstance(record, dict) and record.get("sorted") == 1 and entries[-1][0] == name):
        return False
    try:
        return sum(map(len, map(itemgetter("roles"), record["accounts"]))) == len(entries)
    except (KeyError, TypeError):
        return False


def count(data: dict, logins: set[str]) -> int:
    """How many account x role entries the catalog has for `logins`: the first so many
    of entries() (the rest are profiles it does not know)."""
    total = 0
    for name, record in data["sessions"].items():
        if name in logins:
            for account in record.get("accounts", []):
                try:
                    _, _, roles = account["id"], account["name"], account["roles"]
                except (KeyError, TypeError):
                    continue  # skipped by _account_entries too
                total += len(roles)
    return total


def generation() -> str | None:
    """The generation of the catalog file as it is now, read from its first bytes
    (no parse of the accounts); None if there is no file or it has none (written
    by an older ssoenv, or by hand)."""
    start = len(_GENERATION_PREFIX)
    head = cache.read_head(paths.catalog_file(), start + _GENERATION_LENGTH + 1)
    if head is None or not head.startswith(_GENERATION_PREFIX) or head[-1:] != b'"':
        return None
    token = head[start:-1]
    return token.decode() if len(token) == _GENERATION_LENGTH and token.isalnum() else None


def summary(data: dict) -> dict:
    """The catalog without its account lists: what a reader that needs only the
    logins and their ages (sync.load_fresh) uses."""
    return {"version": data.get("version"), "generation": data.get("generation"),
            "sessions": {name: {k: v for k, v in record.items() if k != "accounts"}
                         for name, record in data["sessions"].items() if isinstance(record, dict)}}


def _session_entries(name: str, record: dict) -> list[Entry]:
    return _account_entries(name, record, {}, {}, set())


def _account_entries(name: str, record: dict, profiles: dict, regions: dict, synced: set) -> list[Entry]:
    """The entries of one login's record, built per account (30,000 entries are read
    at every `list` and picker start: no per-entry function call, no per-entry key).
    Accounts with a profile in `profiles` ((login, account, role) -> name) get it, and
    their keys go to `synced`."""
    out: list[Entry] = []
    add, make = out.append, tuple.__new__
    accounts_with_profiles = {account for login, account, _ in profiles if login == name}
    for account in record.get("accounts", []):
        try:
            account_id, account_name, roles = account["id"], account["name"], account["roles"]
        except (KeyError, TypeError):
            continue  # a hand-edited or corrupt record: skip it, keep the rest
        if account_id in accounts_with_profiles:
            for role in roles:
                profile = profiles.get((name, account_id, role))
                synced.add((name, account_id, role))
                add(Entry(name, account_id, account_name, role, profile, regions.get(profile) if profile else None))
        else:
            for role in roles:
                add(make(Entry, (name, account_id, account_name, role, None, None)))
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
    with no_gc():
        return _entries(config, data)


def profiles_by_role(config: AwsConfig) -> dict[tuple[str, str, str], str]:
    """(login key, account, role) -> the config's profile for it (the first one, when
    several name the same role): what the config adds to the catalog's entries."""
    legacy = legacy_logins(config)
    profiles: dict[tuple[str, str, str], str] = {}
    for profile in config.sso_profiles():
        if profile.account_id and profile.role_name:
            key = (profile_key(config, profile, legacy), profile.account_id, profile.role_name)
            profiles.setdefault(key, profile.name)  # two profiles for one role: the first one wins
    return profiles


def current_logins(config: AwsConfig) -> set[str]:
    """The login keys the config names (entries of other logins are not shown)."""
    return set(config.sessions) | {login_key(s) for s in legacy_logins(config).values()}


def _entries(config: AwsConfig, data: dict) -> list[Entry]:
    profiles = profiles_by_role(config)
    regions = {p.name: p.region for p in config.profiles.values()}
    current = current_logins(config)
    synced: set[tuple] = set()
    result: list[Entry] = []
    for name, record in data["sessions"].items():
        if name in current:  # else the sso-session (or legacy profile) was removed from the config
            result += _account_entries(name, record, profiles, regions, synced)
    missing = [(key, name) for key, name in profiles.items() if key not in synced]
    if missing:
        names = account_names(data)
        result += [Entry(session, account_id, names.get(account_id, ""), role, name, regions.get(name))
                   for (session, account_id, role), name in missing]
    return result + chained_entries(config, data)


def account_names(data: dict) -> dict[str, str]:
    """Account id -> its name (the first login's that lists it, the first time)."""
    names: dict[str, str] = {}
    for record in data["sessions"].values():
        accounts = record.get("accounts", [])
        try:  # in C: 10,000 accounts are kept with every listing's rows
            ids, shown = list(map(itemgetter("id"), accounts)), list(map(itemgetter("name"), accounts))
            names = {**dict(zip(reversed(ids), reversed(shown), strict=True)), **names}
        except (KeyError, TypeError):  # a hand-edited record
            for account in accounts:
                if isinstance(account, dict) and "id" in account:
                    names.setdefault(account["id"], account.get("name", ""))
    return names


def unlisted(config: AwsConfig, data: dict) -> list[SsoSession]:
    """The logins whose account list the catalog does not have."""
    return [s for s in logins(config) if login_key(s) not in data["sessions"]]


_account_names = account_names  # its former name (targets)
