"""Issue 8: a profile name populate wrote keeps its account and role (read back as the
AWS CLI reads it, through botocore's own config loader); templates, --rename, and what
the summary says; populate fetches the account list itself right after a login."""

from __future__ import annotations

import pytest
from support import SESSION_CONFIG


def botocore_profiles() -> dict:
    """~/.aws/config as the AWS CLI sees it (HOME is the test's)."""
    import botocore.session

    return botocore.session.Session().full_config["profiles"]


def account_of(name: str) -> tuple[str, str]:
    profile = botocore_profiles()[name]
    return profile["sso_account_id"], profile["sso_role_name"]


def account(account_id: str, name: str, *roles: str) -> dict:
    return {"accountId": account_id, "accountName": name, "emailAddress": f"{account_id}@example.com",
            "roles": list(roles)}


def resync(emulator, run, *accounts) -> None:
    emulator.set_accounts(list(accounts))
    status, _, err = run("sync")
    assert status == 0, err


@pytest.fixture
def sandbox(emulator, aws_config, run):
    """One account `Sandbox` (333333333333), logged in and populated."""
    emulator.set_accounts([account("333333333333", "Sandbox", "AdministratorAccess")])
    assert run("login", "--device-code", "--no-browser")[0] == 0
    status, _, err = run("populate")
    assert status == 0, err
    assert account_of("Sandbox-AdministratorAccess") == ("333333333333", "AdministratorAccess")
    return emulator


def test_a_new_account_with_the_same_name_never_takes_an_existing_profile(sandbox, run):
    # The newcomer sorts first (lower id): a name by list position would move.
    resync(sandbox, run, account("100000000000", "Sandbox", "AdministratorAccess"),
           account("333333333333", "Sandbox", "AdministratorAccess"))
    status, _, err = run("populate")
    assert status == 0, err
    assert account_of("Sandbox-AdministratorAccess") == ("333333333333", "AdministratorAccess")
    assert account_of("Sandbox-AdministratorAccess-100000000000") == ("100000000000", "AdministratorAccess")
    assert "new: Sandbox-AdministratorAccess-100000000000" in err
    # The old account goes away (not pruned): its name still means it, and only it.
    resync(sandbox, run, account("100000000000", "Sandbox", "AdministratorAccess"))
    assert run("populate")[0] == 0
    assert account_of("Sandbox-AdministratorAccess") == ("333333333333", "AdministratorAccess")
    assert account_of("Sandbox-AdministratorAccess-100000000000") == ("100000000000", "AdministratorAccess")
    # --prune removes it, says so, and nobody takes the name over in that run.
    status, _, err = run("populate", "--prune")
    assert status == 0 and "removed: Sandbox-AdministratorAccess\n" in err
    assert "Sandbox-AdministratorAccess" not in botocore_profiles()
    assert account_of("Sandbox-AdministratorAccess-100000000000") == ("100000000000", "AdministratorAccess")


def test_a_pruned_name_is_not_handed_to_another_account_in_the_same_run(sandbox, run):
    resync(sandbox, run, account("100000000000", "Sandbox", "AdministratorAccess"))
    status, _, err = run("populate", "--prune")
    assert status == 0, err
    assert "removed: Sandbox-AdministratorAccess\n" in err
    assert "Sandbox-AdministratorAccess" not in botocore_profiles()
    assert account_of("Sandbox-AdministratorAccess-100000000000") == ("100000000000", "AdministratorAccess")


def test_accounts_that_collide_in_one_run_are_both_qualified(emulator, aws_config, run):
    emulator.set_accounts([account("444444444444", "dev", "Admin"), account("333333333333", "Dev", "Admin"),
                           account("555555555555", "dev!", "Admin")])
    assert run("login", "--device-code", "--no-browser")[0] == 0
    assert run("populate")[0] == 0
    profiles = botocore_profiles()
    # Neither gets the plain name: which one would is an accident of ordering.
    assert "dev-Admin" not in profiles and "Dev-Admin" in profiles
    assert account_of("dev-Admin-444444444444") == ("444444444444", "Admin")
    assert account_of("dev-Admin-555555555555") == ("555555555555", "Admin")


def test_a_name_without_ascii_falls_back_to_the_account_id_and_is_never_taken_over(emulator, aws_config, run):
    emulator.set_accounts([account("333333333333", "本番", "ReadOnlyAccess")])
    assert run("login", "--device-code", "--no-browser")[0] == 0
    assert run("populate")[0] == 0
    assert account_of("333333333333-ReadOnlyAccess") == ("333333333333", "ReadOnlyAccess")
    assert "ReadOnlyAccess" not in botocore_profiles()
    # A later account (that sorts first, its name empty in ASCII too) gets its own name.
    resync(emulator, run, account("444444444444", "テスト", "ReadOnlyAccess"),
           account("333333333333", "本番", "ReadOnlyAccess"))
    assert run("populate")[0] == 0
    assert account_of("333333333333-ReadOnlyAccess") == ("333333333333", "ReadOnlyAccess")
    assert account_of("444444444444-ReadOnlyAccess") == ("444444444444", "ReadOnlyAccess")
    assert "ReadOnlyAccess" not in botocore_profiles()


def test_a_user_profile_outside_the_block_is_never_taken(emulator, aws_config, run):
    with open(aws_config, "a") as fh:
        fh.write('\n[profile Sandbox-AdministratorAccess]\nregion = eu-west-1\n'
                 '\n[profile "Sandbox-ReadOnly"]\nregion = eu-west-2\n')
    emulator.set_accounts([account("333333333333", "Sandbox", "AdministratorAccess", "ReadOnly")])
    assert run("login", "--device-code", "--no-browser")[0] == 0
    assert run("populate")[0] == 0
    profiles = botocore_profiles()
    assert profiles["Sandbox-AdministratorAccess"] == {"region": "eu-west-1"}
    assert profiles["Sandbox-ReadOnly"] == {"region": "eu-west-2"}  # quoted: the same name for botocore
    assert account_of("Sandbox-ReadOnly-333333333333") == ("333333333333", "ReadOnly")
    assert account_of("Sandbox-AdministratorAccess-333333333333") == ("333333333333", "AdministratorAccess")


def test_dry_run_lists_new_renamed_and_removed_names(sandbox, run, aws_config):
    resync(sandbox, run, account("444444444444", "Prod", "AdministratorAccess"))
    before = aws_config.read_bytes()
    status, out, err = run("populate", "--dry-run", "--prune")
    assert status == 0 and aws_config.read_bytes() == before
    assert "+[profile Prod-AdministratorAccess]" in out and "-[profile Sandbox-AdministratorAccess]" in out
    assert "ssoenv: new: Prod-AdministratorAccess\n" in err
    assert "ssoenv: removed: Sandbox-AdministratorAccess\n" in err
    assert "(1 new, 0 renamed, 1 removed)" in err
    assert run("populate")[0] == 0
    status, _, err = run("populate", "--dry-run", "--rename", "--template", "{account_id}-{role_name}")
    assert status == 0 and aws_config.read_bytes() != before
    assert "ssoenv: renamed: Prod-AdministratorAccess -> 444444444444-AdministratorAccess\n" in err
    # Sandbox is no longer reachable (not pruned): its profile keeps its name as it is.
    assert "Sandbox-AdministratorAccess ->" not in err
    assert "(0 new, 1 renamed, 0 removed)" in err


def test_a_changed_template_renames_only_with_rename(sandbox, run, aws_config):
    resync(sandbox, run, account("333333333333", "Sandbox", "AdministratorAccess"),
           account("444444444444", "Prod", "ReadOnly"))
    status, _, err = run("populate", "--template", "{account_id}-{role_name}")
    assert status == 0, err
    # The existing name stays; the output says how many would change, and how.
    assert "1 existing profile(s) keep their names" in err
    assert "would rename: Sandbox-AdministratorAccess -> 333333333333-AdministratorAccess" in err
    assert account_of("Sandbox-AdministratorAccess") == ("333333333333", "AdministratorAccess")
    assert account_of("444444444444-ReadOnly") == ("444444444444", "ReadOnly")  # new: the new template
    # The block remembers the template: a plain run agrees and changes nothing.
    status, _, err = run("populate")
    assert status == 0 and "is up to date" in err and "1 existing profile(s)" in err
    status, _, err = run("populate", "--rename")
    assert status == 0 and "renamed: Sandbox-AdministratorAccess -> 333333333333-AdministratorAccess" in err
    profiles = botocore_profiles()
    assert "Sandbox-AdministratorAccess" not in profiles
    assert account_of("333333333333-AdministratorAccess") == ("333333333333", "AdministratorAccess")
    status, _, err = run("populate")
    assert status == 0 and "keep their names" not in err and "is up to date" in err


@pytest.mark.parametrize("template", ["{nope}", "", "  ", "{account_name!z}", "{0}", "fixed-name",
                                      "{account_name", "a\n[profile x]"])
def test_an_invalid_template_fails_with_2_even_on_an_existing_block_and_dry_run(sandbox, run, aws_config,
                                                                               template):
    before = aws_config.read_bytes()
    for extra in (["--dry-run"], [], ["--rename"]):
        status, out, err = run("populate", f"--template={template}", *extra)
        assert status == 2 and "template" in err and out == "", (template, extra, err)
        assert len(err.strip().splitlines()) == 1
    assert aws_config.read_bytes() == before


def test_populate_right_after_login_fetches_the_accounts_itself(emulator, home, run):
    status, _, err = run("configure", "--sso-session", "corp", "--start-url",
                         "https://d-0000000000.awsapps.com/start", "--region", "us-east-1")
    assert status == 0, err
    assert run("login", "--device-code", "--no-browser")[0] == 0
    status, _, err = run("populate")  # no `ssoenv sync` in between
    assert status == 0, err
    assert account_of("RootAccount-ReadOnlyAccess") == ("111111111111", "ReadOnlyAccess")
    assert account_of("MemberAccount-AdministratorAccess") == ("222222222222", "AdministratorAccess")


def test_populate_without_a_login_says_what_to_do(aws_config, run):
    status, _, err = run("populate")
    assert status == 1 and "ssoenv login" in err
    assert aws_config.read_text() == SESSION_CONFIG


def test_the_aws_cli_reads_the_names_as_written(sandbox, run, tmp_path):
    """Debian's AWS CLI v2 itself, not only its botocore."""
    import subprocess

    resync(sandbox, run, account("100000000000", "Sandbox", "AdministratorAccess"),
           account("333333333333", "Sandbox", "AdministratorAccess"))
    assert run("populate")[0] == 0
    proc = subprocess.run(["/usr/bin/aws", "configure", "get", "sso_account_id", "--profile",
                           "Sandbox-AdministratorAccess"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "333333333333", proc.stderr


def test_a_name_another_sso_session_holds_is_never_taken(emulator, aws_config, run):
    """The block holds `Sandbox-AdministratorAccess` for another sso-session (not logged
    in now): populating corp never takes it over."""
    with open(aws_config, "a") as fh:
        fh.write("\n[sso-session lab]\nsso_start_url = https://lab.awsapps.com/start\nsso_region = us-east-1\n"
                 "\n# BEGIN ssoenv managed profiles: edits inside this block are replaced by `ssoenv populate`\n"
                 "[profile Sandbox-AdministratorAccess]\nsso_session = lab\nsso_account_id = 999999999999\n"
                 "sso_role_name = AdministratorAccess\n# END ssoenv managed profiles\n")
    emulator.set_accounts([account("333333333333", "Sandbox", "AdministratorAccess")])
    assert run("login", "--sso-session", "corp", "--device-code", "--no-browser")[0] == 0
    for argv in (["populate"], ["populate", "--sso-session", "corp", "--prune"], ["populate", "--rename"]):
        status, _, err = run(*argv)
        assert status == 0, err
        assert account_of("Sandbox-AdministratorAccess") == ("999999999999", "AdministratorAccess")
        assert botocore_profiles()["Sandbox-AdministratorAccess"]["sso_session"] == "lab"
        assert account_of("Sandbox-AdministratorAccess-333333333333") == ("333333333333", "AdministratorAccess")


def test_populate_never_writes_a_value_that_leaves_its_line(emulator, aws_config, run):
    emulator.set_accounts([
        {"accountId": "888888888888", "accountName": "x", "emailAddress": "a@b",
         "roles": ["ReadOnly\n[profile injected]\ncredential_process = sh -c 'touch pwned'", "Fine"]},
    ])
    assert run("login", "--device-code", "--no-browser")[0] == 0
    assert run("sync")[0] == 0
    status, _, err = run("populate")
    assert status == 0 and "skipped 1" in err
    text = aws_config.read_text()
    assert "injected" not in text and "credential_process" not in text
    assert "[profile x-Fine]" in text


def test_populate_bad_templates(synced, run):
    for template in ("{account_name.foo}", "", "{0}"):
        status, _, err = run("populate", f"--template={template}")
        assert status == 2 and "template" in err, (template, err)
