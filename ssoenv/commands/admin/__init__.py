"""`ssoenv admin`: delegate IAM Identity Center administration, permission-set session duration.

    ssoenv admin delegate ACCOUNT_ID      Organizations RegisterDelegatedAdministrator (sso.amazonaws.com)
    ssoenv admin undelegate ACCOUNT_ID    DeregisterDelegatedAdministrator
    ssoenv admin delegated [--json]       ListDelegatedAdministrators
    ssoenv admin permission-sets [--json]            name, ARN, session duration, description
    ssoenv admin session-duration PERMISSION_SET DURATION   update, then re-provision

Delegation runs with the management account's credentials (--profile, else the
environment, e.g. what `ssoenv use` exported). Changes are confirmed on the terminal
unless --yes. boto3 is reached only through ssoenv.identity, imported when a command runs.

This package: the parser and dispatch here; `delegation` (Organizations), `session_duration`
(sso-admin), `common` (the one way both call AWS, tables, confirmation).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from functools import partial

from ssoenv.commands.admin.delegation import (
    ENABLE_TRUSTED_ACCESS,
    SERVICE_PRINCIPAL,
    _org_error,
    list_delegated,
    set_delegation,
    validate_account_id,
)
from ssoenv.commands.admin.session_duration import (
    MAX_SESSION,
    MIN_SESSION,
    format_duration,
    humanise_duration,
    iso_to_seconds,
    list_permission_sets,
    parse_duration,
    set_session_duration,
    to_iso_duration,
)

__all__ = ["configure_parser", "run", "SERVICE_PRINCIPAL",
           "ENABLE_TRUSTED_ACCESS", "MIN_SESSION", "MAX_SESSION", "parse_duration", "format_duration",
           "to_iso_duration", "iso_to_seconds", "humanise_duration", "validate_account_id", "_org_error"]


def configure_parser(p: argparse.ArgumentParser) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--profile", metavar="NAME",
                        help="AWS profile to call AWS with (default: the environment, e.g. `ssoenv use`)")
    common.add_argument("--region", metavar="REGION", help="AWS region (sso-admin: the Identity Center home region)")
    confirm = argparse.ArgumentParser(add_help=False)
    confirm.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    instance = argparse.ArgumentParser(add_help=False)
    instance.add_argument("--instance-arn", metavar="ARN",
                          help="IAM Identity Center instance (needed only when there are several)")
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="print JSON instead of a table")

    sub = p.add_subparsers(dest="admin_command", metavar="ACTION", required=True)
    s = sub.add_parser("delegate", parents=[common, confirm],
                       help="make a member account the delegated administrator of IAM Identity Center",
                       description="Register ACCOUNT_ID as delegated administrator for sso.amazonaws.com "
                                   "(run with the management account's credentials).")
    s.add_argument("account_id", metavar="ACCOUNT_ID")
    s = sub.add_parser("undelegate", parents=[common, confirm],
                       help="remove a delegated administrator of IAM Identity Center",
                       description="Deregister ACCOUNT_ID as delegated administrator for sso.amazonaws.com "
                                   "(run with the management account's credentials).")
    s.add_argument("account_id", metavar="ACCOUNT_ID")
    sub.add_parser("delegated", parents=[common, as_json],
                   help="list the delegated administrators of IAM Identity Center",
                   description="List the delegated administrators for sso.amazonaws.com.")
    sub.add_parser("permission-sets", parents=[common, instance, as_json],
                   help="list permission sets with their session duration",
                   description="List the permission sets of the IAM Identity Center instance.")
    s = sub.add_parser("session-duration", parents=[common, instance, confirm],
                       help="set a permission set's session duration (1h to 12h), then re-provision it",
                       description="Set the session duration of PERMISSION_SET (name or ARN) to DURATION "
                                   "(8h, 90m, 1h30m, PT8H...), then push it to the accounts it is provisioned to.")
    s.add_argument("permission_set", metavar="PERMISSION_SET")
    s.add_argument("duration", metavar="DURATION")
    s.add_argument("--no-provision", action="store_true",
                   help="only update the permission set; do not re-provision it to its accounts")


def run(args) -> int:
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "delegate": partial(set_delegation, register=True),
        "undelegate": partial(set_delegation, register=False),
        "delegated": list_delegated,
        "permission-sets": list_permission_sets,
        "session-duration": set_session_duration,
    }
    return handlers[args.admin_command](args)
