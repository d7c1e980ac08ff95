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

from ssoenv import cache
from ssoenv.errors import ExitStatus, SsoenvError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hot paths
if TYPE_CHECKING:
    from ssoenv.shapes import RoleCredentials as Credentials  # (RoleCredentials below is the renewing holder)


try:  # what hmac.compare_digest is, without importing OpenSSL (hashlib) on the exec path
    from _operator import _compare_digest as compare_digest
except ImportError:  # pragma: no cover - other interpreters
    from hmac import compare_digest  # type: ignore[no-redef]  # the same function, by its public name

REFRESH_AHEAD = 16 * 60  # botocore renews under 15 min left: hand out more than that
STILL_USABLE = 60  # when renewal fails, keep serving credentials with this much left
MAX_HEADER = 16 * 1024
PATH = "/ssoenv/credentials"
URI_VAR = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
TOKEN_VAR = "AWS_CONTAINER_AUTHORIZATION_TOKEN"
# What a child of `exec --server` must not inherit: each would win over (or fight) the endpoint.
SHADOWING_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                  "AWS_CREDENTIAL_EXPIRATION", "AWS_SESSION_EXPIRATION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
                  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                  "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN")
# Signals the terminal sends to the whole foreground job (the child has them already).
TERMINAL_SIGNALS = ("SIGINT", "SIGQUIT")
FORWARDED_SIGNALS = ("SIGTERM", "SIGHUP", "SIGUSR1", "SIGUSR2") + TERMINAL_SIGNALS


def _seconds_left(creds: Credentials | None) -> float:
    when = cache.parse_time(creds.get("Expiration", "")) if creds else None
    return (when - cache.now()).total_seconds() if when else float("-inf")


class RoleCredentials:
    """The role credentials of one entry, renewed before they run short."""

    def __init__(self, config, entry, first: Credentials | None = None):
        self._config, self._entry = config, entry
        self._lock = threading.Lock()
        self._creds = first
        self._lifetime = _seconds_left(first)
        self._problem: str | None = None

    def _renew_at(self) -> float:
        """Seconds left under which to renew: REFRESH_AHEAD, or half the lifetime of
        credentials too short for that (a role session is at least an hour; the
        emulator's may be seconds)."""
        return min(REFRESH_AHEAD, max(self._lifetime, 0) / 2)

    def current(self) -> Credentials:
        """Credentials to hand out; SsoenvError when none can be had."""
        with self._lock:
            if _seconds_left(self._creds) >= self._renew_at() and self._creds:
                return self._creds
            from ssoenv import creds as creds_mod

            try:
                fresh = creds_mod.get(self._config, self._entry, interactive=False, min_valid=self._renew_at())
            except SsoenvError as exc:
                self._report(type(exc).__name__, exc.message)
                if self._creds is not None and _seconds_left(self._creds) > STILL_USABLE:
                    return self._creds  # still good for a while; the user was told to log in
                raise
            except Exception as exc:  # noqa: BLE001 - a network error must not kill the endpoint
                self._report(type(exc).__name__, f"cannot fetch role credentials ({type(exc).__name__})")
                raise SsoenvError(f"cannot fetch role credentials ({type(exc).__name__})") from None
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
    """The HTTP side: 127.0.0.1, a random port, a random token per run."""

    def __init__(self, source: RoleCredentials):
        self.source = source
        self.token = _random_token()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}{PATH}"
        self._closed = False

    def environment(self) -> dict[str, str]:
        return {URI_VAR: self.url, TOKEN_VAR: self.token}

    def start(self) -> Endpoint:
        threading.Thread(target=self._accept_loop, name="ssoenv-endpoint", daemon=True).start()
        return self

    def close(self) -> None:
        self._closed = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() of the serving thread
        except OSError:
            pass
        self._sock.close()

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                if self._closed:
                    return
                time.sleep(0.01)  # e.g. EMFILE: do not spin
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(30)
            head = self._read_head(conn)
            if head is not None:
                status, body = self.answer(*head)
                self._respond(conn, status, body)
        except OSError:
            pass
        finally:
            conn.close()

    @staticmethod
    def _read_head(conn: socket.socket) -> tuple[str, str, dict[str, str]] | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return None
            data += chunk
            if len(data) > MAX_HEADER:
                return ("", "", {})
        lines = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            return ("", "", {})
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return (parts[0], parts[1], headers)

    def source_for(self, given: str) -> RoleCredentials | None:
        """The credentials a request's Authorization header unlocks, None for none (a hook:
        `exec --each --server` serves one token per target from one endpoint)."""
        return self.source if compare_digest(given.encode("utf-8", "replace"), self.token.encode()) else None

    def answer(self, method: str, target: str, headers: dict[str, str]) -> tuple[int, dict]:
        """(status, JSON body) for a request; credentials only with the right token."""
        if not method:
            return 400, {"Code": "BadRequest", "Message": "malformed request"}
        given = headers.get("authorization")
        if given is None:
            return 401, {"Code": "Unauthorized", "Message": "the authorization token is missing"}
        source = self.source_for(given)
        if source is None:
            return 403, {"Code": "Forbidden", "Message": "the authorization token is wrong"}
        if "origin" in headers:  # a web page, even one that learnt the token: never
            return 403, {"Code": "Forbidden", "Message": "requests from browsers are refused"}
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
    """The first credentials (a login may run here, as for `exec`), then the endpoint."""
    from ssoenv import creds

    first = creds.get(config, entry, min_valid=REFRESH_AHEAD)
    return Endpoint(RoleCredentials(config, entry, first)).start()


def _prompt_facts(entry) -> list[tuple[str, str | None]]:
    """SSOENV_* for the prompt of a shell started under the endpoint (mode "server":
    no expiry to show, the credentials renew), and the region."""
    from ssoenv import switch

    region = switch.region_for(entry) or switch.inherited_region()
    facts = [(name, region) for name in switch.REGION_VARS] if region else []
    return facts + [("SSOENV_SESSION", entry.sso_session), ("SSOENV_ACCOUNT_ID", entry.account_id),
                    ("SSOENV_ACCOUNT_NAME", entry.account_name or entry.account_id),
                    ("SSOENV_ROLE", entry.role), ("SSOENV_PROFILE", None), ("SSOENV_MODE", "server"),
                    ("SSOENV_EXPIRES", None)]


def exec_with_endpoint(config, entry, argv: list[str]) -> int:
    endpoint = start_for(config, entry)
    env = child_environment(dict(os.environ), endpoint, _prompt_facts(entry))
    return run_command(argv, env, endpoint)


# --- running the command --------------------------------------------------------

def _in_terminal_foreground() -> bool:
    """Whether the terminal sends its signals to our process group (so to the child too)."""
    for fd in (0, 1, 2):
        try:
            if os.isatty(fd):
                return os.tcgetpgrp(fd) == os.getpgrp()
        except OSError:
            continue
    return False


def run_command(argv: list[str], env: dict[str, str], endpoint: Endpoint) -> int:
    """Run `argv` while the endpoint serves; the command's exit status (128+N if killed by signal N)."""
    sys.stdout.flush()
    sys.stderr.flush()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # an inherited SIG_IGN would reap the child for us
    try:
        # Python ignores SIGPIPE (and SIGXFSZ); the command gets the defaults, as from a shell.
        pid = os.posix_spawnp(argv[0], argv, env, setsigdef=(signal.SIGPIPE, signal.SIGXFSZ))
    except FileNotFoundError:
        endpoint.close()
        raise SsoenvError(f"command not found: {argv[0]}", ExitStatus.NOT_FOUND) from None
    except PermissionError:
        endpoint.close()
        raise SsoenvError(f"permission denied: {argv[0]}", ExitStatus.CANNOT_EXECUTE) from None
    except OSError as exc:
        endpoint.close()
        raise SsoenvError(f"cannot run {argv[0]}: {exc.strerror}", ExitStatus.CANNOT_EXECUTE) from None

    def forward(signum, _frame):
        name = signal.Signals(signum).name
        if name in TERMINAL_SIGNALS and _in_terminal_foreground():
            return  # the terminal sent it to the child as well: once is enough
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    previous = {}
    for name in FORWARDED_SIGNALS:
        signum = getattr(signal, name)
        previous[signum] = signal.signal(signum, forward)
    try:
        while True:
            try:
                _, status = os.waitpid(pid, 0)
                break
            except ChildProcessError:
                status = 0
                break
    finally:
        endpoint.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code
