"""ssoenv list: one row per account x role."""

from __future__ import annotations

from operator import itemgetter


def configure_parser(p) -> None:
    p.add_argument("--json", action="store_true", help="a JSON list of objects (stable, for scripts)")
    p.add_argument("--refresh", action="store_true", help="sync with the portal first")
    p.add_argument("--sso-session", metavar="NAME", help="only this sso-session")


def run(args) -> int:
    import os
    import sys

    from ssoenv import awsconfig, catalog, sync
    from ssoenv.shellout import printable as _printable

    config = awsconfig.load()
    if args.sso_session:
        config.session(args.sso_session)  # an unknown name is an error, not an empty list
    if args.refresh:
        sessions = [config.session(args.sso_session)] if args.sso_session else sync.logged_in_sessions(config)
        sync.require_any(sessions, config)
        sync.sync(config, sessions)
    failed: dict = {}
    data = catalog.load() if args.refresh else sync.load_fresh(config, failed)
    entries = catalog.entries(config, data)
    if args.sso_session:
        entries = [e for e in entries if e.sso_session == args.sso_session]
    with catalog.no_gc():
        entries = _sorted(entries)
    unlisted = [s for s in catalog.unlisted(config, data)
                if not args.sso_session or catalog.login_key(s) == args.sso_session]
    # Lists not fetched because a login is needed (a failed fetch was a warning already)
    from ssoenv.errors import LoginRequired
    needs_login = [s for s in unlisted if isinstance(failed.get(catalog.login_key(s)), LoginRequired)
                   or catalog.login_key(s) not in failed]
    _say_unlisted(needs_login)
    # Nothing to show: exit 3 when a login is needed, as every command that needs one.
    status = 0 if entries or not unlisted else 3 if needs_login else 1
    if args.json:
        # One C-encoded call; `jq` makes it pretty when a person reads it.
        with catalog.no_gc():
            sys.stdout.write(_json_rows(entries))
        return status
    if not entries:
        if not catalog.logins(config):
            print(f"ssoenv: no sso-session in {config.path}; add one with `ssoenv configure` "
                  "(or `ssoenv demo` to try it locally)", file=sys.stderr)
        elif not unlisted:
            print("ssoenv: no accounts: the portal lists none for you", file=sys.stderr)
        return status
    tty = sys.stdout.isatty()
    if not tty:
        with catalog.no_gc():
            sys.stdout.write(_tsv(entries, _printable))
        return 0
    from ssoenv import targets

    current = targets.active()
    rows = [("", "ACCOUNT", "ID", "ROLE", "PROFILE", "SESSION")]
    for e in entries:
        mark = "*" if current == e.key else ""
        rows.append((mark, _printable(e.account_name), e.account_id, _printable(e.role),
                     _printable(e.profile or "-"), _printable(e.sso_session)))
    from ssoenv import text

    sys.stdout.write(text.table(rows, width=os.get_terminal_size().columns))
    return 0


# 30,000 entries: the per-row work below runs in C (map, zip, join), not in a Python loop.

def _sorted(entries: list) -> list:
    """By account name (case-insensitive), id, role, session."""
    names = map(str.lower, map(itemgetter(2), entries))
    keys = sorted(zip(names, map(itemgetter(1), entries), map(itemgetter(3), entries),
                      map(itemgetter(0), entries), range(len(entries)), strict=True))
    return list(map(entries.__getitem__, map(itemgetter(4), keys)))


_JSON_ROW = '{{"sso_session": {}, "account_id": {}, "account_name": {}, "role": {}, "profile": {}}}'


def _json_rows(entries: list) -> str:
    """What json.dumps(list of row objects, ensure_ascii=False) writes, byte for byte,
    each distinct value encoded once (names repeat once per role)."""
    import json
    from json.encoder import encode_basestring  # C; ensure_ascii=False's string encoder

    columns = []
    for i in range(5):  # sso_session, account_id, account_name, role, profile
        column = list(map(itemgetter(i), entries))
        encoded = {v: encode_basestring(v) if isinstance(v, str) else json.dumps(v) for v in set(column)}
        columns.append(map(encoded.__getitem__, column))
    return "[" + ", ".join(map(_JSON_ROW.format, *columns)) + "]\n"


def _tsv(entries: list, printable) -> str:
    """NAME, ID, ROLE, PROFILE (or -), SESSION per line; names escaped (control
    characters, tabs and newlines can come from the network)."""
    profiles = list(map(itemgetter(4), entries))
    columns = [list(map(itemgetter(2), entries)), map(itemgetter(1), entries),
               list(map(itemgetter(3), entries)), list(map({None: "-"}.get, profiles, profiles)),
               list(map(itemgetter(0), entries))]
    for i in (0, 2, 3, 4):
        if not "".join(columns[i]).isprintable():  # rare: escape each distinct value once
            shown = {v: printable(v) for v in set(columns[i])}
            columns[i] = map(shown.__getitem__, columns[i])
    return "".join(map("{}\t{}\t{}\t{}\t{}\n".format, *columns))


def _say_unlisted(sessions) -> None:
    """One line per login whose accounts are missing from the list, with the command to run."""
    import sys

    from ssoenv import tokens

    for session in sessions:
        state = "its SSO session has expired" if tokens.read_token(session) else "not logged in"
        print(f"ssoenv: no accounts of {session.label} ({state}); run: {tokens.login_command(session)}",
              file=sys.stderr)
