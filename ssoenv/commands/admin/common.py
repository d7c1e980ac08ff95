"""What the `ssoenv admin` actions share: one way to call AWS, tables, confirmation."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime, timezone

from ssoenv.errors import SsoenvError, UsageError

# An ApiError and the operation's name ("RegisterDelegatedAdministrator") -> one line saying what to do.
DescribeError = Callable[..., SsoenvError]


def op_name(op: str) -> str:
    """`list_aws_service_access_for_organization` -> `ListAWSServiceAccessForOrganization`."""
    return "".join(w.capitalize() for w in op.split("_")).replace("Aws", "AWS")


def aws_call(client, op: str, describe_error: DescribeError, **params) -> dict:
    """One AWS call; its ApiError becomes `describe_error(exc, OperationName)`."""
    from ssoenv import identity

    try:
        return identity.admin_call(client, op, **params)
    except identity.ApiError as exc:
        raise describe_error(exc, op_name(op)) from None


def aws_list(client, op: str, key: str, describe_error: DescribeError, **params) -> list:
    """Every page of a list call, items under `key`; errors as `aws_call`'s."""
    from ssoenv import identity

    try:
        return list(identity.paginate(client, op, key, **params))
    except identity.ApiError as exc:
        raise describe_error(exc, op_name(op)) from None


def cell(value) -> str:
    """Table cells come from the network: no control characters (newlines, escapes)."""
    if value is None or value == "":
        return "-"
    return "".join(ch if ch.isprintable() else " " for ch in str(value))


def print_table(headers: list[str], rows: list[list]) -> None:
    from ssoenv import text

    print(text.table([headers] + [[cell(v) for v in row] for row in rows]), end="")


def iso_time(value) -> str | None:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return None if value is None else str(value)


def say(message: str) -> None:
    print(message, file=sys.stderr)


def check_can_confirm(args) -> None:
    """Before any call: a change without --yes needs a terminal to ask on."""
    if not args.yes and not _stdin_is_tty():
        raise UsageError("cannot ask for confirmation: stdin is not a terminal; pass --yes to go ahead")


def _stdin_is_tty() -> bool:
    try:
        return bool(sys.stdin) and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def confirm(args, details: list[str], question: str) -> None:
    """Show exactly what will change; go on only on `y`/`yes` (or --yes)."""
    for line in details:
        say(line)
    if args.yes:
        return
    check_can_confirm(args)
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline()
    if answer.strip().lower() not in ("y", "yes"):
        raise SsoenvError("cancelled: nothing was changed")
