"""`ssoenv sync` and the account catalog it keeps: one catalog for every config file,
each sync replacing only the sessions it fetched."""

from __future__ import annotations

import json


def test_sync_under_another_config_keeps_this_configs_accounts(synced, run, home, monkeypatch):
    other = home / "other-config"
    other.write_text("[sso-session lab]\nsso_start_url = https://lab.awsapps.com/start\nsso_region = us-east-1\n"
                     "sso_registration_scopes = sso:account:access\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(other))
    status, _, err = run("login", "--sso-session", "lab", "--device-code", "--no-browser")
    assert status == 0, err
    status, _, err = run("sync")  # it must really sync, not stop early
    assert status == 0 and "lab: 2 accounts" in err, err
    monkeypatch.delenv("AWS_CONFIG_FILE")
    synced.reset_calls()
    status, out, _ = run("list", "--json")
    assert status == 0 and {r["sso_session"] for r in json.loads(out)} == {"corp"}
    assert len(json.loads(out)) == 4
    assert synced.calls().get("ListAccounts", 0) == 0  # corp's list was kept, not fetched again
