"""ssoenv's own settings: environment variables first, then the settings file.

The file ($XDG_CONFIG_HOME/ssoenv/config) is INI with one `[ssoenv]` section, keys as
below without the SSOENV_ prefix, lower case. Example:

    [ssoenv]
    login_via_aws_cli = true
    catalog_ttl = 3600
"""

from __future__ import annotations

import configparser
import functools
import os

from ssoenv import paths
from ssoenv.errors import SsoenvError

DEFAULTS = {
    # `aws sso login` for logins: true, false, or auto (only the automatic
    # re-login of a failed wrapped command uses it, when an AWS CLI v2 is installed)
    "login_via_aws_cli": "auto",
    "catalog_ttl": "3600",          # seconds before the account list is refreshed in the background
    "sync_concurrency": "24",       # ListAccountRoles calls in flight (at most)
    "login_timeout": "600",         # seconds to wait for a browser/device approval
    "default_region": "",           # AWS_REGION for entries whose profile names none
    "exec_server": "false",         # `exec` serves renewing credentials (as --server) by default
}


def _read() -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(interpolation=None)
    try:
        # utf-8-sig: a file saved by an editor that adds a byte-order mark reads the same.
        parser.read(paths.settings_file(), encoding="utf-8-sig")
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise SsoenvError(f"cannot parse {paths.settings_file()}: {str(exc).splitlines()[0]}") from None
    return parser


@functools.lru_cache(maxsize=1)
def _file_values() -> dict[str, str]:
    parser = _read()
    return dict(parser.items("ssoenv")) if parser.has_section("ssoenv") else {}


def unread_in_file() -> list[str]:
    """What the settings file holds that ssoenv never reads (a typo'd key or section is
    otherwise silently without effect), for `doctor`: one problem each."""
    import difflib

    parser = _read()
    problems = [f"section [{name}]: ssoenv reads only [ssoenv]" for name in parser.sections() if name != "ssoenv"]
    for key in parser.options("ssoenv") if parser.has_section("ssoenv") else []:
        if key not in DEFAULTS:
            close = difflib.get_close_matches(key, list(DEFAULTS), n=1)
            problems.append(f"unknown setting {key}" + (f"; did you mean {close[0]}?" if close else ""))
    return problems


def get(key: str) -> str:
    env = os.environ.get("SSOENV_" + key.upper())
    if env is not None and env != "":
        return env
    return _file_values().get(key, DEFAULTS[key])


def get_bool(key: str) -> bool:
    value = get(key).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise SsoenvError(f"setting {key} must be true or false, not {value!r}")


def get_int(key: str) -> int:
    value = get(key)
    try:
        number = int(value)
    except ValueError:
        raise SsoenvError(f"setting {key} must be a whole number, not {value!r}") from None
    if number < 0:
        raise SsoenvError(f"setting {key} must not be negative")
    return number


def aws_cli_login_always() -> bool:
    """login_via_aws_cli = true (auto and false: ssoenv's own login for `ssoenv login`)."""
    value = get("login_via_aws_cli").strip().lower()
    return False if value == "auto" else get_bool("login_via_aws_cli")
