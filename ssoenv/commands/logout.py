"""ssoenv logout: end the portal session; remove its SSO token and every SSO role credential."""

from __future__ import annotations

import sys

from ssoenv.errors import SsoenvError


def configure_parser(p) -> None:
    target = p.add_mutually_exclusive_group()
    target.add_argument("--sso-session", metavar="NAME",
                        help="the sso-session to log out of (default: the only one)")
    target.add_argument("--profile", metavar="NAME",
                        help="the profile's sso-session, or its start URL for a legacy profile")
    target.add_argument("--all", action="store_true",
                        help="every sso-session, and every SSO token in the cache")


def run(args) -> int:
    from ssoenv import awsconfig, cache, catalog, paths, tokens
    from ssoenv.log import get_logger

    log = get_logger(__name__)
    config = awsconfig.load()
    if args.all:  # every login: the sso-sessions and the legacy profiles' start URLs
        sessions = catalog.logins(config)
    else:
        sessions = [catalog.choose_login(config, session=args.sso_session, profile=args.profile)]
    removed = 0
    for session in sessions:
        token = tokens.read_token(session)
        if token and tokens.seconds_left(token) > 0:
            from ssoenv import identity
            try:
                identity.logout(session.region, token["accessToken"])
            except SsoenvError as exc:  # the local logout must happen regardless
                log.info("portal logout of %s: %s", session.label, exc.message)
        removed += cache.remove(paths.token_cache_file(session.cache_key))
    if args.all:
        removed += _remove_matching(paths.sso_cache_dir(), lambda d: "accessToken" in d)
    # Role credentials do not say which session fetched them (their file name is a
    # hash): remove every SSO one, as `aws sso logout` does. Others refetch them at
    # the cost of one call; a credential outliving its logout would be worse.
    removed += _remove_matching(paths.cli_cache_dir(), lambda d: d.get("ProviderType") == "sso")
    names = ", ".join(s.label for s in sessions) or "nothing"
    print(f"ssoenv: logged out of {names} ({removed} cached file{'s' if removed != 1 else ''} removed)",
          file=sys.stderr)
    return 0


def _remove_matching(directory, predicate) -> int:
    from ssoenv import cache

    count = 0
    if not directory.is_dir():
        return 0
    for path in directory.glob("*.json"):
        data = cache.read_json(path)
        if isinstance(data, dict) and predicate(data):
            count += cache.remove(path)
    return count
