"""`exec --each` selects chained roles (issue 21 with issue 20): a chained target runs
with the chained account's credentials, assumed from its SSO source role, never with
role credentials the portal would hand out for the chained account/role name. Through
the installed entry point, the emulator's STS answering boto3 in each child."""

from __future__ import annotations

import json
import sys

import pytest
from support import CHAIN_HUB, CHAIN_PROD, CHAINED_CONFIG, SSOENV, shell_sandbox

HUB, PROD = CHAIN_HUB, CHAIN_PROD
WHO = ("import boto3; i = boto3.client('sts', region_name='us-east-1').get_caller_identity(); "
       "print(i['Account'], i['Arn'])")


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    sandbox = shell_sandbox(tmp_path_factory.mktemp("each-chain"), aws_config=CHAINED_CONFIG)
    yield sandbox
    sandbox.close()


@pytest.mark.parametrize("server", [[], ["--server"]], ids=["keys", "server"])
def test_a_chained_target_runs_in_the_chained_account(box, server):
    box.clear_cli_cache()
    result = box.ssoenv("exec", "--each", "prod-deploy", "--each", "hub", "--yes", "--json", *server,
                        "--", sys.executable, "-c", WHO, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert sorted(run["status"] for run in summary["runs"]) == ["ok", "ok"], summary
    lines = [line for line in result.stderr.splitlines() if " arn:aws:sts::" in line]
    deploy = [line for line in lines if line.startswith("prod-deploy")]
    hub = [line for line in lines if not line.startswith("prod-deploy")]
    assert len(deploy) == 1 and len(hub) == 1, result.stderr
    assert f"{PROD} arn:aws:sts::{PROD}:assumed-role/Deploy/" in deploy[0], deploy
    assert f"{HUB} arn:aws:sts::{HUB}:assumed-role/AWSReservedSSO_AdministratorAccess_" in hub[0], hub


def test_exec_inside_an_endpoint_shell_of_a_chained_role_stays_in_that_role(box):
    """A shell under `exec --server prod-deploy` names its profile (SSOENV_PROFILE), so a
    plain `ssoenv exec -- CMD` there runs as the chained role too, not as "no access to
    prod-deploy (999999999999) as Deploy" through the portal."""
    result = box.ssoenv("exec", "--server", "prod-deploy", "--", SSOENV, "exec", "--", sys.executable, "-c", WHO,
                        timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{PROD} arn:aws:sts::{PROD}:assumed-role/Deploy/"), result.stdout
