"""Fetch every account and role of the logged-in sso-sessions into the catalog, and
decide when the catalog is fresh enough (the freshness policy readers go through).

ListAccounts is paged; ListAccountRoles runs for all accounts on one client, with
as many calls in flight as the calls' cost makes worth it (see `_workers`). A
pacer shared by the threads (ssoenv.pacing) keeps the calls at the rate the
service allows, learned from its 429s; a throttled call is retried once the
pacer gives it a slot. One sync per start URL at a time: a second one waits for
the first and takes its result.
"""

from __future__ import annotations

import os
import sys
import time

from ssoenv import cache, catalog, paths, tokens
from ssoenv.awsconfig import AwsConfig, SsoSession, no_sessions_error
from ssoenv.errors import SsoenvError
from ssoenv.log import get_logger

log = get_logger(__name__)

PROBE_CALLS = 4          # accounts listed one at a time first, to measure a call
SYNC_LOCK_TIMEOUT = 900  # s: a sync of a very large organisation, or a login, in another process

class _Progress:
    """`name: 120/1000 accounts` on a TTY's stderr, once listing takes a moment."""

    def __init__(self, label: str, total: int, enabled: bool):
        import threading

        self.label, self.total, self.enabled = label, total, enabled
        self.done = 0
        self.started = time.monotonic()
        self.shown = False
        self.lock = threading.Lock()

    def step(self) -> None:
        with self.lock:
            self.done += 1
            if self.enabled and time.monotonic() - self.started > 0.5:
                self.shown = True
                sys.stderr.write(f"\rssoenv: {self.label}: {self.done}/{self.total} accounts")
                sys.stderr.flush()

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def fetch_session(session: SsoSession, access_token: str, *, concurrency: int, progress: bool,
                  stats: dict | None = None) -> list[dict]:
    """Every account of `session` with its roles. `stats`, if given, receives the
    pacer's counts (calls, throttles) and the number of workers used."""
    from ssoenv import identity, pacing

    pacer = pacing.Pacer()
    client = identity.paced_portal(session.region, pacer, max_pool=max(1, concurrency))
    accounts = list(identity.list_accounts(session.region, access_token, client))
    bar = _Progress(session.label, len(accounts), progress)

    def roles_of(account: dict) -> dict:
        roles = identity.list_account_roles(session.region, access_token, account["accountId"], client)
        bar.step()
        return {"id": account["accountId"], "name": account.get("accountName", ""),
                "email": account.get("emailAddress", ""), "roles": sorted(r["roleName"] for r in roles)}

    try:
        result, workers = _list_roles(accounts, roles_of, concurrency)
    finally:
        bar.close()
    log.info("%s: %d accounts in %d calls (%d throttled), %d in flight, paced at %s calls/s",
             session.label, len(accounts), pacer.calls, pacer.throttles, workers,
             f"{pacer.rate:.1f}" if pacer.rate else "no limit")
    if stats is not None:
        stats.update(calls=pacer.calls, throttles=pacer.throttles, workers=workers)
    result.sort(key=lambda a: (a["name"].lower(), a["id"]))
    return result


def _list_roles(accounts: list[dict], roles_of, concurrency: int) -> tuple[list[dict], int]:
    """roles_of(account) for every account: the first few one at a time, measuring
    what a call costs, then the rest with `_workers` calls in flight."""
    probe = min(len(accounts), PROBE_CALLS)
    result, wall, cpu = [], 0.0, 0.0
    for i, account in enumerate(accounts[:probe]):
        started, started_cpu = time.perf_counter(), time.thread_time()
        result.append(roles_of(account))
        if i:  # the first call also opens the connection
            wall += time.perf_counter() - started
            cpu += time.thread_time() - started_cpu
    rest = accounts[probe:]
    workers = _workers(wall, cpu, concurrency)
    if workers <= 1 or len(rest) <= 1:
        return result + [roles_of(a) for a in rest], 1
    import concurrent.futures  # here: `list` and the picker import this module for load_fresh

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(roles_of, a) for a in rest]
        try:
            result.extend(f.result() for f in futures)
        except BaseException:
            for f in futures:
                f.cancel()
            raise
    return result, workers


def _workers(wall: float, cpu: float, limit: int) -> int:
    """Calls worth having in flight: a call that waits (network, server, pacer) for
    N times the CPU it costs here keeps N threads busy; a call that is all CPU (a
    server answering at once) gains nothing from threads but lock contention."""
    limit = max(1, limit)
    if cpu <= 0 or wall <= 0:
        return limit  # nothing measured (tiny organisation, coarse clock): the setting
    return max(1, min(limit, round(wall / cpu)))


def sync(config: AwsConfig, sessions: list[SsoSession], *, allow_login: bool = True,
         quiet: bool = False, stats: dict | None = None) -> dict[str, tuple[int, int, int]]:
    """Sync `sessions`; returns name -> (accounts, accounts added, accounts removed).

    `stats`, if given, receives login key -> what the listing cost (see fetch_session);
    a session whose list another process fetched meanwhile gets {"shared": True}."""
    from ssoenv import settings

    concurrency = settings.get_int("sync_concurrency") or 1
    progress = not quiet and sys.stderr.isatty()
    report: dict[str, tuple[int, int, int]] = {}
    stored = False
    for session in [catalog.canonical(config, s) for s in sessions]:
        name = catalog.login_key(session)
        seen = _fetched_at(catalog.load()["sessions"].get(name), session)
        with cache.file_lock(paths.sync_lock_file(session.start_url), timeout=SYNC_LOCK_TIMEOUT):
            record = catalog.load()["sessions"].get(name)
            fetched_at = _fetched_at(record, session)
            if fetched_at is not None and fetched_at != seen:  # stored while we waited for the lock
                log.info("%s: another ssoenv process has just synced it", session.label)
                report[name] = (len(record.get("accounts", [])), 0, 0)
                if stats is not None:
                    stats[name] = {"shared": True}
                continue
            session_stats: dict = {}
            accounts = _fetch_with_token(session, allow_login=allow_login, concurrency=concurrency,
                                         progress=progress, stats=session_stats)
            report[name] = _store(name, {"fetched_at": time.time(), "start_url": session.start_url,
                                         "accounts": accounts})
            stored = True
            if stats is not None:
                stats[name] = session_stats
    if stored:
        from ssoenv import listing

        listing.refresh(config)  # the listings in use, rendered from the new catalog
    return report


def _fetched_at(record: dict | None, session: SsoSession) -> float | None:
    """When the catalog's list for `session` was fetched (None: no usable list)."""
    if (isinstance(record, dict) and record.get("start_url") == session.start_url
            and isinstance(record.get("fetched_at"), (int, float)) and isinstance(record.get("accounts"), list)):
        return record["fetched_at"]
    return None


def _fetch_with_token(session: SsoSession, *, allow_login: bool, **kwargs) -> list[dict]:
    from ssoenv import identity, login

    interactive = None if allow_login else False
    token = login.ensure_token(session, interactive=interactive)
    try:
        return fetch_session(session, token["accessToken"], **kwargs)
    except identity.Unauthorized:
        token = login.ensure_token(session, interactive=interactive, force_refresh=True)
        return fetch_session(session, token["accessToken"], **kwargs)


def _store(name: str, record: dict) -> tuple[int, int, int]:
    """Put one login's list into the catalog; (accounts, added, removed)."""
    with cache.file_lock(paths.catalog_lock_file(), timeout=30):
        data = catalog.load()  # re-read: another sync may have written meanwhile
        previous = data["sessions"].get(name)
        before = {a.get("id") for a in (previous or {}).get("accounts", []) if isinstance(a, dict)}
        after = {a["id"] for a in record["accounts"]}
        data["sessions"][name] = record
        # Sessions this config does not name stay: another AWS_CONFIG_FILE may have
        # them (readers only show the sessions of the config in use).
        catalog.save(data)
    return (len(after), len(after - before) if previous is not None else 0, len(before - after))


def logged_in_sessions(config: AwsConfig) -> list[SsoSession]:
    """Sessions (and legacy logins) with a usable or silently renewable token."""
    return [s for s in catalog.logins(config) if renewable(s)]


def describe(report: dict[str, tuple[int, int, int]]) -> str:
    parts = []
    for name, (count, added, removed) in report.items():
        changes = []
        if added:
            changes.append(f"{added} new")
        if removed:
            changes.append(f"{removed} removed")
        parts.append(f"{name}: {count} account{'s' if count != 1 else ''}"
                     + (f" ({', '.join(changes)})" if changes else ""))
    return "; ".join(parts)


def require_any(sessions: list[SsoSession], config: AwsConfig) -> None:
    if sessions:
        return
    everything = catalog.logins(config)
    if not everything:
        raise no_sessions_error(config)
    from ssoenv.errors import ExitStatus

    names = ", ".join(s.label for s in everything)
    commands = " or ".join(tokens.login_command(s) for s in everything)
    raise SsoenvError(f"not logged in to {names}; run: {commands}", ExitStatus.LOGIN_REQUIRED)


# --- freshness: when readers fetch, and when they refresh in the background ------------

def age(data: dict, session_name: str) -> float | None:
    record = data["sessions"].get(session_name)
    if not record or not isinstance(record.get("fetched_at"), (int, float)):
        return None
    return time.time() - record["fetched_at"]


def renewable(session: SsoSession) -> bool:
    """A token that works, or that a refresh token renews without a human."""
    token = tokens.read_token(session)
    return tokens.seconds_left(token) > 60 or tokens.can_refresh(token)


def refresh_in_background(config: AwsConfig, data: dict, ttl: int) -> bool:
    """Start one detached `ssoenv sync` when a logged-in session's list is stale."""
    stale = []
    for session in catalog.logins(config):
        entry_age = age(data, catalog.login_key(session))
        if entry_age is not None and entry_age < ttl:
            continue
        if renewable(session):  # `sync --no-login` renews a token silently, never more
            stale.append(catalog.login_key(session))
    if not stale:
        return False
    stamp = paths.background_sync_stamp_file()
    try:  # one background sync a minute at most, however many pickers open
        if time.time() - os.stat(stamp).st_mtime < 60:
            return False
    except FileNotFoundError:
        pass
    cache.ensure_private_dir(stamp.parent)
    stamp.touch()
    import subprocess

    devnull = subprocess.DEVNULL
    subprocess.Popen([sys.executable, "-m", "ssoenv", "sync", "--quiet", "--no-login"],
                     stdin=devnull, stdout=devnull, stderr=devnull, start_new_session=True,
                     close_fds=True)
    log.info("refreshing the account list of %s in the background", ", ".join(stale))
    return True


def fetch_lists(config: AwsConfig, sessions: list[SsoSession], *,
                interactive: bool | None = False) -> dict[str, SsoenvError]:
    """Fetch the account lists of `sessions`, renewing their tokens silently, or
    logging in when `interactive` allows (None: when a human is at a terminal).

    Returns login key -> error for each list that could not be fetched
    (LoginRequired: it needs a login that cannot happen here).
    """
    from ssoenv import terminal

    if interactive is None:
        interactive = terminal.is_interactive()
    failed: dict[str, SsoenvError] = {}
    for session in sessions:
        try:
            sync(config, [session], allow_login=interactive, quiet=True)
        except SsoenvError as exc:
            log.info("no account list for %s: %s", session.label, exc.message)
            failed[catalog.login_key(session)] = exc
    return failed


def fresh_listing(view: str, config: AwsConfig, sso_session: str | None = None,
                  failed: dict[str, Exception] | None = None):
    """load_fresh for one rendered view (ssoenv.listing): (the listing, the catalog).

    While the kept listing is that of the catalog and config as they are, it is used
    as it is, and the catalog is only its summary (no account list parsed); else the
    view is rendered from the fresh catalog, which is then the whole one."""
    from ssoenv import listing

    kept = listing.read(view, config, sso_session)
    data = load_fresh(config, failed, data=kept.summary if kept else None)
    if kept is None or data is not kept.summary:  # nothing kept, or a list was fetched just now
        kept = listing.render(view, config, data, sso_session)
    return kept, data


def load_fresh(config: AwsConfig, failed: dict[str, Exception] | None = None, *,
               data: dict | None = None) -> dict:
    """The catalog, fetched first for logins that were never synced and whose token
    works or renews silently (no login: that is the caller's decision). A fetch that
    fails is a warning, not a failure: the other lists still serve; `failed`, if
    given, receives login key -> error.

    `data`: the catalog as the caller has it (catalog.summary will do); returned as
    is unless a list had to be fetched (then the whole new catalog is).

    A stale list is refreshed in the background; only a missing one is worth a wait.
    """
    from ssoenv import settings
    from ssoenv.errors import LoginRequired

    data = catalog.load() if data is None else data
    missing = [s for s in catalog.unlisted(config, data) if renewable(s)]
    if missing:
        log.info("fetching the account list of %s for the first time", ", ".join(s.label for s in missing))
        errors = fetch_lists(config, missing, interactive=False)
        for name, exc in errors.items():
            if not isinstance(exc, LoginRequired):  # a needed login is the caller's to name
                print(f"ssoenv: could not fetch the account list of {name}: {exc.message}", file=sys.stderr)
        if failed is not None:
            failed.update(errors)
        data = catalog.load()
    else:
        refresh_in_background(config, data, settings.get_int("catalog_ttl"))
    return data
