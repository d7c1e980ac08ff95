"""ssoenv populate: one profile per account x role, inside a block ssoenv manages.

Everything outside the block (comments included) stays byte for byte; the file is
backed up and replaced atomically; --dry-run prints the diff and writes nothing.
"""

from __future__ import annotations

import re

DEFAULT_TEMPLATE = "{account_name}-{role_name}"
# What IAM Identity Center allows in a permission set name, and an account id. Values
# come from the network: anything else could break out of its INI line (a newline
# and `credential_process = ...`), so such an entry is skipped, not written.
ROLE_NAME = re.compile(r"[\w+=,.@-]+\Z", re.ASCII)
ACCOUNT_ID = re.compile(r"\d{12}\Z")
FIELDS = ("account_name", "account_id", "role_name", "sso_session")


def configure_parser(p) -> None:
    p.add_argument("--sso-session", metavar="NAME", help="only this sso-session (default: every synced one)")
    p.add_argument("--template", default=DEFAULT_TEMPLATE,
                   help="profile name template; fields: " + ", ".join("{%s}" % f for f in FIELDS)
                   + f" (default {DEFAULT_TEMPLATE})")
    p.add_argument("--region", metavar="REGION", help="region = REGION in each generated profile")
    p.add_argument("--prune", action="store_true",
                   help="drop generated profiles whose account/role you can no longer reach")
    p.add_argument("--dry-run", action="store_true", help="print the diff; write nothing")


def sanitize(name: str) -> str:
    """A profile name the AWS CLI and every shell completion handle."""
    cleaned = re.sub(r"[^A-Za-z0-9_.@+=-]+", "-", name).strip("-.")
    return re.sub(r"-{2,}", "-", cleaned) or "profile"


def _render_name(template: str, values: dict) -> str:
    from ssoenv.errors import UsageError

    if not template.strip():
        raise UsageError("--template is empty; fields: " + ", ".join("{%s}" % f for f in FIELDS))
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError, AttributeError, TypeError) as exc:
        raise UsageError(f"bad --template {template!r}: {exc}; fields: "
                         + ", ".join("{%s}" % f for f in FIELDS)) from None


def _block_profiles(text: str) -> dict[str, dict]:
    """Profiles currently inside ssoenv's block: name -> values."""
    import configparser

    from ssoenv import awsconfig

    start = text.find(awsconfig.BLOCK_BEGIN)
    if start == -1:
        return {}
    end = text.find(awsconfig.BLOCK_END, start)
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.read_string(text[start:end if end != -1 else len(text)])
    return {s[len("profile "):].strip(): dict(parser.items(s)) for s in parser.sections()
            if s.startswith("profile ")}


def _outside_block(text: str) -> str:
    from ssoenv import awsconfig

    return awsconfig.replace_managed_block(text, "")


def run(args) -> int:
    import configparser
    import difflib
    import sys

    from ssoenv import awsconfig, catalog
    from ssoenv.errors import SsoenvError

    config = awsconfig.load()
    path = config.path
    old = awsconfig.read_text(path)
    try:
        parser = configparser.RawConfigParser(strict=False, interpolation=None)
        parser.read_string(_outside_block(old))
        user_profiles = {s[len("profile "):].strip() for s in parser.sections() if s.startswith("profile ")}
        user_profiles |= {"default"} if parser.has_section("default") else set()
    except configparser.Error as exc:
        raise SsoenvError(f"cannot parse {path}: {str(exc).splitlines()[0]}") from None
    # Account/roles that already have a profile the user wrote keep theirs.
    user_keys = {(p.sso_session, p.account_id, p.role_name) for p in config.sso_profiles()
                 if p.name in user_profiles}
    sessions = [args.sso_session] if args.sso_session else list(config.sessions)
    if args.sso_session:
        config.session(args.sso_session)
    entries = [e for e in catalog.cached_entries() if e.sso_session in sessions]
    if not entries:
        raise SsoenvError("no accounts in the cache to write profiles for",
                          hint="run `ssoenv sync` first")
    previous = _block_profiles(old)
    by_key = {(v.get("sso_session"), v.get("sso_account_id"), v.get("sso_role_name")): n
              for n, v in previous.items()}
    taken = set(user_profiles)
    profiles: dict[str, dict] = {}
    skipped = 0
    for e in sorted(entries, key=lambda e: (e.sso_session, e.account_name.lower(), e.account_id, e.role)):
        key = (e.sso_session, e.account_id, e.role)
        if not ROLE_NAME.match(e.role) or not ACCOUNT_ID.match(e.account_id):
            skipped += 1
            continue
        if key in user_keys:
            continue
        name = by_key.get(key)  # keep a generated name stable across runs
        if not name or name in taken:
            base = sanitize(_render_name(args.template, {"account_name": e.account_name or e.account_id,
                                                         "account_id": e.account_id, "role_name": e.role,
                                                         "sso_session": e.sso_session}))
            name, n = base, 2
            while name in taken or name in profiles:
                name = f"{base}-{n}"
                n += 1
        taken.add(name)
        values = {"sso_session": e.sso_session, "sso_account_id": e.account_id, "sso_role_name": e.role}
        region = args.region or previous.get(name, {}).get("region")
        if region:
            values["region"] = region
        profiles[name] = values
    if not args.prune:
        reachable = {(e.sso_session, e.account_id, e.role) for e in entries}
        for name, values in previous.items():
            key = (values.get("sso_session"), values.get("sso_account_id"), values.get("sso_role_name"))
            if key not in reachable and name not in taken and values.get("sso_session") in sessions:
                profiles[name] = values
                taken.add(name)
        for name, values in previous.items():  # other sessions' generated profiles stay
            if values.get("sso_session") not in sessions and name not in profiles:
                profiles[name] = values
    else:
        for name, values in previous.items():
            if values.get("sso_session") not in sessions and name not in profiles:
                profiles[name] = values
    if skipped:
        print(f"ssoenv: skipped {skipped} account/role(s) whose id or role name cannot be written "
              "safely into the AWS config", file=sys.stderr)
    body = "\n".join(f"[profile {name}]\n" + "".join(f"{k} = {v}\n" for k, v in values.items())
                     for name, values in profiles.items())
    new = awsconfig.replace_managed_block(old, body)
    added = len(set(profiles) - set(previous))
    removed = len(set(previous) - set(profiles))
    if args.dry_run:
        sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                                   str(path), str(path) + " (ssoenv populate)"))
        print(f"ssoenv: would write {len(profiles)} profiles ({added} new, {removed} removed)", file=sys.stderr)
        return 0
    if new == old:
        print(f"ssoenv: {path} is up to date ({len(profiles)} profiles)", file=sys.stderr)
        return 0
    backup = awsconfig.write_config_text(path, old, new)
    print(f"ssoenv: wrote {len(profiles)} profiles to {path} ({added} new, {removed} removed)"
          + (f"; backup: {backup}" if backup else ""), file=sys.stderr)
    return 0
