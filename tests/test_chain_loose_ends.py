"""Role chaining's loose ends (issue 20, branch chain2), through the installed entry
point against the emulator over real HTTP: a chained choice ranks up in the picker and
its history stays readable by a version without chains; the picker marks an active
chained role and starts its cursor elsewhere; `login`/`refresh` find the sso-session
behind a chained AWS_PROFILE; `serve` hands boto3 the chained role; a chained
profile's name wins over accounts and roles that only resemble it."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from support import CHAIN_HUB, CHAIN_PROD, CHAINED_CONFIG, finish, shell_sandbox, spawn_pick, wait_for  # noqa: E402

from ssoenv import paths  # noqa: E402
from ssoenv.emulator.config import default_accounts  # noqa: E402

HUB, PROD = CHAIN_HUB, CHAIN_PROD
LOOKALIKE = "777777777777"
EXACT_NAME = "666666666666"

# accounts whose names and roles resemble the chained profile `prod-deploy`
ACCOUNTS = [*default_accounts(),
            {"accountId": LOOKALIKE, "accountName": "prod-deploy-legacy", "emailAddress": "l@example.com",
             "roles": ["Deploy", "ProdDeployer"]},
            {"accountId": EXACT_NAME, "accountName": "prod-deploy", "emailAddress": "p@example.com",
             "roles": ["prod-deploy"]}]

CONFIG = CHAINED_CONFIG + f"""
[profile loop-a]
role_arn = arn:aws:iam::{PROD}:role/Deploy
source_profile = loop-b

[profile loop-b]
role_arn = arn:aws:iam::{PROD}:role/Deploy
source_profile = loop-a
"""


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    sandbox = shell_sandbox(tmp_path_factory.mktemp("chain2"), aws_config=CONFIG, accounts=ACCOUNTS)
    yield sandbox
    sandbox.close()


@pytest.fixture
def fresh(box):
    """No history, no cached role credentials, no calls counted."""
    Path(box.path(paths.frecency_file)).unlink(missing_ok=True)
    box.clear_cli_cache()
    box.emulator.reset_calls()
    return box


def exports(text: str) -> dict[str, str]:
    return dict(re.findall(r"^export (\w+)='([^']*)';$", text, re.M))


def _without_term(env: dict) -> dict:
    return {k: v for k, v in env.items() if k != "TERM"}  # spawn_pick sets its own


def pick_enter(box, env: dict | None = None) -> dict[str, str]:
    """`ssoenv pick`, Enter at once (no query: the entry the cursor starts on); what it exports."""
    child = spawn_pick(env_extra=_without_term({**box.env, **(env or {})}))
    wait_for(child, PROD)  # the list is drawn (fzf's --sync: keys come after the cursor is placed)
    child.send("\r")
    status, output = finish(child)
    assert status == 0, output
    return exports(output.replace("\r", ""))


# --- 1. the history ------------------------------------------------------------------------------

def test_a_chained_choice_ranks_up_in_the_picker(fresh):
    """Chosen last, the chained role is where the picker's cursor starts."""
    fresh.ssoenv("exec", "MemberAccount/ReadOnlyAccess", "--", "true")
    fresh.ssoenv("exec", "prod-deploy", "--", "true")
    chosen = pick_enter(fresh)
    assert chosen["SSOENV_PROFILE"] == "prod-deploy" and chosen["SSOENV_ACCOUNT_ID"] == PROD


def test_the_history_of_a_chained_choice_is_readable_by_a_version_without_chains(fresh):
    """Its keys keep three \\x1f-parts (older versions drop a whole file otherwise), and
    an older file still loads."""
    fresh.ssoenv("exec", "prod-deploy", "--", "true")
    fresh.ssoenv("exec", "hub", "--", "true")
    path = Path(fresh.path(paths.frecency_file))
    doc = json.loads(path.read_text())
    assert set(doc) == {"version", "entries"} and doc["version"] == 1
    assert all(key.count("\x1f") == 2 for key in doc["entries"]), doc
    assert f"demo\x1f{HUB}\x1fAdministratorAccess" in doc["entries"]
    assert len(doc["entries"]) == 2
    # a file an older version wrote (3-part keys only) is kept and counted on
    path.write_text(json.dumps({"version": 1, "entries": {f"demo\x1f{HUB}\x1fAdministratorAccess": [7, 1.0]}}))
    fresh.ssoenv("exec", "prod-deploy", "--", "true")
    doc = json.loads(path.read_text())
    assert doc["entries"][f"demo\x1f{HUB}\x1fAdministratorAccess"] == [7, 1.0] and len(doc["entries"]) == 2


def test_exec_in_a_shell_switched_to_a_chained_role_counts_that_role(fresh):
    """`exec -- CMD` without TARGET (the shell's active entry) counts the chained role,
    not an account/role of that name."""
    switched = exports(fresh.ssoenv("use", "prod-deploy", "--shell", "bash").stdout)
    fresh.ssoenv("exec", "--", "true", env={k: v for k, v in switched.items() if v})
    entries = json.loads(Path(fresh.path(paths.frecency_file)).read_text())["entries"]
    key = f"demo\x1f{PROD}\x1fDeploy\x1eprod-deploy"
    assert set(entries) == {key} and entries[key][0] == 2, entries


# --- 2. the active chained role in the picker ---------------------------------------------------

def test_the_picker_marks_an_active_chained_role_and_starts_elsewhere(fresh):
    """After `use prod-deploy` (the latest choice), the picker's cursor starts on the
    choice before it, and the chained line carries the active mark."""
    fresh.ssoenv("exec", "MemberAccount/ReadOnlyAccess", "--", "true")
    switched = exports(fresh.ssoenv("use", "prod-deploy", "--shell", "bash").stdout)
    assert switched["SSOENV_PROFILE"] == "prod-deploy"  # what the picker finds it by
    env = {k: v for k, v in switched.items() if v}
    child = spawn_pick(env_extra=_without_term({**fresh.env, **env}))
    child.logfile_read = screen = io.StringIO()
    wait_for(child, PROD)
    child.send("\r")
    status, output = finish(child)
    assert status == 0, output
    rows = set(re.findall(r"([ *]) (\S+) +(\d{12}) +(\w+)", screen.getvalue()))
    assert {row for row in rows if row[0] == "*"} == {("*", "prod-deploy", PROD, "Deploy")}, rows
    chosen = exports(output.replace("\r", ""))
    assert chosen["SSOENV_ACCOUNT_ID"] == "222222222222" and chosen["SSOENV_ROLE"] == "ReadOnlyAccess"


# --- 3. the login behind a chained AWS_PROFILE ------------------------------------------------------

def test_login_and_refresh_find_the_sso_session_behind_a_chained_aws_profile(fresh, tmp_path):
    """With two sso-sessions, AWS_PROFILE=prod-deploy names the one its chain ends in."""
    config = tmp_path / "config"
    config.write_text(CONFIG + "\n[sso-session other]\nsso_start_url = https://other.example.com/start\n"
                      "sso_region = us-east-1\n")
    for env in ({"AWS_PROFILE": "prod-deploy"}, {}):
        args = ["--profile", "prod-deploy"] if not env else []
        env = {**env, "AWS_CONFIG_FILE": str(config)}
        result = fresh.ssoenv("login", *args, env=env, check=False)
        assert result.returncode == 0 and "already logged in to" in result.stderr, result.stderr
        assert "demo" in result.stderr and "other" not in result.stderr, result.stderr
        result = fresh.ssoenv("refresh", *args, env=env, check=False)
        assert result.returncode == 0 and "demo" in result.stderr, result.stderr
    # a chain that ends nowhere names no login: the usual question, exit 2
    result = fresh.ssoenv("login", env={"AWS_PROFILE": "loop-a", "AWS_CONFIG_FILE": str(config)}, check=False)
    assert result.returncode == 2 and "several sso-sessions" in result.stderr, result.stderr


# --- 4. serve -----------------------------------------------------------------------------------

def test_serve_hands_boto3_the_chained_role(fresh):
    proc, endpoint = fresh.serve("prod-deploy")
    try:
        code = "import boto3, json; print(boto3.client('sts', region_name='us-east-1').get_caller_identity()['Arn'])"
        result = subprocess.run([sys.executable, "-c", code], env={**fresh.env, **endpoint}, capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split()[-1] == f"arn:aws:sts::{PROD}:assumed-role/Deploy/alice"
        assert fresh.emulator.calls()["AssumeRole"] == 1
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# --- 5. exact names -------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [["prod-deploy"], ["prod-deploy", "--sso-session", "demo"]],
                         ids=["plain", "in-its-sso-session"])
def test_a_chained_profile_name_wins_over_lookalike_accounts_and_roles(fresh, args):
    result = fresh.ssoenv("use", *args, "--shell", "bash", check=False)
    assert result.returncode == 0, result.stderr
    switched = exports(result.stdout)
    assert switched["AWS_PROFILE"] == "prod-deploy" and switched["SSOENV_ACCOUNT_ID"] == PROD


def test_a_lookalike_is_still_reachable_by_its_own_name(fresh):
    switched = exports(fresh.ssoenv("use", "prod-deploy-legacy/Deploy", "--shell", "bash").stdout)
    assert switched["SSOENV_ACCOUNT_ID"] == LOOKALIKE
