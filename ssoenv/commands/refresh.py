"""ssoenv refresh: renew silently; exit 3 when only a login would do and none can run."""

from __future__ import annotations

import sys

from ssoenv.errors import ExitStatus, SsoenvError


def configure_parser(p) -> None:
    target = p.add_mutually_exclusive_group()
    target.add_argument("--sso-session", metavar="NAME",
                        help="the sso-session to renew (default: the only one)")
    target.add_argument("--profile", metavar="NAME",
                        help="renew the login this profile uses (its sso-session, or a legacy profile's)")
    p.add_argument("--min-valid", type=int, default=None, metavar="SECONDS",
                   help="renew when fewer seconds than this remain (default 900)")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")
    p.epilog = ("A legacy profile (sso_start_url in the profile, no sso-session) has no refresh "
                "token: refresh says how long its token lasts, and exits 3 once only a login would do.")


def run(args) -> int:
    from ssoenv import awsconfig, catalog, login

    config = awsconfig.load()
    session = catalog.choose_login(config, session=args.sso_session, profile=args.profile)
    min_valid = login.REFRESH_WINDOW if args.min_valid is None else args.min_valid
    if session.legacy:
        return _legacy(session, min_valid, quiet=args.quiet)
    token = login.ensure_token(session, min_valid=min_valid)
    if not args.quiet:
        print(f"ssoenv: {session.label} is valid until {token['expiresAt']}", file=sys.stderr)
    return 0


def _legacy(session, min_valid: int, *, quiet: bool) -> int:
    """Nothing to renew without a refresh token: report, never start a login."""
    from ssoenv import tokens

    token = tokens.read_token(session)
    why = ("it is a legacy profile (sso_start_url in the profile, no sso-session), "
           "and a legacy login has no refresh token")
    hint = "an [sso-session] renews silently: `ssoenv configure`, then `sso_session = NAME` in the profile"
    if token is not None and tokens.seconds_left(token) > min_valid:
        if not quiet:
            print(f"ssoenv: {session.label} is valid until {token['expiresAt']}; it cannot be renewed "
                  "silently: log in again when it expires", file=sys.stderr)
        return 0
    if not token:
        state = "is not logged in"
    elif tokens.seconds_left(token) <= 0:
        state = "has expired"
    else:
        state = f"expires at {token['expiresAt']}"
    raise SsoenvError(f"{session.label} {state} and cannot be renewed silently: {why}; "
                      f"run: {tokens.login_command(session)}", ExitStatus.LOGIN_REQUIRED, hint=hint)
