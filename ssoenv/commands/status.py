"""ssoenv status: each sso-session (and legacy profile login): logged in or not,
expiry, silent renewal. The text and --json show the same rows and states."""

from __future__ import annotations

import os
import sys


def configure_parser(p) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.epilog = ("Legacy profiles (sso_start_url and sso_region in the profile, no sso-session) "
                "show as `profile NAME`, one row per start URL: they share one token, which "
                "never renews silently.")


def rows(config) -> list[dict]:
    from ssoenv import catalog, tokens

    out = []
    for session in catalog.logins(config):
        token = tokens.read_token(session)
        left = tokens.seconds_left(token)
        out.append({
            "sso_session": None if session.legacy else session.name,
            "profile": session.name if session.legacy else None,  # legacy: the first profile of its start URL
            "legacy": session.legacy,
            "start_url": session.start_url,
            "region": session.region,
            "logged_in": left > 0,
            "expires_at": token["expiresAt"] if token else None,
            "seconds_left": int(left) if token else None,
            "can_renew_silently": tokens.can_refresh(token),
            "active": catalog.login_key(session) == os.environ.get("SSOENV_SESSION"),
        })
    return out


def run(args) -> int:
    import json

    from ssoenv import awsconfig, text

    config = awsconfig.load()
    found = rows(config)
    if args.json:
        json.dump(found, sys.stdout, indent=2)
        sys.stdout.write("\n")
    if not found:
        raise awsconfig.no_sessions_error(config)
    if args.json:
        return 0
    for row in found:
        if row["logged_in"]:
            state = f"logged in, {text.duration(row['seconds_left'])} left"
        elif row["expires_at"]:
            state = "expired"
        else:
            state = "not logged in"
        renew = "renews silently" if row["can_renew_silently"] else "no silent renewal"
        if row["legacy"]:
            name, renew = f"profile {row['profile']}", f"{renew} (legacy profile)"
        else:
            name = row["sso_session"]
        mark = "*" if row["active"] else " "
        print(f"{mark} {name}: {state}; {renew} ({row['start_url']}, {row['region']})")
    return 0
