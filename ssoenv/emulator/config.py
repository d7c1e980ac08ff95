"""Configuration of the local IAM Identity Center emulator.

`EmulatorConfig` is a plain dataclass; `load_config_file` reads the same field
names from JSON or TOML (TOML needs Python 3.11+ for `tomllib`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any

# Roles handed out by generated organisations, in this order.
ROLE_NAMES: tuple[str, ...] = (
    "AdministratorAccess",
    "ReadOnlyAccess",
    "PowerUserAccess",
    "ViewOnlyAccess",
    "SecurityAudit",
    "Billing",
    "DatabaseAdministrator",
    "NetworkAdministrator",
    "SystemAdministrator",
    "SupportUser",
    "DataScientist",
)

# What GetRoleCredentials answers for an account/role the user is not assigned.
# The botocore model lists ResourceNotFoundException (404); the real service is
# widely reported to answer ForbiddenException (403) "No access".
NO_ACCESS_ERRORS = ("ResourceNotFoundException", "ForbiddenException")


def default_accounts() -> list[dict[str, Any]]:
    return [
        {
            "accountId": "111111111111",
            "accountName": "RootAccount",
            "emailAddress": "root@example.com",
            "roles": ["AdministratorAccess", "ReadOnlyAccess"],
        },
        {
            "accountId": "222222222222",
            "accountName": "MemberAccount",
            "emailAddress": "member@example.com",
            "roles": ["AdministratorAccess", "ReadOnlyAccess"],
        },
    ]


def default_trusted_roles() -> list[dict[str, Any]]:
    """Roles that STS AssumeRole hands out, each with the principals its trust policy
    names: an account (`arn:aws:iam::ACCT:root` or the bare id: any role of it), a role
    (`arn:aws:iam::ACCT:role/NAME`: an SSO permission set or an assumed role of that
    name), or `*`. `externalId`, when set, must be sent."""
    return [
        {"roleArn": "arn:aws:iam::999999999999:role/Deploy", "trust": ["arn:aws:iam::111111111111:root"]},
    ]


@dataclass
class EmulatorConfig:
    # The organisation: explicit accounts, or `generate_accounts` > 0 accounts
    # generated on the fly (then `accounts` is ignored).
    accounts: list = field(default_factory=default_accounts)
    generate_accounts: int = 0
    roles_per_account: int = 3
    # Lifetimes, in seconds.
    access_token_ttl: int = 3600
    refresh_token_ttl: int = 90 * 86400
    credentials_ttl: int = 3600
    client_secret_ttl: int = 90 * 86400
    device_code_ttl: int = 600
    auth_code_ttl: int = 300
    poll_interval: int = 1
    # Misbehaviour.
    latency_ms: float = 0
    throttle_rps: float = 0
    fault_rate: float = 0
    seed: int = 0
    auto_approve: bool = True
    no_access_error: str = "ResourceNotFoundException"
    # STS: the SSO user's name (the session name of its SSO roles) and the roles
    # AssumeRole serves (see default_trusted_roles).
    user_name: str = "alice"
    trusted_roles: list = field(default_factory=default_trusted_roles)
    # Serving.
    port: int = 0
    verbose: bool = False

    def __post_init__(self) -> None:
        validate_config(self)


INT_FIELDS = (
    "generate_accounts",
    "roles_per_account",
    "access_token_ttl",
    "refresh_token_ttl",
    "credentials_ttl",
    "client_secret_ttl",
    "device_code_ttl",
    "auth_code_ttl",
    "poll_interval",
    "seed",
    "port",
)
FLOAT_FIELDS = ("latency_ms", "throttle_rps", "fault_rate")
BOOL_FIELDS = ("auto_approve", "verbose")
FIELD_NAMES = tuple(f.name for f in dataclasses.fields(EmulatorConfig))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_config(cfg: EmulatorConfig) -> None:
    """Raise ValueError with a one-line message if a field is out of range.

    Also normalises `accounts` in place (see `normalise_accounts`)."""
    for name in INT_FIELDS:
        value = getattr(cfg, name)
        if not _is_int(value):
            raise ValueError(f"{name} must be an integer, got {value!r}")
        if value < 0 and name != "seed":
            raise ValueError(f"{name} must be >= 0, got {value}")
    for name in FLOAT_FIELDS:
        value = getattr(cfg, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise ValueError(f"{name} must be a number, got {value!r}")
        if value < 0 or math.isinf(value):
            raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    if cfg.fault_rate > 1:
        raise ValueError(f"fault_rate must be between 0 and 1, got {cfg.fault_rate}")
    for name in BOOL_FIELDS:
        if not isinstance(getattr(cfg, name), bool):
            raise ValueError(f"{name} must be true or false, got {getattr(cfg, name)!r}")
    if cfg.port > 65535:
        raise ValueError(f"port must be <= 65535, got {cfg.port}")
    if cfg.roles_per_account > 1000:
        raise ValueError(f"roles_per_account must be <= 1000, got {cfg.roles_per_account}")
    if cfg.generate_accounts > 10**11:
        raise ValueError("generate_accounts is too large")
    if cfg.no_access_error not in NO_ACCESS_ERRORS:
        raise ValueError(f"no_access_error must be one of {', '.join(NO_ACCESS_ERRORS)}")
    cfg.accounts = normalise_accounts(cfg.accounts)
    if not isinstance(cfg.user_name, str) or not ROLE_SESSION_NAME.fullmatch(cfg.user_name):
        raise ValueError(f"user_name must be 2-64 characters of [\\w+=,.@-], got {cfg.user_name!r}")
    cfg.trusted_roles = normalise_trusted_roles(cfg.trusted_roles)


ROLE_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}")
ROLE_ARN = re.compile(r"arn:aws:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})")


def normalise_trusted_roles(roles: Any) -> list[dict[str, Any]]:
    """Check `trusted_roles` and return a copy with every key present."""
    if not isinstance(roles, (list, tuple)):
        raise ValueError("trusted_roles must be a list of objects")
    out: list[dict[str, Any]] = []
    for i, role in enumerate(roles):
        if not isinstance(role, dict):
            raise ValueError(f"trusted_roles[{i}] must be an object")
        unknown = set(role) - {"roleArn", "trust", "externalId"}
        if unknown:
            raise ValueError(f"trusted_roles[{i}]: unknown key(s) {', '.join(sorted(unknown))}")
        arn, trust, external = role.get("roleArn"), role.get("trust", []), role.get("externalId")
        if not isinstance(arn, str) or not ROLE_ARN.fullmatch(arn):
            raise ValueError(f"trusted_roles[{i}]: roleArn must be arn:aws:iam::ACCOUNT:role/NAME, got {arn!r}")
        if not isinstance(trust, (list, tuple)) or not all(isinstance(t, str) and t for t in trust):
            raise ValueError(f"trusted_roles[{i}]: trust must be a list of principals (strings)")
        if external is not None and not isinstance(external, str):
            raise ValueError(f"trusted_roles[{i}]: externalId must be a string")
        out.append({"roleArn": arn, "trust": list(trust), "externalId": external})
    return out


def normalise_accounts(accounts: Any) -> list[dict[str, Any]]:
    """Check an organisation given as a list of account dicts and return a copy
    with every key present: accountId, accountName, emailAddress, roles."""
    if not isinstance(accounts, (list, tuple)):
        raise ValueError("accounts must be a list of objects")
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, acct in enumerate(accounts):
        if not isinstance(acct, dict):
            raise ValueError(f"accounts[{i}] must be an object")
        unknown = set(acct) - {"accountId", "accountName", "emailAddress", "roles"}
        if unknown:
            raise ValueError(f"accounts[{i}]: unknown key(s) {', '.join(sorted(unknown))}")
        account_id = acct.get("accountId")
        if _is_int(account_id):
            account_id = str(account_id).zfill(12)
        if not isinstance(account_id, str) or not account_id:
            raise ValueError(f"accounts[{i}]: accountId must be a non-empty string")
        if account_id in seen:
            raise ValueError(f"accounts[{i}]: duplicate accountId {account_id}")
        seen.add(account_id)
        name = acct.get("accountName", account_id)
        email = acct.get("emailAddress", f"{account_id}@example.com")
        roles = acct.get("roles", [])
        if not isinstance(name, str) or not isinstance(email, str):
            raise ValueError(f"accounts[{i}]: accountName and emailAddress must be strings")
        if not isinstance(roles, (list, tuple)) or not all(isinstance(r, str) and r for r in roles):
            raise ValueError(f"accounts[{i}]: roles must be a list of non-empty strings")
        out.append(
            {
                "accountId": account_id,
                "accountName": name,
                "emailAddress": email,
                "roles": list(dict.fromkeys(roles)),
            }
        )
    return out


def config_from_mapping(data: Any, base: EmulatorConfig | None = None) -> EmulatorConfig:
    """Build a config from a mapping of field names (as in a config file)."""
    if not isinstance(data, dict):
        raise ValueError("configuration must be an object/table of fields")
    unknown = sorted(set(data) - set(FIELD_NAMES))
    if unknown:
        raise ValueError(
            f"unknown configuration field(s): {', '.join(unknown)} "
            f"(known: {', '.join(FIELD_NAMES)})"
        )
    base = base or EmulatorConfig()
    values = dataclasses.asdict(base)
    values.update(data)
    if "accounts" in data and "generate_accounts" not in data:
        values["generate_accounts"] = 0
    # Whole numbers written as 1.0 in JSON are fine for integer fields.
    for name in INT_FIELDS:
        value = values[name]
        if isinstance(value, float) and value.is_integer():
            values[name] = int(value)
    return EmulatorConfig(**values)


def load_config_file(path: str | os.PathLike[str]) -> EmulatorConfig:
    """Read an EmulatorConfig from a JSON or TOML file (by extension; files
    with another extension are tried as JSON, then TOML).

    Raises ValueError with a one-line message on any problem."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise ValueError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    lower = path.lower()
    if lower.endswith(".toml"):
        data = _parse_toml(raw, path)
    elif lower.endswith(".json"):
        data = _parse_json(raw, path)
    else:
        try:
            data = _parse_json(raw, path)
        except ValueError:
            data = _parse_toml(raw, path)
    try:
        return config_from_mapping(data)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from None


def _parse_json(raw: bytes, path: str) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: invalid JSON: {exc}") from None


def _parse_toml(raw: bytes, path: str) -> Any:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        raise ValueError(
            f"{path}: TOML configuration files need Python 3.11 or newer (tomllib); use JSON"
        ) from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: invalid TOML: {exc}") from None
