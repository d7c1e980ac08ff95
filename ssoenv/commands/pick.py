"""ssoenv pick: fuzzy-pick an account/role; print what `use` prints."""

from __future__ import annotations

import os
import sys

from ssoenv.errors import SsoenvError, UsageError


def configure_parser(p) -> None:
    from ssoenv.shells import add_shell_arguments

    p.add_argument("query", nargs="*", default=[], metavar="TARGET",
                   help="start the picker with these words as its query")
    add_shell_arguments(p)
    p.add_argument("--sso-session", metavar="NAME", help="only entries of this sso-session")


def open_console(config, entry) -> int:
    """The picker's console key (Ctrl-O): the access portal's shortcut link for `entry`.

    Nothing on stdout (the shell evals it): a URL that cannot be opened goes to stderr.
    """
    from ssoenv import console

    return console.open_console(config, entry, stdout_allowed=False)


def run(args) -> int:
    from ssoenv import paths, picker, preview, shellout, switch
    from ssoenv.shells import output_shell

    query = " ".join(args.query)
    shell = output_shell(args.shell, "pick")
    prepared = prepare(args.sso_session)
    config, shown = prepared.config, prepared.lines
    if not prepared.listing.count:
        from ssoenv import awsconfig, catalog

        if not catalog.logins(config):
            raise awsconfig.no_sessions_error(config)
        raise SsoenvError("no accounts to pick from", hint="run `ssoenv login` and `ssoenv sync` first")
    try:  # fzf draws on the terminal: say so plainly when there is none
        open("/dev/tty").close()
    except OSError:
        raise UsageError("the picker needs a terminal; use `ssoenv use TARGET` in scripts") from None
    data_file = paths.picker_preview_file(os.getpid())
    helper = [sys.executable, "-m", "ssoenv.preview"]

    def write_preview() -> None:  # never stops the pick: the pane then says less
        try:
            data = prepared.catalog()
            emails = {(name, a.get("id")): a.get("email", "") for name, record in data["sessions"].items()
                      for a in record.get("accounts", []) if isinstance(a, dict)}
            preview.write(data_file, config, prepared.entries(), emails)
        except Exception as exc:
            from ssoenv.log import get_logger
            get_logger(__name__).info("no preview: %s", exc)

    try:  # the preview's data is written while fzf draws the list (the preview waits for it)
        action, number = picker.pick(shown, query=query, cursor=prepared.cursor,
                                     preview=helper + [str(data_file)],
                                     copy=helper + ["--copy", str(data_file)],
                                     while_fzf_draws=write_preview)
    finally:
        from ssoenv import cache
        cache.remove(data_file)
    active = prepared.active
    if number >= prepared.listing.count:  # the "none" line
        what = (f"{os.environ.get('SSOENV_ACCOUNT_NAME') or active[1]}/{active[2]}" if active
                else os.environ.get("AWS_PROFILE") and f"profile {os.environ['AWS_PROFILE']}")
        print(f"ssoenv: cleared {shellout.printable(what)} from this shell" if what
              else "ssoenv: nothing to clear: this shell had no AWS identity", file=sys.stderr)
        sys.stdout.write(shellout.render(switch.clear_changes(), shell))
        return 0
    chosen = prepared.entries()[number]
    if chosen is None:  # a sync removed it while the picker was open
        raise SsoenvError("that account or role is no longer in the account list",
                          hint="run `ssoenv pick` again")
    if action == picker.CONSOLE:
        return open_console(config, chosen)
    out = switch.statements(config, chosen, shell=shell, mode=args.mode)
    from ssoenv import frecency

    frecency.record(chosen.key)
    sys.stdout.write(out)
    return 0


class Prepared:
    """What the picker shows, ready before fzf starts: the config, the listing (kept
    or rendered), the lines in frecency order with the active entry marked, where
    the cursor starts. The entries themselves (for the preview and the choice) are
    built only when asked: a kept listing does not need them to draw."""

    def __init__(self, config, listing, catalog: dict | None):
        self.config, self.listing, self._catalog = config, listing, catalog
        self._entries: list | None = listing.entries
        self.lines: list[str] = []
        self.cursor = 0
        self.active: tuple | None = None

    def catalog(self) -> dict:
        """The whole catalog (a kept listing carries only its summary)."""
        if self._catalog is None:
            from ssoenv import catalog

            self._catalog = catalog.load()
        return self._catalog

    def entries(self) -> list:
        """The entries in the listing's order (None where one has gone since it was kept)."""
        if self._entries is None:
            from ssoenv import catalog, listing

            by_key = {listing.key_text(e.key): e for e in catalog.entries(self.config, self.catalog())}
            self._entries = [by_key.get(k) for k in str(self.listing.key_lines, "utf-8").split("\n")]
        return self._entries


def prepare(sso_session: str | None = None) -> Prepared:
    """Everything `ssoenv pick` does before fzf starts (the benchmarks time this)."""
    from ssoenv import awsconfig, frecency, listing, picker, sync, targets

    config = awsconfig.load()
    if sso_session:
        config.session(sso_session)
    kept, data = sync.fresh_listing(listing.PICKER, config, sso_session)
    prepared = Prepared(config, kept, data if kept.entries is not None else None)
    places: dict | None = None

    def where(key: tuple) -> int | None:  # an entry's place in the listing (looked up for a few keys)
        nonlocal places
        if places is None:
            places = kept.positions()
        return places.get(listing.key_text(key))

    lines = str(kept.body, "utf-8").split("\n")[:-1]
    active = prepared.active = active_key(config, targets.active())
    if active is not None and (n := where(active)) is not None:
        lines[n] = lines[n].replace("\t ", "\t*", 1)
    first, prepared.cursor = frecency.arrange(where, kept.count, active)
    prepared.lines = frecency.in_order(lines, first) + [f"{kept.count}\t  {picker.NONE_LABEL}"]
    return prepared


def active_key(config, active: tuple | None) -> tuple | None:
    """The key of the entry the shell is switched to: SSOENV_*'s (sso-session, account,
    role), and for a chained role its profile too, as its entry's key has
    (catalog.ChainedEntry), so the picker marks it and starts the cursor elsewhere."""
    from ssoenv import chain

    profile = os.environ.get("SSOENV_PROFILE")
    if active is not None and chain.is_chained_name(config, profile):
        return (*active, profile)
    return active
