"""`ssoenv admin` against moto's Organizations and sso-admin.

moto gaps handled here (see each fixture): sso.amazonaws.com is not a delegated-admin
principal in moto (added to SUPPORTED_SERVICES); ProvisionPermissionSet answers SUCCEEDED
at once and DescribePermissionSetProvisioningStatus is not implemented (patched in where a
test needs an asynchronous provisioning); CreateAccountAssignment does not provision
(the fixture provisions once so ListAccountsForProvisionedPermissionSet has an account).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid

import boto3
import pytest
from moto import mock_aws
from moto.core.exceptions import JsonRESTError
from moto.organizations.models import FakeDelegatedAdministrator, OrganizationsBackend
from moto.ssoadmin.models import Instance, SSOAdminBackend, ssoadmin_backends
from moto.ssoadmin.responses import SSOAdminResponse

from ssoenv.cli import main
from ssoenv.commands import admin
from ssoenv.commands.admin import session_duration
from ssoenv.errors import SsoenvError

REGION = "eu-west-1"
SSO = "sso.amazonaws.com"
ENABLE = "aws organizations enable-aws-service-access --service-principal sso.amazonaws.com"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Tty(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def aws(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION",
                 "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ORGANIZATIONS", "AWS_ENDPOINT_URL_SSO_ADMIN",
                 "AWS_ENDPOINT_URL_STS", "SSOENV_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # never real AWS
    monkeypatch.setattr(FakeDelegatedAdministrator, "SUPPORTED_SERVICES",
                        [*FakeDelegatedAdministrator.SUPPORTED_SERVICES, SSO])
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # no terminal unless a test says so
    monkeypatch.setattr(session_duration, "PROVISION_POLL_INTERVAL", 0.01)
    with mock_aws():
        yield


@pytest.fixture
def org(aws):
    client = boto3.client("organizations", region_name=REGION)
    management = client.create_organization(FeatureSet="ALL")["Organization"]["MasterAccountId"]
    dev = client.create_account(AccountName="dev", Email="dev@example.com")["CreateAccountStatus"]["AccountId"]
    prod = client.create_account(AccountName="prod", Email="prod@example.com")["CreateAccountStatus"]["AccountId"]
    client.enable_aws_service_access(ServicePrincipal=SSO)
    return {"client": client, "management": management, "dev": dev, "prod": prod}


def delegated_ids(client):
    return [a["Id"] for a in client.list_delegated_administrators(ServicePrincipal=SSO)["DelegatedAdministrators"]]


def cli(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def deny(monkeypatch, cls, method):
    def denied(*_a, **_k):
        raise JsonRESTError("AccessDeniedException", "You don't have permissions to access this resource.")
    monkeypatch.setattr(cls, method, denied)


# --- pure functions ------------------------------------------------------------------

@pytest.mark.parametrize("text,seconds", [
    ("8h", 28800), ("90m", 5400), ("1h30m", 5400), ("PT8H", 28800), ("PT90M", 5400),
    ("pt1h30m", 5400), ("12h", 43200), ("1h", 3600), ("60m", 3600), ("PT12H", 43200),
])
def test_parse_duration_accepts(text, seconds):
    assert admin.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["0h", "59m", "13h", "12h1m", "PT0H", "PT13H", "721m"])
def test_parse_duration_refuses_outside_1_to_12_hours(text):
    with pytest.raises(SsoenvError) as err:
        admin.parse_duration(text)
    assert err.value.exit_status == 2
    assert "between 1h and 12h" in err.value.message


@pytest.mark.parametrize("text", ["0", "8", "", "garbage", "h", "PT", "8x", "1.5h", "-1h", "8h8h", "P8H", "8s"])
def test_parse_duration_refuses_bad_formats(text):
    with pytest.raises(SsoenvError) as err:
        admin.parse_duration(text)
    assert err.value.exit_status == 2
    assert "invalid duration" in err.value.message


@pytest.mark.parametrize("value,text", [
    ("PT1H", "1h"), ("PT8H", "8h"), ("PT1H30M", "1h30m"), ("PT90M", "1h30m"), ("PT12H", "12h"),
    ("PT45M", "45m"), (3600, "1h"), (None, "-"), ("bogus", "bogus"),
])
def test_humanise_duration(value, text):
    assert admin.humanise_duration(value) == text


@pytest.mark.parametrize("seconds,iso", [(3600, "PT1H"), (28800, "PT8H"), (5400, "PT1H30M"), (43200, "PT12H")])
def test_to_iso_duration_round_trips(seconds, iso):
    assert admin.to_iso_duration(seconds) == iso
    assert admin.iso_to_seconds(iso) == seconds


@pytest.mark.parametrize("code,message,fragment", [
    ("AccessDeniedException", "x", "access denied to organizations:RegisterDelegatedAdministrator"),
    ("AWSOrganizationsNotInUseException", "x", "not in an AWS Organization"),
    ("AccountNotFoundException", "x", "account 111122223333 is not in this organization"),
    ("AccountAlreadyRegisteredException", "x", "already a delegated administrator"),
    ("AccountNotRegisteredException", "x", "is not a delegated administrator"),
    ("ConstraintViolationException", "SERVICE_ACCESS_NOT_ENABLED", ENABLE),
    ("ConstraintViolationException", "You cannot register master account/yourself", "management account cannot"),
    ("ConstraintViolationException", "MAX_DELEGATED_ADMINISTRATORS_FOR_SERVICE_LIMIT_EXCEEDED", "one delegated"),
    ("ConcurrentModificationException", "RegisterDelegatedAdministrator failed: busy", "failed: busy"),
])
def test_org_errors_are_one_clear_line(code, message, fragment):
    from ssoenv.identity import ApiError

    err = admin._org_error(ApiError(code, message), "RegisterDelegatedAdministrator", "111122223333")
    assert fragment in err.message and "\n" not in err.message
    assert err.exit_status == 1


def test_admin_parser_does_not_import_boto3():
    code = ("import argparse, sys; from ssoenv.commands import admin; "
            "admin.configure_parser(argparse.ArgumentParser()); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "[]"


def test_admin_without_action_is_a_usage_error(aws, capsys):
    rc, out, err = cli(capsys, "admin")
    assert rc == 2 and out == ""
    assert "ACTION" in err


# --- delegate / undelegate / delegated -------------------------------------------------

@pytest.mark.parametrize("bad", ["12345", "1234567890123", "12345678901a", "", "-12345678901"])
def test_delegate_validates_account_id_before_any_call(aws, capsys, monkeypatch, bad):
    from ssoenv import identity

    def no_call(*_a, **_k):
        raise AssertionError("no AWS call may happen")
    monkeypatch.setattr(identity, "admin_client", no_call)
    for action in ("delegate", "undelegate"):
        rc, out, err = cli(capsys, "admin", action, "--yes", "--", bad)
        assert rc == 2, err
        assert "12 digits" in err


@pytest.mark.parametrize("argv", [("delegate", "111122223333"), ("undelegate", "111122223333"),
                                  ("session-duration", "Admin", "8h")])
def test_no_terminal_refusal_comes_before_any_call(aws, capsys, monkeypatch, argv):
    from ssoenv import identity

    def no_call(*_a, **_k):
        raise AssertionError("no AWS call may happen")
    monkeypatch.setattr(identity, "admin_client", no_call)
    rc, out, err = cli(capsys, "admin", *argv)
    assert rc == 2 and "--yes" in err


def test_delegate_with_yes_registers(org, capsys):
    rc, out, err = cli(capsys, "admin", "delegate", org["dev"], "--yes")
    assert rc == 0, err
    assert delegated_ids(org["client"]) == [org["dev"]]
    assert f"{org['dev']} (dev)" in err and out == ""


def test_delegate_asks_on_the_terminal_and_shows_the_account(org, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", Tty("y\n"))
    rc, out, err = cli(capsys, "admin", "delegate", org["dev"])
    assert rc == 0, err
    assert f"Register account {org['dev']} (dev)" in err and "[y/N]" in err
    assert delegated_ids(org["client"]) == [org["dev"]]


def test_delegate_answer_no_changes_nothing(org, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", Tty("n\n"))
    rc, out, err = cli(capsys, "admin", "delegate", org["dev"])
    assert rc == 1
    assert "cancelled" in err
    assert delegated_ids(org["client"]) == []


def test_delegate_without_terminal_or_yes_refuses(org, capsys):
    rc, out, err = cli(capsys, "admin", "delegate", org["dev"])
    assert rc == 2
    assert "--yes" in err
    assert delegated_ids(org["client"]) == []


def test_delegate_account_not_in_organization(org, capsys):
    rc, out, err = cli(capsys, "admin", "delegate", "999999999999", "--yes")
    assert rc == 1
    assert "account 999999999999 is not in this organization" in err


def test_delegate_already_registered(org, capsys):
    org["client"].register_delegated_administrator(AccountId=org["dev"], ServicePrincipal=SSO)
    rc, out, err = cli(capsys, "admin", "delegate", org["dev"], "--yes")
    assert rc == 1
    assert "already a delegated administrator" in err


def test_delegate_already_registered_reported_by_the_api(org, capsys, monkeypatch):
    # A race: the pre-check sees no delegated administrator, the API says it exists.
    org["client"].register_delegated_administrator(AccountId=org["dev"], ServicePrincipal=SSO)
    monkeypatch.setattr(OrganizationsBackend, "list_delegated_administrators",
                        lambda self, **kw: {"DelegatedAdministrators": []})
    rc, out, err = cli(capsys, "admin", "delegate", org["dev"], "--yes")
    assert rc == 1
    assert f"account {org['dev']} is already a delegated administrator" in err


def test_delegate_refuses_a_second_delegated_administrator(org, capsys):
    org["client"].register_delegated_administrator(AccountId=org["prod"], ServicePrincipal=SSO)
    rc, out, err = cli(capsys, "admin", "delegate", org["dev"], "--yes")
    assert rc == 1
    assert f"ssoenv admin undelegate {org['prod']}" in err
    assert delegated_ids(org["client"]) == [org["prod"]]


def test_delegate_without_trusted_access_says_how_to_enable_it(org, capsys):
    org["client"].disable_aws_service_access(ServicePrincipal=SSO)
    rc, out, err = cli(capsys, "admin", "delegate", org["dev"], "--yes")
    assert rc == 1
    assert ENABLE in err
    assert delegated_ids(org["client"]) == []


def test_delegate_management_account_itself(org, capsys):
    rc, out, err = cli(capsys, "admin", "delegate", org["management"], "--yes")
    assert rc == 1
    assert "is the management account" in err


def test_delegate_from_a_member_account(org, capsys, monkeypatch):
    creds = boto3.client("sts", region_name=REGION).assume_role(
        RoleArn=f"arn:aws:iam::{org['dev']}:role/OrganizationAccountAccessRole", RoleSessionName="test")["Credentials"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", creds["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", creds["SecretAccessKey"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", creds["SessionToken"])
    rc, out, err = cli(capsys, "admin", "delegate", org["prod"], "--yes")
    assert rc == 1
    assert f"account {org['dev']} is not the management account" in err
    assert creds["SecretAccessKey"] not in err and creds["SessionToken"] not in err


def test_delegate_outside_any_organization(aws, capsys):
    rc, out, err = cli(capsys, "admin", "delegate", "111122223333", "--yes")
    assert rc == 1
    assert "not in an AWS Organization" in err


def test_delegate_access_denied(org, capsys, monkeypatch):
    deny(monkeypatch, OrganizationsBackend, "describe_organization")
    rc, out, err = cli(capsys, "admin", "delegate", org["dev"], "--yes")
    assert rc == 1
    assert "access denied to organizations:DescribeOrganization" in err
    assert "Traceback" not in err


def test_delegate_uses_profile(org, capsys, tmp_path):
    (tmp_path / "credentials").write_text("[mgmt]\naws_access_key_id = k\naws_secret_access_key = s\n")
    rc, out, err = cli(capsys, "admin", "delegate", org["dev"], "--yes", "--profile", "mgmt")
    assert rc == 0, err
    rc, out, err = cli(capsys, "admin", "delegated", "--profile", "nosuch")
    assert rc == 1 and "'nosuch'" in err


def test_undelegate_with_yes(org, capsys):
    org["client"].register_delegated_administrator(AccountId=org["dev"], ServicePrincipal=SSO)
    rc, out, err = cli(capsys, "admin", "undelegate", org["dev"], "--yes")
    assert rc == 0, err
    assert delegated_ids(org["client"]) == []
    assert f"{org['dev']} (dev) is no longer" in err


def test_undelegate_answer_no(org, capsys, monkeypatch):
    org["client"].register_delegated_administrator(AccountId=org["dev"], ServicePrincipal=SSO)
    monkeypatch.setattr(sys, "stdin", Tty("\n"))
    rc, out, err = cli(capsys, "admin", "undelegate", org["dev"])
    assert rc == 1
    assert f"Deregister account {org['dev']} (dev)" in err
    assert delegated_ids(org["client"]) == [org["dev"]]


def test_undelegate_not_registered(org, capsys):
    rc, out, err = cli(capsys, "admin", "undelegate", org["dev"], "--yes")
    assert rc == 1
    assert "is not a delegated administrator" in err


def test_delegated_table(org, capsys):
    org["client"].register_delegated_administrator(AccountId=org["dev"], ServicePrincipal=SSO)
    rc, out, err = cli(capsys, "admin", "delegated")
    assert rc == 0, err
    header, row = out.splitlines()
    assert header.split() == ["ACCOUNT", "ID", "NAME", "EMAIL", "DELEGATED"]
    cols = row.split()
    assert cols[:3] == [org["dev"], "dev", "dev@example.com"]
    assert cols[3].endswith("Z") and cols[3][:2] == "20"


def test_delegated_json(org, capsys):
    rc, out, err = cli(capsys, "admin", "delegated", "--json")
    assert rc == 0 and json.loads(out) == []
    org["client"].register_delegated_administrator(AccountId=org["dev"], ServicePrincipal=SSO)
    rc, out, err = cli(capsys, "admin", "delegated", "--json")
    [entry] = json.loads(out)
    assert list(entry) == ["account_id", "name", "email", "delegated_at"]
    assert entry["account_id"] == org["dev"] and entry["name"] == "dev" and entry["email"] == "dev@example.com"
    # moto accepts a second one (IAM Identity Center would not): the list is sorted by account id.
    org["client"].deregister_delegated_administrator(AccountId=org["dev"], ServicePrincipal=SSO)
    for account in sorted((org["dev"], org["prod"]), reverse=True):
        org["client"].register_delegated_administrator(AccountId=account, ServicePrincipal=SSO)
    rc, out, err = cli(capsys, "admin", "delegated", "--json")
    assert [e["account_id"] for e in json.loads(out)] == sorted((org["dev"], org["prod"]))


def test_delegated_none_prints_nothing_on_stdout(org, capsys):
    rc, out, err = cli(capsys, "admin", "delegated")
    assert rc == 0 and out == ""
    assert "no delegated administrator" in err


def test_delegated_access_denied(org, capsys, monkeypatch):
    deny(monkeypatch, OrganizationsBackend, "list_delegated_administrators")
    rc, out, err = cli(capsys, "admin", "delegated")
    assert rc == 1 and out == ""
    assert "access denied to organizations:ListDelegatedAdministrators" in err


# --- permission sets -------------------------------------------------------------------

@pytest.fixture
def sso(org):
    client = boto3.client("sso-admin", region_name=REGION)
    instance = client.list_instances()["Instances"][0]["InstanceArn"]
    sets = {}
    for name, duration, description in [("Admin", "PT1H", "full access"), ("ReadOnly", "PT8H", None),
                                        ("Mixed", "PT1H30M", "line one\nline two")]:
        params = {"InstanceArn": instance, "Name": name, "SessionDuration": duration}
        if description:
            params["Description"] = description
        sets[name] = client.create_permission_set(**params)["PermissionSet"]["PermissionSetArn"]
    # moto: an assignment does not provision; a provisioning does (to the caller's account).
    client.provision_permission_set(InstanceArn=instance, PermissionSetArn=sets["Admin"],
                                    TargetType="ALL_PROVISIONED_ACCOUNTS")
    return {**org, "client": client, "orgs": org["client"], "instance": instance, "sets": sets}


def duration_of(sso, name):
    return sso["client"].describe_permission_set(
        InstanceArn=sso["instance"], PermissionSetArn=sso["sets"][name])["PermissionSet"]


def test_permission_sets_table(sso, capsys):
    rc, out, err = cli(capsys, "admin", "permission-sets")
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "SESSION", "ARN", "DESCRIPTION"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert len(lines) == 4  # the newline in a description does not break the table
    assert rows["Admin"][1:3] == ["1h", sso["sets"]["Admin"]] and rows["Admin"][3:] == ["full", "access"]
    assert rows["ReadOnly"][1] == "8h" and rows["ReadOnly"][3] == "-"
    assert rows["Mixed"][1] == "1h30m" and rows["Mixed"][3:] == ["line", "one", "line", "two"]


def test_permission_sets_json(sso, capsys):
    rc, out, err = cli(capsys, "admin", "permission-sets", "--json")
    assert rc == 0, err
    data = json.loads(out)
    assert [d["name"] for d in data] == ["Admin", "Mixed", "ReadOnly"]
    assert data[0] == {"name": "Admin", "arn": sso["sets"]["Admin"], "session_duration": "PT1H",
                       "session_duration_seconds": 3600, "description": "full access"}
    assert data[2]["description"] is None and data[2]["session_duration_seconds"] == 28800


def test_permission_sets_several_instances(sso, capsys):
    other = Instance("123456789012", REGION)
    ssoadmin_backends["123456789012"][REGION].instances.append(other)
    rc, out, err = cli(capsys, "admin", "permission-sets")
    assert rc == 2 and out == ""
    assert "--instance-arn" in err and sso["instance"] in err and other.instance_arn in err
    rc, out, err = cli(capsys, "admin", "permission-sets", "--json", "--instance-arn", sso["instance"])
    assert rc == 0 and len(json.loads(out)) == 3


def test_permission_sets_no_instance(aws, capsys):
    ssoadmin_backends["123456789012"][REGION].instances.clear()
    rc, out, err = cli(capsys, "admin", "permission-sets")
    assert rc == 1
    assert f"no IAM Identity Center instance in {REGION}" in err and "--region" in err


def test_permission_sets_access_denied(sso, capsys, monkeypatch):
    deny(monkeypatch, SSOAdminBackend, "list_instances")
    rc, out, err = cli(capsys, "admin", "permission-sets")
    assert rc == 1
    assert "access denied to sso:ListInstances" in err


def test_session_duration_by_name_with_yes(sso, capsys):
    rc, out, err = cli(capsys, "admin", "session-duration", "Admin", "8h", "--yes")
    assert rc == 0, err
    ps = duration_of(sso, "Admin")
    assert ps["SessionDuration"] == "PT8H"
    assert ps["Description"] == "full access"  # left as it was
    assert out.split() == ["ACCOUNT", "ID", "STATUS", "123456789012", "SUCCEEDED"]
    assert "1h -> 8h" in err


def test_session_duration_by_arn(sso, capsys):
    rc, out, err = cli(capsys, "admin", "session-duration", sso["sets"]["ReadOnly"], "PT90M", "--yes")
    assert rc == 0, err
    assert duration_of(sso, "ReadOnly")["SessionDuration"] == "PT1H30M"


def test_session_duration_confirm_yes_shows_old_and_new(sso, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", Tty("yes\n"))
    rc, out, err = cli(capsys, "admin", "session-duration", "Admin", "12h")
    assert rc == 0, err
    assert "session duration: 1h -> 12h (PT12H)" in err and "123456789012" in err
    assert duration_of(sso, "Admin")["SessionDuration"] == "PT12H"


def test_session_duration_confirm_no(sso, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", Tty("no\n"))
    rc, out, err = cli(capsys, "admin", "session-duration", "Admin", "8h")
    assert rc == 1 and "cancelled" in err
    assert duration_of(sso, "Admin")["SessionDuration"] == "PT1H"


def test_session_duration_without_terminal_or_yes(sso, capsys):
    rc, out, err = cli(capsys, "admin", "session-duration", "Admin", "8h")
    assert rc == 2 and "--yes" in err
    assert duration_of(sso, "Admin")["SessionDuration"] == "PT1H"


@pytest.mark.parametrize("duration,fragment", [("13h", "between 1h and 12h"), ("59m", "between 1h and 12h"),
                                               ("0", "invalid duration"), ("eight", "invalid duration")])
def test_session_duration_bad_values(sso, capsys, duration, fragment):
    rc, out, err = cli(capsys, "admin", "session-duration", "Admin", duration, "--yes")
    assert rc == 2 and fragment in err
    assert duration_of(sso, "Admin")["SessionDuration"] == "PT1H"


def test_session_duration_unknown_permission_set(sso, capsys):
    rc, out, err = cli(capsys, "admin", "session-duration", "Nope", "8h", "--yes")
    assert rc == 1
    assert "no permission set named 'Nope'" in err and "Admin" in err


def test_session_duration_unchanged_is_a_no_op(sso, capsys, monkeypatch):
    def no_update(*_a, **_k):
        raise AssertionError("no update expected")
    monkeypatch.setattr(SSOAdminBackend, "update_permission_set", no_update)
    rc, out, err = cli(capsys, "admin", "session-duration", "readonly", "480m", "--yes")
    assert rc == 0, err
    assert "already 8h" in err


@pytest.fixture
def provision_calls(monkeypatch):
    calls = []
    original = SSOAdminBackend.provision_permission_set

    def spy(self, **kw):
        calls.append(kw)
        return original(self, **kw)
    monkeypatch.setattr(SSOAdminBackend, "provision_permission_set", spy)
    return calls


def test_session_duration_no_provision(sso, capsys, provision_calls):
    rc, out, err = cli(capsys, "admin", "session-duration", "Admin", "2h", "--yes", "--no-provision")
    assert rc == 0, err
    assert duration_of(sso, "Admin")["SessionDuration"] == "PT2H"
    assert provision_calls == [] and out == ""
    assert "aws sso-admin provision-permission-set" in err


def test_session_duration_not_provisioned_anywhere(sso, capsys, provision_calls):
    rc, out, err = cli(capsys, "admin", "session-duration", "Mixed", "3h", "--yes")
    assert rc == 0, err
    assert duration_of(sso, "Mixed")["SessionDuration"] == "PT3H"
    assert provision_calls == [] and "not provisioned to any account" in err


@pytest.fixture
def async_provisioning(monkeypatch):
    """Make moto's provisioning asynchronous: IN_PROGRESS, then the statuses in `script`."""
    state = {"script": [], "polls": 0}

    def provision(self):
        return json.dumps({"PermissionSetProvisioningStatus": {
            "Status": "IN_PROGRESS", "RequestId": str(uuid.uuid4()),
            "PermissionSetArn": self._get_param("PermissionSetArn")}})

    def describe(self):
        state["polls"] += 1
        script = state["script"]
        status = script.pop(0) if len(script) > 1 else script[0]
        body = {"Status": status[0], "RequestId": self._get_param("ProvisionPermissionSetRequestId")}
        if status[1]:
            body["FailureReason"] = status[1]
        return json.dumps({"PermissionSetProvisioningStatus": body})

    monkeypatch.setattr(SSOAdminResponse, "provision_permission_set", provision)
    monkeypatch.setattr(SSOAdminResponse, "describe_permission_set_provisioning_status", describe, raising=False)
    return state


def test_session_duration_polls_until_succeeded(sso, capsys, monkeypatch, async_provisioning):
    async_provisioning["script"] = [("IN_PROGRESS", None), ("IN_PROGRESS", None), ("SUCCEEDED", None)]
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    rc, out, err = cli(capsys, "admin", "session-duration", "Admin", "4h", "--yes")
    assert rc == 0, err
    assert async_provisioning["polls"] == 3
    assert "\rprovisioning Admin to 1 account(s): IN_PROGRESS" in err
    assert out.split()[-2:] == ["123456789012", "SUCCEEDED"]


def test_session_duration_provisioning_failure(sso, capsys, async_provisioning):
    async_provisioning["script"] = [("IN_PROGRESS", None), ("FAILED", "Role limit exceeded in 123456789012")]
    rc, out, err = cli(capsys, "admin", "session-duration", "Admin", "4h", "--yes")
    assert rc == 1
    assert "provisioning of Admin failed: Role limit exceeded in 123456789012" in err
    assert out.split()[-2:] == ["123456789012", "FAILED"]
    assert duration_of(sso, "Admin")["SessionDuration"] == "PT4H"


def test_session_duration_provisioning_timeout(sso, capsys, monkeypatch, async_provisioning):
    async_provisioning["script"] = [("IN_PROGRESS", None)]
    monkeypatch.setattr(session_duration, "PROVISION_TIMEOUT", 0.05)
    rc, out, err = cli(capsys, "admin", "session-duration", "Admin", "4h", "--yes")
    assert rc == 1
    assert "still in progress" in err and "describe-permission-set-provisioning-status" in err
    assert async_provisioning["polls"] >= 1


def test_constraint_violation_reason_reaches_the_message():
    """A real-AWS ConstraintViolation whose message says nothing useful is told by its Reason."""
    from botocore.exceptions import ClientError

    from ssoenv import identity
    from ssoenv.commands.admin import _org_error

    error = ClientError({"Error": {"Code": "ConstraintViolationException", "Message": "denied"},
                         "Reason": "SERVICE_ACCESS_NOT_ENABLED"}, "RegisterDelegatedAdministrator")
    api_error = identity._describe(error, "RegisterDelegatedAdministrator")
    assert api_error.reason == "SERVICE_ACCESS_NOT_ENABLED"
    assert "trusted access for IAM Identity Center is not enabled" in _org_error(api_error, "X").message
