"""Organizations: who administers IAM Identity Center (register, deregister, list)."""

from __future__ import annotations

import json
import re
from functools import partial

from ssoenv.commands.admin.common import (
    aws_call,
    aws_list,
    cell,
    check_can_confirm,
    confirm,
    iso_time,
    print_table,
    say,
)
from ssoenv.errors import ExitStatus, SsoenvError, UsageError

SERVICE_PRINCIPAL = "sso.amazonaws.com"
ENABLE_TRUSTED_ACCESS = f"aws organizations enable-aws-service-access --service-principal {SERVICE_PRINCIPAL}"


def validate_account_id(text: str) -> str:
    if not re.fullmatch(r"[0-9]{12}", text or ""):
        raise UsageError(f"invalid account id {text!r}: an AWS account id is 12 digits")
    return text


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


def _management_client(args):
    """An organizations client whose credentials are the management account's, or a clear error."""
    from ssoenv import identity

    orgs = identity.admin_client("organizations", profile=args.profile, region=args.region)
    org = aws_call(orgs, "describe_organization", _org_error)["Organization"]
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


def _account_label(orgs, account_id: str) -> str:
    """'111122223333 (name)' via DescribeAccount; an account outside the organization is an error."""
    from ssoenv import identity

    try:
        name = identity.admin_call(orgs, "describe_account", AccountId=account_id)["Account"].get("Name")
    except identity.ApiError as exc:
        if exc.code == "AccountNotFoundException":
            raise _org_error(exc, "DescribeAccount", account_id) from None
        name = None  # not allowed to describe it: go on without the name
    return f"{account_id} ({cell(name)})" if name else account_id


def _delegated_admins(orgs) -> list[dict]:
    return aws_list(orgs, "list_delegated_administrators", "DelegatedAdministrators", _org_error,
                    ServicePrincipal=SERVICE_PRINCIPAL)


def _check_may_register(orgs, account_id: str, label: str) -> None:
    """Trusted access on, and no delegated administrator yet (Identity Center allows one)."""
    enabled = {s.get("ServicePrincipal") for s in aws_list(
        orgs, "list_aws_service_access_for_organization", "EnabledServicePrincipals", _org_error)}
    if SERVICE_PRINCIPAL not in enabled:
        raise SsoenvError(f"trusted access for IAM Identity Center is not enabled in the organization: "
                          f"run `{ENABLE_TRUSTED_ACCESS}` with the management account")
    current = [str(a.get("Id")) for a in _delegated_admins(orgs)]
    if account_id in current:
        raise SsoenvError(f"account {label} is already a delegated administrator for IAM Identity Center")
    if current:
        raise SsoenvError(f"IAM Identity Center allows one delegated administrator and {', '.join(current)} "
                          f"is it: run `ssoenv admin undelegate {current[0]}` first")


def _check_is_registered(orgs, account_id: str, label: str) -> None:
    if account_id not in {a.get("Id") for a in _delegated_admins(orgs)}:
        raise SsoenvError(f"account {label} is not a delegated administrator for IAM Identity Center")


def set_delegation(args, register: bool) -> int:
    """`admin delegate` (register=True) and `admin undelegate`: check, confirm, then change."""
    account_id = validate_account_id(args.account_id)
    check_can_confirm(args)
    orgs, management = _management_client(args)
    if register and account_id == management:
        raise SsoenvError(f"account {account_id} is the management account: it cannot be its own "
                          "delegated administrator; pick a member account")
    label = _account_label(orgs, account_id)
    (_check_may_register if register else _check_is_registered)(orgs, account_id, label)
    verb = "Register" if register else "Deregister"
    confirm(args, [f"{verb} account {label} as delegated administrator of IAM Identity Center",
                   f"  (Organizations {verb}DelegatedAdministrator, service principal {SERVICE_PRINCIPAL})"],
            f"{verb} it?")
    aws_call(orgs, f"{verb.lower()}_delegated_administrator", partial(_org_error, account_id=account_id),
             AccountId=account_id, ServicePrincipal=SERVICE_PRINCIPAL)
    say(f"account {label} is {'now' if register else 'no longer'} a delegated administrator of IAM Identity Center")
    return ExitStatus.OK


def list_delegated(args) -> int:
    """`admin delegated`: the delegated administrators, as a table or JSON."""
    from ssoenv import identity

    orgs = identity.admin_client("organizations", profile=args.profile, region=args.region)
    admins = [{"account_id": a.get("Id"), "name": a.get("Name"), "email": a.get("Email"),
               "delegated_at": iso_time(a.get("DelegationEnabledDate"))} for a in _delegated_admins(orgs)]
    admins.sort(key=lambda a: a["account_id"] or "")
    if args.json:
        print(json.dumps(admins, indent=2, ensure_ascii=False))
    elif admins:
        print_table(["ACCOUNT ID", "NAME", "EMAIL", "DELEGATED"],
                    [[a["account_id"], a["name"], a["email"], a["delegated_at"]] for a in admins])
    else:
        say("no delegated administrator for IAM Identity Center")
    return ExitStatus.OK
