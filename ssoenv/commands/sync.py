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


def run(args) -> int:
    import sys

    from ssoenv import awsconfig, sync

    config = awsconfig.load()
    if args.sso_session:
        sessions = [config.session(args.sso_session)]
    elif args.profile:
        sessions = [config.session_for_profile(args.profile)]
    else:
        sessions = sync.logged_in_sessions(config)
        sync.require_any(sessions, config)
    report = sync.sync(config, sessions, allow_login=not args.no_login, quiet=args.quiet)
    if not args.quiet:
        print(f"ssoenv: synced {sync.describe(report)}", file=sys.stderr)
    return 0
