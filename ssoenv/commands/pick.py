"""ssoenv pick: fuzzy-pick an account/role; print what `use` prints."""

from __future__ import annotations


def configure_parser(p) -> None:
    from ssoenv.commands.use import add_shell_arguments

    p.add_argument("query", nargs="?", default="", help="start the picker with this query")
    add_shell_arguments(p)
    p.add_argument("--sso-session", metavar="NAME", help="only entries of this sso-session")


def run(args) -> int:
    import sys

    from ssoenv import awsconfig, catalog, picker, shellout, switch, targets
    from ssoenv.errors import SsoenvError

    config = awsconfig.load()
    if args.sso_session:
        config.session(args.sso_session)
    data = catalog.load_fresh(config)
    entries = catalog.entries(config, data)
    if args.sso_session:
        entries = [e for e in entries if e.sso_session == args.sso_session]
    if not entries:
        raise SsoenvError("no accounts to pick from", hint="run `ssoenv login` and `ssoenv sync` first")
    entries.sort(key=lambda e: (e.account_name.lower(), e.account_id, e.role))
    try:  # fzf draws on the terminal: say so plainly when there is none
        open("/dev/tty").close()
    except OSError:
        from ssoenv.errors import UsageError
        raise UsageError("the picker needs a terminal; use `ssoenv use TARGET` in scripts") from None
    chosen = picker.pick(entries, query=args.query, current=targets.active())
    if chosen is None:
        sys.stdout.write(shellout.render(switch.clear_changes(), args.shell))
        return 0
    sys.stdout.write(switch.statements(config, chosen, shell=args.shell, mode=args.mode))
    return 0
