"""Issue 17 item 7: values of a `[DEFAULT]` section apply to every profile that does not
set them, as botocore reads the file: ssoenv resolves the same region as boto3 and the
installed AWS CLI v2 for the same file."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from support import AWS_CLI, need, ssoenv_subprocess

PROFILES = """
[DEFAULT]
region = eu-central-1
output = json

[profile dev-admin]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = AdministratorAccess

[profile member-ro]
sso_session = corp
sso_account_id = 222222222222
sso_role_name = ReadOnlyAccess
region = eu-west-2
"""
SHOW_REGION = [sys.executable, "-c", "import os; print(os.environ.get('AWS_REGION', '-'))"]


@pytest.fixture
def config_with_defaults(synced, aws_config):
    aws_config.write_text(aws_config.read_text() + PROFILES)
    return aws_config


def boto3_region(config, profile: str) -> str:
    code = "import sys, boto3; print(boto3.Session(profile_name=sys.argv[1]).region_name)"
    return subprocess.run([sys.executable, "-c", code, profile], capture_output=True, text=True, check=True,
                          env={**os.environ, "AWS_CONFIG_FILE": str(config)}, timeout=60).stdout.strip()


def aws_cli_region(config, profile: str) -> str:
    need(AWS_CLI)
    return subprocess.run([AWS_CLI, "configure", "get", "region", "--profile", profile], capture_output=True,
                          text=True, env={**os.environ, "AWS_CONFIG_FILE": str(config)}, timeout=60).stdout.strip()


@pytest.mark.parametrize("profile, region", [("dev-admin", "eu-central-1"), ("member-ro", "eu-west-2"),
                                             ("default", "eu-west-1")])
def test_exec_sets_the_region_botocore_and_the_aws_cli_resolve(config_with_defaults, profile, region):
    assert boto3_region(config_with_defaults, profile) == region
    assert aws_cli_region(config_with_defaults, profile) == region
    if profile == "default":
        return  # not an SSO profile: nothing for ssoenv to run
    proc = ssoenv_subprocess("exec", "--no-server", profile, "--", *SHOW_REGION)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == region


def test_use_in_credentials_mode_exports_the_default_sections_region(config_with_defaults, run):
    status, out, err = run("use", "dev-admin", "--mode", "credentials", "--shell", "bash")
    assert status == 0, err
    assert "export AWS_REGION='eu-central-1';" in out


def test_a_default_section_value_botocore_would_misread_is_refused(config_with_defaults):
    text = config_with_defaults.read_text().replace("region = eu-central-1", "region = eu-central-1 ; mine")
    config_with_defaults.write_text(text)
    proc = ssoenv_subprocess("exec", "dev-admin", "--", "true")
    assert proc.returncode == 1 and "region in [DEFAULT] holds an inline comment" in proc.stderr
