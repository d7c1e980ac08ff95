"""Every file location ssoenv reads or writes. Nothing else computes a path.

Honours AWS_CONFIG_FILE and the XDG base directories (ssoenv never reads or writes
the shared credentials file).
The AWS CLI v2 / botocore caches live under ~/.aws whatever the environment says,
so ours must too for one login to serve every tool.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


def home() -> Path:
    return Path(os.path.expanduser("~"))


def _env_path(var: str, default: Path) -> Path:
    value = os.environ.get(var)
    return Path(os.path.expanduser(value)) if value else default


def aws_config_file() -> Path:
    return _env_path("AWS_CONFIG_FILE", aws_config_file_in(home()))


def aws_credentials_file() -> Path:
    return _env_path("AWS_SHARED_CREDENTIALS_FILE", aws_credentials_file_in(home()))


def boto_config_files() -> list[Path]:
    """Where botocore's BotoProvider looks for `[Credentials]` (the first that exists)."""
    if os.environ.get("BOTO_CONFIG"):
        return [Path(os.path.expanduser(os.environ["BOTO_CONFIG"]))]
    return [Path("/etc/boto.cfg"), home() / ".boto"]


# --- a given HOME's default layout (what ssoenv.sandbox lays out for the demo, tests, benchmarks)

def aws_config_file_in(home_dir: Path) -> Path:
    return home_dir / ".aws" / "config"


def aws_credentials_file_in(home_dir: Path) -> Path:
    return home_dir / ".aws" / "credentials"


_XDG_DEFAULTS = {"XDG_CONFIG_HOME": ".config", "XDG_CACHE_HOME": ".cache",
                 "XDG_DATA_HOME": ".local/share", "XDG_STATE_HOME": ".local/state"}


def xdg_dirs_in(home_dir: Path) -> dict[str, Path]:
    """The XDG base directories' defaults under `home_dir`, by variable name."""
    return {var: home_dir / rel for var, rel in _XDG_DEFAULTS.items()}


def endpoint_rulesets_dir_in(home_dir: Path) -> Path:
    """AWS_DATA_PATH of a sandbox: the rule sets that point an AWS CLI v2 < 2.13 at the emulator."""
    return home_dir / ".aws-data"


def sso_cache_dir() -> Path:
    """Token and client-registration cache shared with botocore and the AWS CLI v2."""
    return home() / ".aws" / "sso" / "cache"


def cli_cache_dir() -> Path:
    """Role-credential cache of the AWS CLI v2."""
    return home() / ".aws" / "cli" / "cache"


def _xdg(var: str) -> Path:
    value = os.environ.get(var)
    base = Path(value) if value and os.path.isabs(value) else xdg_dirs_in(home())[var]
    return base / "ssoenv"


def state_dir() -> Path:
    """ssoenv's own cache: the account catalog and the lock files."""
    return _xdg("XDG_CACHE_HOME")


def config_dir() -> Path:
    return _xdg("XDG_CONFIG_HOME")


def settings_file() -> Path:
    return config_dir() / "config"


def catalog_file() -> Path:
    return state_dir() / "catalog.json"


def completion_index_file() -> Path:
    """Every TARGET Tab can offer, kept while the config and the catalog stay (ssoenv.complete)."""
    return state_dir() / "complete-targets"


def listing_file(view: str) -> Path:
    """One rendered listing of the catalog (ssoenv.listing): `view` is its name."""
    return state_dir() / "listings" / view


def frecency_file() -> Path:
    """How often and how recently each account/role was chosen (picker order)."""
    return state_dir() / "frecency.json"


def picker_preview_file(pid: int) -> Path:
    """The entries of one running picker, for its preview pane (removed when it ends)."""
    return state_dir() / f"picker-{pid}.json"


def lock_dir() -> Path:
    return state_dir() / "locks"


def session_lock_file(session_key: str) -> Path:
    return lock_dir() / (_sha1(session_key) + ".lock")


def aws_config_lock_file() -> Path:
    """Held while ssoenv edits ~/.aws/config (backup, then atomic replace)."""
    return lock_dir() / "aws-config.lock"


def catalog_lock_file() -> Path:
    """Held while a sync writes the account list cache."""
    return lock_dir() / "catalog.lock"


def sync_lock_file(start_url: str) -> Path:
    """Held while one process lists the accounts of a start URL: a second sync waits
    and takes the first one's result instead of doubling the calls (and the 429s)."""
    return lock_dir() / ("sync-" + _sha1(start_url) + ".lock")


def background_sync_stamp_file() -> Path:
    """When the last background sync started (its mtime), so one runs at a time."""
    return lock_dir() / "background-sync.stamp"


def snippet_files(shell: str) -> list[Path]:
    """Where the `ssoenv init` snippet of `shell` may be: ssoenv/shell/ in a wheel,
    shell/ beside the package in a source checkout (first found wins)."""
    import ssoenv

    package = Path(ssoenv.__file__).resolve().parent
    return [base / f"ssoenv.{shell}" for base in (package / "shell", package.parent / "shell")]


def _sha1(text: str) -> str:
    try:  # the builtin module: hashlib would load OpenSSL, ~2 ms on every start
        from _sha1 import sha1
    except ImportError:
        from hashlib import sha1
    return sha1(text.encode("utf-8")).hexdigest()


def token_cache_file(cache_key: str) -> Path:
    """`cache_key` is the sso-session name, or the start URL as written for legacy profiles."""
    return sso_cache_dir() / (_sha1(cache_key) + ".json")


def registration_cache_file(start_url: str, region: str, scopes: list[str] | None,
                            session_name: str | None) -> Path:
    """The shared client registration: the exact name botocore's SSOTokenFetcher and
    every AWS CLI v2 use (json default separators). Only device-code registrations go here."""
    args = {"tool": "botocore", "startUrl": start_url, "region": region,
            "scopes": scopes or None, "session_name": session_name}
    return sso_cache_dir() / (_sha1(json.dumps(args, sort_keys=True)) + ".json")


def pkce_registration_cache_file(start_url: str, region: str, scopes: list[str] | None,
                                 session_name: str | None, grant_types: list[str]) -> Path:
    """ssoenv's own authorization-code registration, beside the shared one (so clearing
    ~/.aws/sso/cache still resets every login) under a name no AWS CLI version reads."""
    args = {"tool": "ssoenv", "startUrl": start_url, "region": region,
            "scopes": scopes or None, "session_name": session_name, "grantTypes": grant_types}
    return sso_cache_dir() / (_sha1(json.dumps(args, sort_keys=True)) + ".json")


def role_cache_file(account_id: str, role_name: str, *, session_name: str | None = None,
                    start_url: str | None = None) -> Path:
    args = {"accountId": account_id, "roleName": role_name}
    if session_name is not None:
        args["sessionName"] = session_name
    else:
        args["startUrl"] = start_url or ""
    key = json.dumps(args, sort_keys=True, separators=(",", ":"))
    return cli_cache_dir() / (_sha1(key) + ".json")


def chained_cache_file(args: dict) -> Path:
    """Credentials of a chained role (`role_arn` + `source_profile`), keyed by everything
    that changes them: beside the AWS CLI v2's, under a key the CLI never makes."""
    key = json.dumps({"tool": "ssoenv", **args}, sort_keys=True, separators=(",", ":"))
    return cli_cache_dir() / (_sha1(key) + ".json")


def sso_users_file() -> Path:
    """The SSO user's name per login (the session name of its SSO roles), for chained roles."""
    return state_dir() / "sso-users.json"


def backup_file(path: Path) -> Path:
    """The AWS config as it was before ssoenv's latest edit."""
    return path.with_name(path.name + ".ssoenv-backup")


def original_backup_file(path: Path) -> Path:
    """The AWS config as it was before ssoenv's first edit (never overwritten)."""
    return path.with_name(path.name + ".ssoenv-original")
