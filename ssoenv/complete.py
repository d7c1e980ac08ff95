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
           -> the candidates for the position that the shell's matching could
              keep for CURRENT (see loosely), NUL-separated

Fewer candidates make a cheaper Tab in every shell (the shells' side costs more
than the program's at thousands): a TARGET by account id (`ID`, `ID/ROLE`) is
offered only once the word starts with a digit, unless the account has no name.
"""

from __future__ import annotations

import os
import sys

from ssoenv.shells import SHELLS

GLOBAL_OPTIONS = ("--help", "--version", "--verbose", "--debug")
# Options that take a value, in any subcommand: enough to step over their values
# when finding the TARGET's place, without building a parser on every Tab (a test
# checks this against the real parsers).
VALUE_OPTIONS = frozenset({
    "--sso-session", "--profile", "--shell", "--region", "--template", "--start-url", "--scopes",
    "--role", "--mode", "--min-valid", "--instance-arn", "--format", "--command", "--accounts", "--account",
    "--destination", "--each", "--exclude", "--parallel", "--output-dir",
})
TARGET_COMMANDS = ("use", "exec", "env", "credential-process", "console", "serve")


def split_line(line: str) -> tuple[list[str], str, str]:
    """bash's words of `line` (quotes removed), the last one (possibly empty)
    unquoted, and that last one as typed."""
    words: list[str] = []
    chars: list[str] = []
    in_word, quote, start, i = False, "", 0, 0
    while i < len(line):
        ch = line[i]
        if quote == "$'":  # $'...': bash's ANSI-C quoting, as quote_word_bash writes it
            if ch == "'":
                quote = ""
            elif ch == "\\" and i + 1 < len(line):
                text, i = _ansi_c_escape(line, i + 1)
                chars.append(text)
                continue
            else:
                chars.append(ch)
        elif quote == "'":
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
            elif ch == "$" and line[i + 1:i + 2] == "'":
                quote, i = "$'", i + 1
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


_ANSI_C_SIMPLE = {"a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r",
                  "t": "\t", "v": "\v", "\\": "\\", "'": "'", '"': '"', "?": "?"}


def _ansi_c_escape(line: str, i: int) -> tuple[str, int]:
    """The character of the escape at line[i:] (after the backslash) in $'...', and
    where the text goes on."""
    ch = line[i]
    if ch in _ANSI_C_SIMPLE:
        return _ANSI_C_SIMPLE[ch], i + 1
    for lead, digits, base in (("x", 2, 16), ("u", 4, 16), ("U", 8, 16)):
        if ch == lead:
            end = i + 1
            while end < len(line) and end < i + 1 + digits and line[end] in "0123456789abcdefABCDEF":
                end += 1
            if end > i + 1:
                return chr(min(int(line[i + 1:end], base), 0x10FFFF)), end
            return "\\" + ch, i + 1
    if ch in "01234567":
        end = i
        while end < len(line) and end < i + 3 and line[end] in "01234567":
            end += 1
        return chr(int(line[i:end], 8) & 0xFF), end
    return "\\" + ch, i + 1


def _config():
    from ssoenv import awsconfig

    try:
        return awsconfig.load()
    except Exception:  # a broken config completes nothing, quietly
        return None


# The kept TARGET list (paths.completion_index_file): valid while the AWS config and
# the catalog are the files it was made from. Change this when targets() offers more.
_INDEX_FORMAT = b"ssoenv-complete-index 2"
# NAME/ROLE forms are offered once the typed word leaves at most this many of them
# (before that, the accounts by name: 1,667 candidates instead of 6,668 at 5,000
# entries, like a directory before its files).
ROLE_FORMS_LIMIT = 256


def target_groups(ids: bool = True) -> tuple[list[str], list[str]]:
    """(profiles, account names and ids; ACCOUNT/ROLE by name and by id). The id
    forms of an account that has a name only with `ids`. The one place that says
    what a TARGET may be, for every shell.

    From a kept list while the config and the catalog are unchanged (a Tab then
    parses neither: at 5,000 entries this is the hot path of a Tab); else made
    anew and kept."""
    from ssoenv import paths

    index_file = paths.completion_index_file()
    key = _index_key(paths.aws_config_file(), paths.catalog_file())
    kept = _read_index(index_file, key)
    if kept is None:
        kept = _collect_targets()
        try:
            from ssoenv.cache import atomic_write_bytes

            body = "\0\0".join("\0".join(group) for group in kept).encode("utf-8", "surrogateescape")
            atomic_write_bytes(index_file, key + b"\n" + body, durable=False)
        except Exception:  # read-only or full disk: completion still answers
            pass
    short, long, short_ids, long_ids = kept
    return (short + short_ids, long + long_ids) if ids else (short, long)


def targets(ids: bool = True) -> list[str]:
    """Every TARGET (see target_groups)."""
    short, long = target_groups(ids)
    return short + long


def _index_key(*files) -> bytes:
    parts = [_INDEX_FORMAT]
    for file in files:
        try:
            st = os.stat(file)
            parts.append(f"{file}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}".encode("utf-8", "surrogateescape"))
        except OSError:
            parts.append(f"{file}:-".encode("utf-8", "surrogateescape"))
    return b"|".join(parts).replace(b"\n", b"?")


def _read_index(file, key: bytes) -> tuple[list[str], ...] | None:
    """The kept groups when they were made for `key`; a regular file only, never
    through a symlink."""
    try:
        fd = os.open(file, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        import stat

        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(fd, "rb", closefd=False) as fh:
            head = fh.readline(len(key) + 1)
            if head != key + b"\n":
                return None
            groups = fh.read().decode("utf-8", "surrogateescape").split("\0\0")
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)
    if len(groups) != 4:
        return None
    return tuple(group.split("\0") if group else [] for group in groups)


def _collect_targets() -> tuple[list[str], list[str], list[str], list[str]]:
    """(profiles and account names, ACCOUNT/ROLE by name, account ids, ACCOUNT/ROLE by
    id) - an account without a name is in the first two by id - from the config and
    straight from the catalog's JSON (catalog.load's checks are the loop's own here,
    without importing the catalog's machinery)."""
    import json

    from ssoenv import paths

    config = _config()
    # SSO profiles, and chained roles (role_arn: ssoenv.chain)
    short = [p.name for p in config.profiles.values() if p.is_sso or "role_arn" in p.values] if config else []
    long: list[str] = []
    short_ids: list[str] = []
    long_ids: list[str] = []
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
            by_id = [f"{account_id}/{role}" for role in roles if isinstance(role, str)]
            if name:
                short.append(name)
                long += [f"{name}/{role}" for role in roles if isinstance(role, str)]
                short_ids.append(account_id)
                long_ids += by_id
            else:
                short.append(account_id)
                long += by_id
    # Each once, in the first group that has it. A NUL cannot reach a program's argv,
    # nor the kept list: such a name is not offered.
    seen: set[str] = set()
    groups = []
    for group in (short, long, short_ids, long_ids):
        group = [t for t in dict.fromkeys(group) if t and t not in seen and "\0" not in t]
        seen.update(group)
        groups.append(group)
    return groups[0], groups[1], groups[2], groups[3]


def option_values(dest: str, choices) -> list[str]:
    if choices:
        return [str(c) for c in choices]
    if dest == "shell":  # `demo --shell` also takes a path, so argparse has no choices
        return list(SHELLS)
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
    from argparse import SUPPRESS  # hidden options (the shell integration's own) are not offered

    return [o for o, a in by_option.items() if o.startswith("--") and a.help != SUPPRESS] + ["-h"]


def _unquoted(current: str) -> str:
    """The typed word without quote characters (fish hands it over as typed)."""
    return current.replace("'", "").replace('"', "").replace("\\", "")


def loosely(current: str):
    """A test that keeps every candidate zsh's or fish's matching could offer for
    `current`: its characters in order, any case, `-` and `_` alike (prefix,
    substring, fish's subsequence, zsh's usual matcher-lists). None: keep all."""
    needle = _unquoted(current)
    if not needle:
        return None
    import re

    pattern = ".*?".join("[-_]" if ch in "-_" else re.escape(ch) for ch in needle)
    return re.compile(pattern, re.IGNORECASE | re.DOTALL).search


def _place(words: list[str]) -> tuple[str | None, int, str | None, bool]:
    """Where the next word stands after `words` (without the program name): the
    subcommand, how many of its positional words are typed, the option whose value
    comes next, and whether `--` was typed."""
    command, rest = None, []
    for i, word in enumerate(words):
        if not word.startswith("-"):
            command, rest = word, words[i + 1:]
            break
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
    return command, taken, expecting, after_dashes


def dashed_targets(words: list[str], current: str) -> list[str]:
    """Targets that start with `-` where an option is expected: they can stand only
    after `--` (bash inserts `-- TARGET`). exec's `--` starts the command instead."""
    command, taken, expecting, after_dashes = _place(words)
    if (command not in TARGET_COMMANDS or command == "exec" or taken or expecting or after_dashes
            or not current.startswith("-")):
        return []
    return [t for t in targets(current[1:2].isdigit()) if t.startswith(current)]


def candidates(words: list[str], current: str, match=None) -> list[str]:
    """What may stand where `current` is, after `words` (without the program name);
    of the TARGETs only those `match` keeps (the shell's own matching, or a
    superset of it), NAME/ROLE only once few of them are left (ROLE_FORMS_LIMIT)."""
    from ssoenv.subcommands import COMMANDS

    command, taken, expecting, after_dashes = _place(words)
    if command is None:
        if current.startswith("-"):
            return list(GLOBAL_OPTIONS)
        return list(COMMANDS)
    if command not in COMMANDS:
        return []
    if not after_dashes and (expecting or current.startswith("-")):
        return _option_candidates(command, expecting, current)
    if command == "exec" and (after_dashes or taken >= 1):
        return []  # the command to run: the shell's own completion
    if command in TARGET_COMMANDS or command == "pick":
        # By id only once the word starts with a digit: half the candidates less.
        short, long = target_groups(_unquoted(current)[:1].isdigit())
        if match is not None:
            short, long = [t for t in short if match(t)], [t for t in long if match(t)]
        if short and len(long) > ROLE_FORMS_LIMIT:
            return short
        return short + long
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
        matching = [c for c in candidates(words[1:], current, lambda c: c.startswith(current))
                    if c.startswith(current)]
        quoted = bash_replies(matching, dashed_targets(words[1:], current))
        # readline replaces only its own word, which COMP_WORDBREAKS may have cut
        # shorter than the shell's: print each candidate from where that word starts.
        cut = len(raw) - len(readline_word) if raw.endswith(readline_word) else 0
        if cut:
            quoted = [q[cut:] for q in quoted if q.startswith(raw[:cut])]
        sys.stdout.write("".join(q + "\n" for q in quoted if q))
        return 0
    if not argv:
        return 2
    words, current = argv[:-1], argv[-1]
    keep = loosely(current)
    found = candidates(words, current, keep)
    if keep is not None:
        found = [c for c in found if keep(c)]
    if shell == "fish":
        # fish reads "candidate<TAB>description", and fish 3.6 aborts on a candidate
        # holding a newline: such a name is reached by its id.
        found = [c for c in found if "\t" not in c and "\n" not in c and "\r" not in c]
    sys.stdout.write("".join(c + "\0" for c in found if c))
    return 0


def bash_replies(values: list[str], dashed: list[str]) -> list[str]:
    """COMPREPLY's lines: `values` quoted, `-- TARGET` for each of `dashed`, and, when
    readline's common prefix of them would end inside one character's quoting
    (`a\\`, `$'\\`), that prefix cut back to whole characters as one more reply, so
    readline inserts that instead (`''` when it is empty)."""
    from ssoenv.shellout import bash_units, quote_words_bash

    replies = quote_words_bash(values) + ["-- " + q for q in quote_words_bash(dashed)]
    if len(replies) < 2:
        return replies
    common = os.path.commonprefix(replies)
    if "\\" not in common and "$" not in common:
        return replies  # one character per piece so far: any length is whole
    units = [bash_units(v) for v in values] + [["-", "-", " ", *bash_units(v)] for v in dashed]
    whole = ""
    for pieces in zip(*units, strict=False):
        if any(p != pieces[0] for p in pieces):
            break
        whole += pieces[0]
    if len(whole) < len(common):
        replies.append(whole or "''")
    return replies
