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
    "login_via_aws_cli": "false",   # delegate logins to `aws sso login`
    "catalog_ttl": "3600",          # seconds before the account list is refreshed in the background
    "sync_concurrency": "16",       # ListAccountRoles calls in flight
    "login_timeout": "600",         # seconds to wait for a browser/device approval
    "default_region": "",           # AWS_REGION for entries whose profile names none
}


@functools.lru_cache(maxsize=1)
def _file_values() -> dict[str, str]:
    parser = configparser.RawConfigParser(interpolation=None)
    try:
        parser.read(paths.settings_file(), encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise SsoenvError(f"cannot parse {paths.settings_file()}: {str(exc).splitlines()[0]}") from None
    return dict(parser.items("ssoenv")) if parser.has_section("ssoenv") else {}


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
