"""ssoenv list: one row per account x role."""

from __future__ import annotations


def configure_parser(p) -> None:
    p.add_argument("--json", action="store_true", help="a JSON list of objects (stable, for scripts)")
    p.add_argument("--refresh", action="store_true", help="sync with the portal first")
    p.add_argument("--sso-session", metavar="NAME", help="only this sso-session")
    p.epilog = ("A missing list is fetched first (renewing the token silently); a login whose list needs "
                "a login is named with its command. Exit status 3 when nothing can be listed without a login.")


def run(args) -> int:
    import os
    import sys

    from ssoenv import awsconfig, catalog, listing, sync

    config = awsconfig.load()
    if not catalog.logins(config):
        raise awsconfig.no_sessions_error(config)  # nothing configured: exit 1, like every command
    if args.sso_session:
        config.session(args.sso_session)  # an unknown name is an error, not an empty list
    if args.refresh:
        sessions = [config.session(args.sso_session)] if args.sso_session else sync.logged_in_sessions(config)
        sync.require_any(sessions, config)
        sync.sync(config, sessions)  # which renders the listings again
    tty = not args.json and sys.stdout.isatty()
    failed: dict = {}
    body: bytes | memoryview
    if tty:  # a person reading a table: the entries themselves
        data = sync.load_fresh(config, failed)
        with catalog.no_gc():
            entries = catalog.entries(config, data)
            if args.sso_session:
                entries = [e for e in entries if e.sso_session == args.sso_session]
            entries = listing.ordered(entries)
        count, body = len(entries), b""
    else:  # the rows as rendered for this catalog and config (kept, if nothing changed since)
        kept, data = sync.fresh_listing(listing.JSON if args.json else listing.TSV, config,
                                        args.sso_session, failed)
        count, body = kept.count, kept.body
    unlisted = [s for s in catalog.unlisted(config, data)
                if not args.sso_session or catalog.login_key(s) == args.sso_session]
    # Lists not fetched because a login is needed (a failed fetch was a warning already)
    from ssoenv.errors import LoginRequired
    needs_login = [s for s in unlisted if isinstance(failed.get(catalog.login_key(s)), LoginRequired)
                   or catalog.login_key(s) not in failed]
    _say_unlisted(needs_login)
    # Nothing to show: exit 3 when a login is needed, as every command that needs one.
    status = 0 if count or not unlisted else 3 if needs_login else 1
    if args.json:  # `jq` makes it pretty when a person reads it
        _write(body)
        return status
    if not count:
        if not unlisted:
            print("ssoenv: no accounts: the portal lists none for you", file=sys.stderr)
        return status
    if not tty:
        _write(body)
        return 0
    from ssoenv import targets, text
    from ssoenv.chain import sources
    from ssoenv.shellout import printable

    current, vias, switched = targets.active(), sources(config), os.environ.get("SSOENV_PROFILE")
    rows = [("", "ACCOUNT", "ID", "ROLE", "PROFILE", "SESSION")]
    for e in entries:
        # a chained role's key names its profile too: the active one is SSOENV_PROFILE's
        mark = "*" if current == e.key[:3] and (e.profile not in vias or e.profile == switched) else ""
        rows.append((mark, printable(e.account_name), e.account_id, printable(e.role),
                     printable(f"{e.profile} via {vias[e.profile]}" if e.profile in vias else e.profile or "-"),
                     printable(e.sso_session)))
    sys.stdout.write(text.table(rows, width=os.get_terminal_size().columns))
    return 0


def _write(body) -> None:
    """The rendered rows (UTF-8) to stdout, as bytes when stdout writes UTF-8 anyway."""
    import sys

    if sys.stdout.encoding.replace("-", "").lower() == "utf8":
        sys.stdout.flush()
        sys.stdout.buffer.write(body)
    else:
        sys.stdout.write(str(body, "utf-8"))


def _say_unlisted(sessions) -> None:
    """One line per login whose accounts are missing from the list, with the command to run."""
    import sys

    from ssoenv import tokens

    for session in sessions:
        state = "its SSO session has expired" if tokens.read_token(session) else "not logged in"
        print(f"ssoenv: no accounts of {session.label} ({state}); run: {tokens.login_command(session)}",
              file=sys.stderr)
