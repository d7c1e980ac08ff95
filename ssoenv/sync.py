"""Fetch every account and role of the logged-in sso-sessions into the catalog.

ListAccounts is paged; ListAccountRoles runs for all accounts with bounded
concurrency. botocore's adaptive retry mode paces the calls (a client-side token
bucket that slows down on 429) and retries 429/5xx with jittered backoff, so a
large organisation does not fail on throttling.
"""

from __future__ import annotations

import concurrent.futures
import sys
import threading
import time

from ssoenv import cache, catalog, login, paths, settings, tokens
from ssoenv.awsconfig import AwsConfig, SsoSession
from ssoenv.errors import SsoenvError
from ssoenv.log import get_logger

log = get_logger(__name__)


class _Progress:
    """`name: 120/1000 accounts` on a TTY's stderr, once listing takes a moment."""

    def __init__(self, label: str, total: int, enabled: bool):
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


def fetch_session(session: SsoSession, access_token: str, *, concurrency: int, progress: bool) -> list[dict]:
    from ssoenv import identity

    accounts = list(identity.list_accounts(session.region, access_token, paced=True))
    bar = _Progress(session.label, len(accounts), progress)

    def roles_of(account: dict) -> dict:
        roles = identity.list_account_roles(session.region, access_token, account["accountId"],
                                            max_pool=concurrency, paced=True)
        bar.step()
        return {"id": account["accountId"], "name": account.get("accountName", ""),
                "email": account.get("emailAddress", ""), "roles": sorted(r["roleName"] for r in roles)}

    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            futures = [pool.submit(roles_of, a) for a in accounts]
            try:
                result = [f.result() for f in futures]
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
    finally:
        bar.close()
    result.sort(key=lambda a: (a["name"].lower(), a["id"]))
    return result


def sync(config: AwsConfig, sessions: list[SsoSession], *, allow_login: bool = True,
         quiet: bool = False) -> dict[str, tuple[int, int, int]]:
    """Sync `sessions`; returns name -> (accounts, accounts added, accounts removed)."""
    from ssoenv import identity

    concurrency = settings.get_int("sync_concurrency") or 1
    progress = not quiet and sys.stderr.isatty()
    fetched: dict[str, dict] = {}
    for session in [catalog.canonical(config, s) for s in sessions]:
        token = login.ensure_token(session, interactive=None if allow_login else False)
        try:
            accounts = fetch_session(session, token["accessToken"], concurrency=concurrency, progress=progress)
        except identity.Unauthorized:
            token = login.ensure_token(session, interactive=None if allow_login else False, force_refresh=True)
            accounts = fetch_session(session, token["accessToken"], concurrency=concurrency, progress=progress)
        fetched[catalog.login_key(session)] = {"fetched_at": time.time(), "start_url": session.start_url,
                                 "accounts": accounts}
    report: dict[str, tuple[int, int, int]] = {}
    with cache.file_lock(paths.lock_dir() / "catalog.lock", timeout=30):
        data = catalog.load()  # re-read: another sync may have written meanwhile
        for name, record in fetched.items():
            before = {a.get("id") for a in data["sessions"].get(name, {}).get("accounts", [])
                      if isinstance(a, dict)}
            after = {a["id"] for a in record["accounts"]}
            had = name in data["sessions"]
            data["sessions"][name] = record
            report[name] = (len(after), len(after - before) if had else 0, len(before - after))
        # Sessions this config does not name stay: another AWS_CONFIG_FILE may have
        # them (readers only show the sessions of the config in use).
        catalog.save(data)
    return report


def logged_in_sessions(config: AwsConfig) -> list[SsoSession]:
    """Sessions (and legacy logins) with a usable or silently renewable token."""
    return [s for s in catalog.logins(config) if catalog.renewable(s)]


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
        raise SsoenvError(f"no sso-session in {config.path}", hint="add one with: ssoenv configure (or `ssoenv demo` to try it locally)")
    from ssoenv.errors import ExitStatus
    names = ", ".join(s.label for s in everything)
    commands = " or ".join(tokens.login_command(s) for s in everything)
    raise SsoenvError(f"not logged in to {names}; run: {commands}", ExitStatus.LOGIN_REQUIRED)
