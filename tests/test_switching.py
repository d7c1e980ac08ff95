"""Issue 3: list, use, exec, env, credential-process, populate, and the rules that
never bend: every value that reaches eval is quoted for its shell, the hot paths
stay free of boto3/prompt_toolkit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from typing import Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import ssoenv_subprocess

from ssoenv import paths

SURROGATES: tuple[Literal["Cs"]] = ("Cs",)  # lone surrogates cannot be encoded

SHELL_PRINT = {  # eval the statements, then print one variable byte for byte
    "bash": ["bash", "--noprofile", "--norc", "-c", 'eval "$1" && printf %s "$SSOENV_ACCOUNT_NAME"', "_"],
    "zsh": ["zsh", "-f", "-c", 'eval "$1" && printf %s "$SSOENV_ACCOUNT_NAME"', "_"],
    "fish": ["fish", "--no-config", "-c", 'eval $argv[1]; and printf %s "$SSOENV_ACCOUNT_NAME"'],
}


def eval_in(shell: str, statements: str, var: str = "SSOENV_ACCOUNT_NAME", cwd=None) -> bytes:
    argv = [a.replace("SSOENV_ACCOUNT_NAME", var) for a in SHELL_PRINT[shell]]
    if shell == "fish":
        argv = argv[:3] + [argv[3], statements]
    else:
        argv = argv + [statements]
    proc = subprocess.run(argv, capture_output=True, timeout=30, cwd=cwd)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc.stdout


def shells():
    """The shells to eval in: a missing one is skipped, and a failure under CI."""
    from support import missing_tool

    found = [s for s in ("bash", "zsh", "fish") if shutil.which(s)]
    if len(found) < 3:
        missing_tool(" and ".join(sorted({"bash", "zsh", "fish"} - set(found))))
    return found


# --- list -----------------------------------------------------------------------------------

def test_list_json_is_stable(synced, run):
    status, out, _ = run("list", "--json")
    assert status == 0
    rows = json.loads(out)
    assert rows[0] == {"sso_session": "corp", "account_id": "222222222222", "account_name": "MemberAccount",
                       "role": "AdministratorAccess", "profile": None}
    assert [(r["account_name"], r["role"]) for r in rows] == [
        ("MemberAccount", "AdministratorAccess"), ("MemberAccount", "ReadOnlyAccess"),
        ("RootAccount", "AdministratorAccess"), ("RootAccount", "ReadOnlyAccess")]


def test_list_syncs_on_first_use_and_shows_profiles(logged_in, run, aws_config):
    with open(aws_config, "a") as fh:
        fh.write("\n[profile root-ro]\nsso_session = corp\nsso_account_id = 111111111111\n"
                 "sso_role_name = ReadOnlyAccess\n")
    status, out, err = run("list")
    assert status == 0, err
    assert "RootAccount\t111111111111\tReadOnlyAccess\troot-ro\tcorp\n" in out
    assert logged_in.calls()["ListAccounts"] == 1


def test_sync_reports_added_and_removed_accounts(synced, run):
    synced.set_accounts([{"accountId": "333333333333", "accountName": "New", "emailAddress": "n@example.com",
                          "roles": ["ReadOnlyAccess"]},
                         {"accountId": "111111111111", "accountName": "RootAccount", "emailAddress": "r@example.com",
                          "roles": ["ReadOnlyAccess"]}])
    status, _, err = run("sync")
    assert status == 0
    assert "corp: 2 accounts (1 new, 1 removed)" in err


def test_sync_without_login_says_what_to_run(aws_config, emulator, run):
    status, _, err = run("sync")
    assert status == 3 and "ssoenv login" in err


def test_sync_large_org_with_throttling_and_faults(emulator, aws_config, run):
    emulator.set_accounts([{"accountId": f"{100000000000 + i}", "accountName": f"acct-{i:03d}",
                            "emailAddress": "x@example.com", "roles": ["A", "B"]} for i in range(150)])
    status, _, err = run("login", "--device-code", "--no-browser")
    assert status == 0, err
    emulator.update(throttle_rps=60)
    emulator.inject_fault("ListAccountRoles", status=500, count=3)
    status, _, err = run("sync")
    assert status == 0, err
    status, out, _ = run("list", "--json")
    assert len(json.loads(out)) == 300


# --- use ---------------------------------------------------------------------------------------

def test_use_credentials_mode_in_every_shell(synced, run):
    status, out, err = run("use", "MemberAccount/ReadOnlyAccess", "--shell", "bash")
    assert status == 0, err
    assert "unset AWS_PROFILE;" in out and "export AWS_ACCESS_KEY_ID='ASIA" in out
    assert "export SSOENV_MODE='credentials';" in out
    for shell in shells():
        _, out, _ = run("use", "MemberAccount/ReadOnlyAccess", "--shell", shell)
        assert eval_in(shell, out) == b"MemberAccount"
        assert eval_in(shell, out, "AWS_CREDENTIAL_EXPIRATION") == eval_in(shell, out, "AWS_SESSION_EXPIRATION")


def test_use_profile_mode_when_a_profile_exists(synced, run, aws_config):
    with open(aws_config, "a") as fh:
        fh.write("\n[profile member-ro]\nsso_session = corp\nsso_account_id = 222222222222\n"
                 "sso_role_name = ReadOnlyAccess\nregion = eu-west-3\n")
    synced.reset_calls()
    status, out, err = run("use", "member-ro", "--shell", "zsh")
    assert status == 0, err
    assert "export AWS_PROFILE='member-ro';" in out
    assert "unset AWS_ACCESS_KEY_ID;" in out and "export AWS_REGION='eu-west-3';" in out
    assert "AWS_SECRET_ACCESS_KEY=" not in out
    assert synced.calls().get("GetRoleCredentials", 0) == 0
    status, out, _ = run("use", "member-ro", "--shell", "zsh", "--mode", "credentials")
    assert "unset AWS_PROFILE;" in out and "export AWS_ACCESS_KEY_ID=" in out


@pytest.mark.parametrize("target, expected", [
    ("222222222222/ReadOnlyAccess", "222222222222"),
    ("member read", "222222222222"),
    ("RootAccount/AdministratorAccess", "111111111111"),
])
def test_use_target_forms(synced, run, target, expected):
    status, out, err = run("use", target, "--shell", "bash")
    assert status == 0, err
    assert f"export SSOENV_ACCOUNT_ID='{expected}';" in out


def test_use_ambiguous_target_lists_candidates(synced, run):
    status, out, err = run("use", "MemberAccount", "--shell", "bash")
    assert status == 2 and out == ""
    assert "matches 2 entries" in err and "AdministratorAccess" in err and "ReadOnlyAccess" in err
    assert "--account ID --role ROLE" in err


def test_use_unknown_target(synced, run):
    status, out, err = run("use", "nothing-like-this", "--shell", "bash")
    assert status == 1 and out == "" and "no account/role matches" in err


def test_account_and_role_flags_take_names_with_slashes(emulator, aws_config, run):
    emulator.set_accounts([{"accountId": "333333333333", "accountName": "team/a", "emailAddress": "a@example.com",
                            "roles": ["Dev/Ops"]}])
    assert run("login", "--device-code", "--no-browser")[0] == 0
    status, out, err = run("use", "--account", "team/a", "--role", "Dev/Ops", "--shell", "bash")
    assert status == 0, err
    assert "export SSOENV_ROLE='Dev/Ops';" in out
    status, out, err = run("use", "team/a/Dev/Ops", "--shell", "bash")
    assert status == 0, err


def test_use_clear(run):
    status, out, _ = run("use", "--clear", "--shell", "fish")
    assert status == 0
    assert "set -e AWS_PROFILE; or true;" in out and "set -e SSOENV_ACCOUNT_ID; or true;" in out


def test_use_needs_a_shell_it_can_tell(run, monkeypatch):
    # --shell is optional (detected: tests/test_use_native.py); when detection finds
    # no known shell, a usage error that names --shell
    monkeypatch.setattr("ssoenv.shells.detect_shell", lambda: "tcsh")
    status, out, err = run("use", "x")
    assert status == 2 and out == "" and "--shell" in err


def test_lost_access_is_a_clear_error(synced, run):
    synced.set_accounts([{"accountId": "111111111111", "accountName": "RootAccount",
                          "emailAddress": "r@example.com", "roles": ["ReadOnlyAccess"]}])
    status, out, err = run("use", "MemberAccount/ReadOnlyAccess", "--shell", "bash")
    assert status == 1 and out == ""
    assert "no access to MemberAccount (222222222222) as ReadOnlyAccess" in err and "ssoenv sync" in err


def test_expired_registration_needs_login(synced, run):
    token = json.loads(paths.token_cache_file("corp").read_text())
    token.update(expiresAt="2020-01-01T00:00:00Z", registrationExpiresAt="2020-01-01T00:00:00Z")
    paths.token_cache_file("corp").write_text(json.dumps(token))
    status, out, err = run("use", "RootAccount/ReadOnlyAccess", "--shell", "bash")
    assert status == 3 and out == "" and "ssoenv login --sso-session corp" in err


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(name=st.text(st.characters(blacklist_categories=SURROGATES, blacklist_characters="\x00"),
                    min_size=1, max_size=300)
       | st.sampled_from(["$(touch pwned)", "`touch pwned`", "'\"'\"", "a\\", "\\'", "-e", "--help",
                          "100%s%n", "line\nbreak\r\n", "ünï\u200bcødé 🙂", "$HOME ${HOME} !!"]))
def test_hostile_names_survive_every_shell(synced_factory, name, tmp_path_factory):
    emulator, run = synced_factory
    emulator.set_accounts([{"accountId": "444444444444", "accountName": name, "emailAddress": "h@example.com",
                            "roles": [name]}])
    status, _, err = run("sync")
    assert status == 0, err
    workdir = tmp_path_factory.mktemp("w")
    for shell in shells():
        status, out, err = run("use", "--account=444444444444", f"--role={name}", "--shell", shell)
        assert status == 0, err
        assert eval_in(shell, out, cwd=workdir) == name.encode()
        assert eval_in(shell, out, "SSOENV_ROLE", cwd=workdir) == name.encode()
    assert list(workdir.iterdir()) == []  # nothing executed


@pytest.fixture
def synced_factory(synced, run):
    return synced, run


# --- exec ---------------------------------------------------------------------------------------

def test_exec_passes_status_stdin_and_credentials(synced, run):
    proc = ssoenv_subprocess("exec", "RootAccount/ReadOnlyAccess", "--", "sh", "-c",
                             'read line; echo "$line $AWS_ACCESS_KEY_ID $SSOENV_ROLE"; exit 7', input="hello\n")
    assert proc.returncode == 7, proc.stderr
    words = proc.stdout.split()
    assert words[0] == "hello" and words[1].startswith("ASIA") and words[2] == "ReadOnlyAccess"


def test_exec_reuses_cached_credentials_and_the_cli_cache(synced, run):
    assert ssoenv_subprocess("exec", "RootAccount/ReadOnlyAccess", "--", "true").returncode == 0
    synced.reset_calls()
    proc = ssoenv_subprocess("exec", "RootAccount/ReadOnlyAccess", "--", "true")
    assert proc.returncode == 0
    assert synced.calls().get("GetRoleCredentials", 0) == 0
    files = [json.loads(p.read_text()) for p in paths.cli_cache_dir().iterdir()]
    assert files and all(f["ProviderType"] == "sso" and f["Credentials"]["AccessKeyId"] for f in files)


def test_exec_active_entry_from_the_shell(synced, run, monkeypatch):
    _, out, _ = run("use", "MemberAccount/AdministratorAccess", "--shell", "bash")
    env = dict(os.environ)
    for line in out.splitlines():
        if line.startswith("export SSOENV_"):
            key, _, value = line[len("export "):].rstrip(";").partition("=")
            env[key] = value.strip("'")
    proc = ssoenv_subprocess("exec", "--", "sh", "-c", 'echo "$SSOENV_ACCOUNT_ID $SSOENV_ROLE"', env=env)
    assert proc.stdout.split() == ["222222222222", "AdministratorAccess"], proc.stderr


def test_exec_without_active_entry(synced):
    proc = ssoenv_subprocess("exec", "--", "true")
    assert proc.returncode == 2 and "no account/role is active" in proc.stderr


def test_exec_missing_command_is_127(synced):
    proc = ssoenv_subprocess("exec", "RootAccount/ReadOnlyAccess", "--", "no-such-command-xyz")
    assert proc.returncode == 127 and "command not found: no-such-command-xyz" in proc.stderr


def test_exec_without_login_exits_3(emulator, aws_config):
    proc = ssoenv_subprocess("exec", "--account", "111111111111", "--role", "ReadOnlyAccess", "--", "true")
    assert proc.returncode == 3 and "ssoenv login --sso-session corp" in proc.stderr


def test_exec_recovers_from_a_revoked_token_with_refresh(synced):
    for path in paths.cli_cache_dir().glob("*.json"):
        path.unlink()
    synced.expire_tokens()  # the file still says valid: the portal's 401 must trigger a renewal
    synced.reset_calls()
    proc = ssoenv_subprocess("exec", "RootAccount/ReadOnlyAccess", "--", "true")
    assert proc.returncode == 0, proc.stderr
    assert synced.calls()["CreateToken"] == 1


def test_exec_emulator_down(synced, monkeypatch):
    for path in paths.cli_cache_dir().glob("*.json"):
        path.unlink()
    env = dict(os.environ, AWS_ENDPOINT_URL_SSO="http://127.0.0.1:9")
    proc = ssoenv_subprocess("exec", "RootAccount/ReadOnlyAccess", "--", "true", env=env)
    assert proc.returncode == 1 and "GetRoleCredentials failed: cannot reach" in proc.stderr


HEAVY = ("boto3", "botocore", "prompt_toolkit")


@pytest.mark.parametrize("argv", [
    ["exec", "RootAccount/ReadOnlyAccess", "--", "true"],
    ["list"],
    ["list", "--json"],
    ["use", "RootAccount/ReadOnlyAccess", "--shell", "bash"],
    ["env", "RootAccount/ReadOnlyAccess", "--format", "process"],
    ["--help"],
])
def test_hot_paths_do_not_import_heavy_modules(synced, argv):
    assert ssoenv_subprocess(*argv).returncode == 0  # warm the caches
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "ssoenv", *argv],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    imported = {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines()
                if line.startswith("import time:")}
    assert "ssoenv" in imported  # the probe works
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))


# Stdlib modules that cost milliseconds at every start and that the fastest paths do
# without: argparse's formatter would import shutil (and lzma, bz2 with it) to size help.
STARTUP_TAX = ("shutil", "lzma", "bz2", "tempfile", "typing", "dataclasses")


@pytest.mark.parametrize("argv", [["exec", "RootAccount/ReadOnlyAccess", "--", "true"], ["list"],
                                  ["list", "--json"]])
def test_the_fastest_paths_pay_no_startup_tax(synced, argv):
    assert ssoenv_subprocess(*argv).returncode == 0  # warm the caches
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "ssoenv", *argv],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "ssoenv.cli" in imported  # the probe works
    assert not imported & set(STARTUP_TAX), sorted(imported & set(STARTUP_TAX))


# --- env / credential-process ------------------------------------------------------------------

@pytest.mark.parametrize("fmt, first", [
    ("env", "export AWS_ACCESS_KEY_ID='ASIA"),
    ("env-no-export", "AWS_ACCESS_KEY_ID='ASIA"),
    ("fish", "set -gx AWS_ACCESS_KEY_ID 'ASIA"),
    ("powershell", "$Env:AWS_ACCESS_KEY_ID='ASIA"),
    ("windows-cmd", "set AWS_ACCESS_KEY_ID=ASIA"),
])
def test_env_formats(synced, run, fmt, first):
    status, out, _ = run("env", "RootAccount/ReadOnlyAccess", "--format", fmt)
    assert status == 0
    lines = out.splitlines()
    assert lines[0].startswith(first)
    names = [(line.split()[2] if fmt == "fish" else line.split("=")[0].split()[-1]).replace("$Env:", "")
             for line in lines]
    assert names == ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CREDENTIAL_EXPIRATION"]


def test_env_process_and_json(synced, run):
    _, out, _ = run("env", "RootAccount/ReadOnlyAccess", "--format", "process")
    doc = json.loads(out)
    assert list(doc) == ["Version", "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"]
    _, out, _ = run("env", "RootAccount/ReadOnlyAccess", "--format", "json")
    doc = json.loads(out)
    assert doc["AccountId"] == "111111111111" and doc["RoleName"] == "ReadOnlyAccess"


def test_credential_process_serves_boto3(synced, aws_config):
    with open(aws_config, "a") as fh:
        fh.write(f"\n[profile via-process]\ncredential_process = {sys.executable} -m ssoenv credential-process "
                 "--account 111111111111 --role ReadOnlyAccess\n")
    code = ("import boto3; c = boto3.Session(profile_name='via-process').get_credentials()"
            ".get_frozen_credentials(); print(c.access_key)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ASIA")


def test_credential_process_never_prompts(emulator, aws_config):
    proc = ssoenv_subprocess("credential-process", "--account", "111111111111", "--role", "ReadOnlyAccess")
    assert proc.returncode == 3 and proc.stdout == ""
    assert "ssoenv login --sso-session corp" in proc.stderr


# --- populate -----------------------------------------------------------------------------------

def test_populate_writes_a_managed_block_and_keeps_the_rest(synced, run, aws_config):
    before = aws_config.read_text() + "# trailing comment\n"
    aws_config.write_text(before)
    status, out, err = run("populate", "--dry-run")
    assert status == 0 and "+[profile RootAccount-ReadOnlyAccess]" in out
    assert aws_config.read_text() == before
    status, _, err = run("populate", "--region", "eu-west-1")
    assert status == 0, err
    text = aws_config.read_text()
    assert text.startswith(before)
    assert "[profile MemberAccount-AdministratorAccess]\nsso_session = corp\nsso_account_id = 222222222222\n" \
           "sso_role_name = AdministratorAccess\nregion = eu-west-1\n" in text
    assert paths.backup_file(aws_config).read_text() == before
    assert run("populate", "--region", "eu-west-1")[2].endswith("is up to date (4 profiles)\n")
    # After populate, use switches in profile mode.
    _, out, _ = run("use", "RootAccount/ReadOnlyAccess", "--shell", "bash")
    assert "export AWS_PROFILE='RootAccount-ReadOnlyAccess';" in out


def test_populate_sanitises_dedupes_and_prunes(emulator, aws_config, run):
    emulator.set_accounts([
        {"accountId": "333333333333", "accountName": "my team $(x)", "emailAddress": "a@x", "roles": ["Dev"]},
        {"accountId": "444444444444", "accountName": "my team $(y)", "emailAddress": "b@x", "roles": ["Dev"]},
    ])
    with open(aws_config, "a") as fh:
        fh.write("\n[profile mine]\nsso_session = corp\nsso_account_id = 333333333333\nsso_role_name = Dev\n")
    assert run("login", "--device-code", "--no-browser")[0] == 0
    assert run("sync")[0] == 0
    status, _, err = run("populate")
    assert status == 0, err
    text = aws_config.read_text()
    assert "[profile my-team-y-Dev]" in text
    assert text.count("sso_account_id = 333333333333") == 1  # the user's own profile wins
    emulator.set_accounts([{"accountId": "555555555555", "accountName": "other", "emailAddress": "c@x",
                            "roles": ["Dev"]}])
    assert run("sync")[0] == 0
    assert run("populate")[0] == 0
    assert "[profile my-team-y-Dev]" in aws_config.read_text()  # kept without --prune
    assert run("populate", "--prune")[0] == 0
    text = aws_config.read_text()
    assert "[profile my-team-y-Dev]" not in text and "[profile other-Dev]" in text and "[profile mine]" in text


def test_populate_bad_template(synced, run, aws_config):
    before = aws_config.read_text()
    status, _, err = run("populate", "--template", "{nope}")
    assert status == 2 and "bad --template" in err
    assert aws_config.read_text() == before


def test_populate_edits_a_symlinked_config_where_it_points(synced, run, aws_config, tmp_path):
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    real = dotfiles / "aws-config"
    real.write_text(aws_config.read_text())
    aws_config.unlink()
    aws_config.symlink_to(real)
    status, _, err = run("populate")
    assert status == 0, err
    assert aws_config.is_symlink()  # the link stays a link
    assert "[profile RootAccount-ReadOnlyAccess]" in real.read_text()


def test_config_changed_during_an_edit_is_not_overwritten(home, aws_config):
    from ssoenv import awsconfig
    from ssoenv.errors import SsoenvError

    old = aws_config.read_text()
    aws_config.write_text(old + "# edited meanwhile\n")
    with pytest.raises(SsoenvError, match="changed while ssoenv was editing it"):
        awsconfig.write_config_text(aws_config, old, old + "[profile x]\n")
    assert aws_config.read_text() == old + "# edited meanwhile\n"


def test_stale_catalog_is_refreshed_in_the_background(synced, run):
    import time

    from ssoenv import catalog

    data = catalog.load()
    data["sessions"]["corp"]["fetched_at"] = 0
    catalog.save(data)
    synced.reset_calls()
    status, out, _ = run("list", "--json")
    assert status == 0 and len(json.loads(out)) == 4  # answered at once from the stale cache
    deadline = time.time() + 30
    while catalog.load()["sessions"]["corp"]["fetched_at"] == 0 and time.time() < deadline:
        time.sleep(0.2)
    assert catalog.load()["sessions"]["corp"]["fetched_at"] > 0
    assert synced.calls()["ListAccounts"] == 1


def test_messages_carry_no_terminal_control_characters(emulator, aws_config, run):
    emulator.set_accounts([{"accountId": f"{i}" * 12, "accountName": "evil\x1b[2J\nname", "emailAddress": "a@b",
                            "roles": ["R\x1b[31mole"]} for i in (3, 4)])
    assert run("login", "--device-code", "--no-browser")[0] == 0
    status, out, err = run("use", "evil", "--shell", "bash")
    assert status == 2 and out == ""
    assert "\x1b" not in err and "evil?[2J?name" in err


def test_exec_target_then_a_command_with_its_own_double_dash(synced):
    proc = ssoenv_subprocess("exec", "RootAccount/ReadOnlyAccess", "sh", "-c", 'echo "$@"', "sh", "a", "--", "b")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["a", "--", "b"]


@pytest.mark.parametrize("argv", [["list", "--sso-session", "nope"],
                                  ["pick", "--shell", "bash", "--sso-session", "nope"]])
def test_unknown_session_is_named(synced, run, argv):
    status, out, err = run(*argv)
    assert status == 1 and out == "" and "no sso-session named 'nope'" in err


def test_usage_errors_have_one_prefix(run):
    status, _, err = run("use", "--shell", "tcsh", "x")
    assert status == 2 and "ssoenv: use: argument --shell" in err and "ssoenv: ssoenv" not in err
