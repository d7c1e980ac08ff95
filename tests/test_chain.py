"""Role chaining (issue 20): a profile with role_arn + source_profile whose chain ends in
an SSO profile is a target. Everything through the installed `ssoenv` entry point, the
emulator's STS over real HTTP, the real AWS CLI v2 and boto3 as clients.

Debian's AWS CLI 2.9 cannot walk a chain whose source uses an `sso_session` (its
AssumeRole provider builds the SSO provider without a token loader: "'NoneType' object
has no attribute 'get_frozen_token'"; later CLIs can). The CLI's profile-mode test
therefore chains from a legacy SSO profile; boto3 (current botocore) chains from the
sso-session profile.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support import AWS_CLI, CHAIN_HUB, CHAIN_PROD, CHAINED_CONFIG, need, shell_sandbox

from ssoenv import paths

HUB, PROD = CHAIN_HUB, CHAIN_PROD
AUDIT = "888888888888"

TRUSTED_ROLES = [
    {"roleArn": f"arn:aws:iam::{PROD}:role/Deploy", "trust": [f"arn:aws:iam::{HUB}:root"]},
    {"roleArn": f"arn:aws:iam::{AUDIT}:role/Auditor", "trust": [f"arn:aws:iam::{PROD}:role/Deploy"]},
    {"roleArn": f"arn:aws:iam::{PROD}:role/Partner", "trust": [HUB], "externalId": "xyz"},
]

CONFIG = CHAINED_CONFIG + f"""
[profile audit]
role_arn = arn:aws:iam::{AUDIT}:role/Auditor
source_profile = prod-deploy

[profile partner]
role_arn = arn:aws:iam::{PROD}:role/Partner
source_profile = hub
external_id = xyz
role_session_name = release-bot
duration_seconds = 7200

[profile member]
sso_session = demo
sso_account_id = 222222222222
sso_role_name = ReadOnlyAccess

[profile untrusted]
role_arn = arn:aws:iam::{PROD}:role/Deploy
source_profile = member

[profile loop-a]
role_arn = arn:aws:iam::{PROD}:role/Deploy
source_profile = loop-b

[profile loop-b]
role_arn = arn:aws:iam::{PROD}:role/Deploy
source_profile = loop-a

[profile orphan]
role_arn = arn:aws:iam::{PROD}:role/Deploy
source_profile = nowhere

[profile from-ec2]
role_arn = arn:aws:iam::{PROD}:role/Deploy
credential_source = Ec2InstanceMetadata

[profile needs-mfa]
role_arn = arn:aws:iam::{PROD}:role/Deploy
source_profile = hub
mfa_serial = arn:aws:iam::{HUB}:mfa/alice

[profile bad-name]
role_arn = arn:aws:iam::{PROD}:role/Deploy
source_profile = hub
role_session_name = no spaces allowed

[profile lhub]
sso_start_url = https://demo.awsapps.com/start
sso_region = us-east-1
sso_account_id = {HUB}
sso_role_name = AdministratorAccess

[profile lprod]
role_arn = arn:aws:iam::{PROD}:role/Deploy
source_profile = lhub
"""


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    sandbox = shell_sandbox(tmp_path_factory.mktemp("chain"), aws_config=CONFIG, trusted_roles=TRUSTED_ROLES)
    yield sandbox
    sandbox.close()


@pytest.fixture
def fresh(box):
    """No cached role credentials, no remembered SSO user name, no calls counted, no faults."""
    box.clear_cli_cache()
    Path(box.path(paths.sso_users_file)).unlink(missing_ok=True)
    box.emulator.clear_faults()
    box.emulator.update(credentials_ttl=3600)
    box.emulator.reset_calls()
    return box


def exports(text: str) -> dict[str, str]:
    return dict(re.findall(r"^export (\w+)='([^']*)';$", text, re.M))


def identity_via_aws_cli(box, **env) -> dict:
    result = subprocess.run([AWS_CLI, "sts", "get-caller-identity", "--output", "json"],
                            env={**box.env, **env}, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def identity_via_boto3(box, **env) -> dict:
    code = "import boto3, json; print(json.dumps(boto3.client('sts').get_caller_identity()))"
    result = subprocess.run([sys.executable, "-c", code], env={**box.env, **env}, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def exec_identity(box, target: str, *extra: str) -> tuple[dict, subprocess.CompletedProcess]:
    """`ssoenv exec TARGET -- aws sts get-caller-identity` (credentials mode)."""
    result = box.ssoenv("exec", *extra, target, "--", AWS_CLI, "sts", "get-caller-identity", "--output", "json",
                        check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), result


def one_line_error(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""  # nothing for the shell to eval
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]


# --- the emulator's STS --------------------------------------------------------------------

def test_emulator_sts_answers_for_the_credentials_it_issued(fresh):
    """GetCallerIdentity names the SSO role as IAM Identity Center does; AssumeRole follows
    the trust policy and the external id; unknown keys and over-long chained sessions fail."""
    need(AWS_CLI)
    me = identity_via_aws_cli(fresh, AWS_PROFILE="hub")
    assert me["Account"] == HUB
    assert re.fullmatch(rf"arn:aws:sts::{HUB}:assumed-role/AWSReservedSSO_AdministratorAccess_[0-9a-f]{{16}}/alice",
                        me["Arn"]), me["Arn"]
    code = """if True:
        import boto3, json, sys
        from botocore.exceptions import ClientError
        hub = boto3.Session(profile_name="hub").get_credentials().get_frozen_credentials()
        sts = boto3.client("sts", aws_access_key_id=hub.access_key, aws_secret_access_key=hub.secret_key,
                           aws_session_token=hub.token, region_name="us-east-1")
        def code(**kw):
            try:
                return sts.assume_role(RoleSessionName="alice", **kw)["AssumedRoleUser"]["Arn"]
            except ClientError as exc:
                return exc.response["Error"]["Code"]
        out = [code(RoleArn="arn:aws:iam::999999999999:role/Deploy"),
               code(RoleArn="arn:aws:iam::888888888888:role/Auditor"),
               code(RoleArn="arn:aws:iam::999999999999:role/Partner"),
               code(RoleArn="arn:aws:iam::999999999999:role/Partner", ExternalId="xyz"),
               code(RoleArn="arn:aws:iam::999999999999:role/Deploy", DurationSeconds=7200)]
        bad = boto3.client("sts", aws_access_key_id="ASIAUNKNOWN", aws_secret_access_key="x",
                           aws_session_token="y", region_name="us-east-1")
        try:
            bad.get_caller_identity()
        except ClientError as exc:
            out.append(exc.response["Error"]["Code"])
        print(json.dumps(out))
    """
    result = subprocess.run([sys.executable, "-c", code], env=fresh.env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        f"arn:aws:sts::{PROD}:assumed-role/Deploy/alice",
        "AccessDenied",  # Auditor trusts Deploy, not the hub
        "AccessDenied",  # no external id
        f"arn:aws:sts::{PROD}:assumed-role/Partner/alice",
        "ValidationError",  # role chaining: one hour at most
        "InvalidClientTokenId",
    ]


# --- switching and running -----------------------------------------------------------------

def test_profile_mode_lets_the_aws_cli_and_boto3_walk_the_chain(fresh):
    need(AWS_CLI)
    out = exports(fresh.ssoenv("use", "prod-deploy", "--shell", "bash").stdout)
    assert out["AWS_PROFILE"] == "prod-deploy"
    # the prompt's facts: the chained account and role, not the hub's
    assert (out["SSOENV_ACCOUNT_ID"], out["SSOENV_ROLE"], out["SSOENV_PROFILE"]) == (PROD, "Deploy", "prod-deploy")
    boto3_me = identity_via_boto3(fresh, AWS_PROFILE=out["AWS_PROFILE"])
    assert boto3_me["Account"] == PROD and ":assumed-role/Deploy/" in boto3_me["Arn"]
    # the Debian CLI 2.9 chains only from a legacy SSO profile (see the module docstring)
    fresh.ssoenv("login", "--profile", "lhub", "--device-code", "--no-browser")
    legacy = exports(fresh.ssoenv("use", "lprod", "--shell", "bash").stdout)
    cli_me = identity_via_aws_cli(fresh, AWS_PROFILE=legacy["AWS_PROFILE"])
    assert cli_me["Account"] == PROD and ":assumed-role/Deploy/" in cli_me["Arn"]


def test_credentials_mode_reaches_the_same_role_as_the_users_own_session(fresh):
    need(AWS_CLI)
    out = exports(fresh.ssoenv("use", "prod-deploy", "--mode", "credentials", "--shell", "bash").stdout)
    assert "AWS_PROFILE" not in out and out["AWS_ACCESS_KEY_ID"].startswith("ASIA")
    assert out["AWS_CREDENTIAL_EXPIRATION"] == out["AWS_SESSION_EXPIRATION"]
    assert (out["SSOENV_ACCOUNT_ID"], out["SSOENV_ROLE"], out["SSOENV_MODE"]) == (PROD, "Deploy", "credentials")
    keys = {k: out[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}
    me = identity_via_aws_cli(fresh, **keys)
    # the session name is the SSO user's own, not botocore-session-<digits>
    assert me["Account"] == PROD and me["Arn"] == f"arn:aws:sts::{PROD}:assumed-role/Deploy/alice"
    via_exec, _ = exec_identity(fresh, "prod-deploy")
    assert via_exec["Arn"] == me["Arn"]


def test_two_hops(fresh):
    need(AWS_CLI)
    me, _ = exec_identity(fresh, "audit")
    assert me["Arn"] == f"arn:aws:sts::{AUDIT}:assumed-role/Auditor/alice"
    assert fresh.emulator.calls()["AssumeRole"] == 2  # Deploy, then Auditor with Deploy's credentials


def test_configured_session_name_external_id_and_capped_duration(fresh):
    need(AWS_CLI)
    result = fresh.ssoenv("exec", "partner", "--", "true")
    assert "duration_seconds 7200" in result.stderr and "3600" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert fresh.emulator.calls()["GetCallerIdentity"] == 0  # the name was given: no lookup
    me, _ = exec_identity(fresh, "partner")
    assert me["Arn"] == f"arn:aws:sts::{PROD}:assumed-role/Partner/release-bot"


def test_cached_like_role_credentials_and_the_user_name_looked_up_once(fresh):
    fresh.ssoenv("exec", "prod-deploy", "--", "true")
    fresh.ssoenv("exec", "prod-deploy", "--", "true")
    calls = fresh.emulator.calls()
    assert calls["AssumeRole"] == 1 and calls["GetCallerIdentity"] == 1
    cached = [p for p in Path(fresh.path(paths.cli_cache_dir)).iterdir()
              if json.loads(p.read_text()).get("ProviderType") == "assume-role"]
    assert len(cached) == 1 and cached[0].stat().st_mode & 0o777 == 0o600
    assert json.loads(cached[0].read_text())["Credentials"]["AccountId"] == PROD
    # a new chained session (its cache gone) reuses the user's name: no second lookup
    cached[0].unlink()
    fresh.ssoenv("exec", "prod-deploy", "--", "true")
    calls = fresh.emulator.calls()
    assert calls["AssumeRole"] == 2 and calls["GetCallerIdentity"] == 1


def test_a_throttled_assume_role_is_retried(fresh):
    fresh.emulator.inject_fault("AssumeRole", status=400, count=2, code="Throttling")
    fresh.ssoenv("exec", "prod-deploy", "--", "true")
    assert fresh.emulator.calls()["AssumeRole"] == 3


# --- what cannot work says so in one line ------------------------------------------------------

@pytest.mark.parametrize(("profile", "words"), [
    ("loop-a", ("loop-a", "loop")),
    ("orphan", ("orphan", "nowhere")),
    ("from-ec2", ("from-ec2", "credential_source")),
    ("needs-mfa", ("needs-mfa", "mfa_serial")),
    ("bad-name", ("bad-name", "role_session_name")),
])
def test_a_chain_that_cannot_work_fails_in_one_line(fresh, profile, words):
    for argv in (("use", profile, "--shell", "bash"), ("exec", profile, "--", "true")):
        one_line_error(fresh.ssoenv(*argv, check=False), *words)
    assert fresh.emulator.calls()["AssumeRole"] == 0


def test_an_untrusted_role_fails_in_one_line_naming_profile_role_and_source(fresh):
    result = fresh.ssoenv("use", "untrusted", "--mode", "credentials", "--shell", "bash", check=False)
    one_line_error(result, "untrusted", f"arn:aws:iam::{PROD}:role/Deploy", "ReadOnlyAccess", "222222222222",
                   "AccessDenied")
    assert not [p for p in Path(result and fresh.path(paths.cli_cache_dir)).glob("*.json")
                if json.loads(p.read_text()).get("ProviderType") == "assume-role"]


# --- renewal and logins --------------------------------------------------------------------------

def test_the_endpoint_renews_chained_credentials_past_their_expiry(fresh):
    """exec --server: the child's SDK keeps getting valid chained credentials after the
    first ones expired (the emulator issues 8-second credentials)."""
    fresh.emulator.update(credentials_ttl=8)
    code = """if True:
        import boto3, time
        sts = boto3.client("sts", region_name="us-east-1")
        first = sts.get_caller_identity()["Arn"]
        time.sleep(10)
        print(first, sts.get_caller_identity()["Arn"])
    """
    result = fresh.ssoenv("exec", "--server", "prod-deploy", "--", sys.executable, "-c", code, check=False,
                          timeout=120)
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.split()
    assert first == second == f"arn:aws:sts::{PROD}:assumed-role/Deploy/alice"
    assert fresh.emulator.calls()["AssumeRole"] >= 2


def test_use_renew_reassumes_an_expiring_chained_role(fresh):
    fresh.emulator.update(credentials_ttl=60)  # under the 5 minutes a switch wants left
    first = exports(fresh.ssoenv("use", "prod-deploy", "--mode", "credentials", "--shell", "bash").stdout)
    env = {k: v for k, v in first.items() if v}
    renewed = exports(fresh.ssoenv("use", "--renew", "--shell", "bash", env=env).stdout)
    assert renewed["SSOENV_ACCOUNT_ID"] == PROD and renewed["AWS_ACCESS_KEY_ID"] != first["AWS_ACCESS_KEY_ID"]
    assert fresh.emulator.calls()["AssumeRole"] == 2


def test_an_expired_source_login_is_renewed_silently(fresh):
    fresh.emulator.expire_tokens()
    fresh.ssoenv("exec", "prod-deploy", "--", "true")
    assert fresh.emulator.calls()["CreateToken"] == 1  # the refresh token, no login


def test_the_login_behind_a_chained_aws_profile(fresh):
    """The failure hook's `ssoenv recover` finds the sso-session behind
    AWS_PROFILE=prod-deploy and renews it."""
    fresh.emulator.expire_tokens()
    result = fresh.ssoenv("recover", "--", "aws", "s3", "ls", env={"AWS_PROFILE": "prod-deploy"}, check=False)
    assert result.returncode == 0, result.stderr
    assert fresh.emulator.calls()["CreateToken"] == 1  # demo's token renewed with its refresh token


# --- where chained targets show ----------------------------------------------------------------

def test_list_json_tab_completion_and_console(fresh):
    rows = json.loads(fresh.ssoenv("list", "--json").stdout)
    chained = {r["profile"]: r for r in rows if "via" in r}
    assert set(chained) == {"prod-deploy", "audit", "partner", "untrusted", "lprod"}  # the broken ones left out
    assert chained["prod-deploy"] == {"sso_session": "demo", "account_id": PROD, "account_name": "prod-deploy",
                                      "role": "Deploy", "profile": "prod-deploy", "via": "hub"}
    assert chained["audit"]["via"] == "prod-deploy" and chained["audit"]["account_id"] == AUDIT
    assert all("via" not in r for r in rows if r["profile"] in ("hub", "member", None))
    words = fresh.ssoenv("__complete", "bash", "ssoenv exec prod-", "prod-").stdout.split()
    assert "prod-deploy" in words
    result = fresh.ssoenv("console", "prod-deploy", "--print")
    assert "chained role" in result.stderr and "federation" in result.stderr
    assert "Action=login" in result.stdout and "SigninToken=" in result.stdout


def test_sts_errors_never_show_secrets(fresh):
    fresh.ssoenv("exec", "prod-deploy", "--", "true")
    result = fresh.ssoenv("use", "untrusted", "--mode", "credentials", "--shell", "bash", check=False)
    for p in Path(fresh.path(paths.cli_cache_dir)).glob("*.json"):
        creds = json.loads(p.read_text())["Credentials"]
        assert creds["SecretAccessKey"] not in result.stderr and creds["SessionToken"] not in result.stderr


def test_hot_exec_of_a_chained_role_imports_no_boto3(fresh):
    fresh.ssoenv("exec", "prod-deploy", "--", "true")  # cached from now on
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "ssoenv", "exec", "prod-deploy", "--", "true"],
                          env=fresh.env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    imported = {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines()
                if line.startswith("import time:")}
    assert "ssoenv" in imported  # the probe works
    assert not imported & {"boto3", "botocore", "prompt_toolkit"}
    assert fresh.emulator.calls()["AssumeRole"] == 1


def test_env_and_credential_process_give_the_chained_credentials(fresh):
    process = json.loads(fresh.ssoenv("credential-process", "prod-deploy").stdout)
    assert process["Version"] == 1 and process["AccessKeyId"].startswith("ASIA")
    env = dict(re.findall(r"^export (\w+)=(\S+)$", fresh.ssoenv("env", "prod-deploy", "--format", "env").stdout,
                          re.M))
    assert env["AWS_ACCESS_KEY_ID"].strip("'\"") == process["AccessKeyId"]  # the cached chained credentials
    assert fresh.emulator.calls()["AssumeRole"] == 1


def test_the_fallback_session_name_when_the_user_cannot_be_read(fresh):
    need(AWS_CLI)
    fresh.emulator.inject_fault("GetCallerIdentity", status=403, code="AccessDenied")
    user = fresh.env.get("USER") or fresh.env.get("LOGNAME")
    me, _ = exec_identity(fresh, "prod-deploy")
    assert me["Arn"] == f"arn:aws:sts::{PROD}:assumed-role/Deploy/ssoenv-{user}"
    assert not Path(fresh.path(paths.sso_users_file)).exists()  # a fallback is not remembered


def test_a_source_login_that_cannot_happen_here_exits_3(fresh):
    fresh.emulator.revoke_tokens()
    try:
        result = fresh.ssoenv("exec", "prod-deploy", "--", "true", check=False)
        assert result.returncode == 3, result.stderr
        assert "ssoenv login" in result.stderr and result.stdout == ""
        assert fresh.emulator.calls()["AssumeRole"] == 0
    finally:
        fresh.ssoenv(*fresh.login_command())
