"""ssoenv sync: fetch every account and role you can reach."""

from __future__ import annotations


def configure_parser(p) -> None:
    target = p.add_mutually_exclusive_group()
    target.add_argument("--sso-session", metavar="NAME", help="only this sso-session (logs in if needed)")
    target.add_argument("--profile", metavar="NAME",
                        help="only this profile's sso-session, or its start URL for a legacy profile")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress, no summary")
    p.add_argument("--no-login", action="store_true",
                   help="never start a login (used by the background refresh)")
    p.epilog = ("Without --sso-session/--profile: every sso-session (and legacy profile login) that is "
                "logged in or renews silently. The others are skipped, each named with the command that "
                "logs in to it; at a terminal sync offers that login first (y/N). Exit status 0 when at "
                "least one was synced, 3 when none could be (a login is needed).")


def run(args) -> int:
    import sys

    from ssoenv import awsconfig, sync

    config = awsconfig.load()
    if args.sso_session:
        sessions = [config.session(args.sso_session)]
    elif args.profile:
        sessions = [config.session_for_profile(args.profile)]
    else:
        sessions = _logged_in_or_offered(config, offer=not args.no_login, quiet=args.quiet)
    report = sync.sync(config, sessions, allow_login=not args.no_login, quiet=args.quiet)
    if not args.quiet:
        print(f"ssoenv: synced {sync.describe(report)}", file=sys.stderr)
    return 0


def _logged_in_or_offered(config, *, offer: bool, quiet: bool) -> list:
    """The logins sync can fetch: the logged-in ones, plus those the user logs in to
    when offered (only at a terminal). Says which were skipped and how to log in."""
    import sys

    from ssoenv import catalog, login, sync, terminal, tokens
    from ssoenv.errors import ExitStatus, SsoenvError

    everything = catalog.logins(config)
    ready = sync.logged_in_sessions(config)
    skipped = [s for s in everything if s not in ready]
    sync.require_any(everything, config)  # no sso-session at all
    if skipped and offer and terminal.is_interactive():
        for session in list(skipped):
            if _ask(f"ssoenv: {session.label} is {_state(session)}. Log in now? [y/N] "):
                try:
                    login.login(session)
                except SsoenvError as exc:
                    print(f"ssoenv: {exc.message}", file=sys.stderr)
                    continue
                print(f"ssoenv: logged in to {session.label}", file=sys.stderr)
                skipped.remove(session)
                ready.append(session)
    if skipped and (not quiet or not ready):
        for session in skipped:
            print(f"ssoenv: skipped {session.label} ({_state(session)}); "
                  f"to sync it, log in with: {tokens.login_command(session)}", file=sys.stderr)
    if not ready:
        raise SsoenvError("nothing synced: no sso-session is logged in", ExitStatus.LOGIN_REQUIRED)
    return ready


def _state(session) -> str:
    from ssoenv import tokens

    return "expired" if tokens.read_token(session) else "not logged in"


def _ask(question: str) -> bool:
    """y/N on the terminal; the question on stderr (stdout is for machines)."""
    import sys

    sys.stderr.write(question)
    sys.stderr.flush()
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")
