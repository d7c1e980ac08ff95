"""Tab completion, asked by the shell snippets: `ssoenv __complete SHELL ...`.

Why not argcomplete or shtab: argcomplete re-runs the whole CLI per Tab (and
cannot quote for fish), shtab writes static scripts that cannot know account
names. The shells' own systems do the matching and the quoting they are good at
(zsh's compadd, fish's complete); this module only says what may come next,
from files: the AWS config and the cached catalog. No boto3, no network.

    bash:  __complete bash LINE_UP_TO_CURSOR READLINE_WORD
           -> matching candidates, quoted for bash, one per line
    zsh:   __complete zsh WORD... CURRENT   (words unquoted; zsh filters and quotes)
    fish:  __complete fish WORD... CURRENT  (idem for fish)
           -> every candidate for the position, NUL-separated
"""

from __future__ import annotations

import sys

from ssoenv.shells import SHELLS

GLOBAL_OPTIONS = ("--help", "--version", "--verbose", "--debug")
# Options that take a value, in any subcommand: enough to step over their values
# when finding the TARGET's place, without building a parser on every Tab (a test
# checks this against the real parsers).
VALUE_OPTIONS = frozenset({
    "--sso-session", "--profile", "--shell", "--region", "--template", "--start-url", "--scopes",
    "--role", "--mode", "--min-valid", "--instance-arn", "--format", "--command", "--accounts", "--account",
    "--destination",
})
TARGET_COMMANDS = ("use", "exec", "env", "credential-process", "console")


def split_line(line: str) -> tuple[list[str], str, str]:
    """bash's words of `line` (quotes removed), the last one (possibly empty)
    unquoted, and that last one as typed."""
    words: list[str] = []
    chars: list[str] = []
    in_word, quote, start, i = False, "", 0, 0
    while i < len(line):
        ch = line[i]
        if quote == "'":
            if ch == "'":
                quote = ""
            else:
                chars.append(ch)
        elif quote == '"':
            if ch == '"':
                quote = ""
            elif ch == "\\" and line[i + 1:i + 2] in ('"', "\\", "$", "`"):
                i += 1
                chars.append(line[i])
            else:
                chars.append(ch)
        elif ch in " \t\n":
            if in_word:
                words.append("".join(chars))
                chars, in_word = [], False
        else:
            if not in_word:
                in_word, start = True, i
            if ch in "'\"":
                quote = ch
            elif ch == "\\":
                if i + 1 < len(line):
                    i += 1
                    chars.append(line[i])
            else:
                chars.append(ch)
        i += 1
    if in_word:
        return words, "".join(chars), line[start:]
    return words, "", ""


def _config():
    from ssoenv import awsconfig

    try:
        return awsconfig.load()
    except Exception:  # a broken config completes nothing, quietly
        return None


def targets() -> list[str]:
    """Profile names, ACCOUNT/ROLE (by name and by id), account names and ids.

    Straight from the catalog's JSON (catalog.load's checks are the loop's own
    here, without importing the catalog's machinery): at 5,000 entries this is the
    hot path of a Tab."""
    import json

    from ssoenv import paths

    config = _config()
    # SSO profiles, and chained roles (role_arn: ssoenv.chain)
    out = [p.name for p in config.profiles.values() if p.is_sso or "role_arn" in p.values] if config else []
    names: list[str] = []
    ids: list[str] = []
    try:
        with open(paths.catalog_file(), "rb") as fh:
            sessions = json.loads(fh.read())["sessions"].values()
    except Exception:  # missing, unreadable, not JSON, not the catalog's shape
        sessions = []
    for record in sessions:
        for account in record.get("accounts", []) if isinstance(record, dict) else []:
            try:
                account_id, name, roles = account["id"], account["name"], account["roles"]
            except (KeyError, TypeError):
                continue
            if not isinstance(account_id, str) or not isinstance(name, str) or not isinstance(roles, list):
                continue
            roles = [r for r in roles if isinstance(r, str)]
            if name:
                out += [f"{name}/{role}" for role in roles]
                names.append(name)
            out += [f"{account_id}/{role}" for role in roles]
            ids.append(account_id)
    return list(dict.fromkeys(out + names + ids))


def option_values(dest: str, choices) -> list[str]:
    if choices:
        return [str(c) for c in choices]
    if dest == "sso_session":
        config = _config()
        return list(config.sessions) if config else []
    if dest == "profile":
        config = _config()
        return [p.name for p in config.profiles.values()] if config else []
    if dest in ("account", "role"):
        from ssoenv import catalog

        entries = catalog.cached_entries()
        if dest == "role":
            return sorted({e.role for e in entries})
        return list(dict.fromkeys([e.account_name for e in entries if e.account_name]
                                  + [e.account_id for e in entries]))
    return []


def _subparser(command: str):
    import argparse
    import importlib

    from ssoenv.subcommands import COMMANDS

    p = argparse.ArgumentParser(prog=f"ssoenv {command}", add_help=True)
    importlib.import_module(COMMANDS[command][0]).configure_parser(p)
    return p


def _option_candidates(command: str, expecting: str | None, current: str) -> list[str]:
    """Option names, or the values of the option before the cursor (or in --opt=)."""
    parser = _subparser(command)
    by_option = {o: a for a in parser._actions for o in a.option_strings}
    if expecting is not None:
        action = by_option.get(expecting)
        return option_values(action.dest, action.choices) if action is not None else []
    if current.startswith("--") and "=" in current:
        name = current.split("=", 1)[0]
        action = by_option.get(name)
        if action is None or action.nargs == 0:
            return []
        return [f"{name}={v}" for v in option_values(action.dest, action.choices)]
    return [o for o in by_option if o.startswith("--")] + ["-h"]


def candidates(words: list[str], current: str) -> list[str]:
    """What may stand where `current` is, after `words` (without the program name)."""
    from ssoenv.subcommands import COMMANDS

    command, rest = None, []
    for i, word in enumerate(words):
        if not word.startswith("-"):
            command, rest = word, words[i + 1:]
            break
    if command is None:
        if current.startswith("-"):
            return list(GLOBAL_OPTIONS)
        return list(COMMANDS)
    if command not in COMMANDS:
        return []
    taken, expecting, after_dashes = 0, None, False
    for word in rest:
        if after_dashes:
            taken += 1
        elif expecting is not None:
            expecting = None
        elif word == "--":
            after_dashes = True
        elif word.startswith("-") and word != "-":
            if word in VALUE_OPTIONS:
                expecting = word
        else:
            taken += 1
    if not after_dashes and (expecting or current.startswith("-")):
        return _option_candidates(command, expecting, current)
    if command == "exec" and (after_dashes or taken >= 1):
        return []  # the command to run: the shell's own completion
    if command in TARGET_COMMANDS or command == "pick":
        return targets()
    if command == "init":
        return list(SHELLS)
    if command == "admin":
        positionals = [a for a in _subparser(command)._actions if not a.option_strings]
        if positionals and positionals[0].choices and taken == 0:
            return [str(c) for c in positionals[0].choices]
    return []


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in SHELLS:
        print("usage: ssoenv __complete bash|zsh|fish ...", file=sys.stderr)
        return 2
    shell, argv = argv[0], argv[1:]
    if shell == "bash":
        if len(argv) != 2:
            return 2
        line, readline_word = argv
        words, current, raw = split_line(line)
        from ssoenv.shellout import quote_words_bash

        matching = [c for c in candidates(words[1:], current) if c.startswith(current)]
        quoted = quote_words_bash(matching)
        # readline replaces only its own word, which COMP_WORDBREAKS may have cut
        # shorter than the shell's: print each candidate from where that word starts.
        cut = len(raw) - len(readline_word) if raw.endswith(readline_word) else 0
        if cut:
            quoted = [q[cut:] for q in quoted if q.startswith(raw[:cut])]
        sys.stdout.write("".join(q + "\n" for q in quoted))
        return 0
    if not argv:
        return 2
    words, current = argv[:-1], argv[-1]
    found = candidates(words, current)
    if shell == "fish":  # fish reads "candidate<TAB>description"; a tab cannot be a candidate
        found = [c for c in found if "\t" not in c]
    sys.stdout.write("".join(c + "\0" for c in found if c))
    return 0
