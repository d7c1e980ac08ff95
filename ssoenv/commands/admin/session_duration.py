"""sso-admin: permission sets and their session duration (list, update, re-provision)."""

from __future__ import annotations

import json
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from ssoenv.commands.admin.common import aws_call, aws_list, cell, check_can_confirm, confirm, print_table, say
from ssoenv.errors import ExitStatus, SsoenvError, UsageError

# Provisioning is asynchronous: poll this often, give up after this long (tests shorten both).
PROVISION_POLL_INTERVAL = 2.0
PROVISION_TIMEOUT = 600.0

MIN_SESSION = 3600  # IAM Identity Center: 1 to 12 hours
MAX_SESSION = 12 * 3600


# --- durations --------------------------------------------------------------------------

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


# --- sso-admin ----------------------------------------------------------------------------

def _sso_error(exc, op: str) -> SsoenvError:
    code = exc.code
    if code in ("AccessDeniedException", "AccessDenied"):
        return SsoenvError(f"access denied to sso:{op}: run with the credentials of the management account "
                           "or of the delegated administrator (--profile NAME)")
    if code == "ConflictException" and op == "ProvisionPermissionSet":
        return SsoenvError(f"{exc.message}: another provisioning of this permission set may be running; "
                           "wait and retry")
    return SsoenvError(exc.message)


def _sso_client(args):
    """(sso-admin client, instance ARN): --instance-arn, else the one instance there is."""
    from ssoenv import identity

    if args.instance_arn and not args.instance_arn.startswith("arn:"):
        raise UsageError(f"invalid --instance-arn {args.instance_arn!r}: expected arn:aws:sso:::instance/ssoins-...")
    client = identity.admin_client("sso-admin", profile=args.profile, region=args.region)
    if args.instance_arn:
        return client, args.instance_arn
    instances = aws_list(client, "list_instances", "Instances", _sso_error)
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
    return aws_call(client, "describe_permission_set", _sso_error, InstanceArn=instance_arn,
                    PermissionSetArn=arn)["PermissionSet"]


def _all_permission_sets(client, instance_arn: str) -> list[dict]:
    arns = aws_list(client, "list_permission_sets", "PermissionSets", _sso_error, InstanceArn=instance_arn)
    with ThreadPoolExecutor(max_workers=min(8, max(1, len(arns)))) as pool:
        sets = list(pool.map(lambda arn: _describe_permission_set(client, instance_arn, arn), arns))
    return sorted(sets, key=lambda s: ((s.get("Name") or "").casefold(), s.get("PermissionSetArn") or ""))


def list_permission_sets(args) -> int:
    """`admin permission-sets`: name, session duration, ARN, description."""
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
        print_table(["NAME", "SESSION", "ARN", "DESCRIPTION"],
                    [[s.get("Name"), humanise_duration(s.get("SessionDuration")), s.get("PermissionSetArn"),
                      s.get("Description")] for s in sets])
    else:
        say(f"no permission set in {instance_arn}")
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
    names = ", ".join(cell(s.get("Name")) for s in sets[:30]) + (", ..." if len(sets) > 30 else "")
    if not matches:
        raise SsoenvError(f"no permission set named {wanted!r}" + (f"; there are: {names}" if sets else ""))
    raise SsoenvError(f"several permission sets are named {wanted!r}: pass its ARN")


def _provision_hint(instance_arn: str, ps_arn: str) -> str:
    return (f"aws sso-admin provision-permission-set --instance-arn {instance_arn} "
            f"--permission-set-arn {ps_arn} --target-type ALL_PROVISIONED_ACCOUNTS")


def set_session_duration(args) -> int:
    """`admin session-duration`: update the permission set, then re-provision it (unless --no-provision)."""
    seconds = parse_duration(args.duration)
    check_can_confirm(args)
    client, instance_arn = _sso_client(args)
    ps = _find_permission_set(client, instance_arn, args.permission_set)
    ps_arn, name = ps["PermissionSetArn"], cell(ps.get("Name"))
    old = ps.get("SessionDuration")
    new_text = format_duration(seconds)
    if iso_to_seconds(old) == seconds:
        say(f"permission set {name}: session duration is already {new_text}; nothing to change")
        return ExitStatus.OK
    accounts = [] if args.no_provision else aws_list(
        client, "list_accounts_for_provisioned_permission_set", "AccountIds", _sso_error,
        InstanceArn=instance_arn, PermissionSetArn=ps_arn)
    if args.no_provision:
        push = "  not re-provisioned (--no-provision): accounts keep the old duration until it is"
    elif accounts:
        push = f"  then re-provisioned to {len(accounts)} account(s): {', '.join(accounts)}"
    else:
        push = "  it is not provisioned to any account yet: nothing to re-provision"
    confirm(args, [f"Permission set {name} ({ps_arn})",
                   f"  session duration: {humanise_duration(old)} -> {new_text} ({to_iso_duration(seconds)})",
                   push], "Update it?")

    update = {"InstanceArn": instance_arn, "PermissionSetArn": ps_arn, "SessionDuration": to_iso_duration(seconds)}
    # Send the other fields back as they are, so no implementation can blank them.
    for key in ("Description", "RelayState"):
        if ps.get(key):
            update[key] = ps[key]
    aws_call(client, "update_permission_set", _sso_error, **update)
    say(f"permission set {name}: session duration {humanise_duration(old)} -> {new_text}")
    if args.no_provision:
        say(f"not re-provisioned; to push it to its accounts: {_provision_hint(instance_arn, ps_arn)}")
        return ExitStatus.OK
    if not accounts:
        return ExitStatus.OK
    return _provision(client, instance_arn, ps_arn, name, accounts)


def _provision(client, instance_arn: str, ps_arn: str, name: str, accounts: list[str]) -> int:
    status = aws_call(client, "provision_permission_set", _sso_error, InstanceArn=instance_arn,
                      PermissionSetArn=ps_arn, TargetType="ALL_PROVISIONED_ACCOUNTS")["PermissionSetProvisioningStatus"]
    progress = sys.stderr.isatty()
    started = time.monotonic()
    what = f"provisioning {name} to {len(accounts)} account(s)"
    if not progress:
        say(f"{what}...")
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
            status = aws_call(client, "describe_permission_set_provisioning_status", _sso_error,
                              InstanceArn=instance_arn,
                              ProvisionPermissionSetRequestId=status["RequestId"])["PermissionSetProvisioningStatus"]
    except KeyboardInterrupt:
        if progress:
            print("", file=sys.stderr)
        say(f"stopped waiting; provisioning goes on in AWS (request {status.get('RequestId')})")
        raise
    finally:
        if progress:
            print("\r\033[K", end="", file=sys.stderr, flush=True)
    final = status.get("Status") or "UNKNOWN"
    # One request covers every account: each shows its outcome.
    print_table(["ACCOUNT ID", "STATUS"], [[a, final] for a in accounts])
    if final != "SUCCEEDED":
        reason = status.get("FailureReason") or "no reason given"
        raise SsoenvError(f"provisioning of {name} {final.lower()}: {reason}; the new duration is saved, "
                          f"retry the push with: {_provision_hint(instance_arn, ps_arn)}")
    say(f"{what}: done")
    return ExitStatus.OK
