"""Kept listings (ssoenv.listing): `list`, `list --json` and the picker print a rendering
kept on disk while the catalog generation and the config's inputs are unchanged, and
never a stale one: a new profile, a removed session, a sync, a catalog from an older
ssoenv or a broken view file each make the next reader render anew."""

from __future__ import annotations

import json

import pytest
from support import (
    ODD_NAMES_ORG,
    ODD_NAMES_PROFILES,
    finish,
    pick_member_read_prints_its_statements,
    spawn_pick,
    ssoenv_subprocess,
    wait_for,
)

from ssoenv import awsconfig, catalog, listing, paths


@pytest.fixture
def org(emulator, aws_config, run):
    """Logged in and synced to ODD_NAMES_ORG, with its two profiles in the config."""
    emulator.set_accounts(ODD_NAMES_ORG)
    with open(aws_config, "a") as fh:
        fh.write(ODD_NAMES_PROFILES)
    status, _, err = run("login", "--sso-session", "corp", "--device-code", "--no-browser")
    assert status == 0, err
    status, _, err = run("sync")
    assert status == 0, err
    return emulator


def ssoenv(*argv):
    """ssoenv in its own process: (status, stdout, stderr)."""
    proc = ssoenv_subprocess(*argv)
    return proc.returncode, proc.stdout, proc.stderr


def kept(view, sso_session=None):
    return listing.read(view, awsconfig.load(), sso_session)


def rendered_now(view, sso_session=None) -> str:
    """What a render from the catalog and config as they are now prints (kept nowhere)."""
    data = catalog.load()
    data.pop("generation")
    return bytes(listing.render(view, awsconfig.load(), data, sso_session).body).decode()


@pytest.mark.parametrize("argv, view", [(("list",), listing.TSV), (("list", "--json"), listing.JSON)])
def test_the_kept_listing_is_what_is_printed_and_equals_a_fresh_render(org, argv, view):
    status, first, err = ssoenv(*argv)
    assert status == 0, err
    assert kept(view) is not None  # kept by the first run
    assert ssoenv(*argv)[1] == first == rendered_now(view)
    # The second run printed the kept bytes: a kept body changed in place (same length,
    # so the file stays valid) is what the next run prints.
    path = paths.listing_file(view)
    header, _, body = path.read_bytes().partition(b"\n")
    path.write_bytes(header + b"\n" + body.replace(b"111111111111", b"111111111110"))
    assert ssoenv(*argv)[1] == first.replace("111111111111", "111111111110")


def test_a_kept_listing_is_printed_without_reading_the_catalogs_accounts(org, run, monkeypatch):
    """The point of keeping it: 30,000 entries are not parsed, built, sorted, formatted."""
    for argv in (("list",), ("list", "--json")):
        assert run(*argv)[0] == 0  # renders and keeps
    from ssoenv.commands import pick

    pick.prepare()

    def no(*_args, **_kwargs):
        raise AssertionError("the catalog's accounts were read")

    monkeypatch.setattr(catalog, "load", no)
    monkeypatch.setattr(catalog, "entries", no)
    monkeypatch.setattr(listing, "render", no)
    status, out, err = run("list")
    assert status == 0 and "222222222222" in out, err
    assert "222222222222" in run("list", "--json")[1]
    assert len(pick.prepare().lines) == 6  # five entries and "none"


def test_a_profile_added_to_the_config_shows_at_once(org, aws_config):
    status, before, _ = ssoenv("list")
    assert "\t333333333333\tRole?[31m\t-\tcorp\n" in before
    with open(aws_config, "a") as fh:
        fh.write("\n[profile red]\nsso_session = corp\nsso_account_id = 333333333333\nsso_role_name = Role\x1b[31m\n")
    status, after, err = ssoenv("list")
    assert status == 0, err
    assert "\t333333333333\tRole?[31m\tred\tcorp\n" in after
    assert json.loads(ssoenv("list", "--json")[1])[2]["profile"] == "red"


def test_a_session_the_config_no_longer_names_is_not_listed(org, aws_config):
    assert ssoenv("list")[1].count("\tcorp\n") == 5
    aws_config.write_text(aws_config.read_text().replace("[sso-session corp]", "[sso-session other]")
                          .replace("sso_session = corp", "sso_session = other"))
    status, out, err = ssoenv("list")
    assert "\tcorp\n" not in out
    assert "no accounts of other" in err


def test_a_sync_that_changes_the_accounts_shows_at_once_and_keeps_every_view_or_its_rows(org, run):
    for argv in (("list",), ("list", "--json")):
        ssoenv(*argv)
    org.set_accounts(ODD_NAMES_ORG[1:] + [{"accountId": "555555555555", "accountName": "new",
                                           "emailAddress": "n@example.com", "roles": ["Dev"]}])
    status, _, err = run("sync")
    assert status == 0, err
    # the views in use were rendered again by the sync: the next list needs no render
    assert kept(listing.TSV) is not None and kept(listing.JSON) is not None
    # not in use: only its rows kept, so its first use is fast too
    assert not paths.listing_file(listing.PICKER).exists()
    assert paths.listing_file(listing.PICKER + listing.ROWS).exists()
    out = ssoenv("list")[1]
    assert "555555555555\tDev" in out and "222222222222" not in out
    assert "555555555555" in ssoenv("list", "--json")[1]


def test_a_new_catalog_generation_is_listed_even_when_no_view_was_rendered_for_it(org):
    ssoenv("list")
    data = catalog.load()  # as a sync that died before rendering leaves it
    (member,) = [a for a in data["sessions"]["corp"]["accounts"] if a["id"] == "222222222222"]
    member["name"] = "renamed"
    catalog.save(data)
    assert "renamed\t222222222222" in ssoenv("list")[1]


def test_a_catalog_from_an_older_ssoenv_is_listed_and_a_view_never_outlives_it(org):
    ssoenv("list")
    # An older ssoenv rewrites the catalog without a generation (and with other accounts)
    data = catalog.load()
    del data["generation"]
    data["sessions"]["corp"]["accounts"] = [a for a in data["sessions"]["corp"]["accounts"]
                                            if a["id"] != "222222222222"]
    paths.catalog_file().write_text(json.dumps(data))
    status, out, err = ssoenv("list")
    assert status == 0, err
    assert "222222222222" not in out and "111111111111" in out
    assert catalog.generation() is None and kept(listing.TSV) is None


@pytest.mark.parametrize("damage", ["truncated", "garbage", "header only", "empty", "other format",
                                    "longer body", "not a dict", "symlink"])
def test_a_broken_view_file_is_rendered_again(org, damage, tmp_path):
    status, good, _ = ssoenv("list")
    path = paths.listing_file(listing.TSV)
    content = path.read_bytes()
    header, _, body = content.partition(b"\n")
    broken = {"truncated": content[:-7], "garbage": b"\x00\xff{[" * 10, "header only": header,
              "empty": b"", "other format": header.replace(b'"format": 1', b'"format": 99') + b"\n" + body,
              "longer body": content + b"x", "not a dict": b"[1]\n" + body}.get(damage)
    if damage == "symlink":
        elsewhere = tmp_path / "elsewhere"
        elsewhere.write_bytes(content.replace(b"Alpha", b"Alpho"))
        path.unlink()
        path.symlink_to(elsewhere)
    else:
        path.write_bytes(broken)
    status, out, err = ssoenv("list")
    assert (status, out) == (0, good), err
    if damage == "symlink":  # never written through
        assert b"Alpho" in (tmp_path / "elsewhere").read_bytes()
    else:
        assert kept(listing.TSV) is not None  # rendered and kept again


def test_each_sso_session_filter_gets_its_own_rendering(org, run):
    everything = ssoenv("list")[1]
    assert ssoenv("list", "--sso-session", "corp")[1] == everything
    header = json.loads(paths.listing_file(listing.TSV).read_bytes().partition(b"\n")[0])
    assert header["inputs"]["only"] == "corp" and kept(listing.TSV, "corp") is not None
    status, _, err = run("sync")  # renders the view in use again, with its filter
    assert status == 0, err
    assert kept(listing.TSV, "corp") is not None
    assert ssoenv("list")[1] == everything


def test_view_files_are_private(org):
    ssoenv("list")
    path = paths.listing_file(listing.TSV)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"


# --- the picker ----------------------------------------------------------------------------

def test_a_kept_picker_listing_marks_the_active_entry_orders_by_frecency_and_maps_back(synced, monkeypatch):
    from ssoenv import frecency, preview
    from ssoenv.commands import pick

    pick.prepare()
    assert paths.listing_file(listing.PICKER).exists()  # made here (rendered, or from the rows the sync kept)
    frecency.record(("corp", "222222222222", "ReadOnlyAccess"))
    monkeypatch.setenv("SSOENV_SESSION", "corp")
    monkeypatch.setenv("SSOENV_ACCOUNT_ID", "111111111111")
    monkeypatch.setenv("SSOENV_ROLE", "ReadOnlyAccess")
    prepared = pick.prepare()
    assert prepared.listing.entries is None  # read from its file
    labels = [line.split("\t", 1)[1] for line in prepared.lines]
    assert labels[0].startswith("  MemberAccount") and "ReadOnlyAccess" in labels[0]  # chosen before: first
    assert [label[0] for label in labels].count("*") == 1
    active = next(label for label in labels if label.startswith("*"))
    assert "111111111111  ReadOnlyAccess" in active
    assert prepared.cursor == 0  # on the last choice, which is not the active one
    # each line's number leads to the entry it shows, for the switch and the preview pane
    entries = prepared.entries()
    for line in prepared.lines[:-1]:
        number, label = line.split("\t", 1)
        entry = entries[int(number)]
        assert f"{entry.account_id}  {entry.role}" in label
        doc = {"entries": [list(e) for e in entries], "sessions": {}, "emails": {}}
        assert entry.account_id in preview.describe(doc, int(number))


def test_an_entry_gone_while_the_picker_was_open_is_not_switched_to(synced, run):
    from ssoenv.commands import pick

    pick.prepare()
    prepared = pick.prepare()  # from the kept listing
    number = next(int(line.split("\t")[0]) for line in prepared.lines if "MemberAccount" in line)
    synced.set_accounts([a for a in synced_accounts() if a["accountId"] != "222222222222"])
    status, _, err = run("sync")
    assert status == 0, err
    assert prepared.entries()[number] is None


def synced_accounts():
    from ssoenv.emulator.config import default_accounts

    return default_accounts()


def test_pick_from_a_kept_listing_switches_to_the_chosen_entry(synced):
    child = spawn_pick("zzz-no-match")  # renders and keeps the picker's listing; Esc leaves
    wait_for(child, "0/")
    child.send("\x1b")
    assert finish(child)[0] == 130
    assert kept(listing.PICKER) is not None
    pick_member_read_prints_its_statements()


def test_a_picker_view_whose_keys_do_not_match_its_count_is_rendered_again(synced):
    from ssoenv.commands import pick

    lines = pick.prepare().lines
    path = paths.listing_file(listing.PICKER)
    header, _, body = path.read_bytes().partition(b"\n")
    doc = json.loads(header)
    doc["count"] += 1  # one line more than it has keys for
    path.write_bytes(json.dumps(doc).encode() + b"\n" + body)
    made = kept(listing.PICKER)  # not that file: made again from the view's rows, and kept
    assert made is not None and made.count == doc["count"] - 1
    assert json.loads(path.read_bytes().partition(b"\n")[0])["count"] == doc["count"] - 1
    assert pick.prepare().lines == lines


# --- a view made from its rows (the config's profiles changed, or the view is gone) -------

def known_profiles_only(aws_config):
    """The org's config without its profile of an account the catalog does not know
    (such a profile is an entry of its own: its view is rendered in full each time)."""
    aws_config.write_text(aws_config.read_text().split("\n[profile unsynced]")[0] + "\n")


PROFILE_RED = "\n[profile red]\nsso_session = corp\nsso_account_id = 333333333333\nsso_role_name = Role\x1b[31m\n"


def test_a_new_profile_is_patched_into_the_rows_without_reading_the_catalogs_accounts(org, run, aws_config,
                                                                                      monkeypatch):
    """The first `list` after `populate` (or any profile edit) must not render 30,000 entries."""
    known_profiles_only(aws_config)
    for argv in (("list",), ("list", "--json")):
        assert run(*argv)[0] == 0  # renders, keeps the views and their rows
    from ssoenv.commands import pick

    pick.prepare()
    with open(aws_config, "a") as fh:
        fh.write(PROFILE_RED)

    def no(*_args, **_kwargs):
        raise AssertionError("the catalog's accounts were read")

    monkeypatch.setattr(catalog, "load", no)
    monkeypatch.setattr(catalog, "entries", no)
    monkeypatch.setattr(listing, "render", no)
    status, out, err = run("list")
    assert status == 0 and "\t333333333333\tRole?[31m\tred\tcorp\n" in out, err
    assert [r["profile"] for r in json.loads(run("list", "--json")[1]) if r["account_id"] == "333333333333"] == ["red"]
    assert any("profile:red" in line for line in pick.prepare().lines)


@pytest.mark.parametrize("view", listing.VIEWS)
def test_a_view_made_from_its_rows_is_what_a_full_render_makes(org, aws_config, view):
    """Byte for byte, odd names and profiles included (a profile of the org, one added)."""
    known_profiles_only(aws_config)
    assert kept(view) is not None  # made from the rows the sync kept
    with open(aws_config, "a") as fh:
        fh.write(PROFILE_RED)
    paths.listing_file(view).unlink(missing_ok=True)
    made = kept(view)
    assert made is not None and made.entries is None  # from the rows, not rendered
    assert bytes(made.body).decode() == rendered_now(view)
    if view == listing.PICKER:
        assert bytes(made.key_lines) == bytes(listing.render(view, awsconfig.load(), catalog.load()).key_lines)


def no_catalog_read(monkeypatch):
    """From here on, reading the catalog's accounts (or a full render) fails the test."""
    def no(*_args, **_kwargs):
        raise AssertionError("the catalog's accounts were read")

    monkeypatch.setattr(catalog, "load", no)
    monkeypatch.setattr(catalog, "entries", no)
    monkeypatch.setattr(listing, "render", no)


def made_from_rows(view, monkeypatch, sso_session=None):
    """The view made from the rows alone (its own file removed), and what a full render
    makes of the catalog and config now: (made, rendered) bodies, and key lines for the picker."""
    paths.listing_file(view).unlink(missing_ok=True)
    with monkeypatch.context() as patched:
        no_catalog_read(patched)
        made = kept(view, sso_session)
    assert made is not None and made.entries is None  # from the rows, not rendered
    data = catalog.load()
    data.pop("generation")
    full = listing.render(view, awsconfig.load(), data, sso_session)
    return (bytes(made.body).decode(), bytes(made.key_lines)), (bytes(full.body).decode(), bytes(full.key_lines))


GHOSTS = ("\n[profile ghost]\nsso_session = corp\nsso_account_id = 999999999999\nsso_role_name = Gone\n"
          "\n[profile beta-new-role]\nsso_session = corp\nsso_account_id = 222222222222\nsso_role_name = New\n")


@pytest.mark.parametrize("view", listing.VIEWS)
def test_profiles_the_catalog_does_not_know_are_merged_into_the_rows(org, aws_config, monkeypatch, view):
    """Byte for byte what a full render makes, in their places: an unknown account (no
    name), a known account's unknown role (its name), the org's unsynced profile."""
    with open(aws_config, "a") as fh:
        fh.write(GHOSTS)
    made, full = made_from_rows(view, monkeypatch)
    assert made == full
    assert "999999999999" in made[0] and "beta-new-role" in made[0] and "444444444444" in made[0]


CHAINED = ("\n[profile deploy]\nrole_arn = arn:aws:iam::222222222222:role/Deploy\nsource_profile = ro\n"
           "\n[profile a-chained-profile-named-longer-than-any-account]\n"
           "role_arn = arn:aws:iam::999999999999:role/Far\nsource_profile = deploy\n")


@pytest.mark.parametrize("view", listing.VIEWS)
def test_chained_roles_are_merged_into_the_rows(org, aws_config, monkeypatch, view):
    """A user with chained roles gets views made from the rows too: the chained entries
    (their accounts' names from the catalog, else the profile's, wider than the picker's
    column was) rendered and put in their places, every other line numbered anew."""
    with open(aws_config, "a") as fh:
        fh.write(CHAINED)
    made, full = made_from_rows(view, monkeypatch)
    assert made == full
    assert "via ro" in made[0] or "deploy" in made[0]
    assert "a-chained-profile-named-longer-than-any-account" in made[0]


def test_a_merge_numbers_the_picker_lines_anew_past_ten_and_a_hundred(emulator, aws_config, run, monkeypatch):
    """Picker lines carry their place: after a merge every later line has a new number,
    across the numbers' widths (cut in runs of as many digits)."""
    emulator.set_accounts([{"accountId": f"{100000000000 + i}", "accountName": f"acct-{i:03d}",
                            "emailAddress": f"{i}@example.com", "roles": ["A", "B"]} for i in range(60)])
    with open(aws_config, "a") as fh:
        fh.write("\n[profile hub]\nsso_session = corp\nsso_account_id = 100000000000\nsso_role_name = A\n"
                 "\n[profile mid]\nrole_arn = arn:aws:iam::100000000003:role/C\nsource_profile = hub\n"
                 "\n[profile late]\nrole_arn = arn:aws:iam::100000000052:role/C\nsource_profile = hub\n")
    assert run("login", "--sso-session", "corp", "--device-code", "--no-browser")[0] == 0
    assert run("sync")[0] == 0
    made, full = made_from_rows(listing.PICKER, monkeypatch)
    assert made == full and made[0].count("\n") == 122
    assert "\n100\t  acct-049" in made[0] and "\n121\t  acct-059" in made[0]


@pytest.mark.parametrize("where", ["accounts", "a name"])
def test_rows_with_a_broken_names_section_are_rendered_in_full(org, aws_config, where):
    """A cache: damaged names (same length, so the file's checks pass) are a miss, not an error."""
    with open(aws_config, "a") as fh:
        fh.write(CHAINED)
    paths.listing_file(listing.TSV).unlink(missing_ok=True)
    path = paths.listing_file(listing.TSV + listing.ROWS)
    content = path.read_bytes()
    head, _, tail = content.rpartition(b"\n")  # the accounts are the last line; a name the one before
    broken = (head + b"\n" + tail[:-1] + b"x" if where == "accounts" else  # one name fewer, valid JSON
              content.replace(b'["Alpha", "alpha", ', b'["Alpha,   alpha", ', 1))
    assert broken != content
    path.write_bytes(broken)
    status, out, err = ssoenv("list")
    assert (status, out) == (0, rendered_now(listing.TSV)), err
    assert "deploy" in out


OTHER = "\n[sso-session other]\nsso_start_url = https://other.example.com/start\nsso_region = eu-west-1\n"


@pytest.fixture
def two_logins(org, aws_config):
    """The catalog of two logins (corp and `other`, whose account names are longer), with
    the rows a sync keeps."""
    with open(aws_config, "a") as fh:
        fh.write(OTHER + "\n[profile far]\nsso_session = other\nsso_account_id = 777777777777\n"
                 "sso_role_name = Ops\n")
    data = catalog.load()
    data["sessions"]["other"] = {**data["sessions"]["corp"], "accounts": [
        {"id": "777777777777", "name": "Alpha of the other organisation", "roles": ["Ops", "Audit"]},
        {"id": "111111111111", "name": "alpha", "roles": ["Zed"]}]}
    catalog.save(data)
    listing.refresh(awsconfig.load())  # what a sync does after saving
    return aws_config


@pytest.mark.parametrize("view", listing.VIEWS)
@pytest.mark.parametrize("only", ["corp", "other"])
def test_a_session_filtered_view_is_cut_from_the_rows_of_every_login(two_logins, monkeypatch, view, only):
    made, full = made_from_rows(view, monkeypatch, only)
    assert made == full
    assert ("777777777777" in made[0]) == (only == "other") and ("222222222222" in made[0]) == (only == "corp")


@pytest.mark.parametrize("view", listing.VIEWS)
def test_a_login_the_config_dropped_is_cut_from_the_rows(two_logins, monkeypatch, view):
    two_logins.write_text(two_logins.read_text().replace(OTHER, "\n"))
    made, full = made_from_rows(view, monkeypatch)
    assert made == full and "Audit" not in made[0] and "222222222222" in made[0]


def test_rows_without_a_login_the_view_shows_are_not_used(two_logins):
    """Rows kept while `other` was not in the config do not hold its entries: rendered in full."""
    config_text = two_logins.read_text()
    two_logins.write_text(config_text.replace(OTHER, "\n"))
    ssoenv("sync")
    for view in listing.VIEWS:
        paths.listing_file(view).unlink(missing_ok=True)
    two_logins.write_text(config_text)
    out = ssoenv("list")[1]
    assert "777777777777" in out and out == rendered_now(listing.TSV)


def test_a_catalog_not_saved_in_listing_order_is_sorted_for_the_listing(org, aws_config):
    """A catalog from an older ssoenv (or edited by hand) has no "sorted" mark: its order is not trusted."""
    known_profiles_only(aws_config)  # else the profile of its own makes the listing sort anyway
    before = ssoenv("list")[1]
    data = catalog.load()
    record = data["sessions"]["corp"]
    assert record.pop("sorted") == 1  # the sync saved it in listing order
    record["accounts"].reverse()
    paths.catalog_file().write_text(json.dumps(data))
    assert ssoenv("list")[1] == before
