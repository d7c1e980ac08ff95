"""Issue 13: each safety promise of the README, killed by a test when broken.

`scripts/mutate` breaks these promises one at a time in a copy of the code and
checks that a test here (or elsewhere) fails. Through the real interfaces: the
real entry point in its own process, a real terminal (pty) against pipes, botocore
reading what ssoenv wrote, real shells.

Interruptions "at the moment of writing" are deterministic: SSOENV_TEST_PAUSE_WRITE
(see `cache._write_data`) stops the process half-way through writing one file until
the test, having been told through a FIFO that the process is inside that write,
signals or kills it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from interrupt_support import PausedWrite, leftovers
from support import SESSION_CONFIG, ssoenv_subprocess

from ssoenv import cache, paths

ROOT_RO = ("exec", "RootAccount/ReadOnlyAccess", "--")
MEMBER_PROFILE = ("\n[profile member-ro]\nsso_session = corp\nsso_account_id = 222222222222\n"
                  "sso_role_name = ReadOnlyAccess\n")


def in_botocore(code: str) -> subprocess.CompletedProcess:
    """botocore fixes its cache directory from HOME at import: a process of its own."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=dict(os.environ),
                          capture_output=True, text=True, timeout=60)


BOTOCORE_USES_THE_TOKEN = """
    import boto3
    creds = boto3.Session(profile_name="member-ro").get_credentials().get_frozen_credentials()
    print(creds.access_key)
"""


def add_an_account(emulator) -> None:
    from ssoenv.emulator.config import default_accounts

    emulator.update(accounts=default_accounts() + [{"accountId": "444444444444", "accountName": "NewAccount",
                                                     "roles": ["ReadOnlyAccess"]}])


def role_cache_files() -> list[Path]:
    return sorted(paths.cli_cache_dir().glob("*.json"))


# --- interrupted while writing ----------------------------------------------------

def _check_interrupted(sig, status, err, directory: Path) -> None:
    if sig == signal.SIGINT:
        assert status == 130, err
        assert "Traceback" not in err
        assert leftovers(directory) == []  # the temp file is removed on the way out
    else:
        assert status == -signal.SIGKILL


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_login_interrupted_while_writing_the_token_keeps_the_old_one(logged_in, aws_config, tmp_path, sig):
    aws_config.write_text(SESSION_CONFIG + MEMBER_PROFILE)
    token = paths.token_cache_file("corp")
    old = token.read_bytes()
    paused = PausedWrite(tmp_path, token, ["login", "--sso-session", "corp", "--device-code", "--no-browser",
                                           "--force"])
    status, _, err = paused.interrupt(sig)
    _check_interrupted(sig, status, err, token.parent)
    assert token.read_bytes() == old  # never a truncated token
    proc = in_botocore(BOTOCORE_USES_THE_TOKEN)
    assert proc.returncode == 0 and proc.stdout.startswith("ASIA"), proc.stderr


def test_a_paused_login_that_goes_on_writes_a_token_botocore_uses(logged_in, aws_config, tmp_path):
    """The pause itself changes nothing: released, the login completes."""
    aws_config.write_text(SESSION_CONFIG + MEMBER_PROFILE)
    token = paths.token_cache_file("corp")
    old = json.loads(token.read_text())
    paused = PausedWrite(tmp_path, token, ["login", "--sso-session", "corp", "--device-code", "--no-browser",
                                           "--force"])
    status, _, err = paused.finish()
    assert status == 0, err
    new = json.loads(token.read_text())
    assert new["accessToken"] != old["accessToken"]
    logged_in.reset_calls()
    proc = in_botocore(BOTOCORE_USES_THE_TOKEN)
    assert proc.returncode == 0 and proc.stdout.startswith("ASIA"), proc.stderr
    assert logged_in.calls()["GetRoleCredentials"] == 1


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_sync_interrupted_while_writing_the_catalog_keeps_the_old_one(synced, run, tmp_path, sig):
    catalog = paths.catalog_file()
    old = catalog.read_bytes()
    add_an_account(synced)
    status, _, err = PausedWrite(tmp_path, catalog, ["sync"]).interrupt(sig)
    _check_interrupted(sig, status, err, catalog.parent)
    assert catalog.read_bytes() == old
    synced.reset_calls()
    status, out, err = run("list", "--json")
    assert status == 0, err
    assert len(json.loads(out)) == 4 and synced.calls().get("ListAccounts", 0) == 0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_populate_interrupted_while_writing_the_config_keeps_the_old_one(synced, aws_config, tmp_path, sig):
    old = aws_config.read_bytes()
    target = Path(os.path.realpath(aws_config))
    status, _, err = PausedWrite(tmp_path, target, ["populate"]).interrupt(sig)
    _check_interrupted(sig, status, err, aws_config.parent)
    assert aws_config.read_bytes() == old
    # and the next run is not blocked by what the killed one left
    proc = ssoenv_subprocess("populate")
    assert proc.returncode == 0, proc.stderr
    assert aws_config.read_text().startswith(old.decode())


# --- atomic, private, never through a symlink ----------------------------------------

def test_rewrites_replace_the_file_and_never_change_it_in_place(synced, run, aws_config):
    """A reader holding the old file open keeps reading the old, complete bytes."""
    assert ssoenv_subprocess(*ROOT_RO, "true").returncode == 0
    _cached_key_expiring_in(0)  # expired: the next exec fetches new ones
    files = [paths.token_cache_file("corp"), paths.catalog_file(), aws_config, *role_cache_files()]
    held = [(path, path.read_bytes(), open(path, "rb")) for path in files]
    try:
        assert run("login", "--sso-session", "corp", "--device-code", "--no-browser", "--force")[0] == 0
        add_an_account(synced)
        assert run("sync")[0] == 0
        assert run("populate")[0] == 0
        assert ssoenv_subprocess(*ROOT_RO, "true").returncode == 0
        for path, before, fh in held:
            fh.seek(0)
            assert fh.read() == before, path  # the old inode was left alone...
            assert path.read_bytes() != before, path  # ...and a new one took its name
    finally:
        for _, _, fh in held:
            fh.close()


def _modes(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_every_cache_file_is_0600_in_0700_directories(synced, run):
    proc = subprocess.run([sys.executable, "-m", "ssoenv", *ROOT_RO, "true"], env=dict(os.environ),
                          capture_output=True, text=True, timeout=60,
                          preexec_fn=lambda: os.umask(0))  # whatever the umask
    assert proc.returncode == 0, proc.stderr
    files = [paths.token_cache_file("corp"), paths.catalog_file(), *role_cache_files(),
             *[p for p in paths.sso_cache_dir().iterdir() if p.suffix == ".json"]]
    assert len(role_cache_files()) == 1 and len(files) >= 4
    for path in files:
        assert _modes(path) == 0o600, (path, oct(_modes(path)))
    for directory in (paths.sso_cache_dir(), paths.cli_cache_dir(), paths.state_dir()):
        assert _modes(directory) == 0o700, (directory, oct(_modes(directory)))


def test_a_group_readable_cache_directory_is_tightened(synced, run):
    paths.cli_cache_dir().mkdir(parents=True, exist_ok=True)
    os.chmod(paths.cli_cache_dir(), 0o755)
    assert ssoenv_subprocess(*ROOT_RO, "true").returncode == 0
    assert _modes(paths.cli_cache_dir()) == 0o700


def test_a_symlinked_role_cache_file_is_refused_and_its_target_untouched(synced, tmp_path):
    assert ssoenv_subprocess(*ROOT_RO, "true").returncode == 0
    (cached,) = role_cache_files()
    cached.unlink()
    elsewhere = tmp_path / "attacker-readable"
    elsewhere.write_text("not credentials\n")
    cached.symlink_to(elsewhere)
    proc = ssoenv_subprocess(*ROOT_RO, "true")
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith("ssoenv: refusing to write") and "symbolic link" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert cached.is_symlink() and elsewhere.read_text() == "not credentials\n"


def test_a_symlinked_token_file_is_refused(logged_in, run, tmp_path):
    token = paths.token_cache_file("corp")
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_bytes(token.read_bytes())
    token.unlink()
    token.symlink_to(elsewhere)
    before = elsewhere.read_bytes()
    status, _, err = run("login", "--sso-session", "corp", "--device-code", "--no-browser", "--force")
    assert status == 1 and "symbolic link" in err, err
    assert token.is_symlink() and elsewhere.read_bytes() == before


def test_a_symlinked_cache_directory_is_refused(emulator, aws_config, run, home, tmp_path):
    elsewhere = tmp_path / "shared-dir"
    elsewhere.mkdir(mode=0o777)
    (home / ".aws" / "sso").mkdir(mode=0o700)
    paths.sso_cache_dir().symlink_to(elsewhere)
    status, _, err = run("login", "--sso-session", "corp", "--device-code", "--no-browser")
    assert status == 1 and "symbolic link" in err, err
    assert list(elsewhere.iterdir()) == []


# --- ~/.aws/config: every byte ssoenv does not manage ------------------------------------

def test_populate_keeps_every_byte_before_and_after_its_block(synced, run, aws_config):
    assert run("populate")[0] == 0
    text = aws_config.read_text()
    end = text.index("# END ssoenv managed profiles\n") + len("# END ssoenv managed profiles\n")
    after = ("\n# written by hand after the block\n[profile mine]\nregion = ap-south-1\n"
             "credential_process = /bin/echo {}\n\n\n; odd spacing   \n")
    aws_config.write_text(text[:end] + after)
    before = text[:text.index("# BEGIN ssoenv managed profiles")]
    add_an_account(synced)
    assert run("sync")[0] == 0
    status, _, err = run("populate", "--prune")
    assert status == 0, err
    new = aws_config.read_text()
    assert "[profile NewAccount-ReadOnlyAccess]" in new
    assert new.startswith(before) and new.endswith("# END ssoenv managed profiles\n" + after)


# --- no human, no login ---------------------------------------------------------------

def _run_with(argv: list[str], *, stdin_tty: bool, stderr_tty: bool, timeout: float = 60, **env: str):
    """The real entry point with stdin and/or stderr on a real terminal (a pty), the
    rest on pipes; stdout is always a pipe (as under `eval "$(...)"`)."""
    master, slave = os.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "ssoenv", *argv], env={**os.environ, **env},
                                stdin=slave if stdin_tty else subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=slave if stderr_tty else subprocess.PIPE, text=True)
        os.close(slave)
        out, err = proc.communicate(timeout=timeout)
        tty = b""
        os.set_blocking(master, False)
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EAGAIN, or EIO once the last slave is closed
                break
            if not chunk:
                break
            tty += chunk
        return proc.returncode, out, (err or "") + tty.decode(errors="replace")
    finally:
        os.close(master)


EXEC_NOT_LOGGED_IN = ["exec", "--account", "111111111111", "--role", "ReadOnlyAccess", "--", "echo", "ran"]


@pytest.mark.parametrize("stdin_tty, stderr_tty", [(True, False), (False, True), (False, False)],
                         ids=["stdin-only", "stderr-only", "pipes"])
def test_no_login_unless_stdin_and_stderr_are_terminals(emulator, aws_config, stdin_tty, stderr_tty, tmp_path):
    """Not even in a browser that works (a login nobody asked for never opens one)."""
    from login_support import browser_urls, make_browser

    status, out, err = _run_with(EXEC_NOT_LOGGED_IN, stdin_tty=stdin_tty, stderr_tty=stderr_tty,
                                 BROWSER=make_browser(tmp_path))
    assert status == 3, err
    assert "ssoenv login --sso-session corp" in err and out == ""
    assert browser_urls(tmp_path) == []
    assert emulator.calls().get("StartDeviceAuthorization", 0) == 0
    assert emulator.calls().get("CreateToken", 0) == 0
    assert not paths.token_cache_file("corp").exists()


def test_with_a_human_at_a_terminal_the_login_runs(emulator, aws_config):
    status, out, err = _run_with(EXEC_NOT_LOGGED_IN, stdin_tty=True, stderr_tty=True)
    assert status == 0, err
    assert out == "ran\n" and "logging in" in err
    assert emulator.calls()["StartDeviceAuthorization"] == 1


def test_credential_process_never_logs_in_even_on_a_terminal(emulator, aws_config):
    status, out, err = _run_with(["credential-process", "--account", "111111111111", "--role", "ReadOnlyAccess"],
                                 stdin_tty=True, stderr_tty=True)
    assert status == 3 and out == "", err
    assert "ssoenv login --sso-session corp" in err
    assert emulator.calls().get("StartDeviceAuthorization", 0) == 0
    assert emulator.calls().get("RegisterClient", 0) == 0


# --- role credentials: reused while 5 minutes remain ------------------------------------

def _cached_key_expiring_in(seconds: int) -> str:
    (path,) = role_cache_files()
    data = json.loads(path.read_text())
    data["Credentials"]["Expiration"] = cache.format_time(cache.now() + dt.timedelta(seconds=seconds))
    path.write_text(json.dumps(data))
    return data["Credentials"]["AccessKeyId"]


@pytest.mark.parametrize("left, reused", [(6 * 60, True), (4 * 60, False), (60, False)])
def test_cached_role_credentials_are_reused_only_while_5_minutes_remain(synced, left, reused):
    assert ssoenv_subprocess(*ROOT_RO, "true").returncode == 0
    key = _cached_key_expiring_in(left)
    synced.reset_calls()
    proc = ssoenv_subprocess(*ROOT_RO, "sh", "-c", 'echo "$AWS_ACCESS_KEY_ID"')
    assert proc.returncode == 0, proc.stderr
    assert (proc.stdout.strip() == key) == reused
    assert synced.calls().get("GetRoleCredentials", 0) == (0 if reused else 1)


# --- never both a profile and keys ---------------------------------------------------------

CREDENTIAL_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                   "AWS_CREDENTIAL_EXPIRATION", "AWS_SESSION_EXPIRATION")
EVAL_THEN_ENV = {
    "bash": ["bash", "--noprofile", "--norc", "-c", 'eval "$1" && env', "_"],
    "zsh": ["zsh", "-f", "-c", 'eval "$1" && env', "_"],
    "fish": ["fish", "--no-config", "-c", "eval $argv[1]; and env"],
}


def _after_eval(shell: str, statements: str, start: dict[str, str]) -> dict[str, str]:
    import shutil

    from support import missing_tool

    if not shutil.which(shell):
        missing_tool(shell)
    proc = subprocess.run(EVAL_THEN_ENV[shell] + [statements], env={**os.environ, **start},
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return {k: v for k, v in (line.partition("=")[::2] for line in proc.stdout.splitlines())
            if k.startswith(("AWS_", "SSOENV_"))}


STALE = {**{name: "stale" for name in CREDENTIAL_VARS}, "AWS_PROFILE": "stale"}


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_profile_mode_unsets_every_credential_variable(synced, run, aws_config, shell):
    with open(aws_config, "a") as fh:
        fh.write(MEMBER_PROFILE)
    status, out, err = run("use", "member-ro", "--shell", shell)
    assert status == 0, err
    env = _after_eval(shell, out, STALE)
    assert env["AWS_PROFILE"] == "member-ro" and env["SSOENV_MODE"] == "profile"
    assert [name for name in CREDENTIAL_VARS if name in env] == []


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_credentials_mode_unsets_the_profile_and_clear_unsets_all(synced, run, aws_config, shell):
    with open(aws_config, "a") as fh:
        fh.write(MEMBER_PROFILE)
    status, out, err = run("use", "member-ro", "--shell", shell, "--mode", "credentials")
    assert status == 0, err
    env = _after_eval(shell, out, STALE)
    assert "AWS_PROFILE" not in env
    assert all(env[name] not in ("", "stale") for name in CREDENTIAL_VARS)
    status, out, err = run("use", "--clear", "--shell", shell)
    env = _after_eval(shell, out, {**STALE, "SSOENV_ACCOUNT_ID": "1", "SSOENV_MODE": "profile"})
    assert [name for name in ("AWS_PROFILE", *CREDENTIAL_VARS, "SSOENV_ACCOUNT_ID", "SSOENV_MODE")
            if name in env] == []


# --- secrets: never in argv, logs or messages ------------------------------------------------

def _secrets() -> set[str]:
    """Every token, client secret and role secret in the caches right now."""
    found = set()
    for path in [*paths.sso_cache_dir().glob("*.json"), *role_cache_files()]:
        data = json.loads(path.read_text())
        data.update(data.get("Credentials") or {})
        found |= {data[k] for k in ("accessToken", "refreshToken", "clientSecret", "SecretAccessKey",
                                    "SessionToken") if isinstance(data.get(k), str)}
    return found


def test_secrets_never_reach_argv_logs_or_messages(synced, run, aws_config, tmp_path):
    """Every process started (strace -f: execve argv) and every message at -vv --debug,
    across login, sync, a stale list (background sync), exec, a renewal, a refused
    renewal and logout."""
    import shutil

    from support import missing_tool

    if not shutil.which("strace"):
        missing_tool("strace")
    aws_config.write_text(SESSION_CONFIG + MEMBER_PROFILE)
    commands = [
        ["login", "--sso-session", "corp", "--device-code", "--no-browser", "--force"],
        ["sync"],
        [*ROOT_RO, "sh", "-c", "true"],
        ["use", "member-ro", "--shell", "bash"],
        ["refresh", "--sso-session", "corp"],
        ["list"],
        ["credential-process", "--account", "111111111111", "--role", "ReadOnlyAccess"],
        ["refresh", "--sso-session", "corp"],  # refused: the tokens were revoked
        ["logout", "--sso-session", "corp"],
    ]
    seen: set[str] = set(_secrets())
    traces, messages = [], []
    refreshes = 0
    for i, argv in enumerate(commands):
        if argv[0] == "refresh":  # near expiry: a silent renewal, then a refused one
            refreshes += 1
            if refreshes == 2:
                synced.revoke_tokens()
            token = paths.token_cache_file("corp")
            data = json.loads(token.read_text())
            data["expiresAt"] = cache.format_time(cache.now() + dt.timedelta(seconds=60))
            token.write_text(json.dumps(data))
        if argv[0] == "list":  # stale: a background sync starts
            data = json.loads(paths.catalog_file().read_text())
            for record in data["sessions"].values():
                record["fetched_at"] = 0
            paths.catalog_file().write_text(json.dumps(data))
        trace = tmp_path / f"trace-{i}"
        proc = subprocess.run(["strace", "-f", "-qq", "-s", "100000", "-e", "trace=execve", "-o", str(trace),
                               sys.executable, "-m", "ssoenv", "-vv", "--debug", *argv],
                              env=dict(os.environ), capture_output=True, text=True, timeout=120)
        assert proc.returncode == (3 if refreshes == 2 and argv[0] == "refresh" else 0), (argv, proc.stderr)
        seen |= _secrets()
        traces.append(trace.read_text())
        messages.append(proc.stderr)
    assert len(seen) >= 8
    assert any('"sh", "-c", "true"' in t for t in traces)  # strace saw the child...
    assert any('"sync", "--quiet", "--no-login"' in t for t in traces)  # ...and the background sync
    assert "refused" in messages[-2]  # the refused renewal was logged
    for secret in seen:
        for trace in traces:
            assert secret not in trace, secret[:6]
        for text in messages:
            assert secret not in text, secret[:6]
