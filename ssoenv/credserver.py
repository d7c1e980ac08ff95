"""A container credentials endpoint on 127.0.0.1: credentials that outlive their hour.

botocore, the AWS CLI and the other SDKs read `AWS_CONTAINER_CREDENTIALS_FULL_URI`
(http is allowed for loopback only) and send `AWS_CONTAINER_AUTHORIZATION_TOKEN`
back in the Authorization header; they come back for new credentials before the
ones they hold expire. The endpoint answers from memory while the role credentials
have time left and fetches new ones (`creds.get`: the shared role cache, then the
portal, renewing the SSO token silently when a refresh token allows) when they
run short. When only a login would help, it answers 503 with a message the SDKs
show, says once on stderr to run `ssoenv login`, and serves again after that login.

A tiny HTTP/1.1 server on a raw socket (http.server costs more to import than all
of `exec` otherwise does): one request per connection, GET only, 16 KiB of headers.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading
import time

from ssoenv import cache, switch
from ssoenv.errors import ExitStatus, SsoenvError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hot paths
if TYPE_CHECKING:
    from ssoenv.shapes import RoleCredentials as Credentials  # (RoleCredentials below is the renewing holder)


try:  # what hmac.compare_digest is, without importing OpenSSL (hashlib) on the exec path
    from _operator import _compare_digest as compare_digest
except ImportError:  # pragma: no cover - other interpreters
    from hmac import compare_digest  # type: ignore[no-redef]  # the same function, by its public name

REFRESH_AHEAD = 16 * 60  # botocore renews under 15 min left: hand out more than that
STILL_USABLE = 60  # credentials with less left than this are not handed out while renewal is possible
RETRY_AFTER = 10  # seconds between two background renewals that failed
MAX_HEADER = 16 * 1024
MAX_PENDING = 128  # connections whose request head has not arrived yet; the oldest goes first
HEAD_DEADLINE = 2.0  # seconds for a whole request head (a local SDK needs microseconds)
PATH = switch.SERVER_PATH
URI_VAR, TOKEN_VAR = switch.CONTAINER_VARS
# What a child of `exec --server` must not inherit: each would win over (or fight) the endpoint.
SHADOWING_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                  "AWS_CREDENTIAL_EXPIRATION", "AWS_SESSION_EXPIRATION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
                  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                  "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CREDENTIAL_FILE")
# Signals the terminal sends to its whole foreground process group (the child's too).
TERMINAL_SIGNALS = ("SIGINT", "SIGQUIT", "SIGWINCH")
FORWARDED_SIGNALS = ("SIGTERM", "SIGHUP", "SIGUSR1", "SIGUSR2") + TERMINAL_SIGNALS


def _seconds_left(creds: Credentials | None) -> float:
    when = cache.parse_time(creds.get("Expiration", "")) if creds else None
    return (when - cache.now()).total_seconds() if when else float("-inf")


class RoleCredentials:
    """The role credentials of one entry, renewed in the background before they run short.

    A request is answered at once while the credentials held have more than
    `_floor()` left (a renewal starts, in a thread of its own, once they have less
    than `_renew_at()`); only a request that finds nothing usable waits for a fetch.
    """

    def __init__(self, config, entry, first: Credentials | None = None):
        self._config, self._entry = config, entry
        self._lock = threading.Lock()  # guards the fields; never held over the network
        self._fetching = threading.Lock()  # one fetch at a time
        self._creds = first
        self._lifetime = _seconds_left(first)
        self._problem: str | None = None
        self._renewing = False
        self._next_try = 0.0

    def _renew_at(self) -> float:
        """Seconds left under which to renew: REFRESH_AHEAD, or half the lifetime of
        credentials too short for that (a role session is at least an hour; the
        emulator's may be seconds)."""
        return min(REFRESH_AHEAD, max(self._lifetime, 0) / 2)

    def _floor(self) -> float:
        """Seconds left under which the credentials held are not handed out."""
        return min(STILL_USABLE, self._renew_at() / 2)

    def ready(self) -> bool:
        """Whether current() answers without waiting for the network."""
        return _seconds_left(self._creds) > self._floor()

    def current(self) -> Credentials:
        """Credentials to hand out; SsoenvError when none can be had."""
        with self._lock:
            held, left = self._creds, _seconds_left(self._creds)
            if held is not None and left > self._floor():
                if left < self._renew_at() and not self._renewing and time.monotonic() >= self._next_try:
                    self._renewing = True
                    threading.Thread(target=self._renew_in_background, name="ssoenv-renewal", daemon=True).start()
                return held
        with self._fetching:  # nothing usable: wait for a renewal under way, or fetch
            held = self._creds
            if held is not None and _seconds_left(held) > self._floor():
                return held
            return self._fetch()

    def _renew_in_background(self) -> None:
        try:
            with self._fetching:
                if _seconds_left(self._creds) >= self._renew_at():
                    return  # a waiting request fetched them meanwhile
                self._fetch()
        except SsoenvError:
            with self._lock:
                self._next_try = time.monotonic() + min(RETRY_AFTER, max(self._renew_at() / 4, 0.5))
        finally:
            with self._lock:
                self._renewing = False

    def _fetch(self) -> Credentials:
        """New credentials from the role cache or the portal (the caller holds _fetching)."""
        from ssoenv import creds as creds_mod

        try:
            fresh = creds_mod.get(self._config, self._entry, interactive=False, min_valid=self._renew_at())
        except SsoenvError as exc:
            self._report(type(exc).__name__, exc.message)
            raise
        except Exception as exc:  # noqa: BLE001 - a network error must not kill the endpoint
            self._report(type(exc).__name__, f"cannot fetch role credentials ({type(exc).__name__})")
            raise SsoenvError(f"cannot fetch role credentials ({type(exc).__name__})") from None
        with self._lock:
            self._problem = None
            self._creds, self._lifetime = fresh, _seconds_left(fresh)
        return fresh

    def _report(self, kind: str, message: str) -> None:
        """One line on the terminal per kind of problem, not one per request."""
        if kind != self._problem:
            self._problem = kind
            print(f"ssoenv: credential endpoint: {message}", file=sys.stderr, flush=True)


def credentials_document(creds: Credentials) -> dict:
    doc = {"AccessKeyId": creds["AccessKeyId"], "SecretAccessKey": creds["SecretAccessKey"],
           "Token": creds["SessionToken"], "Expiration": creds["Expiration"]}
    if creds.get("AccountId"):
        doc["AccountId"] = creds["AccountId"]
    return doc


def _random_token() -> str:
    """32 random bytes, URL-safe base64 (secrets.token_urlsafe, without importing hashlib)."""
    import base64

    return base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode("ascii")


class Endpoint:
    """The HTTP side: 127.0.0.1, a random port, a random token per run.

    One thread reads every request head without blocking (select.poll): at most
    MAX_PENDING connections wait for theirs, each for HEAD_DEADLINE seconds in all,
    and a new connection beyond that closes the oldest waiting one, so idle or slow
    local connections can neither exhaust threads nor crowd out the child's request.
    A complete head is answered at once, or in a thread when credentials must be
    fetched first."""

    def __init__(self, source: RoleCredentials):
        self.source = source
        self.token = _random_token()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(1024)
        self._sock.setblocking(False)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}{PATH}"
        self._hosts = {f"127.0.0.1:{self.port}", f"localhost:{self.port}"}
        self._closed = False
        self._wake_r, self._wake_w = os.pipe()

    def environment(self) -> dict[str, str]:
        return {URI_VAR: self.url, TOKEN_VAR: self.token}

    def start(self) -> Endpoint:
        threading.Thread(target=self._loop, name="ssoenv-endpoint", daemon=True).start()
        return self

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            os.write(self._wake_w, b"x")  # wakes the poll() of the serving thread
        except OSError:
            pass
        self._sock.close()
        os.close(self._wake_r)  # here, not in that thread: never a write to a reused descriptor
        os.close(self._wake_w)

    def _loop(self) -> None:
        import select

        poller = select.poll()
        poller.register(self._sock.fileno(), select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        pending: dict[int, tuple[socket.socket, bytearray, float]] = {}  # in arrival order

        def drop(fd: int) -> None:
            conn = pending.pop(fd)[0]
            poller.unregister(fd)
            conn.close()

        try:
            while not self._closed:
                now = time.monotonic()
                for fd in [fd for fd, (_, _, deadline) in pending.items() if deadline <= now]:
                    drop(fd)
                wait = min((d for _, _, d in pending.values()), default=now + 60) - now
                try:
                    events = poller.poll(max(wait, 0.001) * 1000)
                except InterruptedError:
                    continue
                for fd, _ in events:
                    if self._closed:
                        return
                    if fd == self._sock.fileno():
                        self._accept(poller, pending, drop)
                    elif fd in pending:
                        self._read(poller, fd, pending, drop)
        finally:
            for fd in list(pending):
                drop(fd)

    def _accept(self, poller, pending, drop) -> None:
        import select

        for _ in range(256):  # what is queued, then back to the others
            try:
                conn, _ = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # e.g. EMFILE: make room and let poll() come back
                if pending:
                    drop(next(iter(pending)))
                return
            conn.setblocking(False)
            if len(pending) >= MAX_PENDING:
                drop(next(iter(pending)))  # the oldest has had the most time
            pending[conn.fileno()] = (conn, bytearray(), time.monotonic() + HEAD_DEADLINE)
            poller.register(conn.fileno(), select.POLLIN)

    def _read(self, poller, fd, pending, drop) -> None:
        conn, data, _ = pending[fd]
        try:
            chunk = conn.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            drop(fd)
            return
        data += chunk
        if b"\r\n\r\n" not in data and len(data) <= MAX_HEADER:
            return
        head = self._parse_head(bytes(data))
        del pending[fd]
        poller.unregister(fd)
        if self._may_wait(head):
            threading.Thread(target=self._finish, args=(conn, head), daemon=True).start()  # may wait
        else:
            self._finish(conn, head)

    def _finish(self, conn: socket.socket, head: tuple[str, str, dict[str, str]]) -> None:
        try:
            conn.settimeout(HEAD_DEADLINE)
            status, body = self.answer(*head)
            self._respond(conn, status, body)
        except OSError:
            pass
        finally:
            conn.close()

    @staticmethod
    def _parse_head(data: bytes) -> tuple[str, str, dict[str, str]]:
        if b"\r\n\r\n" not in data:
            return ("", "", {})  # over MAX_HEADER
        lines = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            return ("", "", {})
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return (parts[0], parts[1], headers)

    def _may_wait(self, head: tuple[str, str, dict[str, str]]) -> bool:
        """Whether answering `head` may wait for a fetch (a thread answers it then): a
        credentials request with a good token whose credentials are not ready."""
        if not head[0] or head[1].split("?", 1)[0] != PATH:
            return False
        source = self.source_for(head[2].get("authorization", ""))
        return source is not None and not source.ready()

    def source_for(self, given: str) -> RoleCredentials | None:
        """The credentials a request's Authorization header unlocks, None for none (a hook:
        `exec --each --server` serves one token per target from one endpoint)."""
        return self.source if compare_digest(given.encode("utf-8", "replace"), self.token.encode()) else None

    # `exec --each --server` (fanout) overrides source_for with one token per target; it
    # compares each with compare_digest too

    def answer(self, method: str, target: str, headers: dict[str, str]) -> tuple[int, dict]:
        """(status, JSON body) for a request; credentials only with the right token."""
        if not method:
            return 400, {"Code": "BadRequest", "Message": "malformed request"}
        if "origin" in headers or any(name.startswith("sec-fetch-") for name in headers):
            return 403, {"Code": "Forbidden", "Message": "requests from browsers are refused"}
        if headers.get("host", "").lower() not in self._hosts:  # DNS rebinding brings another name
            return 403, {"Code": "Forbidden", "Message": f"only Host: 127.0.0.1:{self.port} or localhost:{self.port}"}
        given = headers.get("authorization")
        if given is None:
            return 401, {"Code": "Unauthorized", "Message": "the authorization token is missing"}
        source = self.source_for(given)
        if source is None:
            return 403, {"Code": "Forbidden", "Message": "the authorization token is wrong"}
        if method != "GET":
            return 405, {"Code": "MethodNotAllowed", "Message": "only GET"}
        if target.split("?", 1)[0] != PATH:
            return 404, {"Code": "NotFound", "Message": f"credentials are at {PATH}"}
        try:
            return 200, credentials_document(source.current())
        except SsoenvError as exc:
            return 503, {"Code": "CredentialsUnavailable", "Message": f"ssoenv: {exc.message}"}

    @staticmethod
    def _respond(conn: socket.socket, status: int, body: dict) -> None:
        reasons = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                   405: "Method Not Allowed", 503: "Service Unavailable"}
        payload = json.dumps(body).encode()
        head = (f"HTTP/1.1 {status} {reasons.get(status, 'Error')}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n")
        conn.sendall(head.encode("ascii") + payload)


def child_environment(base: dict[str, str], endpoint: Endpoint, facts: list[tuple[str, str | None]]) -> dict:
    """`base` without static credentials or profiles, with the endpoint and `facts` (SSOENV_*, region)."""
    env = {k: v for k, v in base.items() if k not in SHADOWING_VARS}
    for name, value in facts:
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    env.update(endpoint.environment())
    return env


# --- ssoenv exec --server and ssoenv serve ----

def start_for(config, entry):
    """The first credentials (a login may run here, as for `exec`), then the endpoint
    (listening; the caller starts serving). Refused first when the AWS files hold
    something the SDKs would use before the endpoint (outrank.py)."""
    from ssoenv import creds, outrank

    outrank.check(config)

    first = creds.get(config, entry, min_valid=REFRESH_AHEAD)
    return Endpoint(RoleCredentials(config, entry, first))


def _prompt_facts(entry) -> list[tuple[str, str | None]]:
    """SSOENV_* for the prompt of a shell started under the endpoint (mode "server":
    no expiry to show, the credentials renew), and the region."""
    from ssoenv import switch

    region = switch.region_for(entry) or switch.inherited_region()
    facts = [(name, region) for name in switch.REGION_VARS] if region else []
    return facts + [("SSOENV_SESSION", entry.sso_session), ("SSOENV_ACCOUNT_ID", entry.account_id),
                    ("SSOENV_ACCOUNT_NAME", entry.account_name or entry.account_id),
                    ("SSOENV_ROLE", entry.role), ("SSOENV_PROFILE", entry.profile or None), ("SSOENV_MODE", "server"),
                    ("SSOENV_EXPIRES", None)]


def exec_with_endpoint(config, entry, argv: list[str]) -> int:
    endpoint = start_for(config, entry)
    env = child_environment(dict(os.environ), endpoint, _prompt_facts(entry))
    return run_command(argv, env, endpoint)


# --- running the command --------------------------------------------------------
#
# The command must not outlive the endpoint: once the port is free, any local process
# could listen on it and hand the command its own credentials. So, on Linux, the child
# asks the kernel to SIGKILL it when ssoenv dies (PR_SET_PDEATHSIG, set between fork and
# exec; even on kill -9), and every way out of run_command kills what is left of it.
# When ssoenv runs in the foreground of a terminal, the child stays in ssoenv's process
# group (it reads the terminal, pagers in the same pipeline keep working, Ctrl-C and
# Ctrl-Z reach it from the terminal); anywhere else (CI, `timeout`, a background job) it
# gets a process group of its own, which receives the forwarded signals and is ended
# as a whole on the way out.

SAME_EVENT = 0.5  # seconds: the same signal again this soon is the same event, sent twice


def _foreground_group() -> int | None:
    """The process group the controlling terminal sends its signals to (None: no terminal)."""
    try:
        fd = os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return os.tcgetpgrp(fd)
    except OSError:
        return None
    finally:
        os.close(fd)


def _spawn(argv: list[str], env: dict[str, str], own_group: bool, dispositions: dict, mask) -> int:
    """fork + exec, the child's signals set to `dispositions` and its mask to `mask`;
    raises SsoenvError when the command cannot be run (its errno comes back through a
    close-on-exec pipe)."""
    from ssoenv import lifeline

    set_death_signal = lifeline.preexec()  # the kernel's SIGKILL to the child when ssoenv dies
    lifeline.become_subreaper()  # and the command's orphans are ssoenv's to end
    errors_r, errors_w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:  # the child: only what exec needs, then exec or _exit
        try:
            os.close(errors_r)
            if own_group:
                os.setpgid(0, 0)
            if set_death_signal is not None:
                set_death_signal()
            for signum, disposition in dispositions.items():
                signal.signal(signum, disposition)
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            os.execvpe(argv[0], argv, env)
        except OSError as exc:
            os.write(errors_w, str(exc.errno or 0).encode())
        except BaseException:
            pass
        os._exit(127)
    os.close(errors_w)
    if own_group:
        try:
            os.setpgid(pid, pid)  # also here: no signal may find the group missing
        except OSError:
            pass
    with open(errors_r, "rb") as pipe:
        failed = pipe.read()
    if failed:
        os.waitpid(pid, 0)
        import errno

        code = int(failed)
        if code == errno.ENOENT:
            raise SsoenvError(f"command not found: {argv[0]}", ExitStatus.NOT_FOUND)
        if code == errno.EACCES:
            raise SsoenvError(f"permission denied: {argv[0]}", ExitStatus.CANNOT_EXECUTE)
        raise SsoenvError(f"cannot run {argv[0]}: {os.strerror(code)}", ExitStatus.CANNOT_EXECUTE)
    return pid


def _forwarded() -> list[int]:
    return [getattr(signal, name) for name in FORWARDED_SIGNALS]


def run_command(argv: list[str], env: dict[str, str], endpoint: Endpoint) -> int:
    """Run `argv` while the endpoint serves; the command's exit status (128+N if killed by signal N)."""
    sys.stdout.flush()
    sys.stderr.flush()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # an inherited SIG_IGN would reap the child for us
    own_group = _foreground_group() != os.getpgrp()
    pid = 0

    last: dict[int, float] = {}

    def forward(signum, _frame):
        if not pid:
            return
        if not own_group and signal.Signals(signum).name in TERMINAL_SIGNALS and \
                _foreground_group() == os.getpgrp():
            return  # the terminal sent it to the child as well: once is enough
        now = time.monotonic()
        if now - last.get(signum, -SAME_EVENT) < SAME_EVENT:
            return  # `timeout`, `kill 0`: ssoenv, then its process group; one event, one signal
        last[signum] = now
        try:
            if own_group:
                os.killpg(pid, signum)
            else:
                os.kill(pid, signum)
        except ProcessLookupError:
            pass

    # Handlers first, with the signals held back until the child exists: none is lost,
    # and none runs a Python handler in the child between fork and exec.
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, _forwarded())
    previous = {signum: signal.signal(signum, forward) for signum in _forwarded()}
    # The command's signals as ssoenv got them (ignored under nohup stays ignored), except
    # SIGPIPE and SIGXFSZ, which Python ignores: the command gets a shell's defaults.
    dispositions = {signum: signal.SIG_IGN if handler == signal.SIG_IGN else signal.SIG_DFL
                    for signum, handler in previous.items()}
    dispositions.update({signal.SIGPIPE: signal.SIG_DFL, signal.SIGXFSZ: signal.SIG_DFL})
    status = None
    try:
        try:
            pid = _spawn(argv, env, own_group, dispositions, mask)
        finally:
            endpoint.start()  # a request made before this waits in the listen queue
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _forwarded())
        while status is None:
            try:
                _, status = os.waitpid(pid, 0)
            except ChildProcessError:
                status = 0
    finally:
        if pid:
            _end(pid, own_group, reaped=status is not None)
        endpoint.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def _end(pid: int, own_group: bool, *, reaped: bool) -> None:
    """Whatever is left of the command: the child itself if it still runs; in its own
    process group, every process of that group; and (Linux) every orphan of its that
    came to ssoenv as their reaper (background jobs it left behind, in any group)."""
    if not reaped:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
    if own_group:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    for _ in range(100):  # each round's orphans may leave orphans of their own
        left = _children()
        if not left:
            return
        for child in left:
            try:
                os.kill(child, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for child in left:
            try:
                os.waitpid(child, 0)
            except ChildProcessError:
                pass


def _children() -> list[int]:
    """ssoenv's child processes (Linux: /proc); [] where that cannot be known."""
    out: list[int] = []
    try:
        for task in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{task}/children") as fh:
                out += [int(word) for word in fh.read().split()]
    except OSError:
        return []
    return out
