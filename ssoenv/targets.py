"""From what the user typed to exactly one catalog entry.

TARGET is a profile name, ACCOUNT/ROLE (account name or id), an account id, or
words that must match exactly one entry, in every command that takes one; an exact
name wins over a partial match (the order is in `resolve`, the one place that
decides). --account/--role/--sso-session is the unambiguous form (names may hold
`/` or anything else).
"""

from __future__ import annotations

import os

from ssoenv.catalog import ChainedEntry, Entry
from ssoenv.errors import LoginRequired, SsoenvError, UsageError
from ssoenv.shellout import printable
from ssoenv.text import is_account_id

MAX_LISTED = 10


def add_target_arguments(p, *, one_word: bool = False) -> None:
    """TARGET is one or several words (`member read`: one query), for every command;
    named() joins them. `one_word`: exec, whose command may follow TARGET without --."""
    p.add_argument("target", nargs="?" if one_word else "*", metavar="TARGET",
                   help="profile, ACCOUNT/ROLE, account id, or words matching one entry")
    p.add_argument("--account", metavar="ID_OR_NAME", help="account id or exact name")
    p.add_argument("--role", metavar="ROLE", help="role (permission set) name")
    p.add_argument("--sso-session", metavar="NAME", help="only entries of this sso-session")


def _joined(target):
    """TARGET's words (`ssoenv use prod read`) as one query; None for no words."""
    if isinstance(target, list):
        return " ".join(target) if target else None
    return target


def join_words(args) -> None:
    """args.target as one query, or None."""
    args.target = _joined(args.target)


class NoMatch(SsoenvError):
    """No entry matches the target (not: several do, which is a UsageError)."""


def _describe(entry: Entry) -> str:
    profile = f" (profile {printable(entry.profile)})" if entry.profile else ""
    return (f"{printable(entry.account_name) or '?'} {entry.account_id} {printable(entry.role)} "
            f"[{printable(entry.sso_session)}]{profile}")


def _one(matches: list[Entry], what: str) -> Entry:
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise NoMatch(f"no account/role matches {printable(what)}",
                      hint="see `ssoenv list`; run `ssoenv sync` if it is new")
    listed = "\n  ".join(_describe(e) for e in matches[:MAX_LISTED])
    more = f"\n  ... and {len(matches) - MAX_LISTED} more" if len(matches) > MAX_LISTED else ""
    raise UsageError(f"{printable(what)} matches {len(matches)} entries; be more specific\n  {listed}{more}",
                     hint="use --account ID --role ROLE (and --sso-session NAME) to name one exactly")


def _account_matches(entry: Entry, account: str) -> bool:
    return entry.account_id == account or entry.account_name == account


def _named_in(words: str, name: str) -> bool:
    """`name` is, case aside, one word or a run of whole words of `words`."""
    return bool(name) and f" {' '.join(name.lower().split())} " in f" {words} "


def resolve(entries: list[Entry], target: str | None = None, *, account: str | None = None,
            role: str | None = None, sso_session: str | None = None) -> Entry:
    """The one entry the target names. The first of these steps that finds any entry
    decides, so an exact name always wins over a partial match:

    1. --account and --role, exactly;
    2. a profile name;
    3. ACCOUNT/ROLE (account name or id; any '/' may be the split);
    4. an account id, 5. an account name (either: its only role);
    6. words: the entries holding every word; of those, the ones whose account (name
       or id) the words name whole, then of those, the ones whose role they name whole
       (`prod read` is prod's ReadOnlyAccess, not prod-eu's).
    """
    if sso_session:
        entries = [e for e in entries if e.sso_session == sso_session]
    if account or role:
        if target:
            raise UsageError("give either TARGET or --account/--role, not both")
        if not account or not role:
            raise UsageError("--account and --role go together")
        matches = [e for e in entries if _account_matches(e, account) and e.role == role]
        return _one(matches, f"--account {account!r} --role {role!r}")
    if target is None:
        raise UsageError("say which account/role: TARGET, or --account and --role")
    if not target.strip():
        raise UsageError("the target is empty")
    by_profile = [e for e in entries if e.profile == target]
    if by_profile:
        return by_profile[0]
    if "/" in target:  # try every split: account names and roles may hold '/'
        matches = []
        for i, ch in enumerate(target):
            if ch == "/":
                acct, rl = target[:i], target[i + 1:]
                matches += [e for e in entries if _account_matches(e, acct) and e.role == rl]
        if matches:
            return _one(list(dict.fromkeys(matches)), repr(target))
    if is_account_id(target):
        return _one([e for e in entries if e.account_id == target], f"account {target}")
    exact = [e for e in entries if e.account_name == target]
    if exact:
        return _one(exact, repr(target))
    words = target.lower().split()
    matches = [e for e in entries
               if all(w in f"{e.account_name} {e.account_id} {e.role} {e.profile or ''} {e.sso_session}".lower()
                      for w in words)]
    joined = " ".join(words)
    for named_whole in (lambda e: _named_in(joined, e.account_name) or _named_in(joined, e.account_id),
                        lambda e: _named_in(joined, e.role)):
        matches = [e for e in matches if named_whole(e)] or matches
    return _one(matches, repr(target))


def active() -> tuple[str, str, str] | None:
    """(sso_session, account id, role) the shell is switched to, from SSOENV_*."""
    session, account, role = (os.environ.get(k) for k in ("SSOENV_SESSION", "SSOENV_ACCOUNT_ID", "SSOENV_ROLE"))
    if session and account and role:
        return (session, account, role)
    return None


def _resolve_fetching(config, target, account, role, session, interactive) -> Entry:
    """`resolve` over the catalog. When nothing matches and a login has no account
    list yet (its token expired and could not be renewed silently), fetch that list,
    logging in if `interactive` allows, and resolve again; if it still cannot be
    fetched, say why (e.g. the login to run) rather than "no match"."""
    from ssoenv import catalog, sync, terminal

    failed: dict = {}
    data = sync.load_fresh(config, failed)
    pending = {catalog.login_key(s): s for s in catalog.unlisted(config, data)
               if not session or catalog.login_key(s) == session}
    try:
        return resolve(catalog.entries(config, data), target, account=account, role=role, sso_session=session)
    except UsageError:
        raise
    except SsoenvError:
        if not pending:
            raise
    can_login = terminal.is_interactive() if interactive is None else interactive
    # Not tried yet (a login is needed), or refused a silent renewal where a login can
    # follow now. A list whose fetch broke otherwise is not fetched twice.
    retry = {name: s for name, s in pending.items()
             if name not in failed or can_login and isinstance(failed[name], LoginRequired)}
    for name in retry:
        failed.pop(name, None)
    failed.update(sync.fetch_lists(config, list(retry.values()), interactive=can_login))
    try:
        return resolve(catalog.entries(config, catalog.load()), target, account=account, role=role,
                       sso_session=session)
    except UsageError:
        raise
    except SsoenvError:
        # "log in to X" says more than "no match" while X's list is unknown (a fetch
        # that broke otherwise was already reported as a warning)
        logins = [failed[name] for name in pending if isinstance(failed.get(name), LoginRequired)]
        if logins:
            raise logins[0] from None
        raise


def named(args) -> dict:
    """What a command's TARGET/--account/--role/--sso-session arguments say, as
    keyword arguments for `select` (TARGET's words joined)."""
    return {"target": _joined(getattr(args, "target", None)), "account": getattr(args, "account", None),
            "role": getattr(args, "role", None), "sso_session": getattr(args, "sso_session", None)}


def select(config, target: str | None = None, *, account: str | None = None, role: str | None = None,
           sso_session: str | None = None, default_active: bool, need_name: bool = True,
           interactive: bool | None = None, listed: bool = False) -> Entry:
    """The entry TARGET (or `account` and `role`) names, in `sso_session` if given.

    Without them, the shell's active entry (SSOENV_*), or the profile in
    AWS_PROFILE, when `default_active`. The catalog is read only when needed:
    a profile, or an account id with a role, name their entry exactly, so
    without `need_name` (the account's display name) `exec` never reads it.

    When nothing matches and a login has no account list yet, it is fetched
    (logging in only if `interactive` allows it: None, when a human is at a
    terminal) and the target resolved again; a login needed that cannot run
    here is LoginRequired (exit 3), not "no match".

    `listed`: the entry must be in the account list, whatever names it (the console's
    link makes no call that would refuse an account or role the user cannot reach).
    """
    if not config.sessions:
        from ssoenv import awsconfig, catalog

        if not catalog.logins(config):  # nothing configured: no target can exist
            raise awsconfig.no_sessions_error(config)
    session = sso_session
    if target is None and not account and not role and default_active:
        current = active()
        if current and (not session or session == current[0]):
            profile = os.environ.get("SSOENV_PROFILE") or None
            # a chained role's entry keys on its profile too (the history, the picker's mark)
            kind = ChainedEntry if profile in config.profiles and "role_arn" in config.profiles[profile].values \
                else Entry
            return kind(current[0], current[1], os.environ.get("SSOENV_ACCOUNT_NAME", ""), current[2], profile,
                        os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None)
        profile = os.environ.get("AWS_PROFILE")
        if profile and profile in config.profiles and (config.profiles[profile].is_sso
                                                       or "role_arn" in config.profiles[profile].values):
            target = profile
        else:
            raise UsageError("no account/role is active in this shell",
                             hint="give a TARGET (or --account and --role), or switch first with Ctrl-A "
                                  "/ `ssoenv use`")
    if target is not None and target in config.profiles and not account and not role:
        p = config.profiles[target]
        if "role_arn" in p.values:  # a chained role (ssoenv.chain): its errors name the profile
            from ssoenv import catalog

            return catalog.chained_entry(config, target,
                                         catalog._account_names(catalog.load()) if need_name else None)
        if p.is_sso and p.account_id and p.role_name:
            name = ""
            from ssoenv import catalog
            session_key = catalog.profile_key(config, p)
            if need_name or listed:
                known = catalog.cached_entries(session_key)
                name = next((e.account_name for e in known if e.account_id == p.account_id), "")
                if listed and not any(e.account_id == p.account_id and e.role == p.role_name for e in known):
                    raise NoMatch(f"profile {printable(p.name)} names {p.account_id}/{printable(p.role_name)}, "
                                  "which is not in the account list",
                                  hint="see `ssoenv list`; run `ssoenv sync` if it is new")
            return Entry(session_key, p.account_id, name, p.role_name, p.name, p.region)
    if not need_name and not listed and account and role and is_account_id(account) and not target:
        from ssoenv import awsconfig
        (sso,) = awsconfig.choose_sessions(config, session=session)
        profile = next((p for p in config.sso_profiles() if p.account_id == account and p.role_name == role
                        and (p.sso_session or p.name) == sso.name), None)
        return Entry(sso.name, account, "", role, profile.name if profile else None,
                     profile.region if profile else None)
    try:
        return _resolve_fetching(config, target, account, role, session, interactive)
    except UsageError:
        raise
    except SsoenvError:
        # An exact account id and role need no catalog: try the portal with them.
        if account and role and is_account_id(account) and not listed:
            from ssoenv import awsconfig
            (sso,) = awsconfig.choose_sessions(config, session=session)
            return Entry(sso.name, account, "", role)
        raise
