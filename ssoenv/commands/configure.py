"""ssoenv configure: the `aws configure sso` dialogue, writing [sso-session NAME]."""

from __future__ import annotations

import re
import sys

from ssoenv.errors import UsageError

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+-]*\Z")
REGION_RE = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+\Z")
URL_RE = re.compile(r"https?://[^\s/]+(/\S*)?\Z")


def configure_parser(p) -> None:
    p.add_argument("--sso-session", metavar="NAME", help="session name (e.g. corp)")
    p.add_argument("--start-url", metavar="URL", help="the AWS access portal URL")
    p.add_argument("--region", metavar="REGION", help="the IAM Identity Center region")
    p.add_argument("--scopes", metavar="LIST", default=None,
                   help="registration scopes, comma-separated (default sso:account:access)")
    p.add_argument("--dry-run", action="store_true", help="print the new config on stdout, write nothing")


def _validate(kind: str, value: str) -> str | None:
    value = value.strip()
    if kind == "name" and not NAME_RE.match(value):
        return "letters, digits and _ . @ + - only, starting with a letter or digit"
    if kind == "url" and not URL_RE.match(value):
        return "an https:// URL, e.g. https://d-1234567890.awsapps.com/start"
    if kind == "region" and not REGION_RE.match(value):
        return "an AWS region, e.g. us-east-1"
    return None


def _ask(label: str, kind: str, default: str | None) -> str:
    from prompt_toolkit import prompt
    from prompt_toolkit.validation import Validator

    validator = Validator.from_callable(lambda text: _validate(kind, text or default or "") is None,
                                        error_message=_validate(kind, "") or "invalid",
                                        move_cursor_to_end=True)
    answer = prompt(f"{label}{f' [{default}]' if default else ''}: ", validator=validator,
                    validate_while_typing=False)
    return (answer or default or "").strip()


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
    for key, value in values.items():
        problem = _validate(key, value)
        if problem:
            raise UsageError(f"bad {key} {value!r}: {problem}")
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
