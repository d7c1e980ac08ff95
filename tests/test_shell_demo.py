"""`ssoenv demo` without a terminal: --command, --no-shell, and nothing left behind
whatever happens (exit status, SIGTERM, a shell that cannot start)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from support import SSOENV, clean_env  # noqa: E402


@pytest.fixture
def user_env(tmp_path):
    env = clean_env(tmp_path / "user-home")
    env.update({"AWS_PROFILE": "the-users-own", "AWS_ACCESS_KEY_ID": "AKIAUSERS", "SSOENV_ACCOUNT_ID": "9"})
    return env


def _leftovers(env) -> list[str]:
    return [p.name for p in Path(env["TMPDIR"]).iterdir() if p.name.startswith("ssoenv-demo-")]


def test_command_runs_in_the_demo_and_passes_its_status(user_env):
    started = time.monotonic()
    out = subprocess.run([SSOENV, "demo", "--command",
                          'ssoenv list; echo "home=$HOME"; '
                          'env | grep -c "^AWS_PROFILE=\\|^AWS_ACCESS_KEY_ID=\\|^SSOENV_ACCOUNT_ID="; exit 7'],
                         env=user_env, capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - started
    assert out.returncode == 7, out.stderr
    lines = out.stdout.splitlines()
    assert lines[:5] == ["MemberAccount\t222222222222\tAdministratorAccess\t-\tdemo",
                         "MemberAccount\t222222222222\tReadOnlyAccess\t-\tdemo",
                         "prod-deploy\t999999999999\tDeploy\tprod-deploy\tdemo",  # the chained role
                         "RootAccount\t111111111111\tAdministratorAccess\thub\tdemo",
                         "RootAccount\t111111111111\tReadOnlyAccess\t-\tdemo"]
    home = Path(lines[5].removeprefix("home="))
    assert lines[6] == "0"  # none of the user's AWS identity leaked in
    assert not home.exists() and _leftovers(user_env) == []
    assert elapsed < 5, f"{elapsed:.1f} s"


def test_command_can_switch_and_exec(user_env):
    script = ('eval "$(ssoenv use RootAccount/ReadOnlyAccess --shell bash)" && '
              'ssoenv exec -- sh -c \'echo "$SSOENV_ACCOUNT_NAME ${AWS_ACCESS_KEY_ID%%${AWS_ACCESS_KEY_ID#????}}"\'')
    out = subprocess.run([SSOENV, "demo", "--command", script],
                         env=user_env, capture_output=True, text=True, timeout=60)
    # /bin/sh runs it: `eval` and `export` are POSIX
    assert out.returncode == 0, out.stderr
    assert out.stdout == "RootAccount ASIA\n"


def test_generated_organisation(user_env):
    out = subprocess.run([SSOENV, "demo", "--accounts", "40", "--command", "ssoenv list | wc -l"],
                         env=user_env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) == 40 * 3


def test_no_shell_prints_the_environment_and_cleans_up_on_sigterm(user_env):
    proc = subprocess.Popen([SSOENV, "demo", "--no-shell", "--shell", "fish"], env=user_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(12)]
        exports = dict(line.removeprefix("set -gx ").rstrip(";\n").split(" ", 1) for line in lines)
        home = Path(exports["HOME"].strip("'"))
        assert home.is_dir()
        assert exports["AWS_ENDPOINT_URL_SSO"].startswith("'http://127.0.0.1:")
        # the printed environment works from another process
        env = {k: v.strip("'") for k, v in exports.items()}
        listed = subprocess.run([SSOENV, "list"], env={**user_env, **env, "AWS_PROFILE": ""},
                                capture_output=True, text=True, timeout=30)
        assert listed.returncode == 0 and len(listed.stdout.splitlines()) == 5, listed.stderr  # one chained
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    assert not home.exists() and _leftovers(user_env) == []


def test_a_shell_that_cannot_start_leaves_nothing(user_env, tmp_path):
    bad = tmp_path / "bad-bin"
    bad.mkdir()
    (bad / "bash").write_bytes(b"\x7fELF not really\n")  # executable, but exec fails
    (bad / "bash").chmod(0o755)
    env = {**user_env, "PATH": f"{bad}:{user_env['PATH']}"}
    out = subprocess.run([SSOENV, "demo", "--shell", "bash"], env=env, capture_output=True, text=True,
                         timeout=60, stdin=subprocess.DEVNULL)
    assert out.returncode == 1
    assert "ssoenv: demo: cannot start bash" in out.stderr
    assert _leftovers(user_env) == []


def test_unsupported_shell_is_a_usage_error(user_env):
    out = subprocess.run([SSOENV, "demo", "--shell", "tcsh"], env=user_env, capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 2
    assert "unsupported shell 'tcsh'" in out.stderr
    assert _leftovers(user_env) == []


# --- STS in the demo (issue 19) and its chained profile (issue 20) ----------------------------

def test_aws_sts_get_caller_identity_works_in_the_demo_after_a_switch(user_env):
    script = ('eval "$(ssoenv use RootAccount/ReadOnlyAccess --shell bash)" && '
              "aws sts get-caller-identity --query Arn --output text && "
              "ssoenv exec prod-deploy -- aws sts get-caller-identity --query Arn --output text")
    out = subprocess.run([SSOENV, "demo", "--command", script], env=user_env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    switched, chained = out.stdout.split()
    assert switched.startswith("arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_ReadOnlyAccess_")
    assert chained == "arn:aws:sts::999999999999:assumed-role/Deploy/alice"


def _banner(env) -> str:
    """What `ssoenv demo --shell bash` says before its shell starts (stdin empty: the shell ends at once)."""
    out = subprocess.run([SSOENV, "demo", "--shell", "bash"], env=env, capture_output=True, text=True, timeout=120,
                         stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    return out.stderr


def test_the_banner_suggests_sts_only_with_the_aws_cli_v2(user_env, tmp_path):
    from support import AWS_CLI, need

    need(AWS_CLI)
    with_v2 = _banner(user_env)
    assert "aws sts get-caller-identity" in with_v2 and "prod-deploy" in with_v2
    v1 = tmp_path / "v1-bin"
    v1.mkdir()
    (v1 / "aws").write_text("#!/bin/sh\necho 'aws-cli/1.29.0 Python/3.11 Linux botocore/1.31.0'\n")
    (v1 / "aws").chmod(0o755)
    without = _banner({**user_env, "PATH": f"{v1}:{user_env['PATH']}"})
    assert "aws " not in without.replace("ssoenv demo", "")  # no AWS CLI command suggested
    assert "ssoenv use prod-deploy" in without


def test_the_readme_names_demo_shell_in_its_first_lines():
    """Issue 19: `ssoenv demo --shell zsh|fish` was only in `demo --help`."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    first_block = readme.split("```")[1]
    assert "ssoenv demo --shell zsh" in first_block
    help_text = subprocess.run([SSOENV, "demo", "--help"], capture_output=True, text=True, timeout=30).stdout
    assert "--shell" in help_text
