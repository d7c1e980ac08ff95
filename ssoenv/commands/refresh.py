"""ssoenv refresh: renew silently; exit 3 when only a login would do and none can run."""

from __future__ import annotations


def configure_parser(p) -> None:
    target = p.add_mutually_exclusive_group()
    target.add_argument("--sso-session", metavar="NAME")
    target.add_argument("--profile", metavar="NAME")
    p.add_argument("--min-valid", type=int, default=None, metavar="SECONDS",
                   help="renew when fewer seconds than this remain (default 900)")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")


def run(args) -> int:
    import sys

    from ssoenv import awsconfig, login

    config = awsconfig.load()
    (session,) = awsconfig.choose_sessions(config, session=args.sso_session, profile=args.profile)
    min_valid = login.REFRESH_WINDOW if args.min_valid is None else args.min_valid
    token = login.ensure_token(session, min_valid=min_valid)
    if not args.quiet:
        print(f"ssoenv: {session.label} is valid until {token['expiresAt']}", file=sys.stderr)
    return 0
