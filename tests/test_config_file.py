"""Issue 8: ~/.aws/config as the AWS CLI reads it, and edits that keep every byte.

- a file botocore refuses or misreads is one clear line for every command (exit 1);
- configure and populate keep CRLF, odd spacing and trailing whitespace they do not manage;
- a byte-order mark: accepted in ssoenv's own settings file, named in ~/.aws/config;
- a failed write names the config file, not the temporary file beside it.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess

import pytest
from support import SESSION_CONFIG

SSO_PROFILE = ("[profile ro]\nsso_session = corp\nsso_account_id = 111111111111\n"
               "sso_role_name = ReadOnlyAccess\n")

# name -> (config text, what the one-line message must say)
BROKEN = {
    "duplicate section": (SESSION_CONFIG + "\n" + SSO_PROFILE + "\n" + SSO_PROFILE,
                          "more than one [profile ro] section (line 15)"),
    "duplicate key": (SESSION_CONFIG + "\n" + SSO_PROFILE + "sso_role_name = AdministratorAccess\n",
                      "sets sso_role_name twice in [profile ro] (line 14)"),
    "inline comment in a session": (SESSION_CONFIG.replace("sso_region = us-east-1",
                                                           "sso_region = us-east-1 ; N. Virginia")
                                    + "\n" + SSO_PROFILE,
                                    "sso_region in [sso-session corp] holds an inline comment "
                                    "('us-east-1 ; N. Virginia')"),
    "inline comment in a profile": (SESSION_CONFIG + "\n" + SSO_PROFILE + "region = eu-west-1 # Ireland\n",
                                    "region in [profile ro] holds an inline comment ('eu-west-1 # Ireland')"),
    "byte-order mark": ("\ufeff" + SESSION_CONFIG + "\n" + SSO_PROFILE, "starts with a byte-order mark"),
    "nested value without =": (SESSION_CONFIG + "\n" + SSO_PROFILE + "s3 =\n  addressing_style\n",
                               "s3 in [profile ro] continues on indented lines without `=`"),
    "not UTF-8": ("# caf\udce9\n" + SESSION_CONFIG + "\n" + SSO_PROFILE, "is not UTF-8 text (byte 6)"),
}


def write(path, text: str) -> None:
    path.write_bytes(text.encode("utf-8", "surrogateescape"))  # "not UTF-8": a Latin-1 byte

COMMANDS = {
    "list": ["list"],
    "use": ["use", "--shell", "bash", "ro"],
    "exec": ["exec", "ro", "--", "true"],
    "status": ["status"],
    "login": ["login", "--device-code", "--no-browser"],
    "populate": ["populate", "--dry-run"],
    "configure": ["configure", "--sso-session", "corp", "--region", "eu-west-1"],
}


@pytest.mark.parametrize("problem", sorted(BROKEN))
def test_botocore_really_refuses_or_misreads_these_files(home, problem):
    """The premise of the checks below, against botocore's own loader."""
    import botocore.exceptions
    import botocore.session

    path = home / ".aws" / "config"
    path.parent.mkdir()
    write(path, BROKEN[problem][0])
    try:
        config = botocore.session.Session().full_config
    except botocore.exceptions.ConfigParseError:
        return
    assert problem.startswith("inline comment")
    values = [config["sso_sessions"]["corp"]["sso_region"], config["profiles"]["ro"].get("region", "")]
    assert any(";" in v or "#" in v for v in values)


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("problem", sorted(BROKEN))
def test_a_config_botocore_refuses_is_one_clear_line_for_every_command(home, run, problem, command):
    text, message = BROKEN[problem]
    path = home / ".aws" / "config"
    path.parent.mkdir()
    write(path, text)
    status, out, err = run(*COMMANDS[command])
    assert status == 1 and out == "", (status, out, err)
    assert err.startswith(f"ssoenv: {path}") and message in err, err
    assert len(err.strip().splitlines()) == 1 and "internal error" not in err
    assert path.read_bytes() == text.encode("utf-8", "surrogateescape")


def test_the_aws_cli_itself_refuses_a_duplicate_section(home):
    path = home / ".aws" / "config"
    path.parent.mkdir()
    path.write_text(BROKEN["duplicate section"][0])
    proc = subprocess.run(["/usr/bin/aws", "configure", "get", "region"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode != 0 and "Unable to parse config file" in proc.stderr


def test_profile_names_are_read_as_botocore_reads_headers(logged_in, aws_config, run):
    with open(aws_config, "a") as fh:
        fh.write('\n[profile "my ro"]\nsso_session = corp\nsso_account_id = 111111111111\n'
                 'sso_role_name = ReadOnlyAccess\n\n[profile two words]\nsso_session = corp\n'
                 'sso_account_id = 222222222222\nsso_role_name = ReadOnlyAccess\n')
    import botocore.session

    assert {"my ro", "default"} == set(botocore.session.Session().full_config["profiles"])
    status, out, err = run("list", "--json")
    assert status == 0, err
    # `two words`: no profile for the AWS CLI
    assert [e["profile"] for e in json.loads(out) if e["profile"]] == ["my ro"]
    status, out, err = run("use", "my ro", "--shell", "bash")
    assert status == 0 and "export AWS_PROFILE='my ro';" in out, err


def test_a_spaced_value_outside_what_ssoenv_reads_is_left_alone(aws_config, run):
    # Not an SSO profile: ssoenv neither reads nor judges it (the AWS CLI would, when used).
    with open(aws_config, "a") as fh:
        fh.write("\n[profile other]\nregion = eu-west-1 ; mine\ncredential_process = sh -c 'x # y'\n")
    status, _, err = run("list")
    # The config is accepted: list goes on to say it has no login yet (exit 3), not a
    # config problem (exit 1).
    assert status == 3 and "ssoenv login --sso-session corp" in err, err
    assert str(aws_config) not in err, err


# --- edits keep every byte they do not manage ----------------------------------------------

CRLF_CONFIG = SESSION_CONFIG.replace("\n", "\r\n")


def test_configure_updates_a_crlf_file_in_place_keeping_crlf(aws_config, run):
    aws_config.write_bytes(CRLF_CONFIG.encode())
    status, _, err = run("configure", "--sso-session", "corp", "--region", "eu-central-1")
    assert status == 0, err
    expected = CRLF_CONFIG.replace("sso_region = us-east-1", "sso_region = eu-central-1")
    assert aws_config.read_bytes() == expected.encode()


def test_configure_appends_a_session_to_a_crlf_file_in_crlf(aws_config, run):
    aws_config.write_bytes(CRLF_CONFIG.encode())
    status, _, err = run("configure", "--sso-session", "lab", "--start-url", "https://lab.awsapps.com/start",
                         "--region", "eu-west-1")
    assert status == 0, err
    assert aws_config.read_bytes() == (CRLF_CONFIG + "\r\n[sso-session lab]\r\n"
                                       "sso_start_url = https://lab.awsapps.com/start\r\n"
                                       "sso_region = eu-west-1\r\n"
                                       "sso_registration_scopes = sso:account:access\r\n").encode()


ODD = ("[sso-session corp]\n"
       "sso_start_url=https://d-0000000000.awsapps.com/start   \n"
       "sso_region   :   us-east-1\t\n"
       "# a comment in the section\n"
       "sso_registration_scopes =sso:account:access\n"
       "\n"
       "[profile keep]\n"
       "region=eu-west-1   \n")


def test_configure_keeps_odd_spacing_and_trailing_whitespace(home, run):
    path = home / ".aws" / "config"
    path.parent.mkdir()
    path.write_text(ODD)
    # Same values: nothing to write, not a byte changes.
    status, _, err = run("configure", "--sso-session", "corp", "--region", "us-east-1",
                         "--start-url", "https://d-0000000000.awsapps.com/start")
    assert status == 0 and "already up to date" in err
    assert path.read_text() == ODD
    # One value changes: only its value does; its line keeps its spacing.
    status, _, err = run("configure", "--sso-session", "corp", "--region", "eu-north-1")
    assert status == 0, err
    assert path.read_text() == ODD.replace("us-east-1\t", "eu-north-1\t")
    # Scopes removed: that line goes, every other stays.
    status, _, err = run("configure", "--sso-session", "corp", "--scopes", "")
    assert status == 0, err
    assert path.read_text() == ODD.replace("us-east-1\t", "eu-north-1\t").replace(
        "sso_registration_scopes =sso:account:access\n", "")


def test_configure_adds_a_missing_key_after_the_sections_last_value(home, run):
    path = home / ".aws" / "config"
    path.parent.mkdir()
    text = ("[sso-session corp]\r\nsso_start_url = https://d-0000000000.awsapps.com/start\r\n"
            "sso_region = us-east-1\r\n# trailing comment\r\n\r\n[profile keep]\r\nregion = eu-west-1")
    path.write_bytes(text.encode())
    status, _, err = run("configure", "--sso-session", "corp", "--scopes", "sso:account:access")
    assert status == 0, err
    assert path.read_bytes() == text.replace("us-east-1\r\n", "us-east-1\r\nsso_registration_scopes = "
                                             "sso:account:access\r\n").encode()


def test_populate_writes_crlf_into_a_crlf_file_and_keeps_the_rest(synced, aws_config, run):
    user_part = CRLF_CONFIG + "[profile mine]\r\nregion=eu-west-1   \r\n"
    aws_config.write_bytes(user_part.encode())
    status, _, err = run("populate")
    assert status == 0, err
    data = aws_config.read_bytes()
    assert data.startswith(user_part.encode() + b"\r\n# BEGIN ssoenv")
    assert b"\n" not in data.replace(b"\r\n", b"")  # every line ssoenv wrote is CRLF too
    import botocore.session

    assert botocore.session.Session().full_config["profiles"]["RootAccount-ReadOnlyAccess"]["sso_account_id"] \
        == "111111111111"
    # A second run finds the block (CRLF after its END marker) and changes nothing.
    status, _, err = run("populate", "--region", "eu-west-1")
    assert status == 0, err
    assert aws_config.read_bytes().count(b"# BEGIN ssoenv") == 1
    assert aws_config.read_bytes().startswith(user_part.encode())
    status, _, err = run("populate", "--region", "eu-west-1")
    assert "is up to date" in err


# --- byte-order marks ---------------------------------------------------------------------

def test_a_bom_in_ssoenvs_own_settings_file_is_accepted(home, aws_config, run):
    from ssoenv import paths, settings

    path = paths.settings_file()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\xef\xbb\xbf[ssoenv]\ncatalog_ttl = 5\n")
    settings._file_values.cache_clear()
    assert settings.get_int("catalog_ttl") == 5
    status, _, err = run("list")
    # Past the config and settings: list only says there is no login yet.
    assert status == 3 and "ssoenv login --sso-session corp" in err, err


# --- a failed write names the config -----------------------------------------------------

@contextlib.contextmanager
def unwritable(directory):
    """A directory no new file can be created in, even for root (chattr +i)."""
    if os.getuid() != 0:
        directory.chmod(0o500)
        try:
            yield
        finally:
            directory.chmod(0o700)
        return
    proc = subprocess.run(["chattr", "+i", str(directory)], capture_output=True)
    if proc.returncode != 0:
        pytest.skip("cannot make a directory unwritable here (chattr +i failed)")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(directory)], check=True)


def test_a_failed_populate_names_the_config_not_a_temp_file(synced, aws_config, run):
    before = aws_config.read_bytes()
    with unwritable(aws_config.parent):
        status, _, err = run("populate")
    assert status == 1, err
    assert f"ssoenv: cannot back up {aws_config} to {aws_config}.ssoenv-backup" in err
    assert ".tmp" not in err and len(err.strip().splitlines()) == 1
    assert aws_config.read_bytes() == before


def test_a_failed_configure_names_the_config_not_a_temp_file(home, run):
    path = home / ".aws" / "config"
    path.parent.mkdir()
    with unwritable(path.parent):
        status, _, err = run("configure", "--sso-session", "corp", "--start-url",
                             "https://d-0000000000.awsapps.com/start", "--region", "us-east-1")
    assert status == 1, err
    assert err.startswith(f"ssoenv: cannot write {path}: ") and ".tmp" not in err
    assert f"in {path.parent}" in err and not path.exists()


def test_configure_on_a_file_without_a_final_newline_adds_none(home, run):
    path = home / ".aws" / "config"
    path.parent.mkdir()
    text = ("[sso-session corp]\nsso_registration_scopes = sso:account:access\n"
            "sso_start_url = https://d-0000000000.awsapps.com/start\nsso_region=us-east-1")
    path.write_text(text)
    status, _, err = run("configure", "--sso-session", "corp", "--region", "eu-west-1")
    assert status == 0, err
    assert path.read_bytes() == text.replace("us-east-1", "eu-west-1").encode()


def test_configure_refuses_duplicate_sections(home, run):
    path = home / ".aws" / "config"
    path.parent.mkdir()
    text = ("[sso-session corp]\nsso_start_url = https://a/start\nsso_region = us-east-1\n\n"
            "[sso-session corp]\nsso_region = us-east-1\n")
    path.write_text(text)
    status, _, err = run("configure", "--sso-session", "corp", "--region", "us-west-2")
    assert status == 1 and "more than one [sso-session corp]" in err
    assert path.read_text() == text
