"""`ssoenv exec --each` (issue 21) through the installed entry point, against the
emulator over real HTTP, in an organisation of 60+ accounts with hostile names:
selection, consent, credentials fetched first (one login, a refused role skipped),
output (prefixes, whole lines, --group, --output-dir, --json), exit statuses,
Ctrl-C in tmux, --server across a role-credential expiry, the AWS CLI v2 as the
command. No timed assertions: structural ones, generous deadlines."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from support import AWS_CLI, SSOENV, Tmux, need, shell_sandbox, write_rc  # noqa: E402

from ssoenv import paths  # noqa: E402

HOSTILE = "evil/../$(touch pwned)\n\x1b[31mred \u2502 x"
HOSTILE_ID = "999999999999"
PROD = [{"accountId": f"1000000000{i:02d}", "accountName": f"prod-{i:02d}", "emailAddress": f"p{i}@example.com",
         "roles": ["Admin", "ReadOnlyAccess"]} for i in range(50)]
DEV = [{"accountId": f"2000000000{i:02d}", "accountName": f"dev-{i:02d}", "emailAddress": f"d{i}@example.com",
        "roles": ["Admin"]} for i in range(8)]
ORG = PROD + DEV + [
    {"accountId": HOSTILE_ID, "accountName": HOSTILE, "emailAddress": "e@example.com", "roles": ["ReadOnlyAccess"]},
    {"accountId": "222222222222", "accountName": "MemberAccount", "emailAddress": "m@example.com",
     "roles": ["ReadOnlyAccess"]},
]
SEP = " \u2502 "


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = shell_sandbox(tmp_path_factory.mktemp("each-world"), ORG)
    yield w
    w.close()


def each(world, *argv, env=None, timeout=180, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([SSOENV, "exec", *argv], env={**world.env, **(env or {})}, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL, cwd=cwd)


def prod_ro(n: int) -> list[str]:
    return [f"prod-{i:02d}/ReadOnlyAccess" for i in range(n)]


# --- selection ------------------------------------------------------------------------

def test_selection_exclusion_and_dry_run(world):
    world.emulator.reset_calls()
    r = each(world, "--each", "prod-*/ReadOnlyAccess", "--exclude", "prod-1*", "--exclude", "prod-2?/*",
             "--dry-run", "--", "touch", "ran", cwd=world.home)
    assert r.returncode == 0, r.stderr
    chosen = [line.split()[1] for line in r.stdout.splitlines()]
    assert chosen == [f"prod-{i:02d}/ReadOnlyAccess" for i in range(50) if not 10 <= i <= 29]
    # an account id (both roles), a profile name, an id/role: one list, each once
    r = each(world, "--each", "100000000007", "--each", "demo-member", "--each", "100000000007/Admin",
             "--list", "--json")
    assert r.returncode == 0, r.stderr
    got = [(t["account_id"], t["role"], t["profile"]) for t in json.loads(r.stdout)]
    assert got == [("222222222222", "ReadOnlyAccess", "demo-member"), ("100000000007", "Admin", None),
                   ("100000000007", "ReadOnlyAccess", None)]
    assert world.emulator.calls()["GetRoleCredentials"] == 0  # a dry run fetches nothing
    assert not (world.home / "ran").exists()


def test_no_match_is_a_usage_error_naming_the_closest(world):
    r = each(world, "--each", "prdo-0*/ReadOnlyAccess", "--yes", "--", "touch", "ran", cwd=world.home)
    assert r.returncode == 2
    assert "no account/role matches 'prdo-0*/ReadOnlyAccess'" in r.stderr
    assert re.search(r"closest: prod-\d\d/ReadOnlyAccess, ", r.stderr)
    r = each(world, "--each", "dev-*", "--exclude", "*", "--yes", "--", "touch", "ran", cwd=world.home)
    assert r.returncode == 2 and "excluded" in r.stderr
    r = each(world, "--each", "dev-*", "--sso-session", "other", "--yes", "--", "touch", "ran", cwd=world.home)
    assert r.returncode == 2 and "no account/role matches 'dev-*'" in r.stderr
    r = each(world, "--yes", "dev-00/Admin", "--", "touch", "ran", cwd=world.home)
    assert r.returncode == 2 and "--yes goes with --each PATTERN" in r.stderr
    r = each(world, "--each", "dev-00/Admin", "--output-dir", str(world.home / "o"), "--", "no-such-command-x")
    assert r.returncode == 127 and "command not found: no-such-command-x" in r.stderr
    assert not (world.home / "o").exists()
    assert not (world.home / "ran").exists()


def test_without_a_terminal_more_than_one_target_needs_yes(world, tmp_path):
    r = each(world, "--each", "dev-0[01]/*", "--", "touch", "ran", cwd=tmp_path)
    assert r.returncode == 2
    assert "2 targets selected: without a terminal, say --yes" in r.stderr
    assert not (tmp_path / "ran").exists()
    r = each(world, "--each", "dev-00/*", "--", "touch", "ran", cwd=tmp_path)  # one target: no question
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "ran").exists()


def test_consent_at_a_terminal(world, tmp_path):
    import pexpect

    def spawn():
        return pexpect.spawn(SSOENV, ["exec", "--each", "dev-*", "--", "touch", "ran"], env=world.env,
                             cwd=str(tmp_path), encoding="utf-8", timeout=60, dimensions=(30, 200))

    child = spawn()
    child.expect_exact("in 8 targets: dev-00/Admin, dev-01/Admin, dev-02/Admin, dev-03/Admin, dev-04/Admin"
                       " and 3 more? [y/N] ")
    child.sendline("")  # the default is no
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1 and "nothing run" in child.before
    assert not (tmp_path / "ran").exists()
    child = spawn()
    child.expect_exact("[y/N] ")
    child.sendline("y")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert (tmp_path / "ran").exists()


# --- credentials ------------------------------------------------------------------------

def test_one_renewal_for_fifty_targets_on_an_expired_token(world):
    world.clear_cli_cache()
    world.emulator.expire_tokens()
    world.emulator.reset_calls()
    r = each(world, "--each", "prod-*/ReadOnlyAccess", "--yes", "--", "true")
    assert r.returncode == 0, r.stderr
    calls = world.emulator.calls()
    assert calls["CreateToken"] == 1  # one silent renewal, not one per target
    assert calls["GetRoleCredentials"] == 51  # one refused (the token expired at the portal), then 50
    world.emulator.reset_calls()  # cached now: no portal call at all
    r = each(world, "--each", "prod-*/ReadOnlyAccess", "--yes", "--", "true")
    assert r.returncode == 0, r.stderr
    assert world.emulator.calls()["GetRoleCredentials"] == 0


def test_a_login_needed_without_a_terminal_runs_nothing(world, tmp_path):
    world.clear_cli_cache()
    world.emulator.revoke_tokens()
    try:
        r = each(world, "--each", "dev-*", "--yes", "--", "touch", "ran", cwd=tmp_path)
        assert r.returncode == 3, r.stderr
        assert "ssoenv login" in r.stderr
        assert not (tmp_path / "ran").exists()
    finally:
        world.ssoenv(*world.login_command(), timeout=60)


def test_one_login_at_a_terminal_for_fifty_targets(world):
    """The token is gone and cannot be renewed: at a terminal, one login (device code here:
    no browser), then every target's credentials, then the commands."""
    import pexpect

    world.clear_cli_cache()
    world.emulator.revoke_tokens()
    world.emulator.reset_calls()
    child = pexpect.spawn(SSOENV, ["exec", "--each", "prod-*/ReadOnlyAccess", "--yes", "--", "true"],
                          env=world.env, encoding="utf-8", timeout=120, dimensions=(30, 200))
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    calls = world.emulator.calls()
    assert calls["StartDeviceAuthorization"] == 1  # one login, not one per target
    assert calls["GetRoleCredentials"] == 51  # the one the revoked token was refused, then 50
    assert "50 runs: 50 ok" in child.before


def test_ctrl_c_while_fetching_credentials_stops_the_fetch_and_runs_nothing(world, tmp_path):
    world.clear_cli_cache()
    world.emulator.update(throttle_rps=2)  # 50 targets would take 25 s
    world.emulator.reset_calls()
    try:
        proc = subprocess.Popen([SSOENV, "exec", "--each", "prod-*/ReadOnlyAccess", "--yes", "--",
                                 "touch", "ran"], env=world.env, cwd=tmp_path, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        cache = world.path(paths.cli_cache_dir)

        def fetched() -> int:
            return len(list(cache.glob("*.json"))) if cache.exists() else 0

        deadline = time.monotonic() + 60
        while fetched() < 5 and time.monotonic() < deadline:  # the threads are fetching
            time.sleep(0.05)
        proc.send_signal(2)
        proc.communicate(timeout=120)
    finally:
        world.emulator.update(throttle_rps=0)
    assert proc.returncode == 130
    assert 5 <= fetched() < 30  # those in flight when Ctrl-C came, not every target's
    assert not (tmp_path / "ran").exists()


def test_a_refused_role_is_skipped_and_reported(world):
    world.clear_cli_cache()
    refused = [dict(a, roles=["Admin"]) if a["accountId"] == "100000000003" else a for a in ORG]
    world.emulator.set_accounts(refused)  # the catalog still lists prod-03/ReadOnlyAccess
    try:
        r = each(world, "--each", "prod-0[2-4]/ReadOnlyAccess", "--yes", "--json", "--",
                 "sh", "-c", "echo ran $SSOENV_ACCOUNT_ID")
        table = each(world, "--each", "prod-0[2-4]/ReadOnlyAccess", "--yes", "--", "true")
    finally:
        world.emulator.set_accounts(ORG)
    assert r.returncode == 1, r.stderr
    runs = {run["account_id"]: run for run in json.loads(r.stdout)["runs"]}
    assert runs["100000000003"]["status"] == "skipped"
    assert "no access to prod-03 (100000000003) as ReadOnlyAccess" in runs["100000000003"]["error"]
    assert runs["100000000002"]["status"] == runs["100000000004"]["status"] == "ok"
    assert "ran 100000000003" not in r.stderr and "ran 100000000004" in r.stderr
    assert table.returncode == 1
    assert re.search(r"^prod-03/ReadOnlyAccess\s+-\s+skipped\s+-\s+no access", table.stderr, re.M)


# --- output -----------------------------------------------------------------------------

def test_prefixes_are_exact_and_streams_kept_apart(world):
    r = each(world, "--each", HOSTILE_ID, "--each", "prod-0[12]/ReadOnlyAccess", "--yes", "--",
             "sh", "-c", 'echo "out $SSOENV_ACCOUNT_ID $AWS_ACCESS_KEY_ID" | cut -c1-21; echo "err $SSOENV_ROLE" >&2')
    assert r.returncode == 0, r.stderr
    labels = ["evil/../$(touch pwned)??[31mred \u2502 x/ReadOnlyAccess", "prod-01/ReadOnlyAccess",
              "prod-02/ReadOnlyAccess"]
    width = max(map(len, labels))
    ids = [HOSTILE_ID, "100000000001", "100000000002"]
    assert sorted(r.stdout.splitlines()) == sorted(f"{lbl.ljust(width)}{SEP}out {i} ASIA"
                                                   for lbl, i in zip(labels, ids, strict=True))
    err_lines = [ln for ln in r.stderr.splitlines() if SEP in ln and ln.endswith("err ReadOnlyAccess")]
    assert sorted(err_lines) == sorted(f"{lbl.ljust(width)}{SEP}err ReadOnlyAccess" for lbl in labels)
    assert "\x1b" not in r.stdout + r.stderr  # no colour without a terminal, no escape from a name


def test_a_last_line_without_newline_is_kept_and_only_newline_ends_a_line(world):
    r = subprocess.run([SSOENV, "exec", "--each", "dev-00/Admin", "--", "printf", "a\\rb\\nlast"], env=world.env,
                       capture_output=True, timeout=120, stdin=subprocess.DEVNULL)  # bytes: \r kept as it is
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"dev-00/Admin{SEP}a\rb\ndev-00/Admin{SEP}last\n".encode()


# Each target writes long lines in small pieces, flushed, while 49 others do the same.
LONG_LINES = r"""
import os, sys, time
mark = os.environ["SSOENV_ACCOUNT_ID"][-2:]
for n in range(3):
    for _ in range(40):
        os.write(1, (mark * 1000).encode())  # 2,000 bytes, no newline yet
        time.sleep(0.001)
    os.write(1, b"\n")
"""


def test_fifty_commands_writing_long_lines_never_interleave(world):
    r = each(world, "--each", "prod-*/ReadOnlyAccess", "--yes", "--parallel", "25", "--",
             sys.executable, "-c", LONG_LINES, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.split("\n")
    assert lines[-1] == ""
    lines = lines[:-1]
    assert len(lines) == 150
    for line in lines:
        label, sep, body = line.partition(SEP)
        mark = label.strip()[5:7]  # prod-NN/ReadOnlyAccess
        assert sep and body == mark * 40000, f"a line cut or mixed: {line[:80]}...{line[-40:]}"


def test_group_prints_each_command_in_one_piece(world):
    script = 'echo "one $SSOENV_ACCOUNT_ID"; sleep 0.3; echo "two $SSOENV_ACCOUNT_ID"'
    r = each(world, "--each", "prod-0*/ReadOnlyAccess", "--yes", "--group", "--parallel", "10", "--",
             "sh", "-c", script)
    assert r.returncode == 0, r.stderr
    bodies = [line.partition(SEP)[2].split() for line in r.stdout.splitlines()]
    assert len(bodies) == 20
    for i in range(0, 20, 2):  # "one X" directly followed by "two X"
        assert bodies[i][0] == "one" and bodies[i + 1] == ["two", bodies[i][1]], r.stdout


def test_output_dir_files_are_exact_with_a_hostile_name(world, tmp_path):
    out = tmp_path / "out"
    r = each(world, "--each", HOSTILE_ID, "--each", "dev-0[01]/Admin", "--yes", "--output-dir", str(out), "--",
             "sh", "-c", 'echo "hello $SSOENV_ACCOUNT_ID"; echo "to stderr" >&2')
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""  # the output is in the files, not on the terminal
    hostile = "evil_.._touch_pwned_31mred_x_ReadOnlyAccess"
    names = {"dev-00_Admin", "dev-01_Admin", hostile}
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}.{ext}" for n in names for ext in ("out", "err"))
    assert (out / f"{hostile}.out").read_text() == f"hello {HOSTILE_ID}\n"
    assert (out / "dev-01_Admin.out").read_text() == "hello 200000000001\n"
    assert (out / "dev-00_Admin.err").read_text() == "to stderr\n"
    assert not (tmp_path / "pwned").exists() and not (world.home / "pwned").exists()


def test_json_summary_and_exit_statuses(world):
    script = 'echo "out"; echo "last words of $SSOENV_ACCOUNT_ID" >&2; test "$SSOENV_ACCOUNT_ID" != 200000000002'
    r = each(world, "--each", "dev-0[1-3]/Admin", "--yes", "--json", "--", "sh", "-c", script)
    assert r.returncode == 1
    doc = json.loads(r.stdout)  # stdout is the JSON document alone
    assert doc["exit_status"] == 1 and doc["interrupted"] is False
    assert doc["counts"] == {"ok": 2, "failed": 1}
    runs = {run["account_id"]: run for run in doc["runs"]}
    assert set(runs) == {"200000000001", "200000000002", "200000000003"}
    failed = runs["200000000002"]
    assert failed["status"] == "failed" and failed["exit_status"] == 1
    assert failed["error"] == "last words of 200000000002"
    assert failed["target"] == "dev-02/Admin" and failed["role"] == "Admin" and failed["region"] is None
    assert isinstance(failed["duration"], float) and failed["stdout"] is None
    assert runs["200000000001"]["status"] == "ok" and runs["200000000001"]["exit_status"] == 0
    assert "TARGET" not in r.stderr and "3 runs: 2 ok, 1 failed" in r.stderr  # --json: no table, the totals
    r = each(world, "--each", "dev-0[1-3]/Admin", "--yes", "--", "sh", "-c", script)
    assert r.returncode == 1
    assert re.search(r"^dev-02/Admin\s+-\s+exit 1\s+\S+\s+last words of 200000000002$", r.stderr, re.M)
    r = each(world, "--each", "dev-0[1-3]/Admin", "--yes", "--", "true")
    assert r.returncode == 0, r.stderr
    assert "3 runs: 3 ok" in r.stderr


def test_fail_fast_starts_nothing_after_a_failure(world):
    r = each(world, "--each", "dev-*", "--yes", "--parallel", "1", "--fail-fast", "--json", "--",
             "sh", "-c", 'test "$SSOENV_ACCOUNT_ID" != 200000000001')
    assert r.returncode == 1
    states = [run["status"] for run in json.loads(r.stdout)["runs"]]
    assert states == ["ok", "failed"] + ["not started"] * 6


def test_regions_run_each_target_once_per_region(world):
    r = each(world, "--each", "dev-00/Admin", "--region", "eu-west-1,us-west-2", "--", "sh", "-c",
             'echo "$AWS_REGION $AWS_DEFAULT_REGION"', env={"AWS_REGION": "ap-south-1"})
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.splitlines()) == [f"dev-00/Admin eu-west-1{SEP}eu-west-1 eu-west-1",
                                             f"dev-00/Admin us-west-2{SEP}us-west-2 us-west-2"]


# --- Ctrl-C -----------------------------------------------------------------------------

def _processes_with(marker: str) -> list[str]:
    """The pids of the `sleep MARKER` commands still alive."""
    found = []
    for pid in os.listdir("/proc"):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if cmdline == f"sleep\0{marker}\0".encode():
            found.append(pid)
    return found


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_stops_every_command_and_prints_the_summary(world, presses):
    """Once: SIGINT to the running commands. Commands that ignore it: the second Ctrl-C kills them."""
    need("tmux")
    marker = f"{400 + presses}.{os.getpid()}"
    trap = "trap '' INT; " if presses == 2 else ""
    tmux = Tmux(world.env).start(write_rc("bash", world.home))
    try:
        tmux.wait(r"^\[\d+\][#$]")
        tmux.line(f"ssoenv exec --each 'prod-*/ReadOnlyAccess' --yes --parallel 4 -- "
                  f"sh -c \"{trap}echo started; sleep {marker}; echo never\"; echo \"status=$?\"")
        tmux.wait(lambda s: s.count("\u2502 started") == 4, timeout=120)
        deadline = time.monotonic() + 60
        while len(_processes_with(marker)) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        for press in range(presses):
            tmux.keys("C-c")
            if press + 1 < presses:
                time.sleep(1)
                assert len(_processes_with(marker)) == 4  # they ignore SIGINT: still there
        screen = tmux.wait(r"status=\d+", timeout=60)
        assert "status=130" in screen
        assert "ssoenv: 50 runs: 4 interrupted, 46 not started" in screen
        assert "never" not in screen
        deadline = time.monotonic() + 30
        while _processes_with(marker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _processes_with(marker) == []
    finally:
        tmux.close()
        for pid in _processes_with(marker):  # a failed run must not leave them to the machine
            os.kill(int(pid), 9)


def test_interrupted_output_files_stay_partial_and_are_named(world, tmp_path):
    marker = f"405.{os.getpid()}"
    out = tmp_path / "out"
    proc = subprocess.Popen([SSOENV, "exec", "--each", "dev-0[0-2]/Admin", "--yes", "--output-dir", str(out), "--",
                             "sh", "-c", f"echo begun; exec sleep {marker}"], env=world.env, text=True,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while len(_processes_with(marker)) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(2)  # SIGINT to ssoenv alone (a script's kill -INT): it passes it on
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        for pid in _processes_with(marker):
            os.kill(int(pid), 9)
    assert proc.returncode == 130, err
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(f"dev-0{n}_Admin.{ext}.partial" for n in range(3) for ext in ("out", "err"))
    assert (out / "dev-01_Admin.out.partial").read_text() == "begun\n"
    for n in range(3):
        assert re.search(rf"^dev-0{n}/Admin\s+-\s+interrupted\s+\S+\s+output incomplete: "
                         rf"{re.escape(str(out / f'dev-0{n}_Admin.out.partial'))}", err, re.M)


def test_colour_and_status_line_at_a_terminal_only(world):
    import pexpect

    def run(extra_env):
        child = pexpect.spawn(SSOENV, ["exec", "--each", "dev-0[01]/Admin", "--yes", "--", "sh", "-c",
                                       "echo first; sleep 1; echo second"], env={**world.env, **extra_env},
                              encoding="utf-8", timeout=60, dimensions=(30, 200))
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0, child.before
        return child.before

    screen = run({})
    colours = set(re.findall(r"\x1b\[(\d+)mdev-0(\d)/Admin\x1b\[0m \u2502 first", screen))
    assert len(colours) == 2 and len({c for c, _ in colours}) == 2  # one colour per target
    assert re.search(r"\r\x1b\[Kssoenv: \d+ done, \d+ running, 0 failed, \d+ left, \d+s", screen)
    plain = run({"NO_COLOR": "1"})
    assert "dev-00/Admin \u2502 first" in plain and not re.search(r"\x1b\[\d+m", plain)


def test_no_command_outlives_a_killed_ssoenv(world):
    """SIGKILL leaves ssoenv no time to clean up: the kernel ends its children (PR_SET_PDEATHSIG)."""
    marker = f"404.{os.getpid()}"
    proc = subprocess.Popen([SSOENV, "exec", "--each", "prod-0*/ReadOnlyAccess", "--yes", "--parallel", "3",
                             "--", "sleep", marker], env=world.env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while len(_processes_with(marker)) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(_processes_with(marker)) == 3
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 30
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = _processes_with(marker)
    for pid in left:  # do not leave them to the next test
        os.kill(int(pid), 9)
    assert left == []


# --- credential endpoint, AWS CLI -----------------------------------------------------------

# A boto3 child of --server: three rounds of credentials, each after the previous expired.
BOTO3_ROUNDS = r"""
import os, time, boto3, datetime
creds = boto3.Session().get_credentials()
for _ in range(3):
    frozen = creds.get_frozen_credentials()
    print(os.environ["SSOENV_ACCOUNT_ID"], frozen.access_key, frozen.secret_key, frozen.token, flush=True)
    time.sleep(4.5)
"""


def _issued_account(world, key_id: str) -> str:
    return world.emulator._center.federation._issued[key_id].account_id


def test_server_serves_each_target_its_own_renewing_credentials(world, tmp_path):
    world.emulator.update(credentials_ttl=4)
    try:
        world.clear_cli_cache()
        out = tmp_path / "out"
        r = each(world, "--each", "dev-0[0-2]/Admin", "--yes", "--server", "--output-dir", str(out), "--",
                 sys.executable, "-c", BOTO3_ROUNDS, timeout=240)
    finally:
        world.emulator.update(credentials_ttl=3600)
    assert r.returncode == 0, r.stderr + "".join(p.read_text() for p in out.glob("*.err"))
    for n in range(3):
        rows = [line.split() for line in (out / f"dev-0{n}_Admin.out").read_text().splitlines()]
        assert len(rows) == 3
        assert len({row[1] for row in rows}) == 3  # renewed after each expiry
        for account, key, *_ in rows:
            assert account == _issued_account(world, key) == f"20000000000{n}"  # its own account's


def test_the_aws_cli_as_the_command_gets_each_targets_account(world, tmp_path):
    need(AWS_CLI)
    world.clear_cli_cache()
    out = tmp_path / "out"
    r = each(world, "--each", "prod-0[5-7]/Admin", "--yes", "--server", "--output-dir", str(out), "--",
             AWS_CLI, "configure", "export-credentials", "--format", "process", timeout=240)
    assert r.returncode == 0, r.stderr + "".join(p.read_text() for p in out.glob("*.err"))
    for n in (5, 6, 7):
        doc = json.loads((out / f"prod-0{n}_Admin.out").read_text())
        assert _issued_account(world, doc["AccessKeyId"]) == f"10000000000{n}"
        assert world.emulator.credentials_valid(doc["AccessKeyId"], doc["SecretAccessKey"], doc["SessionToken"])
