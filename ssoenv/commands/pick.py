"""ssoenv pick: fuzzy-pick an account/role; print what `use` prints."""

from __future__ import annotations

import os
import sys

from ssoenv.errors import SsoenvError, UsageError


def configure_parser(p) -> None:
    from ssoenv.shells import add_shell_arguments

    p.add_argument("query", nargs="*", default=[], help="start the picker with this query")
    add_shell_arguments(p)
    p.add_argument("--sso-session", metavar="NAME", help="only entries of this sso-session")


def open_console(config, entry) -> int:
    """The picker's console key (Ctrl-O): the access portal's shortcut link for `entry`.

    Nothing on stdout (the shell evals it): a URL that cannot be opened goes to stderr.
    """
    from ssoenv import console

    return console.open_console(config, entry, stdout_allowed=False)


def run(args) -> int:
    from ssoenv import awsconfig, catalog, frecency, paths, picker, preview, shellout, switch, sync, targets
    from ssoenv.shells import output_shell

    query = " ".join(args.query)
    shell = output_shell(args.shell, "pick")
    config = awsconfig.load()
    if args.sso_session:
        config.session(args.sso_session)
    data = sync.load_fresh(config)
    entries = catalog.entries(config, data)
    if args.sso_session:
        entries = [e for e in entries if e.sso_session == args.sso_session]
    if not entries:
        raise SsoenvError("no accounts to pick from", hint="run `ssoenv login` and `ssoenv sync` first")
    try:  # fzf draws on the terminal: say so plainly when there is none
        open("/dev/tty").close()
    except OSError:
        raise UsageError("the picker needs a terminal; use `ssoenv use TARGET` in scripts") from None
    entries.sort(key=lambda e: (e.account_name.lower(), e.account_id, e.role))
    active = targets.active()
    entries, cursor = frecency.order(entries, active)
    data_file = paths.picker_preview_file(os.getpid())
    helper = [sys.executable, "-m", "ssoenv.preview"]

    def write_preview() -> None:  # never stops the pick: the pane then says less
        try:
            emails = {(name, a.get("id")): a.get("email", "") for name, record in data["sessions"].items()
                      for a in record.get("accounts", []) if isinstance(a, dict)}
            preview.write(data_file, config, entries, emails)
        except Exception as exc:
            from ssoenv.log import get_logger
            get_logger(__name__).info("no preview: %s", exc)

    try:  # the preview's data is written while fzf draws the list (the preview waits for it)
        action, chosen = picker.pick(entries, query=query, current=active, cursor=cursor,
                                     preview=helper + [str(data_file)],
                                     copy=helper + ["--copy", str(data_file)],
                                     while_fzf_draws=write_preview)
    finally:
        from ssoenv import cache
        cache.remove(data_file)
    if chosen is None:
        what = (f"{os.environ.get('SSOENV_ACCOUNT_NAME') or active[1]}/{active[2]}" if active
                else os.environ.get("AWS_PROFILE") and f"profile {os.environ['AWS_PROFILE']}")
        print(f"ssoenv: cleared {shellout.printable(what)} from this shell" if what
              else "ssoenv: nothing to clear: this shell had no AWS identity", file=sys.stderr)
        sys.stdout.write(shellout.render(switch.clear_changes(), shell))
        return 0
    if action == picker.CONSOLE:
        return open_console(config, chosen)
    out = switch.statements(config, chosen, shell=shell, mode=args.mode)
    frecency.record(chosen.key)
    sys.stdout.write(out)
    return 0
