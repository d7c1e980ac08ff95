"""ssoenv configure: the `aws configure sso` dialogue, writing [sso-session NAME]."""

from __future__ import annotations

import re
import sys

from ssoenv.errors import UsageError

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+-]*\Z")
REGION_RE = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+\Z")
# https only; plain http for the emulator on loopback (as for its endpoints)
# an OAuth scope such as sso:account:access: nothing that would end the config line or
# start a comment there (botocore would keep `; x` as part of the value)
SCOPE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/+-]*\Z")
URL_RE = re.compile(r"(https://[^\s/]+|http://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?)(/\S*)?\Z")
BAD = {"name": "letters, digits and _ . @ + - only, starting with a letter or digit",
       "url": "an https:// URL, e.g. https://d-1234567890.awsapps.com/start",
       "region": "an AWS region, e.g. us-east-1",
       "scopes": "scopes such as sso:account:access, comma-separated"}


def configure_parser(p) -> None:
    p.add_argument("--sso-session", metavar="NAME", help="session name (e.g. corp)")
    p.add_argument("--start-url", metavar="URL", help="the AWS access portal URL")
    p.add_argument("--region", metavar="REGION", help="the IAM Identity Center region")
    p.add_argument("--scopes", metavar="LIST", default=None,
                   help="registration scopes, comma-separated (default sso:account:access)")
    p.add_argument("--dry-run", action="store_true", help="print the new config on stdout, write nothing")


def _validate(kind: str, value: str) -> str | None:
    """The one-line problem with `value`, or None."""
    value = value.strip()
    if kind == "name" and not NAME_RE.match(value):
        return f"bad name {value!r}: {BAD['name']}"
    if kind == "url" and not URL_RE.match(value):
        return f"bad url {value!r}: {BAD['url']}"
    if kind == "region":
        from ssoenv import identity

        if not REGION_RE.match(value):
            lower = value.lower()  # EU-WEST-1, pasted from a console page
            known = REGION_RE.match(lower) and not identity.unknown_region(lower)
            return f"bad region {value!r}: {BAD['region']}" + (f"; did you mean {lower}?" if known else "")
        return identity.unknown_region(value)
    scopes = [s.strip() for s in value.split(",") if s.strip()]
    if kind == "scopes" and value and not (scopes and all(SCOPE_RE.match(s) for s in scopes)):  # "": none
        return f"bad scopes {value!r}: {BAD['scopes']}"
    return None


def _ask(label: str, kind: str, default: str | None) -> str:
    """Ask until the answer is valid. Each try starts from an empty line: the rejected
    text is not left in the input for the next answer to be appended to."""
    from prompt_toolkit import prompt

    from ssoenv import terminal

    while True:
        try:
            answer = prompt(f"{label}{f' [{default}]' if default else ''}: ")
        except EOFError:  # Ctrl-D: leave as Ctrl-C does (exit 130, nothing written)
            raise KeyboardInterrupt from None
        value = (answer or default or "").strip()
        problem = _validate(kind, value)
        if problem is None:
            return value
        terminal.say(f"ssoenv: {problem}")


def run(args) -> int:
    from ssoenv import awsconfig, terminal

    config = awsconfig.load()
    existing = config.sessions.get(args.sso_session) if args.sso_session else None
    values = {"name": args.sso_session, "url": args.start_url, "region": args.region}
    missing = [k for k, v in values.items() if not v and not (existing and k != "name")]
    if missing and terminal.is_interactive():
        labels = {"name": "SSO session name", "url": "SSO start URL", "region": "SSO region"}
        defaults = {"name": None, "url": existing.start_url if existing else None,
                    "region": existing.region if existing else None}
        for key in ("name", "url", "region"):
            if not values[key]:
                values[key] = _ask(labels[key], key, defaults[key])
        if args.scopes is None:
            args.scopes = _ask("SSO registration scopes", "scopes", "sso:account:access")
    elif missing:
        flags = {"name": "--sso-session", "url": "--start-url", "region": "--region"}
        raise UsageError("missing " + ", ".join(flags[k] for k in missing)
                         + " (no terminal to ask on)")
    if existing:
        values["url"] = values["url"] or existing.start_url
        values["region"] = values["region"] or existing.region
    if args.scopes is not None:
        values["scopes"] = args.scopes
    for key, value in values.items():
        problem = _validate(key, value)
        if problem:
            raise UsageError(problem)
    if args.scopes is None:
        scopes = list(existing.scopes) if existing else list(awsconfig.DEFAULT_SCOPES)
    else:
        scopes = [s.strip() for s in args.scopes.split(",") if s.strip()]
    old, new = awsconfig.upsert_sso_session(values["name"].strip(), values["url"].strip(),
                                            values["region"].strip(), scopes, config.path)
    if args.dry_run:
        sys.stdout.write(new)
        return 0
    if new == old:
        print(f"ssoenv: [sso-session {values['name']}] is already up to date in {config.path}", file=sys.stderr)
        return 0
    backup = awsconfig.write_config_text(config.path, old, new)
    print(f"ssoenv: wrote [sso-session {values['name']}] to {config.path}"
          + (f" (backup: {backup})" if backup else ""), file=sys.stderr)
    if "sso:account:access" not in scopes:
        print("ssoenv: without the sso:account:access scope there is no silent renewal", file=sys.stderr)
    print(f"next: ssoenv login --sso-session {values['name']}", file=sys.stderr)
    return 0
