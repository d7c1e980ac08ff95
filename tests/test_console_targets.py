"""Issue 17 item 8: `ssoenv console` checks its target against the account list like
every other command, and `--destination` is a console URL of the target's partition."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

START = "https://d-0000000000.awsapps.com/start"


@pytest.mark.parametrize("argv", [
    ["--account", "999999999999", "--role", "Foo"],
    ["--account", "222222222222", "--role", "NoSuchRole"],
    ["999999999999/ReadOnlyAccess"],
])
def test_an_account_or_role_not_in_the_list_is_refused(synced, run, argv):
    status, out, err = run("console", *argv, "--print")
    assert status == 1 and out == ""
    assert err.startswith("ssoenv: no account/role matches") and err.count("\n") <= 2, err


def test_a_profile_naming_an_unlisted_role_is_refused(synced, run, aws_config):
    aws_config.write_text(aws_config.read_text() + "\n[profile ghost]\nsso_session = corp\n"
                          "sso_account_id = 999999999999\nsso_role_name = Foo\n")
    status, out, err = run("console", "ghost", "--print")
    assert status == 1 and out == ""
    assert "profile ghost names 999999999999/Foo, which is not in the account list" in err


def test_a_listed_account_by_id_and_role_still_opens(synced, run):
    status, out, err = run("console", "--account", "222222222222", "--role", "ReadOnlyAccess", "--print")
    assert status == 0, err
    assert out == f"{START}/#/console?account_id=222222222222&role_name=ReadOnlyAccess\n"


@pytest.mark.parametrize("destination", [
    "https://evil.example.com/",
    "https://console.aws.amazon.com.evil.example.com/",
    "https://console.aws.amazon.com@evil.example.com/",
    "https://evil.example.com/?https://console.aws.amazon.com/",
    "https://console.aws.amazon.com:8443/",
    "https://console.amazonaws.cn/",  # another partition's console
    "http://console.aws.amazon.com/",
])
@pytest.mark.parametrize("federation", [False, True])
def test_a_destination_outside_the_partitions_console_is_refused(synced, run, destination, federation):
    status, out, err = run("console", "MemberAccount/ReadOnlyAccess", "--destination", destination,
                           *(["--federation"] if federation else []), "--print")
    assert status == 2 and out == "", err
    assert "--destination must be" in err
    assert synced.calls()["GetRoleCredentials"] == 0  # refused before any credential is fetched


@pytest.mark.parametrize("destination, region", [
    ("https://console.aws.amazon.com/s3/home", "eu-west-1"),
    ("https://eu-central-1.console.aws.amazon.com/ec2/home?region=eu-central-1#Instances:", "eu-central-1"),
    ("https://console.amazonaws-us-gov.com/iam/home", "us-gov-west-1"),
])
def test_a_console_url_of_the_partition_is_kept(synced, run, destination, region):
    status, out, err = run("console", "MemberAccount/ReadOnlyAccess", "--destination", destination,
                           "--region", region, "--print")
    assert status == 0, err
    assert parse_qs(out.strip().split("?", 1)[1])["destination"] == [destination]
