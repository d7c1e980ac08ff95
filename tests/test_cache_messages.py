"""Messages name the real problem: the file the user can fix, a corrupt cache read as
absent (however deeply nested), the account's name when access is refused."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess

import pytest
from support import ssoenv_subprocess

from ssoenv import paths
from ssoenv.emulator.config import default_accounts

NESTED = "[" * 100_000 + "]" * 100_000


@contextlib.contextmanager
def read_only_dir(path):
    """A directory nobody can create files in, root included (chattr +i for root)."""
    mode = path.stat().st_mode & 0o777
    os.chmod(path, 0o500)
    immutable = False
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
            os.chmod(path, mode)
            pytest.skip("running as root and chattr +i is not available here")
        immutable = True
    try:
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        os.chmod(path, mode)


def test_a_cache_write_that_fails_names_the_file_not_the_temp_file(logged_in, run):
    token_file = paths.token_cache_file("corp")
    with read_only_dir(paths.sso_cache_dir()):
        status, out, err = run("login", "--force", "--device-code", "--no-browser")
        leftovers = [p.name for p in paths.sso_cache_dir().iterdir() if p.name.endswith(".tmp")]
    assert status == 1 and out == ""
    assert f"ssoenv: cannot write {token_file}: " in err
    assert f"hint: check that the directory {token_file.parent} is writable by you" in err
    assert ".tmp" not in err and "Traceback" not in err
    assert leftovers == []
    assert run("status", "--json")[0] == 0  # the token read before is still there, untouched


def test_a_deeply_nested_token_file_is_not_logged_in(emulator, aws_config, run):
    token_file = paths.token_cache_file("corp")
    token_file.parent.mkdir(parents=True)
    token_file.write_text(NESTED)
    status, out, err = run("status", "--json")
    assert status == 0, err
    assert json.loads(out)[0]["logged_in"] is False
    status, _, err = run("refresh")
    assert status == 3 and "ssoenv login --sso-session corp" in err and "internal error" not in err
    # a login replaces it
    assert run("login", "--device-code", "--no-browser")[0] == 0
    assert json.loads(token_file.read_text())["accessToken"]


def test_deeply_nested_catalog_and_role_cache_are_refetched(synced, run):
    paths.catalog_file().write_text(NESTED)
    status, out, err = run("list")
    assert status == 0, err
    assert "MemberAccount\t222222222222\tReadOnlyAccess" in out  # fetched again
    assert ssoenv_subprocess("exec", "MemberAccount/ReadOnlyAccess", "--", "true").returncode == 0
    (role_file,) = paths.cli_cache_dir().glob("*.json")
    role_file.write_text(NESTED)
    status, out, err = run("env", "MemberAccount/ReadOnlyAccess")
    assert status == 0 and "AWS_ACCESS_KEY_ID" in out, err
    assert json.loads(role_file.read_text())["ProviderType"] == "sso"  # replaced by fresh credentials


@pytest.mark.parametrize("code", ["ForbiddenException", "ResourceNotFoundException"])
def test_no_access_names_the_account_the_catalog_knows(synced, run, code):
    synced.update(no_access_error=code)
    accounts = default_accounts()
    accounts[1]["roles"] = ["AdministratorAccess"]  # ReadOnlyAccess to MemberAccount is withdrawn
    synced.set_accounts(accounts)
    expected = "ssoenv: no access to MemberAccount (222222222222) as ReadOnlyAccess; hint: "
    proc = ssoenv_subprocess("exec", "MemberAccount/ReadOnlyAccess", "--", "true")
    assert proc.returncode == 1 and proc.stderr.startswith(expected)
    # `exec --account ID --role R` skips the catalog on the way in; the message still names it
    proc = ssoenv_subprocess("exec", "--account", "222222222222", "--role", "ReadOnlyAccess", "--", "true")
    assert proc.returncode == 1 and proc.stderr.startswith(expected)


def test_no_access_to_an_account_nobody_named_says_account_id(logged_in, run):
    logged_in.update(no_access_error="ForbiddenException")
    proc = ssoenv_subprocess("exec", "--account", "999999999999", "--role", "ReadOnlyAccess", "--", "true")
    assert proc.returncode == 1
    assert proc.stderr.startswith("ssoenv: no access to account 999999999999 as ReadOnlyAccess; hint: ")


def test_role_cache_with_wrong_types_is_treated_as_absent(synced, run):
    assert run("env", "RootAccount/ReadOnlyAccess")[0] == 0
    for path in paths.cli_cache_dir().glob("*.json"):
        data = json.loads(path.read_text())
        data["Credentials"]["AccessKeyId"] = 123
        path.write_text(json.dumps(data))
    status, out, err = run("env", "RootAccount/ReadOnlyAccess", "--format", "process")
    assert status == 0, err
    assert json.loads(out)["AccessKeyId"].startswith("ASIA")


def test_a_state_path_that_is_a_file_is_one_clear_line(logged_in, home, run):
    state = home / ".cache" / "ssoenv"
    if state.exists():
        import shutil
        shutil.rmtree(state)
    state.parent.mkdir(exist_ok=True)
    state.write_text("not a directory")
    status, _, err = run("sync")
    assert status == 1 and "Traceback" not in err and "internal error" not in err
    assert len(err.strip().splitlines()) == 1
