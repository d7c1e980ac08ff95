"""~/.aws/config (or $AWS_CONFIG_FILE): read fast, edit round-trip.

Reading uses configparser (cheap, stdlib) with botocore's rules: a file the AWS CLI
would refuse (duplicate section or key, a byte-order mark) or a value it would misread
(an inline `; comment` is part of the value for botocore) is an error here too, named
in one line, rather than something ssoenv exports and the AWS CLI then chokes on.

Editing works on lines: only the lines ssoenv changes are rewritten, in the file's
own line endings; comments, order, spacing and unknown keys stay byte for byte.
Every edit is backed up and written atomically. ssoenv only ever touches the
`[sso-session NAME]` section it is asked to and the block between its own markers
(see `replace_managed_block`).
"""

from __future__ import annotations

import configparser
import os
import re
from collections import namedtuple
from pathlib import Path

from ssoenv import paths
from ssoenv.errors import SsoenvError, UsageError

DEFAULT_SCOPES = ["sso:account:access"]
BLOCK_BEGIN = "# BEGIN ssoenv managed profiles: edits inside this block are replaced by `ssoenv populate`"
BLOCK_END = "# END ssoenv managed profiles"


# (namedtuples, not dataclasses: importing dataclasses costs the hot paths ~4 ms)
class SsoSession(namedtuple("SsoSession", "name start_url region scopes legacy", defaults=((), False))):
    """What a login needs: an sso-session, or a legacy profile's start URL.

    `name` is the sso-session name (for legacy profiles, the profile name); `legacy`
    means the token cache is keyed by start URL and there are no refresh tokens.
    """

    __slots__ = ()

    @property
    def cache_key(self) -> str:
        return self.start_url if self.legacy else self.name

    @property
    def label(self) -> str:
        return f"profile {self.name}" if self.legacy else self.name


class Profile(namedtuple("Profile", "name values")):
    __slots__ = ()

    @property
    def sso_session(self) -> str | None:
        return self.values.get("sso_session")

    @property
    def account_id(self) -> str | None:
        return self.values.get("sso_account_id")

    @property
    def role_name(self) -> str | None:
        return self.values.get("sso_role_name")

    @property
    def region(self) -> str | None:
        return self.values.get("region")

    @property
    def is_sso(self) -> bool:
        return "sso_account_id" in self.values or "sso_role_name" in self.values


class AwsConfig:
    def __init__(self, path: Path, sessions: dict[str, SsoSession], profiles: dict[str, Profile]):
        self.path, self.sessions, self.profiles = path, sessions, profiles

    def session(self, name: str) -> SsoSession:
        try:
            return self.sessions[name]
        except KeyError:
            known = ", ".join(sorted(self.sessions)) or "none"
            raise SsoenvError(f"no sso-session named {name!r} in {self.path} (known: {known})",
                              hint="add one with: ssoenv configure (or `ssoenv demo` to try it locally)") from None

    def profile(self, name: str) -> Profile:
        try:
            return self.profiles[name]
        except KeyError:
            raise SsoenvError(f"no profile named {name!r} in {self.path}") from None

    def session_for_profile(self, name: str) -> SsoSession:
        """The sso-session (or legacy start URL) a profile logs in through."""
        profile = self.profile(name)
        if profile.sso_session:
            return self.session(profile.sso_session)
        url, region = profile.values.get("sso_start_url"), profile.values.get("sso_region")
        if url and region:
            return SsoSession(name=name, start_url=url, region=region, legacy=True)
        raise SsoenvError(f"profile {name!r} is not an IAM Identity Center profile "
                          "(no sso_session, or sso_start_url and sso_region)")

    def sso_profiles(self) -> list[Profile]:
        return [p for p in self.profiles.values() if p.is_sso]


def _split_scopes(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    return tuple(s.strip() for s in text.split(",") if s.strip())


# Values ssoenv (and botocore) read as one word: whitespace inside means a typo or an
# inline comment, which botocore keeps as part of the value.
ONE_WORD_KEYS = ("sso_session", "sso_account_id", "sso_role_name", "sso_start_url", "sso_region", "region")
INLINE_COMMENT = re.compile(r"\s[;#]")


def load(path: Path | None = None) -> AwsConfig:
    """Parse the AWS config. A missing file is an empty config; a broken one an error."""
    path = path or paths.aws_config_file()
    # strict: botocore's loader refuses duplicate sections and keys, so do we. [DEFAULT] is
    # configparser's default section, as in botocore: its values apply to every section
    # ([default], profiles, sso-sessions) that does not set them itself.
    parser = configparser.RawConfigParser(strict=True, interpolation=None)
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        if text.startswith("\ufeff"):
            raise SsoenvError(f"{path} starts with a byte-order mark (BOM), which the AWS CLI cannot read; "
                              "save it as UTF-8 without BOM")
        parser.read_string(text, source=str(path))
    except FileNotFoundError:
        return AwsConfig(path, {}, {})
    except configparser.DuplicateSectionError as exc:
        raise SsoenvError(f"{path} has more than one [{exc.section}] section (line {exc.lineno}); "
                          "the AWS CLI refuses such a file: merge them by hand") from None
    except configparser.DuplicateOptionError as exc:
        raise SsoenvError(f"{path} sets {exc.option} twice in [{exc.section}] (line {exc.lineno}); "
                          "the AWS CLI refuses such a file: keep one") from None
    except UnicodeDecodeError as exc:
        raise SsoenvError(f"{path} is not UTF-8 text (byte {exc.start + 1}); the AWS CLI cannot read it") from None
    except configparser.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise SsoenvError(f"cannot parse {path}: {first}") from None
    except OSError as exc:
        raise SsoenvError(f"cannot read {path}: {exc.strerror}") from None
    sessions: dict[str, SsoSession] = {}
    profiles: dict[str, Profile] = {}
    defaults = dict(parser.defaults())
    _check_nested(path, parser.default_section, defaults)
    _check_values(path, parser.default_section, {k: v.strip() for k, v in defaults.items()})
    for section in parser.sections():
        raw = dict(parser.items(section))
        _check_nested(path, section, raw)
        values = {k: v.strip() for k, v in raw.items()}
        kind, name = section_name(section)
        if kind == "sso-session" and name:
            _check_values(path, section, values)
            url, region = values.get("sso_start_url"), values.get("sso_region")
            if not url or not region:
                missing = "sso_start_url" if not url else "sso_region"
                raise SsoenvError(f"[sso-session {name}] in {path} has no {missing}",
                                  hint=f"fix it with: ssoenv configure --sso-session {name}")
            sessions[name] = SsoSession(name, url, region, _split_scopes(values.get("sso_registration_scopes")))
        elif kind == "profile" and name:
            profiles[name] = Profile(name, values)
        elif section.strip() == "default":
            profiles["default"] = Profile("default", values)
    for profile in profiles.values():
        if profile.is_sso or "sso_session" in profile.values:
            _check_values(path, f"profile {profile.name}" if profile.name != "default" else "default",
                          profile.values)
    return AwsConfig(path, sessions, profiles)


def ini_sections(path: Path) -> dict[str, dict[str, str]]:
    """Every section of an INI file botocore reads besides the config (the shared
    credentials file, a boto config), as botocore reads it; {} when it is missing or
    unreadable (botocore then has nothing from it either)."""
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    try:
        with open(path, encoding="utf-8") as fh:
            parser.read_string(fh.read(), source=str(path))
    except (OSError, UnicodeDecodeError, configparser.Error):
        return {}
    return {section: {k: v.strip() for k, v in parser.items(section)} for section in parser.sections()}


def section_name(section: str) -> tuple[str | None, str]:
    """(kind, name) of a header as botocore reads it: shell words, exactly two
    (`[profile "a b"]` is profile `a b`; `[profile a b]` is no profile at all)."""
    if any(c in section for c in "\"'\\"):
        import shlex

        try:
            words = shlex.split(section)
        except ValueError:
            return None, ""
    else:
        words = section.split()
    if len(words) == 2:
        return words[0], words[1]
    return (words[0], "") if len(words) == 1 else (None, "")


def _check_nested(path: Path, section: str, values: dict[str, str]) -> None:
    """botocore reads a value that starts on the next line (`s3 =` then indented lines)
    as `key = value` pairs, and refuses the whole file when a line has no `=`."""
    for key, value in values.items():
        if value.startswith("\n") and any(line.strip() and "=" not in line for line in value.splitlines()):
            from ssoenv.shellout import printable

            raise SsoenvError(f"{path}: {key} in [{printable(section)}] continues on indented lines "
                              "without `=`, so the AWS CLI refuses the file; indent only `key = value` lines")


def _check_values(path: Path, section: str, values: dict[str, str]) -> None:
    """Refuse a value botocore would misread: it does not strip `; comments` after a value."""
    for key in (*ONE_WORD_KEYS, "sso_registration_scopes"):
        value = values.get(key)
        if not value:
            continue
        comment = INLINE_COMMENT.search(value)
        if comment or (key != "sso_registration_scopes" and re.search(r"\s", value)):
            from ssoenv.shellout import printable

            fix = "put comments on their own line" if comment else "remove the space"
            raise SsoenvError(f"{path}: {key} in [{printable(section)}] holds "
                              f"{'an inline comment' if comment else 'a space'} ('{printable(value)}'), "
                              f"which the AWS CLI reads as part of the value; {fix}")


# --- round-trip edits --------------------------------------------------------------

def read_text(path: Path) -> str:
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            return fh.read()
    except FileNotFoundError:
        return ""
    except UnicodeDecodeError:
        raise SsoenvError(f"{path} is not UTF-8 text; not editing it") from None


def newline_of(text: str) -> str:
    """The file's line ending (of its first line): what lines ssoenv adds are written in."""
    first = text.find("\n")
    return "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"


def write_config_text(path: Path, old: str, text: str) -> Path | None:
    """Back up the current file, then atomically replace it. Returns the backup path.

    Two backups: the file before this edit (`config.ssoenv-backup`, replaced each time)
    and, once, the file before ssoenv's first edit (`config.ssoenv-original`, never
    overwritten), so the user's own file survives any number of edits.

    A symlinked config (dotfile managers) is edited where it points. The edit is
    refused if the file changed since `old` was read (another editor, another ssoenv).
    A failed write names the file the user can fix, not the temporary file beside it.
    """
    from ssoenv.cache import WriteError, atomic_write_bytes, file_lock

    target = Path(os.path.realpath(path))
    shown = str(path) if target == Path(path) else f"{path} (a link to {target})"
    with file_lock(paths.aws_config_lock_file(), timeout=30):
        if read_text(target) != old:
            raise SsoenvError(f"{path} changed while ssoenv was editing it; nothing written, run it again")
        backup = None
        if target.exists():
            backup = paths.backup_file(path)
            mode = os.stat(target).st_mode & 0o777
            original = paths.original_backup_file(path)
            copies = [backup] if original.exists() or original.is_symlink() else [backup, original]
            for copy in copies:
                try:
                    atomic_write_bytes(copy, target.read_bytes(), mode=0o600, private=False)
                except (OSError, WriteError) as exc:
                    raise SsoenvError(f"cannot back up {shown} to {copy}: {exc.strerror or exc} "
                                      f"(in {copy.parent}); nothing written") from None
        else:
            mode = 0o600
        try:
            atomic_write_bytes(target, text.encode("utf-8"), mode=mode, private=False)
        except (OSError, WriteError) as exc:
            raise SsoenvError(f"cannot write {shown}: {exc.strerror or exc} "
                              f"(ssoenv replaces it through a new file in {target.parent}); "
                              "the file is unchanged") from None
    return backup


SECTION_HEADER = re.compile(r"\[.*\]")
KEY_LINE = re.compile(r"(?P<key>[^\s=:;#\[][^=:]*?)(?P<sep>\s*[=:]\s*)(?P<value>.*?)(?P<trail>\s*)\Z", re.DOTALL)


def _split_eol(line: str) -> tuple[str, str]:
    body = line.rstrip("\r\n")
    return body, line[len(body):]


def _set_section_values(lines: list[str], header: int, values: dict[str, str], drop: tuple[str, ...],
                        eol: str) -> list[str]:
    """Set keys in the section whose header is lines[header]; a line whose value is
    unchanged stays byte for byte, a changed one keeps its key, spacing and line ending."""
    end = header + 1
    while end < len(lines) and not (lines[end][:1] == "[" and SECTION_HEADER.match(lines[end].strip())):
        end += 1
    out = lines[:header + 1]
    pending = dict(values)
    last_content = header  # index in `out` after which missing keys go
    i = header + 1
    while i < end:
        line = lines[i]
        body, line_eol = _split_eol(line)
        match = KEY_LINE.match(body) if body[:1] not in (" ", "\t", "") else None
        nxt = i + 1  # an indented line after a key continues its value
        while match and nxt < end and lines[nxt][:1] in (" ", "\t") and lines[nxt].strip():
            nxt += 1
        key = match.group("key").strip().lower() if match else None
        if key in drop:
            i = nxt
            continue
        if match and key in pending:
            value = pending.pop(key)
            if match.group("value").strip() != value or nxt != i + 1:
                sep = match.group("sep")
                if not match.group("value") and sep[-1:] in ("=", ":"):
                    sep += " "  # the old value sat on indented lines below: `key =` alone
                line = match.group("key") + sep + value + match.group("trail") + line_eol
                out.append(line)
                last_content = len(out) - 1
                i = nxt
                continue
        out.extend(lines[i:nxt])
        if body.strip() and not body.lstrip().startswith(("#", ";")):
            last_content = len(out) - 1
        i = nxt
    if pending:
        body, line_eol = _split_eol(out[last_content])
        if not line_eol:  # the section ends the file without a newline
            out[last_content] = body + eol
        out[last_content + 1:last_content + 1] = [f"{k} = {v}{eol}" for k, v in pending.items()]
    return out + lines[end:]


def upsert_sso_session(name: str, start_url: str, region: str, scopes: list[str] | None,
                       path: Path | None = None) -> tuple[str, str]:
    """Add or update `[sso-session name]`; returns (old text, new text). Nothing written."""
    path = path or paths.aws_config_file()
    old = read_text(path)
    eol = newline_of(old)
    values = {"sso_start_url": start_url, "sso_region": region}
    if scopes:
        values["sso_registration_scopes"] = ",".join(scopes)
    # The header as the user wrote it (spacing may differ).
    pattern = re.compile(r"\[\s*sso-session\s+" + re.escape(name) + r"\s*\]")
    lines = old.splitlines(keepends=True)
    headers = [i for i, line in enumerate(lines) if line[:1] == "[" and pattern.fullmatch(line.strip())]
    if len(headers) > 1:
        raise SsoenvError(f"{path} has more than one [sso-session {name}] section; "
                          "merge them by hand first (the last one wins for the AWS CLI)")
    if not headers:
        # A new section is appended as text: the user's bytes stay exactly as they were.
        body = f"[sso-session {name}]{eol}" + "".join(f"{k} = {v}{eol}" for k, v in values.items())
        if not old:
            return old, body
        return old, old + (eol if old.endswith("\n") else eol + eol) + body
    drop = () if scopes else ("sso_registration_scopes",)
    return old, "".join(_set_section_values(lines, headers[0], values, drop, eol))


def replace_managed_block(old: str, body: str) -> str:
    """Put `body` between ssoenv's markers; everything outside them stays byte for byte.

    `body` is written with "\n"; it takes the file's own line endings."""
    eol = newline_of(old)
    block = f"{BLOCK_BEGIN}\n{body.rstrip()}\n{BLOCK_END}\n" if body.strip() else ""
    block = block.replace("\n", eol)
    start = old.find(BLOCK_BEGIN)
    if start != -1:
        end = old.find(BLOCK_END, start)
        if end == -1:
            raise SsoenvError("the ssoenv block in the AWS config has a BEGIN marker but no END marker; "
                              "fix the file by hand")
        end += len(BLOCK_END)
        for ending in ("\r\n", "\n"):
            if old.startswith(ending, end):
                end += len(ending)
                break
        return old[:start] + block + old[end:]
    if not block:
        return old
    if not old or old.endswith("\n\n") or old.endswith("\r\n\r\n"):
        sep = ""
    elif old.endswith("\n"):
        sep = eol
    else:
        sep = eol + eol
    return old + sep + block


# What names the sso-session a command means, strongest first. Written once: both
# `choose_sessions` (login, logout, refresh, targets) and `recover.session_for` (the
# command that failed) walk this list.
#   1. --sso-session / --profile, or the failed command's own --profile: said just now.
#   2. SSOENV_SESSION when the shell is switched in credentials mode and the keys are
#      exported: every botocore tool uses exported keys before AWS_PROFILE, so those
#      keys are what the command ran with, whatever AWS_PROFILE says.
#   3. AWS_PROFILE: the user's latest explicit choice (ssoenv unsets it on a switch
#      to credentials, so one set later was set by hand).
#   4. SSOENV_SESSION: what the shell is switched to.
#   5. (the caller's fallback) the only sso-session there is.
Claim = namedtuple("Claim", "kind name where")  # kind: "sso-session", "profile" or "active"


def session_claims(*, session: str | None = None, profile: str | None = None) -> list[Claim]:
    """The claims on "which sso-session", in the order above (rung 5 is the caller's)."""
    claims = []
    if session:
        claims.append(Claim("sso-session", session, "--sso-session"))
    if profile:
        claims.append(Claim("profile", profile, "--profile"))
    active = os.environ.get("SSOENV_SESSION")
    keys_exported = os.environ.get("SSOENV_MODE") == "credentials" and os.environ.get("AWS_ACCESS_KEY_ID")
    if active and keys_exported:
        claims.append(Claim("active", active, "SSOENV_SESSION"))
    env_profile = os.environ.get("AWS_PROFILE")
    if env_profile:
        claims.append(Claim("profile", env_profile, "AWS_PROFILE"))
    if active and not keys_exported:
        claims.append(Claim("active", active, "SSOENV_SESSION"))
    return claims


def choose_sessions(config: AwsConfig, *, session: str | None = None, profile: str | None = None,
                    all_sessions: bool = False) -> list[SsoSession]:
    """The sso-session(s) a command means (see `session_claims`; `all_sessions`: every
    one, unless one is named explicitly). From the environment, only a claim that
    names an sso-session of this config counts; the others are passed over."""
    for claim in session_claims(session=session, profile=profile):
        if claim.where == "--sso-session":
            return [config.session(claim.name)]
        if claim.where == "--profile":
            return [config.session_for_profile(_login_profile(config, claim.name) or claim.name)]
        if all_sessions:
            break
        if claim.kind == "active" and claim.name in config.sessions:
            return [config.sessions[claim.name]]
        if claim.kind == "profile" and (found := _login_profile(config, claim.name)):
            return [config.session_for_profile(found)]
    if all_sessions:
        if not config.sessions:
            raise no_sessions_error(config)
        return list(config.sessions.values())
    if len(config.sessions) == 1:
        return list(config.sessions.values())
    if not config.sessions:
        raise no_sessions_error(config)
    names = ", ".join(sorted(config.sessions))
    raise UsageError(f"several sso-sessions ({names}): say which with --sso-session NAME or --all")


def _login_profile(config: AwsConfig, name: str) -> str | None:
    """The SSO profile whose login `name` uses: itself, or for a chained role (role_arn
    + source_profile, ssoenv.chain) the one its chain ends in; None if there is none
    (a loop or a missing source: naming the profile as a target says what is wrong)."""
    seen = set()
    while name in config.profiles and "role_arn" in config.profiles[name].values and name not in seen:
        seen.add(name)
        name = config.profiles[name].values.get("source_profile", "")
    profile = config.profiles.get(name)
    return name if profile is not None and profile.is_sso else None


def no_sessions_error(config: AwsConfig) -> SsoenvError:
    """Nothing configured: the one message (and exit status 1) of every command that needs a login."""
    return SsoenvError(f"no sso-session in {config.path}",
                       hint="add one with: ssoenv configure (or `ssoenv demo` to try it locally)")
