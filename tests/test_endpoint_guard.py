"""The credential endpoint nobody else can use and the command that cannot outlive it
(issues 17 and 18): `ssoenv exec --server` / `ssoenv serve` against the emulator over
real HTTP, with real boto3 children. No timed assertions: generous deadlines, and
structural checks (a request answered while the renewal is provably still blocked;
the endpoint's threads and descriptors counted under a flood of connections)."""

from __future__ import annotations

import ast
import hmac
import http.client
import inspect
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from support import SSOENV, Tmux, need, shell_sandbox, write_rc  # noqa: E402

from ssoenv import credserver  # noqa: E402

DEADLINE = 120
MEMBER = ["--account", "222222222222", "--role", "ReadOnlyAccess"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = shell_sandbox(tmp_path_factory.mktemp("endpoint-guard"))
    yield w
    w.close()


def wait_until(predicate, what: str, limit: float = DEADLINE):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"never saw {what}")


def gone(pid: int) -> bool:
    """The process ended (a zombie counts: it runs no code and holds no credentials)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def request(port: int, headers: dict[str, str], host: str = "127.0.0.1") -> tuple[int, str]:
    conn = http.client.HTTPConnection(host, port, timeout=60)
    conn.putrequest("GET", credserver.PATH, skip_host="Host" in headers, skip_accept_encoding=True)
    for name, value in headers.items():
        conn.putheader(name, value)
    conn.endheaders()
    response = conn.getresponse()
    body = response.read().decode()
    conn.close()
    return response.status, body


class Served:
    """`ssoenv serve` in the background: its URL, port and token."""

    def __init__(self, world, *argv: str):
        self.proc, env = world.serve(*(argv or MEMBER))
        self.url = env["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
        self.token = env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
        self.port = int(self.url.split(":")[2].split("/")[0])

    def get(self, **extra: str) -> tuple[int, str]:
        return request(self.port, {"Host": f"127.0.0.1:{self.port}", "Authorization": self.token, **extra})

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=DEADLINE)
        return err


# --- where it listens, and who it answers --------------------------------------------

def test_the_endpoint_listens_on_127_0_0_1_only(world):
    """Another loopback address reaches a socket bound to all interfaces, never one
    bound to 127.0.0.1."""
    served = Served(world)
    try:
        assert served.url.startswith("http://127.0.0.1:")
        assert served.get()[0] == 200
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.2", served.port), timeout=30).close()
    finally:
        served.stop()


def test_only_its_own_host_name_and_no_browser(world):
    served = Served(world)
    try:
        ok, body = served.get()
        assert ok == 200, body
        status, body = served.get(Host=f"localhost:{served.port}")
        assert status == 200, body
        for bad_host in ("evil.example", f"evil.example:{served.port}", f"127.0.0.1:{served.port + 1}", ""):
            status, body = served.get(Host=bad_host)
            assert status == 403 and "ASIA" not in body, (bad_host, status, body)
        # DNS rebinding: the browser sends the attacker's name; a fetch() sends Sec-Fetch-*; a form Origin.
        for header, value in (("Sec-Fetch-Site", "cross-site"), ("Sec-Fetch-Site", "none"),
                              ("Sec-Fetch-Mode", "no-cors"), ("Origin", "http://127.0.0.1:8000")):
            status, body = served.get(**{header: value})
            assert status == 403 and "ASIA" not in body, (header, value, status, body)
    finally:
        served.stop()


def test_the_token_is_compared_in_constant_time():
    """Structural, by necessity: no behaviour test can see a timing difference reliably.
    The Authorization header is compared with hmac.compare_digest (credserver takes the
    constant-time C function hmac falls back to, `_operator._compare_digest`, to avoid
    importing OpenSSL) and the token is never compared with == or !=."""
    import _operator

    from ssoenv import fanout

    assert credserver.compare_digest in (hmac.compare_digest, _operator._compare_digest)
    # the one place a token is checked: Endpoint.source_for, and the override of
    # `exec --each --server` (one token per target); answer() and the reader only call it
    for function, token in ((credserver.Endpoint.source_for, "self.token"),
                            (fanout._many_endpoint_class().source_for, "token")):
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
        calls = [node for node in ast.walk(tree)
                 if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("compare_digest")]
        assert len(calls) == 1 and token in ast.unparse(calls[0]), ast.unparse(tree)
    for function in (credserver.Endpoint.source_for, fanout._many_endpoint_class().source_for,
                     credserver.Endpoint.answer, credserver.Endpoint._may_wait):
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
        compared = [ast.unparse(node) for node in ast.walk(tree) if isinstance(node, ast.Compare)
                    and any(isinstance(op, (ast.Eq, ast.NotEq, ast.In, ast.NotIn)) for op in node.ops)]
        assert not [c for c in compared if "token" in c or "given" in c or "authorization" in c], compared
    # a dict lookup by the given token is no constant-time compare
    assert "self.sources.get(" not in inspect.getsource(fanout._many_endpoint_class)


# --- idle connections ---------------------------------------------------------------------

BOTO3_WHEN_TOLD = r"""
import os, sys, time, boto3
go = sys.argv[1]
print("ready", os.getpid(), os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"], flush=True)
while not os.path.exists(go):
    time.sleep(0.05)
try:
    c = boto3.Session(region_name="us-east-1").get_credentials().get_frozen_credentials()
    print("ok", c.access_key, c.secret_key, c.token, flush=True)
except Exception as exc:
    print("fail", type(exc).__name__, str(exc).replace("\n", " "), flush=True)
"""


def _limit_descriptors():
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))  # a desktop's `ulimit -n`
    os.setsid()


@pytest.fixture
def descriptors_for_2000_connections():
    """This process holds the 2,000 connections: raise its own limit (a desktop's is 1024)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2500 if hard == resource.RLIM_INFINITY else min(2500, hard)
    if wanted < 2100:
        pytest.skip(f"the hard limit on open files ({hard}) is below 2,000 connections")
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_2000_idle_connections_neither_starve_the_child_nor_cost_a_thread_each(world, tmp_path,
                                                                                descriptors_for_2000_connections):
    go = tmp_path / "go"
    proc = subprocess.Popen([SSOENV, "exec", "--server", *MEMBER, "--", sys.executable, "-c", BOTO3_WHEN_TOLD,
                             str(go)], env=world.env, text=True, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, preexec_fn=_limit_descriptors)
    held: list[socket.socket] = []
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline().split()
        assert ready[:1] == ["ready"], (ready, proc.stderr.read() if proc.poll() is not None else "")
        port = int(ready[2].split(":")[2].split("/")[0])
        for index in range(2000):  # idle ones, and slow ones stuck in the middle of a head
            conn = socket.create_connection(("127.0.0.1", port), timeout=60)
            if index % 2:
                conn.sendall(b"GET /ssoenv/credentials HTTP/1.1\r\nHost: 127.0.0.1")
            held.append(conn)
        with open(f"/proc/{proc.pid}/status") as fh:
            threads = int(next(line for line in fh if line.startswith("Threads:")).split()[1])
        descriptors = len(os.listdir(f"/proc/{proc.pid}/fd"))
        go.touch()
        answer = proc.stdout.readline().split()
    finally:
        go.touch()
        for conn in held:
            conn.close()
    assert proc.wait(timeout=DEADLINE) == 0
    assert answer[:1] == ["ok"], answer
    assert world.emulator.credentials_valid(*answer[1:4])
    assert threads <= 8, threads  # a thread per connection would be 2,000
    assert descriptors <= credserver.MAX_PENDING + 32, descriptors


def test_a_request_head_has_a_short_total_deadline(world):
    served = Served(world)
    try:
        slow = socket.create_connection(("127.0.0.1", served.port), timeout=DEADLINE)
        slow.sendall(b"GET /ssoenv/credentials HTTP/1.1\r\n")
        drip = threading.Event()

        def dripping():  # a byte now and then: each read is quick, the whole head never ends
            while not drip.wait(0.2):
                try:
                    slow.sendall(b"X")
                except OSError:
                    return

        threading.Thread(target=dripping, daemon=True).start()
        try:
            assert slow.recv(100) == b""  # closed by the endpoint, no answer
        finally:
            drip.set()
            slow.close()
        assert served.get()[0] == 200
    finally:
        served.stop()


# --- renewal ahead of expiry --------------------------------------------------------------

def test_still_valid_credentials_are_served_while_the_renewal_is_slow(world):
    """The renewal's GetRoleCredentials is held inside the emulator until the test lets it
    go; a request made meanwhile is answered (with the credentials still valid) before
    that. Only a request with nothing valid would wait."""
    world.emulator.update(credentials_ttl=30)
    world.clear_cli_cache()
    served = Served(world)
    entered, release = threading.Event(), threading.Event()
    try:
        status, body = served.get()
        first = json.loads(body)
        expires = credserver.cache.parse_time(first["Expiration"])

        def left() -> float:
            return (expires - credserver.cache.now()).total_seconds()

        wait_until(lambda: left() < 14, "the renewal window", limit=60)  # renewal under 15 s left of 30
        world.emulator.before_next("GetRoleCredentials", lambda: (entered.set(), release.wait(DEADLINE)))
        answers: list[tuple[int, str]] = []
        asking = threading.Thread(target=lambda: answers.append(served.get()), daemon=True)
        asking.start()
        assert entered.wait(DEADLINE), "no renewal started"
        asking.join(DEADLINE)
        answered_during_renewal = list(answers)
        release.set()
        assert answered_during_renewal, "the request waited for the renewal"
        status, body = answered_during_renewal[0]
        assert status == 200 and json.loads(body)["AccessKeyId"] == first["AccessKeyId"]
        renewed = wait_until(lambda: (lambda d: d if d["AccessKeyId"] != first["AccessKeyId"] else None)(
            json.loads(served.get()[1])), "the renewed credentials")
        assert world.emulator.credentials_valid(renewed["AccessKeyId"], renewed["SecretAccessKey"], renewed["Token"])
    finally:
        release.set()
        served.stop()
        world.emulator.update(credentials_ttl=3600)
        world.clear_cli_cache()


# --- the child: signals, and never outliving ssoenv -----------------------------------------

# Takes its signals with sigtimedwait (each one consumed the moment it arrives, so a
# second delivery a moment later is counted, not merged into the first), one line each.
SIGNAL_CHILD = r"""
import os, signal, sys, time
names = sys.argv[1].split(",")
sigs = {getattr(signal, n) for n in names}
signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
seen = {n: 0 for n in names}
print("ready", os.getpid(), os.getpgrp(), flush=True)
quiet_since = None
while True:
    info = signal.sigtimedwait(sigs, 0.02)
    if info is not None:
        name = signal.Signals(info.si_signo).name
        seen[name] += 1
        print("got", name, flush=True)
        quiet_since = None
    elif os.path.exists(sys.argv[2]):
        quiet_since = quiet_since or time.monotonic()
        if time.monotonic() - quiet_since > 1:  # a second delivery of the last signal would be counted
            break
print("counts", " ".join(f"{n}={seen[n]}" for n in names), flush=True)
sys.exit(int(sys.argv[3]))
"""

SIGNALS = ("SIGHUP", "SIGUSR1", "SIGUSR2", "SIGTERM", "SIGINT", "SIGWINCH")


class Lines:
    """The words of each stdout line of `proc`, each waited for at most `limit` seconds."""

    def __init__(self, proc, limit: float = 60):
        import queue

        self.proc, self.limit = proc, limit
        self.queue: queue.Queue[list[str] | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.queue.put(line.split())
        self.queue.put(None)

    def next(self) -> list[str]:
        import queue

        try:
            words = self.queue.get(timeout=self.limit)
        except queue.Empty:
            raise AssertionError(f"no line from the command within {self.limit} s") from None
        if words is None:
            raise AssertionError(f"ssoenv ended ({self.proc.wait()}): {self.proc.stderr.read()}")
        return words


def test_every_signal_reaches_the_child_once_and_its_status_comes_back(world, tmp_path):
    """No terminal (a CI job): ssoenv passes each signal on once; the child's status is returned."""
    stop = tmp_path / "stop"
    proc = subprocess.Popen([SSOENV, "exec", "--server", *MEMBER, "--", sys.executable, "-c", SIGNAL_CHILD,
                             ",".join(SIGNALS), str(stop), "42"], env=world.env, text=True,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    lines = Lines(proc)
    try:
        assert lines.next()[0] == "ready"
        for name in SIGNALS:
            proc.send_signal(getattr(signal, name))
            assert lines.next() == ["got", name]
    finally:
        stop.touch()
    counts = lines.next()
    assert counts == ["counts", *(f"{name}=1" for name in SIGNALS)], counts
    assert proc.wait(timeout=DEADLINE) == 42, proc.stderr.read() if proc.stderr else ""



def test_one_sigint_under_timeout(world, tmp_path):
    """`timeout -s INT` signals its whole process group as well as ssoenv: the child
    must still get exactly one SIGINT."""
    stop = tmp_path / "stop"
    proc = subprocess.Popen(["timeout", "-s", "INT", "600", SSOENV, "exec", "--server", *MEMBER, "--",
                             sys.executable, "-c", SIGNAL_CHILD, "SIGINT", str(stop), "0"], env=world.env, text=True,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    lines = Lines(proc)
    try:
        ready = lines.next()
        assert ready[0] == "ready"
        assert int(ready[2]) != proc.pid  # not in the process group timeout signals (it leads it)
        proc.send_signal(signal.SIGINT)  # timeout passes it on as it does when its time is up
        assert lines.next() == ["got", "SIGINT"]
    finally:
        stop.touch()
    assert lines.next() == ["counts", "SIGINT=1"]
    proc.wait(timeout=DEADLINE)


def test_the_child_does_not_outlive_a_killed_ssoenv(world, tmp_path):
    """kill -9 of ssoenv: the kernel ends the child (PR_SET_PDEATHSIG) before anything
    else can take the endpoint's port."""
    stop = tmp_path / "stop"
    proc = subprocess.Popen([SSOENV, "exec", "--server", *MEMBER, "--", sys.executable, "-c", SIGNAL_CHILD,
                             "SIGTERM", str(stop), "0"], env=world.env, text=True, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        ready = Lines(proc).next()
        assert ready[0] == "ready"
        child = int(ready[1])
        proc.kill()
        proc.wait(timeout=DEADLINE)
        wait_until(lambda: gone(child), f"the end of the child {child}")
    finally:
        stop.touch()


def test_what_the_command_leaves_behind_ends_with_it(world, tmp_path):
    """A background process the command started (in its process group) does not keep the
    endpoint's URL and token alive once the command and ssoenv are done."""
    leftover = tmp_path / "leftover"
    script = f'sleep 300 & echo $! > "{leftover}"'
    done = world.ssoenv("exec", "--server", *MEMBER, "--", "sh", "-c", script, check=False)
    assert done.returncode == 0, done.stderr
    pid = int(Path(leftover).read_text())
    try:
        wait_until(lambda: gone(pid), f"the end of the background process {pid}")
    finally:
        if not gone(pid):
            os.kill(pid, signal.SIGKILL)


# --- what would outrank the endpoint -----------------------------------------------------------

OUTRANKING = [
    ("config", "[default]\nregion = us-east-1\ncredential_process = /bin/false\n", "credential_process"),
    ("config", "[profile default]\nsso_session = demo\nsso_account_id = 111111111111\n"
               "sso_role_name = AdministratorAccess\n", "sso_account_id"),
    ("config", "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = s\n", "aws_access_key_id"),
    ("config", "[default]\nrole_arn = arn:aws:iam::333333333333:role/x\nsource_profile = demo-member\n", "role_arn"),
    ("credentials", "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = s\n", "aws_access_key_id"),
]


@pytest.mark.parametrize("where,text,key", OUTRANKING, ids=[f"{w}-{k}" for w, _, k in OUTRANKING])
def test_a_default_profile_that_outranks_the_endpoint_is_refused(world, tmp_path, where, text, key):
    config = Path(world.env["AWS_CONFIG_FILE"])
    credentials = Path(world.env["AWS_SHARED_CREDENTIALS_FILE"])
    original = config.read_text()
    target = config if where == "config" else credentials
    target.write_text((original + "\n" if where == "config" else "") + text)
    marker = tmp_path / "ran"
    try:
        ran = world.ssoenv("exec", "--server", *MEMBER, "--", "touch", str(marker), check=False)
        served = world.ssoenv("serve", "--shell", "bash", *MEMBER, check=False)
    finally:
        config.write_text(original)
        credentials.unlink(missing_ok=True)
    assert ran.returncode == 1 and not marker.exists()
    line = ran.stderr.strip()
    assert len(line.splitlines()) == 1, ran.stderr
    assert str(target) in line and "[default]" in line and key in line and "credential endpoint" in line
    assert "named profile" in line or "rename the section" in line
    assert served.returncode == 1 and served.stdout == "" and served.stderr == ran.stderr


def test_a_default_profile_without_credentials_is_fine(world, tmp_path):
    config = Path(world.env["AWS_CONFIG_FILE"])
    original = config.read_text()
    config.write_text(original + "\n[default]\nregion = eu-west-1\noutput = json\n")
    try:
        ran = world.ssoenv("exec", "--server", *MEMBER, "--", "true", check=False)
    finally:
        config.write_text(original)
    assert ran.returncode == 0, ran.stderr


# --- the account's name ------------------------------------------------------------------------

SHOW_NAME = 'printf "%s %s\\n" "$SSOENV_ACCOUNT_NAME" "$SSOENV_ACCOUNT_ID"'


@pytest.mark.parametrize("how", [["--server"], ["--no-server"]])
@pytest.mark.parametrize("target", [["demo-member"], MEMBER, ["MemberAccount/ReadOnlyAccess"]])
def test_the_account_name_not_its_id(world, how, target):
    shown = world.ssoenv("exec", *how, *target, "--", "sh", "-c", SHOW_NAME)
    assert shown.stdout.split() == ["MemberAccount", "222222222222"], shown


def test_serve_names_the_account(world):
    served = Served(world, "demo-member")
    try:
        said = served.proc.stderr.readline()  # once it is said, it serves (and a signal stops it cleanly)
    finally:
        served.stop()
    assert "serving credentials for MemberAccount/ReadOnlyAccess" in said, said


# --- in a real shell (tmux) --------------------------------------------------------------------

@pytest.fixture
def tmux_shell(world):
    need("tmux")
    started: list[Tmux] = []

    def start(shell: str) -> tuple[Tmux, list[str]]:
        need(shell)
        tmux = Tmux(dict(world.env))
        started.append(tmux)
        argv = write_rc(shell, world.home)
        tmux.start(argv)
        tmux.wait(r"\[0\](#|\$|>|%) *$")
        return tmux, argv

    yield start
    for tmux in started:
        tmux.close()


COUNT = "env | grep -c '^AWS_CONTAINER_' | sed 's/^/{tag}=/'"


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_clear_or_switch_in_a_server_subshell_leaves_no_endpoint_behind(tmux_shell, shell):
    """`ssoenv exec --server TARGET -- SHELL`: its prompt names the account; `use --clear`
    and a switch to another target there unset the endpoint's URL and token."""
    tmux, argv = tmux_shell(shell)
    for then, tag in (("ssoenv use --clear", "cleared"),
                      ("ssoenv use --account 111111111111 --role ReadOnlyAccess", "switched")):
        tmux.line(f"ssoenv exec --server {' '.join(MEMBER)} -- {' '.join(argv)}")
        tmux.wait(r"MemberAccount/ReadOnlyAccess.*\[0\](#|\$|>|%) *$")
        screen = tmux.run(COUNT.format(tag=f"{tag}-before"))
        assert f"{tag}-before=2" in screen, screen
        tmux.run(then)
        screen = tmux.run(COUNT.format(tag=f"{tag}-after"))
        assert f"{tag}-after=0" in screen, screen
        tmux.line("exit")
        tmux.run("clear")


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_one_ctrl_c_is_one_sigint_with_the_stdio_redirected(tmux_shell, world, tmp_path, shell):
    """Ctrl-C in a terminal reaches the whole foreground job, the command included; with
    its stdio redirected ssoenv must still see the terminal and not send a second one."""
    log, stop = tmp_path / "log", tmp_path / "stop"
    script = tmp_path / "child.py"
    script.write_text(SIGNAL_CHILD)
    tmux, _ = tmux_shell(shell)
    status = "$status" if shell == "fish" else "$?"
    tmux.line(f"ssoenv exec --server {' '.join(MEMBER)} -- {sys.executable} {script} SIGINT {stop} 0 "
              f">{log} 2>&1 </dev/null; echo status={status}")
    wait_until(lambda: log.exists() and "ready" in log.read_text(), "the child ready")
    presses = 5  # a second SIGINT may merge into the first one (both pending at once): try a few times
    for press in range(1, presses + 1):
        tmux.keys("C-c")
        wait_until(lambda n=press: log.read_text().count("got SIGINT") >= n, f"SIGINT number {press} in the child")
        time.sleep(credserver.SAME_EVENT + 0.1)  # a Ctrl-C of its own, not a repeat of the last
    stop.touch()
    tmux.wait(r"status=0\s*$")
    assert f"counts SIGINT={presses}" in log.read_text(), log.read_text()


def test_what_the_command_leaves_behind_ends_with_it_in_a_terminal(tmux_shell, tmp_path):
    """In a terminal the command shares ssoenv's process group; what it leaves running
    (an orphan, reparented to ssoenv as its reaper) still ends with ssoenv."""
    leftover = tmp_path / "leftover"
    tmux, _ = tmux_shell("bash")
    tmux.run(f"ssoenv exec --server {' '.join(MEMBER)} -- sh -c 'sleep 300 & echo $! > {leftover}'; "
             "echo status=$?")
    tmux.wait(r"^status=0")
    pid = int(leftover.read_text())
    try:
        wait_until(lambda: gone(pid), f"the end of the background process {pid}")
    finally:
        if not gone(pid):
            os.kill(pid, signal.SIGKILL)


def test_a_signal_ignored_by_ssoenv_stays_ignored_in_the_command(world):
    """Under `nohup` (SIGHUP ignored) the command must not die of SIGHUP because ssoenv passes
    signals on: what ssoenv inherited as ignored, the command inherits as ignored."""
    ignore_hup = lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN)  # noqa: E731
    out = subprocess.run([SSOENV, "exec", "--server", *MEMBER, "--", "sh", "-c", "grep SigIgn /proc/self/status"],
                         env=world.env, capture_output=True, text=True, timeout=DEADLINE, preexec_fn=ignore_hup)
    ignored = int(out.stdout.split()[1], 16)
    assert ignored & (1 << (signal.SIGHUP - 1)), out
    assert not ignored & (1 << (signal.SIGPIPE - 1)) and not ignored & (1 << (signal.SIGTERM - 1)), out
