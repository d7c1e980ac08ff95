"""ssoenv status: each sso-session, logged in or not, expiry, silent renewal."""

from __future__ import annotations


def configure_parser(p) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output")


def run(args) -> int:
    import json
    import os
    import sys

    from ssoenv import awsconfig, login

    config = awsconfig.load()
    rows = []
    for session in config.sessions.values():
        token = login.read_token(session)
        left = login.seconds_left(token)
        rows.append({
            "sso_session": session.name,
            "start_url": session.start_url,
            "region": session.region,
            "logged_in": left > 0,
            "expires_at": token["expiresAt"] if token else None,
            "seconds_left": int(left) if token else None,
            "can_renew_silently": login.can_refresh(token),
            "active": session.name == os.environ.get("SSOENV_SESSION"),
        })
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    if not rows:
        print(f"ssoenv: no sso-session in {config.path}; add one with `ssoenv configure` "
              "(or `ssoenv demo` to try it locally)", file=sys.stderr)
        return 1
    for row in rows:
        if row["logged_in"]:
            state = f"logged in, {_human(row['seconds_left'])} left"
        elif row["expires_at"]:
            state = "expired"
        else:
            state = "not logged in"
        renew = "renews silently" if row["can_renew_silently"] else "no silent renewal"
        mark = "*" if row["active"] else " "
        print(f"{mark} {row['sso_session']}: {state}; {renew} ({row['start_url']}, {row['region']})")
    return 0


def _human(seconds: int) -> str:
    hours, rest = divmod(max(seconds, 0), 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m"
