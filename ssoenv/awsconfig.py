"""~/.aws/config (or $AWS_CONFIG_FILE): read fast, edit round-trip.

Reading uses configparser (cheap, stdlib). Editing goes through configupdater so
comments, order, blank lines and unknown keys survive; every edit is backed up and
written atomically. ssoenv only ever touches `[sso-session NAME]` sections it is
asked to and the block between its own markers (see `replace_managed_block`).
"""

from __future__ import annotations

import configparser
import os
import re
from collections import namedtuple
from pathlib import Path

from ssoenv import paths
from ssoenv.errors import SsoenvError

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


def load(path: Path | None = None) -> AwsConfig:
    """Parse the AWS config. A missing file is an empty config; a broken one an error."""
    path = path or paths.aws_config_file()
    parser = configparser.RawConfigParser(strict=False, interpolation=None, default_section="\0none")
    try:
        with open(path, encoding="utf-8") as fh:
            parser.read_file(fh)
    except FileNotFoundError:
        return AwsConfig(path, {}, {})
    except (configparser.Error, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise SsoenvError(f"cannot parse {path}: {first}") from None
    except OSError as exc:
        raise SsoenvError(f"cannot read {path}: {exc.strerror}") from None
    sessions: dict[str, SsoSession] = {}
    profiles: dict[str, Profile] = {}
    for section in parser.sections():
        values = {k: v.strip() for k, v in parser.items(section)}
        kind, _, name = section.strip().partition(" ")
        name = name.strip()
        if kind == "sso-session" and name:
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
    return AwsConfig(path, sessions, profiles)


# --- round-trip edits --------------------------------------------------------------

def read_text(path: Path) -> str:
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            return fh.read()
    except FileNotFoundError:
        return ""
    except UnicodeDecodeError:
        raise SsoenvError(f"{path} is not UTF-8 text; not editing it") from None


def write_config_text(path: Path, old: str, text: str) -> Path | None:
    """Back up the current file, then atomically replace it. Returns the backup path.

    A symlinked config (dotfile managers) is edited where it points. The edit is
    refused if the file changed since `old` was read (another editor, another ssoenv).
    """
    from ssoenv.cache import atomic_write_bytes, file_lock

    target = Path(os.path.realpath(path))
    with file_lock(paths.lock_dir() / "aws-config.lock", timeout=30):
        if read_text(target) != old:
            raise SsoenvError(f"{path} changed while ssoenv was editing it; nothing written, run it again")
        backup = None
        if target.exists():
            backup = paths.backup_file(path)
            mode = os.stat(target).st_mode & 0o777
            atomic_write_bytes(backup, target.read_bytes(), mode=0o600, private=False)
        else:
            mode = 0o600
        atomic_write_bytes(target, text.encode("utf-8"), mode=mode, private=False)
    return backup


def upsert_sso_session(name: str, start_url: str, region: str, scopes: list[str] | None,
                       path: Path | None = None) -> tuple[str, str]:
    """Add or update `[sso-session name]`; returns (old text, new text). Nothing written."""
    path = path or paths.aws_config_file()
    old = read_text(path)
    values = {"sso_start_url": start_url, "sso_region": region}
    if scopes:
        values["sso_registration_scopes"] = ",".join(scopes)
    # The header as the user wrote it (spacing may differ): configupdater keys by it.
    pattern = r"^\[(\s*sso-session\s+" + re.escape(name) + r"\s*)\]"
    if len(re.findall(pattern, old, re.MULTILINE)) > 1:
        raise SsoenvError(f"{path} has more than one [sso-session {name}] section; "
                          "merge them by hand first (the last one wins for the AWS CLI)")
    header = re.search(pattern, old, re.MULTILINE)
    if header is None:
        # A new section is appended as text: the user's bytes stay exactly as they were.
        body = f"[sso-session {name}]\n" + "".join(f"{k} = {v}\n" for k, v in values.items())
        if not old:
            return old, body
        return old, old + ("\n" if old.endswith("\n") else "\n\n") + body
    section = header.group(1)
    from configupdater import ConfigUpdater

    updater = ConfigUpdater(allow_no_value=True, strict=False)
    try:
        updater.read_string(old)
    except Exception as exc:  # configupdater raises configparser-style errors
        raise SsoenvError(f"cannot parse {path}: {str(exc).splitlines()[0]}") from None
    for key, value in values.items():
        updater[section][key] = value
    if not scopes and updater.has_option(section, "sso_registration_scopes"):
        updater.remove_option(section, "sso_registration_scopes")
    return old, str(updater)


def replace_managed_block(old: str, body: str) -> str:
    """Put `body` between ssoenv's markers; everything outside them stays byte for byte."""
    block = f"{BLOCK_BEGIN}\n{body.rstrip()}\n{BLOCK_END}\n" if body.strip() else ""
    start = old.find(BLOCK_BEGIN)
    if start != -1:
        end = old.find(BLOCK_END, start)
        if end == -1:
            raise SsoenvError("the ssoenv block in the AWS config has a BEGIN marker but no END marker; "
                              "fix the file by hand")
        end += len(BLOCK_END)
        if old[end:end + 1] == "\n":
            end += 1
        return old[:start] + block + old[end:]
    if not block:
        return old
    sep = "" if not old else ("\n" if old.endswith("\n") else "\n\n")
    if old and old.endswith("\n") and not old.endswith("\n\n"):
        sep = "\n"
    elif old.endswith("\n\n"):
        sep = ""
    return old + sep + block


def choose_sessions(config: AwsConfig, *, session: str | None = None, profile: str | None = None,
                    all_sessions: bool = False) -> list[SsoSession]:
    """The sso-session(s) a command means.

    Explicit --sso-session / --profile win; then $SSOENV_SESSION (what the shell is
    switched to), then $AWS_PROFILE; then the only sso-session there is.
    """
    if session:
        return [config.session(session)]
    if profile:
        return [config.session_for_profile(profile)]
    if all_sessions:
        if not config.sessions:
            raise _no_sessions(config)
        return list(config.sessions.values())
    active = os.environ.get("SSOENV_SESSION")
    if active and active in config.sessions:
        return [config.sessions[active]]
    env_profile = os.environ.get("AWS_PROFILE")
    if env_profile and env_profile in config.profiles and config.profiles[env_profile].is_sso:
        return [config.session_for_profile(env_profile)]
    if len(config.sessions) == 1:
        return list(config.sessions.values())
    if not config.sessions:
        raise _no_sessions(config)
    names = ", ".join(sorted(config.sessions))
    from ssoenv.errors import UsageError
    raise UsageError(f"several sso-sessions ({names}): say which with --sso-session NAME or --all")


def _no_sessions(config: AwsConfig) -> SsoenvError:
    return SsoenvError(f"no sso-session in {config.path}",
                       hint="add one with: ssoenv configure (or `ssoenv demo` to try it locally)")
