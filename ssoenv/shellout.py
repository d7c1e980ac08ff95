"""Everything ssoenv prints for a shell to eval, or for a tool to parse.

All quoting lives here. Values come from the network (account names can hold
`$(...)`, backquotes, quotes, newlines, unicode), so each is quoted for its shell.
"""

from __future__ import annotations

import json
import re

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hot paths
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

# A change is (NAME, value) to set, or (NAME, None) to unset.
Change = tuple[str, "str | None"]


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"not a variable name: {name!r}")
    return name


def _clean(value: str) -> str:
    # An environment value cannot hold NUL; every other character survives.
    return value.replace("\0", "")


def printable(text: str) -> str:
    """Text from the network made safe for a terminal: no control characters
    (escapes, newlines, tabs), so a name can neither move the cursor nor forge a row."""
    if text.isprintable():  # the common case
        return text
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def quote_posix(value: str) -> str:
    """Single quotes for bash and zsh; a quote inside is written '\\''."""
    return "'" + _clean(value).replace("'", "'\\''") + "'"


def quote_fish(value: str) -> str:
    """fish single quotes: only backslash and the quote itself are special."""
    return "'" + _clean(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def quote(value: str, shell: str) -> str:
    if shell == "fish":
        return quote_fish(value)
    if shell in ("bash", "zsh", "sh"):
        return quote_posix(value)
    raise ValueError(f"unsupported shell: {shell}")


_BASH_PLAIN = re.compile(r"[A-Za-z0-9_@%+=:,./-]")
_BASH_PLAIN_WORD = re.compile(r"[A-Za-z0-9_@%+=:,./-]*\Z")
_ANSI_C = {"\a": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v", "\f": "\\f",
           "\r": "\\r", "\x1b": "\\E", "'": "\\'", "\\": "\\\\"}


def _ansi_c_code(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def bash_units(value: str) -> list[str]:
    """`value` quoted for bash, one piece per character: a plain character as it is,
    one that means something to the shell behind a backslash, a control character as
    its own $'...'. Pieces, so that readline's common prefix of several candidates
    can be kept from ending inside one (a dangling backslash or an unclosed $')."""
    value = _clean(value)
    return [ch if _BASH_PLAIN.match(ch) or (ord(ch) > 0x7f and ch.isprintable())
            else "\\" + ch if ch.isprintable()
            else "$'" + (_ANSI_C.get(ch) or _ansi_c_code(ch)) + "'"
            for ch in value]


def quote_word_bash(value: str) -> str:
    """One word as bash's own completion writes it: characters that mean something
    to the shell behind a backslash, so what the user typed stays a prefix of it
    (also next to a name with control characters, each in its own $'...': a
    backslash-newline would be a line continuation)."""
    if _BASH_PLAIN_WORD.match(value):  # the common case: nothing to quote
        return value
    return "".join(bash_units(value))


def quote_words_bash(values: list[str]) -> list[str]:
    """quote_word_bash of each; one regex pass when none needs quoting (the usual case)."""
    if _BASH_PLAIN_WORD.match("".join(values)):
        return list(values)
    return [quote_word_bash(v) for v in values]


def quote_argv(argv: Sequence[str], shell: str) -> str:
    return " ".join(quote(arg, shell) for arg in argv)


def render(changes: Iterable[Change], shell: str) -> str:
    """Statements that apply `changes` in `shell`, one per line."""
    lines = []
    for name, value in changes:
        _check_name(name)
        if shell == "fish":
            if value is None:
                # `set -e` of an unset variable fails, and fish's `set` keeps
                # that status: `or true` keeps the eval's status honest.
                lines.append(f"set -e {name}; or true;")
            else:
                lines.append(f"set -gx {name} {quote_fish(value)};")
        elif shell in ("bash", "zsh"):
            if value is None:
                lines.append(f"unset {name};")
            else:
                lines.append(f"export {name}={quote_posix(value)};")
        else:
            raise ValueError(f"unsupported shell: {shell}")
    return "\n".join(lines) + ("\n" if lines else "")


def _powershell(value: str) -> str:
    return "'" + _clean(value).replace("'", "''") + "'"


def export_credentials(variables: Mapping[str, str], fmt: str) -> str:
    """The formats of `aws configure export-credentials --format`.

    `variables` maps AWS_* names to values, in the order to print them.
    """
    items = [( _check_name(k), v) for k, v in variables.items() if v is not None]
    if fmt == "env":
        return "".join(f"export {k}={quote_posix(v)}\n" for k, v in items)
    if fmt == "env-no-export":
        return "".join(f"{k}={quote_posix(v)}\n" for k, v in items)
    if fmt == "fish":
        return "".join(f"set -gx {k} {quote_fish(v)}\n" for k, v in items)
    if fmt == "powershell":
        return "".join(f"$Env:{k}={_powershell(v)}\n" for k, v in items)
    if fmt == "windows-cmd":
        # cmd has no quoting that survives every character; refuse what it cannot carry.
        for k, v in items:
            if re.search(r'[\r\n"&|<>^%]', v):
                raise ValueError(f"{k} holds characters windows-cmd cannot carry")
        return "".join(f"set {k}={v}\n" for k, v in items)
    if fmt in ("process", "json"):
        raise ValueError("use process_json() for the process and json formats")
    raise ValueError(f"unknown format: {fmt}")


def process_json(access_key_id: str, secret_access_key: str, session_token: str,
                 expiration: str | None) -> str:
    """The `credential_process` document (Version 1)."""
    doc = {"Version": 1, "AccessKeyId": access_key_id, "SecretAccessKey": secret_access_key,
           "SessionToken": session_token}
    if expiration:
        doc["Expiration"] = expiration
    return json.dumps(doc, indent=2) + "\n"
