"""ssoenv populate: one profile per account x role, inside a block ssoenv manages.

Everything outside the block (comments included) stays byte for byte; the file is
backed up and replaced atomically; --dry-run prints the diff and writes nothing.

A name, once written, keeps its account and role for as long as it is in the block:
a new account whose name collides gets another name (`{name}-{account_id}`, see
`assign_names`), a changed template renames existing profiles only with --rename, and
a name is dropped only by --prune (when its account/role is no longer reachable) or
when the user defines that profile outside the block.
"""

from __future__ import annotations

import re
import sys

from ssoenv.errors import SsoenvError, UsageError
from ssoenv.text import is_account_id

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    from ssoenv.catalog import Entry

DEFAULT_TEMPLATE = "{account_name}-{role_name}"
# The block remembers a non-default template, so a later plain `populate` names new
# profiles the same way (and does not report every profile as "would be renamed").
TEMPLATE_LINE = "# template: "
# What IAM Identity Center allows in a permission set name, and an account id. Values
# come from the network: anything else could break out of its INI line (a newline
# and `credential_process = ...`), so such an entry is skipped, not written.
ROLE_NAME = re.compile(r"[\w+=,.@-]+\Z", re.ASCII)
FIELDS = ("account_name", "account_id", "role_name", "sso_session")
SAMPLE = {"account_name": "Sandbox", "account_id": "111122223333", "role_name": "ReadOnly", "sso_session": "corp"}
LISTED = 20  # names listed per kind in a summary (--dry-run lists them all)


def configure_parser(p) -> None:
    p.add_argument("--sso-session", metavar="NAME", help="only this sso-session (default: every synced one)")
    p.add_argument("--template", default=None,
                   help="profile name template; fields: " + ", ".join(f"{{{f}}}" for f in FIELDS)
                   + f" (default: the block's last one, else {DEFAULT_TEMPLATE}); existing profiles "
                   "keep their names unless --rename")
    p.add_argument("--rename", action="store_true",
                   help="rename existing profiles to what the template gives (scripts using the old names break)")
    p.add_argument("--region", metavar="REGION", help="region = REGION in each generated profile")
    p.add_argument("--prune", action="store_true",
                   help="drop generated profiles whose account/role you can no longer reach")
    p.add_argument("--dry-run", action="store_true", help="print the diff and the name changes; write nothing")


def sanitize(name: str) -> str:
    """A profile name the AWS CLI and every shell completion handle."""
    return _clean(name) or "profile"


def _clean(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.@+=-]+", "-", name).strip("-.")
    return re.sub(r"-{2,}", "-", cleaned)


def check_template(template: str, where: str = "--template") -> None:
    """Refuse a template that cannot name profiles (exit 2), before anything is read."""
    fields = "fields: " + ", ".join(f"{{{f}}}" for f in FIELDS)
    if not template.strip():
        raise UsageError(f"{where} is empty; {fields}")
    if not template.isprintable():
        raise UsageError(f"bad {where}: it holds a control character; {fields}")
    try:
        rendered = template.format(**SAMPLE)
    except (KeyError, IndexError, ValueError, AttributeError, TypeError) as exc:
        raise UsageError(f"bad {where} {template!r}: {exc}; {fields}") from None
    if rendered == template.replace("{{", "{").replace("}}", "}"):
        raise UsageError(f"bad {where} {template!r}: it uses no field, so every profile would get "
                         f"the same name; {fields}")


def template_name(template: str, entry) -> str:
    """The name the template gives an entry. An account name with nothing printable in
    ASCII (e.g. all CJK) falls back to the account id, never to an empty field."""
    values = {"account_name": _clean(entry.account_name or "") or entry.account_id,
              "account_id": entry.account_id, "role_name": entry.role, "sso_session": entry.sso_session}
    return sanitize(template.format(**values))


def _candidate(base: str, key: tuple, level: int) -> str:
    """The name tried at each level of ambiguity; only the last one depends on order."""
    session, account_id, role = key
    parts = [base, account_id, role, session][:level + 1]
    return sanitize("-".join(parts))


def assign_names(bases: dict[tuple, str], is_free) -> dict[tuple, str]:
    """Give each key (sso_session, account_id, role) a name from its base.

    A base that two keys share, or that is not free, is qualified for every key
    involved: `{base}-{account_id}`, then `-{role}`, then `-{sso_session}`, so a
    name never depends on the order accounts are listed in. Only if all of that
    still collides (hand-made names in the way) does a numeric suffix follow, in
    key order.
    """
    names: dict[tuple, str] = {}
    owner: dict[str, tuple] = {}
    unresolved = sorted(bases)
    for level in range(4):
        candidates = {k: _candidate(bases[k], k, level) for k in unresolved}
        counts: dict[str, int] = {}
        for name in candidates.values():
            counts[name] = counts.get(name, 0) + 1
        left = []
        for key in unresolved:
            name = candidates[key]
            if counts[name] == 1 and name not in owner and is_free(name, key):
                names[key], owner[name] = name, key
            else:
                left.append(key)
        unresolved = left
    for key in unresolved:
        base, n = _candidate(bases[key], key, 3), 2
        while f"{base}-{n}" in owner or not is_free(f"{base}-{n}", key):
            n += 1
        names[key], owner[f"{base}-{n}"] = f"{base}-{n}", key
    return names


def _block_text(text: str) -> str:
    from ssoenv import awsconfig

    start = text.find(awsconfig.BLOCK_BEGIN)
    if start == -1:
        return ""
    end = text.find(awsconfig.BLOCK_END, start)
    return text[start:end if end != -1 else len(text)]


def _block_profiles(block: str) -> dict[str, dict]:
    """Profiles currently inside ssoenv's block: name -> values, in block order."""
    import configparser

    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.read_string(block)
    return {s[len("profile "):].strip(): dict(parser.items(s)) for s in parser.sections()
            if s.startswith("profile ")}


def _recorded_template(block: str) -> str | None:
    for line in block.splitlines():
        if line.startswith(TEMPLATE_LINE):
            return line[len(TEMPLATE_LINE):].rstrip("\r")
    return None


def _user_profiles(old: str, path) -> set[str]:
    """Profile names defined outside the block: the user's, never taken by ssoenv."""
    import configparser

    from ssoenv import awsconfig

    try:
        parser = configparser.RawConfigParser(strict=False, interpolation=None)
        parser.read_string(awsconfig.replace_managed_block(old, ""))
    except configparser.Error as exc:
        raise SsoenvError(f"cannot parse {path}: {str(exc).splitlines()[0]}") from None
    names = set()
    for section in parser.sections():
        kind, name = awsconfig.section_name(section)  # `[profile "x"]` is x, as for the AWS CLI
        if kind == "profile" and name:
            names.add(name)
        elif kind == "default" and not name:
            names.add("default")
    return names


def _key(values: dict) -> tuple:
    return (values.get("sso_session"), values.get("sso_account_id"), values.get("sso_role_name"))


def _entries(config, sessions: list[str]) -> list:
    """Account x roles of the chosen sessions; fetched first, as `list` does, for a
    session that is logged in but was never synced."""
    from ssoenv import catalog, sync

    sync.load_fresh(config)
    entries = [e for e in catalog.cached_entries() if e.sso_session in sessions]
    if not entries:
        from ssoenv import awsconfig

        if not catalog.logins(config):
            raise awsconfig.no_sessions_error(config)
        raise SsoenvError("no accounts known to write profiles for",
                          hint="log in with `ssoenv login`, then run `ssoenv populate` again")
    return entries


def run(args) -> int:
    from ssoenv import awsconfig

    if args.template is not None:
        check_template(args.template)
    config = awsconfig.load()
    path = config.path
    old = awsconfig.read_text(path)
    block = _block_text(old)
    template = args.template
    if template is None:
        template = _recorded_template(block) or DEFAULT_TEMPLATE
        check_template(template, f"template recorded in {path}")
    user_profiles = _user_profiles(old, path)
    # Account/roles that already have a profile the user wrote get no generated one.
    user_keys = {(p.sso_session, p.account_id, p.role_name) for p in config.sso_profiles()
                 if p.name in user_profiles}
    if args.sso_session:
        config.session(args.sso_session)
    sessions = [args.sso_session] if args.sso_session else list(config.sessions)

    reachable: dict[tuple[str, str, str], Entry] = {}
    skipped = 0
    for e in sorted(_entries(config, sessions),
                    key=lambda e: (e.sso_session, (e.account_name or "").lower(), e.account_id, e.role)):
        if not ROLE_NAME.match(e.role) or not is_account_id(e.account_id):
            skipped += 1
        else:
            reachable.setdefault(e.key, e)

    previous = _block_profiles(block)
    kept: dict[str, dict] = {}  # names that stay, each with its own account/role
    pruned: set[str] = set()  # names dropped now: not handed to another account in the same run
    for name, values in previous.items():
        if args.prune and values.get("sso_session") in sessions and _key(values) not in reachable:
            pruned.add(name)
        elif name not in user_profiles:
            kept[name] = values
    held = {name: _key(values) for name, values in kept.items()}
    current: dict[tuple, str] = {}
    for name, key in held.items():
        current.setdefault(key, name)

    def is_free(name: str, key: tuple) -> bool:
        return name not in user_profiles and name not in pruned and held.get(name, key) == key

    wanted = {k: template_name(template, e) for k, e in reachable.items() if k not in user_keys}
    # What the template would call every profile: names that already match stay
    # out of the contest, so an existing name is never qualified after the fact.
    settled = {k: current[k] for k in wanted if current.get(k) == wanted[k]}
    desired = {**settled, **assign_names({k: b for k, b in wanted.items() if k not in settled}, is_free)}
    renames = {k: (current[k], desired[k]) for k in wanted if k in current and current[k] != desired[k]}
    if args.rename:
        names = desired
    else:
        fresh = assign_names({k: b for k, b in wanted.items() if k not in current}, is_free)
        names = {**{k: current[k] for k in wanted if k in current}, **fresh}

    profiles: dict[str, dict] = {}
    for key, e in reachable.items():
        if key not in names:
            continue
        old_name = current.get(key, names[key])
        values = {"sso_session": e.sso_session, "sso_account_id": e.account_id, "sso_role_name": e.role}
        region = args.region or kept.get(old_name, {}).get("region")
        if region:
            values["region"] = region
        profiles[names[key]] = values
    renamed_away = {old for old, new in renames.values()} if args.rename else set()
    for name, values in kept.items():  # unreachable (not pruned), other sessions', extra names
        if name not in profiles and name not in renamed_away:
            profiles[name] = values

    header = f"{TEMPLATE_LINE}{template}\n\n" if template != DEFAULT_TEMPLATE else ""
    body = header + "\n".join(f"[profile {name}]\n" + "".join(f"{k} = {v}\n" for k, v in values.items())
                              for name, values in profiles.items())
    new = awsconfig.replace_managed_block(old, body)

    done = dict(renames.values()) if args.rename else {}
    changes = {
        "new": [n for n in profiles if n not in previous and n not in done.values()],
        "renamed": [f"{a} -> {b}" for a, b in done.items()],
        "removed": [n for n in previous if n not in profiles and n not in done],
    }
    if skipped:
        print(f"ssoenv: skipped {skipped} account/role(s) whose id or role name cannot be written "
              "safely into the AWS config", file=sys.stderr)
    pending = {} if args.rename else renames
    counts = ", ".join(f"{len(v)} {k}" for k, v in changes.items())
    if args.dry_run:
        import difflib

        sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                                   str(path), str(path) + " (ssoenv populate)"))
        _print_changes(changes, pending, template, None)
        print(f"ssoenv: would write {len(profiles)} profiles ({counts})", file=sys.stderr)
        return 0
    if new == old:
        _print_changes(changes, pending, template, LISTED)
        print(f"ssoenv: {path} is up to date ({len(profiles)} profiles)", file=sys.stderr)
        return 0
    backup = awsconfig.write_config_text(path, old, new)  # a failure is one line: nothing listed before it
    _print_changes(changes, pending, template, LISTED)
    print(f"ssoenv: wrote {len(profiles)} profiles to {path} ({counts})"
          + (f"; backup: {backup}" if backup else ""), file=sys.stderr)
    return 0


def _print_list(title: str, items: list[str], limit: int | None) -> None:
    from ssoenv.shellout import printable

    shown = items if limit is None else items[:limit]
    for item in shown:
        print(f"ssoenv: {title}: {printable(item)}", file=sys.stderr)
    if len(items) > len(shown):
        print(f"ssoenv: … and {len(items) - len(shown)} more {title} (--dry-run lists them all)", file=sys.stderr)


def _print_changes(changes: dict[str, list[str]], pending: dict, template: str, limit: int | None) -> None:
    """Which names are new, renamed, removed; and renames the template asks for but
    that wait for --rename."""
    for kind, items in changes.items():
        _print_list(kind, items, limit)
    if pending:
        _print_pending_renames(pending, template, limit)


def _print_pending_renames(renames: dict, template: str, limit: int | None) -> None:
    print(f"ssoenv: {len(renames)} existing profile(s) keep their names; the template {template!r} "
          "would rename them (add --rename to do it; scripts using the old names would break):",
          file=sys.stderr)
    _print_list("would rename", [f"{a} -> {b}" for a, b in renames.values()], limit)
