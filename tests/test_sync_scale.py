"""Sync at scale: pacing under throttling, one sync per start URL at a time, one
client per sync, and the credential-process cold path's early exit. Structural
checks (calls counted by the emulator, clients counted in botocore): no timings."""

from __future__ import annotations

import ast
import json
import os
import signal
import threading
from pathlib import Path

from support import ODD_NAMES_ORG, ODD_NAMES_PROFILES, ssoenv_subprocess


def _org(n: int, roles=("A", "B")) -> list[dict]:
    return [{"accountId": f"{100000000000 + i}", "accountName": f"acct-{i:03d}",
             "emailAddress": "x@example.com", "roles": list(roles)} for i in range(n)]


def _login(run):
    status, _, err = run("login", "--sso-session", "corp", "--device-code", "--no-browser")
    assert status == 0, err


def _corp():
    from ssoenv import awsconfig

    config = awsconfig.load()
    return config, config.session("corp")


def test_throttled_sync_at_a_low_limit_completes_without_errors(emulator, aws_config, run):
    emulator.set_accounts(_org(12))
    _login(run)
    emulator.update(throttle_rps=5)
    emulator.reset_calls()
    status, _, err = run("sync")
    assert status == 0, err
    assert [line for line in err.splitlines() if line.strip()] == ["ssoenv: synced corp: 12 accounts"]
    calls = emulator.calls()
    assert calls["ListAccounts"] + calls["ListAccountRoles"] > 13  # it was throttled, and got through
    status, out, _ = run("list", "--json")
    assert len(json.loads(out)) == 24


def test_a_concurrent_second_sync_waits_and_takes_the_first_ones_result(emulator, aws_config, run, monkeypatch):
    from ssoenv import paths, sync

    emulator.set_accounts(_org(20))
    _login(run)
    emulator.reset_calls()
    config, session = _corp()
    first_inside, release_first, second_waiting = threading.Event(), threading.Event(), threading.Event()

    def hold_first():  # in the emulator, before the first sync's ListAccounts is served
        first_inside.set()
        assert release_first.wait(60)

    emulator.before_next("ListAccounts", hold_first)
    real_lock_file = paths.sync_lock_file

    def lock_file(start_url):  # the second sync asks for the lock the first one holds
        if threading.current_thread().name == "second":
            second_waiting.set()
        return real_lock_file(start_url)

    monkeypatch.setattr(paths, "sync_lock_file", lock_file)
    results: dict = {}

    def one_sync(label):
        stats: dict = {}
        results[label] = (sync.sync(config, [session], allow_login=False, quiet=True, stats=stats), stats)

    first = threading.Thread(target=one_sync, args=("first",), name="first")
    first.start()
    assert first_inside.wait(60)
    second = threading.Thread(target=one_sync, args=("second",), name="second")
    second.start()
    assert second_waiting.wait(60)
    release_first.set()
    first.join(60)
    second.join(60)
    assert results["first"][0]["corp"][0] == 20 and results["second"][0]["corp"][0] == 20
    assert results["second"][1]["corp"] == {"shared": True}
    calls = emulator.calls()
    assert calls["ListAccounts"] == 1 and calls["ListAccountRoles"] == 20  # not twice


def test_a_later_sync_fetches_again(emulator, aws_config, run):
    """The shared result is only for a sync that waited: one after it lists anew."""
    emulator.set_accounts(_org(3))
    _login(run)
    assert run("sync")[0] == 0
    emulator.reset_calls()
    assert run("sync")[0] == 0
    assert emulator.calls()["ListAccountRoles"] == 3


def test_one_client_per_sync_not_one_per_account(emulator, aws_config, run, monkeypatch):
    import botocore.session

    emulator.set_accounts(_org(40))
    _login(run)
    built = []
    real = botocore.session.Session.create_client

    def counting(self, service_name, *args, **kwargs):
        built.append(service_name)
        return real(self, service_name, *args, **kwargs)

    monkeypatch.setattr(botocore.session.Session, "create_client", counting)
    emulator.reset_calls()
    monkeypatch.setenv("SSOENV_SYNC_CONCURRENCY", "8")
    status, _, err = run("sync")
    assert status == 0, err
    assert emulator.calls()["ListAccountRoles"] == 40
    assert built == ["sso"]


def test_calls_in_flight_follow_what_a_call_costs():
    from ssoenv.sync import _workers

    assert _workers(wall=0.0021, cpu=0.0020, limit=16) == 1   # all CPU: threads only contend
    assert _workers(wall=0.004, cpu=0.002, limit=16) == 2     # the server's half on the other core
    assert _workers(wall=0.042, cpu=0.0015, limit=16) == 16   # waiting on the network: the setting
    assert _workers(wall=0.0, cpu=0.0, limit=5) == 5          # nothing measured


def test_pacer_sets_its_rate_from_what_the_service_accepted():
    from ssoenv.pacing import Pacer

    now = [100.0]
    slept = []
    pacer = Pacer(clock=lambda: now[0], sleep=slept.append)
    for _ in range(50):  # a burst of 50 accepted calls in 0.1 s, then a refusal
        pacer.acquire()
        now[0] += 0.002
        pacer.accepted()
    pacer.throttled()
    assert 40 <= pacer.rate <= 50
    pacer.acquire()  # the window is full until the first accepted call leaves it
    assert slept and slept[-1] > 0.8
    before = pacer.rate
    now[0] += 5
    pacer.throttled()  # a refusal at the learned rate: 15 % down, not halved
    assert pacer.rate >= before * 0.8


def test_catalog_does_not_import_sync():
    """catalog is data; sync (which writes it) owns the freshness policy."""
    source = Path(__file__).resolve().parent.parent / "ssoenv" / "catalog.py"
    imported = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.ImportFrom):
            imported.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
    assert not {"ssoenv.sync", "ssoenv.login"} & imported


def test_sync_locks_and_stamp_are_paths(home):
    from ssoenv import paths

    for path in (paths.catalog_lock_file(), paths.sync_lock_file("https://x/start"),
                 paths.background_sync_stamp_file()):
        assert path.parent == paths.lock_dir()
    assert paths.sync_lock_file("https://a/start") != paths.sync_lock_file("https://b/start")


# --- credential-process: the cold path ends early, and only once all is written ------------

def _subprocess_env() -> dict:
    """As an SDK starts it: stdout a pipe, block-buffered (no PYTHONUNBUFFERED)."""
    env = dict(os.environ)
    env.pop("PYTHONUNBUFFERED", None)
    return env


def test_cold_credential_process_writes_everything_to_a_pipe(logged_in, run):
    """Cold: botocore loaded, the process ends with os._exit; stdout (a pipe, so
    block-buffered) must be flushed first."""
    from ssoenv import paths

    assert run("sync")[0] == 0
    proc = ssoenv_subprocess("credential-process", "--account", "111111111111", "--role", "ReadOnlyAccess",
                             env=_subprocess_env())
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["Version"] == 1 and doc["AccessKeyId"] and doc["SessionToken"]
    assert proc.stderr == ""
    cached = paths.role_cache_file("111111111111", "ReadOnlyAccess", session_name="corp")
    assert json.loads(cached.read_text())["Credentials"]["AccessKeyId"] == doc["AccessKeyId"]
    # env --format env: the same early exit, the same complete output
    proc = ssoenv_subprocess("env", "--account", "111111111111", "--role", "AdministratorAccess",
                             "--format", "env", env=_subprocess_env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("export ") == 4 and proc.stdout.endswith("\n")


def test_cold_credential_process_interrupted_leaves_no_partial_output(logged_in, run, tmp_path):
    from interrupt_support import PausedWrite, leftovers

    from ssoenv import paths

    assert run("sync")[0] == 0
    cached = paths.role_cache_file("111111111111", "ReadOnlyAccess", session_name="corp")
    paused = PausedWrite(tmp_path, cached, ["credential-process", "--account", "111111111111",
                                            "--role", "ReadOnlyAccess"], env=_subprocess_env())
    status, out, err = paused.interrupt(signal.SIGINT)
    assert status == 130
    assert out == ""
    assert not cached.exists() and leftovers(cached.parent) == []


# --- list: the C-level rows keep the order, the escaping and the profile column --------------

def test_list_rows_are_sorted_escaped_and_carry_profiles(emulator, aws_config, run):
    emulator.set_accounts(ODD_NAMES_ORG)
    with open(aws_config, "a") as fh:
        fh.write(ODD_NAMES_PROFILES)
    _login(run)
    status, out, err = run("list")
    assert status == 0, err
    rows = [line.split("\t") for line in out.splitlines()]
    assert all(len(r) == 5 for r in rows), out
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("444444444444", "X", "unsynced"),  # no account name: sorts first
        ("111111111111", "ReadOnlyAccess", "ro"),
        ("333333333333", "Role?[31m", "-"),
        ("222222222222", "Admin", "-"),
        ("222222222222", "Zed", "-"),
    ]
    assert rows[3][0] == "beta?name?with $(x)" and rows[2][4] == "corp"
    status, out, _ = run("list", "--json")
    doc = json.loads(out)
    assert out == json.dumps(doc, ensure_ascii=False) + "\n"  # what json.dumps wrote before, byte for byte
    assert doc[1] == {"sso_session": "corp", "account_id": "111111111111", "account_name": "Alpha",
                      "role": "ReadOnlyAccess", "profile": "ro"}
    assert doc[3]["account_name"] == "beta\tname\nwith $(x)"
