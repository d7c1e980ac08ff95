"""ssoenv login: authorization code + PKCE in the browser, or device code."""

from __future__ import annotations

import sys


def configure_parser(p) -> None:
    target = p.add_mutually_exclusive_group()
    target.add_argument("--sso-session", metavar="NAME", help="the sso-session to log in to")
    target.add_argument("--profile", metavar="NAME", help="log in for this profile's sso-session")
    target.add_argument("--all", action="store_true", help="log in to every sso-session")
    p.add_argument("--device-code", "--use-device-code", dest="device_code", action="store_true",
                   help="use the device code flow (approve on any device)")
    p.add_argument("--no-browser", action="store_true",
                   help="do not open a browser; print the URL and code (device code flow)")
    p.add_argument("--via-aws-cli", action="store_true", default=None,
                   help="delegate to `aws sso login` (setting: login_via_aws_cli)")
    p.add_argument("--force", action="store_true", help="log in even if the token is still valid")


def run(args) -> int:
    from ssoenv import awsconfig, cache, login, tokens

    config = awsconfig.load()
    for session in awsconfig.choose_sessions(config, session=args.sso_session, profile=args.profile,
                                             all_sessions=args.all):
        token = tokens.read_token(session)
        if not args.force and token is not None and tokens.seconds_left(token) > login.REFRESH_WINDOW:
            print(f"ssoenv: already logged in to {session.label} "
                  f"(until {token['expiresAt']}); use --force to log in again", file=sys.stderr)
            continue
        token = login.login(session, device_code=args.device_code or args.no_browser,
                            open_browser=not args.no_browser, via_aws_cli=args.via_aws_cli)
        renew = "renews silently" if tokens.can_refresh(token) else "no silent renewal"
        expires = cache.parse_time(token["expiresAt"]) or cache.now()
        print(f"ssoenv: logged in to {session.label} until "
              f"{expires.astimezone().strftime('%Y-%m-%d %H:%M %Z')} ({renew})", file=sys.stderr)
    return 0
