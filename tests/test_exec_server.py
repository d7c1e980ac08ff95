"""`ssoenv exec --server` and `ssoenv serve`: a container credentials endpoint that
real clients (a boto3 child, Debian's AWS CLI v2) poll while the emulator's role
credentials expire every few seconds, a login that runs out and comes back, the
token check, signals and exit statuses. No timed assertions: generous deadlines."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

from ssoenv.sandbox import Sandbox

sys.path.insert(0, os.path.dirname(__file__))
from support import AWS_CLI, SSOENV, moto_s3, need, shell_sandbox  # noqa: E402

CREDENTIALS_TTL = 4  # seconds: the emulator's role credentials expire many times per test
DEADLINE = 120

# A boto3 child: one line per round, "ok <access key>" or "fail <error>", until stop file.
BOTO3_CHILD = r"""
import os, sys, time, boto3
stop = sys.argv[1]
session = boto3.Session(region_name="us-east-1")
s3 = session.client("s3", endpoint_url=os.environ["TEST_S3"])
while not os.path.exists(stop):
    try:
        buckets = [b["Name"] for b in s3.list_buckets()["Buckets"]]
        c = session.get_credentials().get_frozen_credentials()
        print("ok", c.access_key, c.secret_key, c.token, ",".join(buckets), flush=True)
    except Exception as exc:
        print("fail", str(exc).replace("\n", " "), flush=True)
    time.sleep(0.3)
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = shell_sandbox(tmp_path_factory.mktemp("server-world"))
    w.emulator.update(credentials_ttl=CREDENTIALS_TTL)
    w.clear_cli_cache()
    yield w
    w.close()


@pytest.fixture(scope="module")
def s3(world):
    with moto_s3("ssoenv-server-bucket") as url:
        yield url


class Child:
    """`ssoenv exec --server ...` in the background; its stdout lines in a queue."""

    def __init__(self, world: Sandbox, argv: list[str], env: dict | None = None):
        self.proc = subprocess.Popen([SSOENV, *argv], env={**world.env, **(env or {})}, text=True,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines.put), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr.append), daemon=True).start()

    @staticmethod
    def _pump(stream, put) -> None:
        for line in stream:
            put(line.rstrip("\n"))

    def wait_for(self, predicate, what: str) -> list[str]:
        """Lines read until one satisfies `predicate` (all of them, that one last)."""
        seen = []
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            seen.append(line)
            if predicate(line):
                return seen
        raise AssertionError(f"never saw {what}; got {seen[-5:]}\nstderr: {self.stderr}")

    def finish(self) -> int:
        return self.proc.wait(timeout=DEADLINE)


def _member(world: Sandbox) -> list[str]:
    return ["--account", "222222222222", "--role", "ReadOnlyAccess"]


def test_boto3_child_outlives_many_credential_lifetimes(world, s3, tmp_path):
    stop = tmp_path / "stop"
    child = Child(world, ["exec", "--server", *_member(world), "--", sys.executable, "-c", BOTO3_CHILD, str(stop)],
                  env={"TEST_S3": s3})
    keys: set[str] = set()

    def fresh_and_valid(line: str) -> bool:
        assert line.startswith("ok "), line
        _, key, secret, token, buckets = line.split(" ")
        assert buckets == "ssoenv-server-bucket"
        keys.add(key)
        return len(keys) >= 4

    child.wait_for(fresh_and_valid, "four different role credentials")
    # The emulator issued them: each was a real GetRoleCredentials answer.
    last = child.wait_for(lambda line: line.startswith("ok "), "one more round")[-1].split(" ")
    stop.touch()
    assert child.finish() == 0, child.stderr
    assert last[1].startswith("ASIA")
    assert world.emulator.calls()["GetRoleCredentials"] >= 4
    assert not any("Traceback" in line for line in child.stderr), child.stderr


def test_aws_cli_v2_child_outlives_many_credential_lifetimes(world, s3, tmp_path):
    need(AWS_CLI)
    stop = tmp_path / "stop"
    loop = (f'while [ ! -e "$1" ]; do {AWS_CLI} --endpoint-url "$2" --region us-east-1 s3 ls || exit 9; '
            'echo "round env=${AWS_ACCESS_KEY_ID:-none}/${AWS_PROFILE:-none}"; done')
    before = world.emulator.calls()["GetRoleCredentials"]
    child = Child(world, ["exec", "--server", *_member(world), "--", "sh", "-c", loop, "sh", str(stop), s3])
    rounds = []

    def enough(line: str) -> bool:
        if line.startswith("round"):
            rounds.append(line)
            assert line == "round env=none/none"  # no static keys, no profile: the endpoint only
        else:
            assert "ssoenv-server-bucket" in line, line
        return len(rounds) >= 2 and world.emulator.calls()["GetRoleCredentials"] >= before + 3

    child.wait_for(enough, "three credential renewals under the AWS CLI")
    stop.touch()
    assert child.finish() == 0, child.stderr


def _get(url: str, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_serve_refuses_requests_without_the_token(world):
    proc, env = world.serve(*_member(world))
    try:
        url, token = env["AWS_CONTAINER_CREDENTIALS_FULL_URI"], env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
        assert url.startswith("http://127.0.0.1:")
        status, body = _get(url, {})
        assert status == 401 and "AccessKeyId" not in body and "ASIA" not in body
        status, body = _get(url, {"Authorization": token[:-1] + ("A" if token[-1] != "A" else "B")})
        assert status == 403 and "ASIA" not in body
        status, body = _get(url, {"Authorization": token, "Origin": "https://evil.example"})
        assert status == 403 and "ASIA" not in body
        status, body = _get(url, {"Authorization": token})
        assert status == 200, body
        doc = json.loads(body)
        assert set(doc) == {"AccessKeyId", "SecretAccessKey", "Token", "Expiration", "AccountId"}
        assert world.emulator.credentials_valid(doc["AccessKeyId"], doc["SecretAccessKey"], doc["Token"])
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=DEADLINE)
    assert proc.returncode == 130, err
    assert "stopped serving" in err and "Traceback" not in err
    with pytest.raises(urllib.error.URLError):  # no listener left behind
        urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": token}), timeout=10)


def test_a_revoked_session_fails_clearly_and_recovers_after_login(world, s3, tmp_path):
    stop = tmp_path / "stop"
    child = Child(world, ["exec", "--server", *_member(world), "--", sys.executable, "-c", BOTO3_CHILD, str(stop)],
                  env={"TEST_S3": s3})
    try:
        child.wait_for(lambda line: line.startswith("ok "), "a first success")
        world.emulator.revoke_tokens()
        failed = child.wait_for(lambda line: line.startswith("fail "), "a failure after the revocation")[-1]
        assert "ssoenv login --sso-session demo" in failed, failed
        assert "SecretAccessKey" not in failed
        world.ssoenv("login", "--sso-session", "demo", "--device-code", "--no-browser")
        child.wait_for(lambda line: line.startswith("ok "), "success again after `ssoenv login`")
    finally:
        stop.touch()
    assert child.finish() == 0, child.stderr
    told = [line for line in child.stderr if "ssoenv login" in line]
    assert len(told) == 1, child.stderr  # one line, not one per request
    assert told[0].startswith("ssoenv: credential endpoint: ") and "run: ssoenv login --sso-session demo" in told[0]


URL_AND_WAIT = ('import os, sys, time\n'
                'print(os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"], flush=True)\n'
                'print(os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"], flush=True)\n'
                'time.sleep(120)\n')


def test_signals_reach_the_child_and_the_endpoint_goes_with_it(world):
    child = Child(world, ["exec", "--server", *_member(world), "--", sys.executable, "-c", URL_AND_WAIT])
    url = child.wait_for(lambda line: line.startswith("http://"), "the endpoint's URL")[-1]
    token = child.wait_for(lambda line: True, "the token")[-1]
    assert _get(url, {"Authorization": token})[0] == 200
    child.proc.send_signal(signal.SIGTERM)  # to ssoenv: forwarded to the python child
    assert child.finish() == 128 + signal.SIGTERM
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": token}), timeout=10)


def test_exit_status_and_environment(world):
    show = ('import os, sys; print(" ".join(k for k in ("AWS_CONTAINER_CREDENTIALS_FULL_URI", '
            '"AWS_ACCESS_KEY_ID", "AWS_PROFILE", "SSOENV_MODE") if k in os.environ)); sys.exit(7)')
    env = {"AWS_PROFILE": "demo-member", "AWS_ACCESS_KEY_ID": "AKIASTALE"}
    served = world.ssoenv("exec", "--server", *_member(world), "--", sys.executable, "-c", show, check=False, env=env)
    assert served.returncode == 7, served.stderr
    assert served.stdout.split() == ["AWS_CONTAINER_CREDENTIALS_FULL_URI", "SSOENV_MODE"]
    # exec_server = true makes it the default; --no-server overrides.
    setting = {"SSOENV_EXEC_SERVER": "true"}
    by_default = world.ssoenv("exec", *_member(world), "--", sys.executable, "-c", show, check=False, env=setting)
    assert by_default.stdout.split() == ["AWS_CONTAINER_CREDENTIALS_FULL_URI", "SSOENV_MODE"]
    static = world.ssoenv("exec", "--no-server", *_member(world), "--", sys.executable, "-c", show,
                          check=False, env=setting)
    assert static.stdout.split() == ["AWS_ACCESS_KEY_ID", "SSOENV_MODE"]
    missing = world.ssoenv("exec", "--server", *_member(world), "--", "no-such-command-xyz", check=False)
    assert missing.returncode == 127 and missing.stderr == "ssoenv: command not found: no-such-command-xyz\n"
    bad = world.ssoenv("exec", "--server", *_member(world), "--", "true", check=False,
                       env={"SSOENV_EXEC_SERVER": "maybe"})
    assert bad.returncode == 0  # --server given: the setting is not read
    bad = world.ssoenv("exec", *_member(world), "--", "true", check=False, env={"SSOENV_EXEC_SERVER": "maybe"})
    assert bad.returncode == 1 and "setting exec_server must be true or false" in bad.stderr


def test_no_boto3_when_the_cached_credentials_are_good(world):
    world.emulator.update(credentials_ttl=3600)
    try:
        world.clear_cli_cache()
        world.ssoenv("exec", *_member(world), "--", "true")  # warm the role cache
        probe = world.ssoenv("exec", "--server", *_member(world), "--", "true",
                             env={"PYTHONPROFILEIMPORTTIME": "1"})
    finally:
        world.emulator.update(credentials_ttl=CREDENTIALS_TTL)
        world.clear_cli_cache()
    imported = {line.split("|")[-1].strip() for line in probe.stderr.splitlines() if line.startswith("import time:")}
    assert "ssoenv.credserver" in imported
    assert not {"boto3", "botocore", "prompt_toolkit", "http.server", "hashlib", "subprocess"} & imported


def test_the_command_gets_default_signal_dispositions(world):
    """Python ignores SIGPIPE; `yes | head` under the endpoint must end as in a shell."""
    for server in ("--server", "--no-server"):
        out = world.ssoenv("exec", server, *_member(world), "--", "sh", "-c", "grep SigIgn /proc/self/status")
        ignored = int(out.stdout.split()[1], 16)
        assert not ignored & (1 << (signal.SIGPIPE - 1)), (server, out.stdout)
        assert not ignored & (1 << (signal.SIGXFSZ - 1)), (server, out.stdout)


def test_no_login_means_no_command(logged_in, run, home, tmp_path):
    """Without a terminal and without a usable token: exit 3 before the command starts."""
    logged_in.revoke_tokens()
    marker = tmp_path / "ran"
    status, out, err = run("exec", "--server", "--account", "222222222222", "--role", "ReadOnlyAccess",
                           "--", "touch", str(marker))
    assert status == 3 and out == "" and not marker.exists()
    assert "run: ssoenv login --sso-session corp" in err and "Traceback" not in err
    status, out, err = run("serve", "--shell", "bash", "--account", "222222222222", "--role", "ReadOnlyAccess")
    assert status == 3 and out == ""


def test_usage_errors(aws_config, run):
    status, _, err = run("exec", "--server", "--no-server", "--", "true")
    assert status == 2 and err.splitlines()[-1].startswith("ssoenv: exec: argument --no-server")
    status, out, err = run("serve", "--shell", "tcsh", "x")
    assert status == 2 and out == ""
    status, out, err = run("serve", "--shell", "bash")
    assert status == 2 and out == "" and "no account/role is active" in err
