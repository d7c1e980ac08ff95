"""`ssoenv admin`: delegate IAM Identity Center administration, permission-set session duration.

    ssoenv admin delegate ACCOUNT_ID      Organizations RegisterDelegatedAdministrator (sso.amazonaws.com)
    ssoenv admin undelegate ACCOUNT_ID    DeregisterDelegatedAdministrator
    ssoenv admin delegated [--json]       ListDelegatedAdministrators
    ssoenv admin permission-sets [--json]            name, ARN, session duration, description
    ssoenv admin session-duration PERMISSION_SET DURATION   update, then re-provision

Delegation runs with the management account's credentials (--profile, else the
environment, e.g. what `ssoenv use` exported). Changes are confirmed on the terminal
unless --yes. boto3 is reached only through ssoenv.identity, imported when a command runs.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from ssoenv.errors import ExitStatus, SsoenvError, UsageError

SERVICE_PRINCIPAL = "sso.amazonaws.com"
ENABLE_TRUSTED_ACCESS = f"aws organizations enable-aws-service-access --service-principal {SERVICE_PRINCIPAL}"
MIN_SESSION = 3600  # IAM Identity Center: 1 to 12 hours
MAX_SESSION = 12 * 3600
# Provisioning is asynchronous: poll this often, give up after this long (tests shorten both).
PROVISION_POLL_INTERVAL = 2.0
PROVISION_TIMEOUT = 600.0


# --- pure helpers ---------------------------------------------------------------------

_HUMAN = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?", re.IGNORECASE)
_ISO_INPUT = re.compile(r"PT(?:(\d+)H)?(?:(\d+)M)?", re.IGNORECASE)
_ISO_AWS = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?")


def parse_duration(text: str) -> int:
    """`8h`, `90m`, `1h30m`, `PT8H`, `PT90M`, `PT1H30M` -> seconds, within 1 to 12 hours."""
    compact = "".join(str(text).split())
    match = _ISO_INPUT.fullmatch(compact) or _HUMAN.fullmatch(compact)
    if not match or not any(match.groups()):
        raise UsageError(f"invalid duration {text!r}: use e.g. 8h, 90m, 1h30m or PT8H")
    hours, minutes = (int(g or 0) for g in match.groups())
    seconds = hours * 3600 + minutes * 60
    if not MIN_SESSION <= seconds <= MAX_SESSION:
        raise UsageError(f"session duration must be between 1h and 12h (IAM Identity Center's limits), "
                         f"not {format_duration(seconds)}")
    return seconds


def format_duration(seconds: int) -> str:
    """3600 -> `1h`, 5400 -> `1h30m`, 2700 -> `45m`."""
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (f"{secs}s" if secs else "")
    return text or "0m"


def to_iso_duration(seconds: int) -> str:
    """5400 -> `PT1H30M` (what UpdatePermissionSet takes)."""
    hours, rest = divmod(int(seconds), 3600)
    minutes = rest // 60
    return "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes or not hours else "")


def iso_to_seconds(value) -> int | None:
    """A SessionDuration as AWS returns it (`PT1H`, `PT1H30M`...) -> seconds; None if unreadable."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)  # moto answers 3600 when a permission set was created without one
    match = _ISO_AWS.fullmatch(value.strip().upper()) if isinstance(value, str) else None
    if not match or not any(match.groups()):
        return None
    days, hours, minutes, secs = match.groups()
    return int(days or 0) * 86400 + int(hours or 0) * 3600 + int(minutes or 0) * 60 + int(float(secs or 0))


def humanise_duration(value) -> str:
    """`PT8H` -> `8h`; what AWS sent, as is, when it cannot be read; `-` when absent."""
    if value is None or value == "":
        return "-"
    seconds = iso_to_seconds(value)
    return str(value) if seconds is None else format_duration(seconds)


def validate_account_id(text: str) -> str:
    if not re.fullmatch(r"[0-9]{12}", text or ""):
        raise UsageError(f"invalid account id {text!r}: an AWS account id is 12 digits")
    return text


def _cell(value) -> str:
    """Table cells come from the network: no control characters (newlines, escapes)."""
    if value is None or value == "":
        return "-"
    return "".join(ch if ch.isprintable() else " " for ch in str(value))


def _print_table(headers: list[str], rows: list[list]) -> None:
    cells = [headers] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for row in cells:
        line = "  ".join(c.ljust(w) for c, w in zip(row[:-1], widths)) + "  " + row[-1]
        print(line.rstrip())


def _iso_time(value) -> str | None:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return None if value is None else str(value)


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def _check_can_confirm(args) -> None:
    """Before any call: a change without --yes needs a terminal to ask on."""
    if not args.yes and not _stdin_is_tty():
        raise UsageError("cannot ask for confirmation: stdin is not a terminal; pass --yes to go ahead")


def _stdin_is_tty() -> bool:
    try:
        return bool(sys.stdin) and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _confirm(args, details: list[str], question: str) -> None:
    """Show exactly what will change; go on only on `y`/`yes` (or --yes)."""
    for line in details:
        _say(line)
    if args.yes:
        return
    _check_can_confirm(args)
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline()
    if answer.strip().lower() not in ("y", "yes"):
        raise SsoenvError("cancelled: nothing was changed")


# --- parser ---------------------------------------------------------------------------

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
    handlers = {
        "delegate": _delegate,
        "undelegate": _undelegate,
        "delegated": _delegated,
        "permission-sets": _permission_sets,
        "session-duration": _session_duration,
    }
    return handlers[args.admin_command](args)


# --- Organizations: delegated administrator -------------------------------------------

def _org_error(exc, op: str, account_id: str | None = None) -> SsoenvError:
    """An Organizations ApiError -> one line saying what is wrong and what to do."""
    code, text = exc.code, exc.message
    acct = f"account {account_id}" if account_id else "the account"
    if code in ("AccessDeniedException", "AccessDenied"):
        return SsoenvError(f"access denied to organizations:{op}: run with the management account's "
                           "credentials (--profile NAME) and a role allowed to call it")
    if code == "AWSOrganizationsNotInUseException":
        return SsoenvError("these credentials' account is not in an AWS Organization: "
                           "run with the management account's credentials (--profile NAME)")
    if code == "AccountNotFoundException":
        return SsoenvError(f"{acct} is not in this organization")
    if code == "AccountAlreadyRegisteredException":
        return SsoenvError(f"{acct} is already a delegated administrator for IAM Identity Center")
    if code == "AccountNotRegisteredException":
        return SsoenvError(f"{acct} is not a delegated administrator for IAM Identity Center")
    if code == "ConstraintViolationException":
        lowered = f"{getattr(exc, 'reason', '')} {text}".lower()
        if "service_access" in lowered or "service access" in lowered or "trusted access" in lowered:
            return SsoenvError(f"trusted access for IAM Identity Center is not enabled in the organization: "
                               f"run `{ENABLE_TRUSTED_ACCESS}` with the management account")
        if "master" in lowered or "management" in lowered or "yourself" in lowered:
            return SsoenvError("the management account cannot be a delegated administrator "
                               "(or these are not its credentials): pick a member account, "
                               "run with the management account's credentials")
        if "delegated_administrator" in lowered or "limit" in lowered or "exists" in lowered:
            return SsoenvError("IAM Identity Center allows one delegated administrator: "
                               "run `ssoenv admin delegated`, then `ssoenv admin undelegate` the current one")
    return SsoenvError(text)


def _org_call(client, op: str, account_id: str | None = None, **params) -> dict:
    from ssoenv import identity

    try:
        return identity.admin_call(client, op, **params)
    except identity.ApiError as exc:
        raise _org_error(exc, _op_name(op), account_id) from None


def _org_list(client, op: str, key: str, **params) -> list[dict]:
    from ssoenv import identity

    try:
        return list(identity.paginate(client, op, key, **params))
    except identity.ApiError as exc:
        raise _org_error(exc, _op_name(op)) from None


def _op_name(op: str) -> str:
    return "".join(w.capitalize() for w in op.split("_")).replace("Aws", "AWS")


def _management_client(args):
    """An organizations client whose credentials are the management account's, or a clear error."""
    from ssoenv import identity

    orgs = identity.admin_client("organizations", profile=args.profile, region=args.region)
    org = _org_call(orgs, "describe_organization")["Organization"]
    sts = identity.admin_client("sts", profile=args.profile, region=args.region)
    try:
        caller = identity.admin_call(sts, "get_caller_identity")["Account"]
    except identity.ApiError as exc:
        raise SsoenvError(f"cannot tell which account these credentials are for: {exc.message}") from None
    management = org.get("MasterAccountId")
    if management and caller != management:
        raise SsoenvError(f"account {caller} is not the management account of organization {org.get('Id')} "
                          f"(that is {management}): run with its credentials (--profile NAME)")
    return orgs, management


def _account_label(orgs, account_id: str) -> tuple[str, str | None]:
    """'111122223333 (name)' via DescribeAccount; an account outside the organization is an error."""
    from ssoenv import identity

    try:
        name = identity.admin_call(orgs, "describe_account", AccountId=account_id)["Account"].get("Name")
    except identity.ApiError as exc:
        if exc.code == "AccountNotFoundException":
            raise _org_error(exc, "DescribeAccount", account_id) from None
        name = None  # not allowed to describe it: go on without the name
    name = _cell(name) if name else None
    return (f"{account_id} ({name})" if name else account_id), name


def _delegated_admins(orgs) -> list[dict]:
    return _org_list(orgs, "list_delegated_administrators", "DelegatedAdministrators",
                     ServicePrincipal=SERVICE_PRINCIPAL)


def _delegate(args) -> int:
    account_id = validate_account_id(args.account_id)
    _check_can_confirm(args)
    orgs, management = _management_client(args)
    if account_id == management:
        raise SsoenvError(f"account {account_id} is the management account: it cannot be its own "
                          "delegated administrator; pick a member account")
    label, _ = _account_label(orgs, account_id)
    enabled = {s.get("ServicePrincipal") for s in
               _org_list(orgs, "list_aws_service_access_for_organization", "EnabledServicePrincipals")}
    if SERVICE_PRINCIPAL not in enabled:
        raise SsoenvError(f"trusted access for IAM Identity Center is not enabled in the organization: "
                          f"run `{ENABLE_TRUSTED_ACCESS}` with the management account")
    current = [a.get("Id") for a in _delegated_admins(orgs)]
    if account_id in current:
        raise SsoenvError(f"account {label} is already a delegated administrator for IAM Identity Center")
    if current:
        raise SsoenvError(f"IAM Identity Center allows one delegated administrator and {', '.join(current)} "
                          f"is it: run `ssoenv admin undelegate {current[0]}` first")
    _confirm(args, [f"Register account {label} as delegated administrator of IAM Identity Center",
                    f"  (Organizations RegisterDelegatedAdministrator, service principal {SERVICE_PRINCIPAL})"],
             "Register it?")
    _org_call(orgs, "register_delegated_administrator", account_id,
              AccountId=account_id, ServicePrincipal=SERVICE_PRINCIPAL)
    _say(f"account {label} is now a delegated administrator of IAM Identity Center")
    return ExitStatus.OK


def _undelegate(args) -> int:
    account_id = validate_account_id(args.account_id)
    _check_can_confirm(args)
    orgs, _ = _management_client(args)
    label, _ = _account_label(orgs, account_id)
    if account_id not in {a.get("Id") for a in _delegated_admins(orgs)}:
        raise SsoenvError(f"account {label} is not a delegated administrator for IAM Identity Center")
    _confirm(args, [f"Deregister account {label} as delegated administrator of IAM Identity Center",
                    f"  (Organizations DeregisterDelegatedAdministrator, service principal {SERVICE_PRINCIPAL})"],
             "Deregister it?")
    _org_call(orgs, "deregister_delegated_administrator", account_id,
              AccountId=account_id, ServicePrincipal=SERVICE_PRINCIPAL)
    _say(f"account {label} is no longer a delegated administrator of IAM Identity Center")
    return ExitStatus.OK


def _delegated(args) -> int:
    from ssoenv import identity

    orgs = identity.admin_client("organizations", profile=args.profile, region=args.region)
    admins = [{"account_id": a.get("Id"), "name": a.get("Name"), "email": a.get("Email"),
               "delegated_at": _iso_time(a.get("DelegationEnabledDate"))} for a in _delegated_admins(orgs)]
    admins.sort(key=lambda a: a["account_id"] or "")
    if args.json:
        print(json.dumps(admins, indent=2, ensure_ascii=False))
    elif admins:
        _print_table(["ACCOUNT ID", "NAME", "EMAIL", "DELEGATED"],
                     [[a["account_id"], a["name"], a["email"], a["delegated_at"]] for a in admins])
    else:
        _say("no delegated administrator for IAM Identity Center")
    return ExitStatus.OK


# --- sso-admin: permission sets --------------------------------------------------------

def _sso_error(exc, op: str) -> SsoenvError:
    code = exc.code
    if code in ("AccessDeniedException", "AccessDenied"):
        return SsoenvError(f"access denied to sso:{op}: run with the credentials of the management account "
                           "or of the delegated administrator (--profile NAME)")
    if code == "ConflictException" and op == "ProvisionPermissionSet":
        return SsoenvError(f"{exc.message}: another provisioning of this permission set may be running; "
                           "wait and retry")
    return SsoenvError(exc.message)


def _sso_call(client, op: str, **params) -> dict:
    from ssoenv import identity

    try:
        return identity.admin_call(client, op, **params)
    except identity.ApiError as exc:
        raise _sso_error(exc, _op_name(op)) from None


def _sso_list(client, op: str, key: str, **params) -> list:
    from ssoenv import identity

    try:
        return list(identity.paginate(client, op, key, **params))
    except identity.ApiError as exc:
        raise _sso_error(exc, _op_name(op)) from None


def _sso_client(args):
    """(sso-admin client, instance ARN): --instance-arn, else the one instance there is."""
    from ssoenv import identity

    if args.instance_arn and not args.instance_arn.startswith("arn:"):
        raise UsageError(f"invalid --instance-arn {args.instance_arn!r}: expected arn:aws:sso:::instance/ssoins-...")
    client = identity.admin_client("sso-admin", profile=args.profile, region=args.region)
    if args.instance_arn:
        return client, args.instance_arn
    instances = _sso_list(client, "list_instances", "Instances")
    region = client.meta.region_name
    if not instances:
        raise SsoenvError(f"no IAM Identity Center instance in {region} for these credentials: "
                          "pass --region with the instance's home region, or --instance-arn")
    if len(instances) > 1:
        listed = "; ".join(f"{i['InstanceArn']} ({i.get('Name') or 'no name'}, account "
                           f"{i.get('OwnerAccountId') or '?'})" for i in instances)
        raise UsageError(f"{len(instances)} IAM Identity Center instances in {region}: "
                         f"pass --instance-arn with one of: {listed}")
    return client, instances[0]["InstanceArn"]


def _describe_permission_set(client, instance_arn: str, arn: str) -> dict:
    return _sso_call(client, "describe_permission_set", InstanceArn=instance_arn,
                     PermissionSetArn=arn)["PermissionSet"]


def _all_permission_sets(client, instance_arn: str) -> list[dict]:
    arns = _sso_list(client, "list_permission_sets", "PermissionSets", InstanceArn=instance_arn)
    with ThreadPoolExecutor(max_workers=min(8, max(1, len(arns)))) as pool:
        sets = list(pool.map(lambda arn: _describe_permission_set(client, instance_arn, arn), arns))
    return sorted(sets, key=lambda s: ((s.get("Name") or "").casefold(), s.get("PermissionSetArn") or ""))


def _permission_sets(args) -> int:
    client, instance_arn = _sso_client(args)
    sets = _all_permission_sets(client, instance_arn)
    if args.json:
        print(json.dumps([{
            "name": s.get("Name"),
            "arn": s.get("PermissionSetArn"),
            "session_duration": s.get("SessionDuration"),
            "session_duration_seconds": iso_to_seconds(s.get("SessionDuration")),
            "description": s.get("Description") or None,
        } for s in sets], indent=2, ensure_ascii=False))
    elif sets:
        _print_table(["NAME", "SESSION", "ARN", "DESCRIPTION"],
                     [[s.get("Name"), humanise_duration(s.get("SessionDuration")), s.get("PermissionSetArn"),
                       s.get("Description")] for s in sets])
    else:
        _say(f"no permission set in {instance_arn}")
    return ExitStatus.OK


def _find_permission_set(client, instance_arn: str, wanted: str) -> dict:
    from ssoenv import identity

    if wanted.startswith("arn:"):
        try:
            return identity.admin_call(client, "describe_permission_set", InstanceArn=instance_arn,
                                       PermissionSetArn=wanted)["PermissionSet"]
        except identity.ApiError as exc:
            if exc.code in ("ResourceNotFoundException", "ValidationException"):
                raise SsoenvError(f"no permission set {wanted} in {instance_arn}") from None
            raise _sso_error(exc, "DescribePermissionSet") from None
    sets = _all_permission_sets(client, instance_arn)
    matches = [s for s in sets if s.get("Name") == wanted] or \
              [s for s in sets if (s.get("Name") or "").casefold() == wanted.casefold()]
    if len(matches) == 1:
        return matches[0]
    names = ", ".join(_cell(s.get("Name")) for s in sets[:30]) + (", ..." if len(sets) > 30 else "")
    if not matches:
        raise SsoenvError(f"no permission set named {wanted!r}" + (f"; there are: {names}" if sets else ""))
    raise SsoenvError(f"several permission sets are named {wanted!r}: pass its ARN")


def _provision_hint(instance_arn: str, ps_arn: str) -> str:
    return (f"aws sso-admin provision-permission-set --instance-arn {instance_arn} "
            f"--permission-set-arn {ps_arn} --target-type ALL_PROVISIONED_ACCOUNTS")


def _session_duration(args) -> int:
    seconds = parse_duration(args.duration)
    _check_can_confirm(args)
    client, instance_arn = _sso_client(args)
    ps = _find_permission_set(client, instance_arn, args.permission_set)
    ps_arn, name = ps["PermissionSetArn"], _cell(ps.get("Name"))
    old = ps.get("SessionDuration")
    new_text = format_duration(seconds)
    if iso_to_seconds(old) == seconds:
        _say(f"permission set {name}: session duration is already {new_text}; nothing to change")
        return ExitStatus.OK
    accounts = [] if args.no_provision else _sso_list(
        client, "list_accounts_for_provisioned_permission_set", "AccountIds",
        InstanceArn=instance_arn, PermissionSetArn=ps_arn)
    if args.no_provision:
        push = "  not re-provisioned (--no-provision): accounts keep the old duration until it is"
    elif accounts:
        push = f"  then re-provisioned to {len(accounts)} account(s): {', '.join(accounts)}"
    else:
        push = "  it is not provisioned to any account yet: nothing to re-provision"
    _confirm(args, [f"Permission set {name} ({ps_arn})",
                    f"  session duration: {humanise_duration(old)} -> {new_text} ({to_iso_duration(seconds)})",
                    push], "Update it?")

    update = {"InstanceArn": instance_arn, "PermissionSetArn": ps_arn, "SessionDuration": to_iso_duration(seconds)}
    # Send the other fields back as they are, so no implementation can blank them.
    for key in ("Description", "RelayState"):
        if ps.get(key):
            update[key] = ps[key]
    _sso_call(client, "update_permission_set", **update)
    _say(f"permission set {name}: session duration {humanise_duration(old)} -> {new_text}")
    if args.no_provision:
        _say(f"not re-provisioned; to push it to its accounts: {_provision_hint(instance_arn, ps_arn)}")
        return ExitStatus.OK
    if not accounts:
        return ExitStatus.OK
    return _provision(client, instance_arn, ps_arn, name, accounts)


def _provision(client, instance_arn: str, ps_arn: str, name: str, accounts: list[str]) -> int:
    status = _sso_call(client, "provision_permission_set", InstanceArn=instance_arn, PermissionSetArn=ps_arn,
                       TargetType="ALL_PROVISIONED_ACCOUNTS")["PermissionSetProvisioningStatus"]
    progress = sys.stderr.isatty()
    started = time.monotonic()
    what = f"provisioning {name} to {len(accounts)} account(s)"
    if not progress:
        _say(f"{what}...")
    try:
        while status.get("Status") == "IN_PROGRESS":
            elapsed = time.monotonic() - started
            if progress:
                print(f"\r{what}: IN_PROGRESS ({elapsed:.0f}s)", end="", file=sys.stderr, flush=True)
            if elapsed >= PROVISION_TIMEOUT:
                raise SsoenvError(
                    f"provisioning of {name} still in progress after {PROVISION_TIMEOUT:.0f}s (request "
                    f"{status.get('RequestId')}): check with `aws sso-admin describe-permission-set-provisioning-"
                    f"status --instance-arn {instance_arn} --provision-permission-set-request-id "
                    f"{status.get('RequestId')}`")
            time.sleep(PROVISION_POLL_INTERVAL)
            status = _sso_call(client, "describe_permission_set_provisioning_status", InstanceArn=instance_arn,
                               ProvisionPermissionSetRequestId=status["RequestId"])["PermissionSetProvisioningStatus"]
    except KeyboardInterrupt:
        if progress:
            print("", file=sys.stderr)
        _say(f"stopped waiting; provisioning goes on in AWS (request {status.get('RequestId')})")
        raise
    finally:
        if progress:
            print("\r\033[K", end="", file=sys.stderr, flush=True)
    final = status.get("Status") or "UNKNOWN"
    # One request covers every account: each shows its outcome.
    _print_table(["ACCOUNT ID", "STATUS"], [[a, final] for a in accounts])
    if final != "SUCCEEDED":
        reason = status.get("FailureReason") or "no reason given"
        raise SsoenvError(f"provisioning of {name} {final.lower()}: {reason}; the new duration is saved, "
                          f"retry the push with: {_provision_hint(instance_arn, ps_arn)}")
    _say(f"{what}: done")
    return ExitStatus.OK
