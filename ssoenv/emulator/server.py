"""HTTP front of the emulator and the `Emulator` handle used by code and tests.

One `ThreadingHTTPServer` (HTTP/1.1 keep-alive, daemon threads) serves the
sso-oidc paths, the portal paths, two browser pages (/authorize, /device) and
the test-control endpoints under /_emulator/."""

from __future__ import annotations

import dataclasses
import json
import socket
import sys
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .config import EmulatorConfig, load_config_file
from .federation import FederationError
from .service import OPS, ApiError, Html, IdentityCenter, Redirect, _html
from .sts import StsError, operation

MAX_BODY = 4 * 1024 * 1024

# path -> (HTTP method, operation name counted in calls() or None, kind)
ROUTES: dict[str, tuple[str, str | None, str]] = {
    "/client/register": ("POST", "RegisterClient", "oidc"),
    "/device_authorization": ("POST", "StartDeviceAuthorization", "oidc"),
    "/token": ("POST", "CreateToken", "oidc"),
    "/authorize": ("GET", "Authorize", "browser"),
    "/authorize/decision": ("GET", None, "browser"),
    "/device": ("GET", None, "browser"),
    "/assignment/accounts": ("GET", "ListAccounts", "portal"),
    "/assignment/roles": ("GET", "ListAccountRoles", "portal"),
    "/federation/credentials": ("GET", "GetRoleCredentials", "portal"),
    "/logout": ("POST", "Logout", "portal"),
    "/federation": ("GET", None, "signin"),  # the AWS sign-in endpoint (console sign-in)
    "/console": ("GET", None, "signin"),  # where a federation login lands
    "/": ("GET", None, "browser"),
    "/start": ("GET", None, "browser"),  # the access portal, where a console shortcut link lands
    "/start/": ("GET", None, "browser"),
}

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1>{body}<p><small>ssoenv IAM Identity Center emulator</small></p></body></html>
"""



def _enter(center, op: str) -> None:
    """What every call goes through before its answer: counted, its latency slept, a
    test's hook run, then admitted or refused (throttling, faults: raises ApiError)."""
    latency = center.count(op)
    if latency > 0:
        time.sleep(latency)
    hook = center.take_hook(op)
    if hook is not None:
        hook()
    center.admit(op)

class _BadRequest(Exception):
    pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], center: IdentityCenter) -> None:
        self.center = center
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if self.center.config.verbose:
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ssoenv-emulator"
    timeout = 300  # idle keep-alive connections are dropped after this
    # Buffer the response so headers and body leave in one segment (flushed by
    # handle_one_request): two small writes meet the client's delayed ACK and
    # cost ~40 ms per call.
    wbufsize = 64 * 1024
    server: _Server

    # ------------------------------------------------------------ plumbing

    def version_string(self) -> str:
        return self.server_version

    def setup(self) -> None:
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.connections_lock:
                self.server.connections.discard(self.connection)

    def handle_expect_100(self) -> bool:
        self.send_response_only(100)
        self.end_headers()
        self.wfile.flush()  # the response stream is buffered
        return True

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        # Path only: query strings carry codes and states.
        if self.server.center.config.verbose:
            method = self.command or "-"
            path = urlsplit(self.path or "").path
            code = getattr(code, "value", code)
            sys.stderr.write(f"{self.log_date_time_string()} {method} {path} {code}\n")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        if self.server.center.config.verbose:
            sys.stderr.write(f"{self.log_date_time_string()} {format % args}\n")

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise _BadRequest("bad chunked encoding") from None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    raise _BadRequest("request body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            n = int(length)
        except ValueError:
            raise _BadRequest("bad Content-Length") from None
        if n < 0 or n > MAX_BODY:
            raise _BadRequest("request body too large")
        return self.rfile.read(n)

    def _send(self, status: int, body: bytes, content_type: str | None, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(data).encode(), "application/json", headers)

    def _send_error(self, err: ApiError) -> None:
        self._send_json(err.status, err.body(), {"x-amzn-ErrorType": err.code})

    def _send_html(self, page: Html) -> None:
        body = PAGE.format(title=_html(page.title), body=page.body_html).encode()
        self._send(page.status, body, "text/html; charset=utf-8", {"Cache-Control": "no-store"})

    def _send_redirect(self, redirect: Redirect) -> None:
        self._send(302, b"", None, {"Location": redirect.location, "Cache-Control": "no-store"})

    # ------------------------------------------------------------ dispatch

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def _dispatch(self, method: str) -> None:
        try:
            body = self._read_body()
        except _BadRequest as exc:
            self.close_connection = True
            self._send_error(ApiError("InvalidRequestException", str(exc), status=400))
            return
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        path = parts.path
        try:
            if path.startswith("/_emulator/"):
                self._control(method, path[len("/_emulator/") :], body)
                return
            if path == "/" and method == "POST":
                self._sts(body)
                return
            route = ROUTES.get(path)
            if route is None:
                self._send_error(ApiError("UnknownOperationException", f"No operation at {path}", status=404))
                return
            want_method, op, kind = route
            if method != want_method:
                self._send_error(ApiError("MethodNotAllowedException", f"{method} not allowed on {path}", status=405))
                return
            if path == "/token" and "aws_iam" in query:
                raise ApiError("InvalidRequestException", "CreateTokenWithIAM is not emulated", oidc=True)
            if kind == "signin":
                self._signin(path, query)
                return
            if op is None:
                self._browser_page(path, query)
                return
            center = self.server.center
            try:
                _enter(center, op)
            except ApiError as err:
                if kind == "browser":
                    self._send_html(Html(err.status, err.code, f"<p>{_html(err.message)}</p>"))
                else:
                    self._send_error(err)
                return
            if kind == "oidc":
                self._oidc(op, body)
            elif kind == "portal":
                self._portal(op, query)
            else:
                result = center.authorize(query)
                if isinstance(result, Redirect):
                    self._send_redirect(result)
                else:
                    self._send_html(result)
        except ApiError as err:
            self._send_error(err)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:  # noqa: BLE001 - a bug must answer 500, not hang the client
            if self.server.center.config.verbose:
                traceback.print_exc()
            self.close_connection = True
            self._send_error(ApiError("InternalServerException", "Emulator internal error", status=500))

    def _sts(self, body: bytes) -> None:
        """STS (query protocol, XML): its errors are XML too."""
        center = self.server.center
        try:
            action, fields = operation(body)
            try:
                _enter(center, action)
            except ApiError as err:
                raise StsError(err.code, err.message, err.status if err.status >= 500 else None) from None
            self._send(200, center.sts.handle(action, fields, self.headers), "text/xml")
        except StsError as err:
            self._send(err.status, err.xml(), "text/xml")

    def _browser_page(self, path: str, query: dict[str, str]) -> None:
        center = self.server.center
        if path == "/device":
            self._send_html(center.device_page(query))
        elif path == "/authorize/decision":
            result = center.authorize_decision(query)
            if isinstance(result, Redirect):
                self._send_redirect(result)
            else:
                self._send_html(result)
        elif path in ("/start", "/start/"):
            self._send_html(Html(200, "AWS access portal (emulator)",
                                 "<p>A console shortcut link (<code>#/console?account_id=…&amp;role_name=…</code>) "
                                 "lands here: the emulator has no console. <code>ssoenv console --federation</code> "
                                 "signs in to its sign-in endpoint, whose page names the account and role.</p>"))
        else:
            self._send_html(
                Html(
                    200,
                    "IAM Identity Center emulator",
                    "<p>Serves the sso-oidc and sso portal APIs. Point SDKs here with "
                    "<code>AWS_ENDPOINT_URL_SSO_OIDC</code>, <code>AWS_ENDPOINT_URL_SSO</code> and "
                    "<code>AWS_ENDPOINT_URL_STS</code>.</p>"
                    '<p><a href="/device">Enter a device code</a></p>',
                )
            )

    def _signin(self, path: str, query: dict[str, str]) -> None:
        federation = self.server.center.federation
        try:
            if path == "/console":
                account, role, destination = federation.console(query.get("session"))
                self._send_html(Html(200, "AWS Management Console",
                                     f"<p>Signed in to account <b id=\"account\">{_html(account)}</b> "
                                     f"as role <b id=\"role\">{_html(role)}</b>.</p>"
                                     f"<p>Destination: <code id=\"destination\">{_html(destination)}</code></p>"))
            elif query.get("Action") == "getSigninToken":
                self._send_json(200, {"SigninToken": federation.signin_token(query.get("Session"))})
            elif query.get("Action") == "login":
                console = federation.login(query.get("SigninToken"), query.get("Destination"))
                self._send_redirect(Redirect(f"/console?session={console}"))
            else:
                raise FederationError(400, "Action must be getSigninToken or login")
        except FederationError as exc:
            self._send_html(Html(exc.status, "Sign-in failed", f"<p>{_html(exc.message)}</p>"))

    def _oidc(self, op: str, raw: bytes) -> None:
        try:
            body = json.loads(raw.decode("utf-8")) if raw.strip() else {}
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ApiError("InvalidRequestException", "Request body is not valid JSON", oidc=True) from None
        if not isinstance(body, dict):
            raise ApiError("InvalidRequestException", "Request body must be a JSON object", oidc=True)
        center = self.server.center
        if op == "RegisterClient":
            result = center.register_client(body)
        elif op == "StartDeviceAuthorization":
            result = center.start_device_authorization(body)
        else:
            result = center.create_token(body)
        self._send_json(200, result)

    def _portal(self, op: str, query: dict[str, str]) -> None:
        center = self.server.center
        token = self.headers.get("x-amz-sso_bearer_token")
        if op == "ListAccounts":
            result = center.list_accounts(token, query.get("max_result"), query.get("next_token"))
        elif op == "ListAccountRoles":
            result = center.list_account_roles(
                token, query.get("account_id"), query.get("max_result"), query.get("next_token")
            )
        elif op == "GetRoleCredentials":
            result = center.get_role_credentials(token, query.get("role_name"), query.get("account_id"))
        else:
            center.logout(token)
            self._send(200, b"", None)
            return
        self._send_json(200, result)

    # ------------------------------------------------------------ control

    def _control(self, method: str, name: str, raw: bytes) -> None:
        center = self.server.center
        try:
            data = json.loads(raw.decode("utf-8")) if raw.strip() else {}
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ApiError("InvalidRequestException", "Request body is not valid JSON") from None
        gets = {"calls", "health", "config", "pending"}
        posts = {
            "reset-calls",
            "expire-tokens",
            "revoke-tokens",
            "approve",
            "deny",
            "config",
            "fault",
            "clear-faults",
            "accounts",
            "forget-clients",
        }
        if name not in gets | posts:
            raise ApiError("UnknownOperationException", f"No control endpoint {name!r}", status=404)
        if (method == "GET" and name not in gets) or (method == "POST" and name not in posts) or method not in (
            "GET",
            "POST",
        ):
            raise ApiError("MethodNotAllowedException", f"{method} not allowed on /_emulator/{name}", status=405)
        ok = {"ok": True}
        if method == "GET":
            if name == "calls":
                self._send_json(200, dict(center.calls()))
            elif name == "pending":
                self._send_json(200, {"userCodes": center.pending_user_codes()})
            elif name == "health":
                self._send_json(200, {"ok": True, "url": center.base_url})
            else:
                cfg = dataclasses.asdict(center.config)
                if cfg["generate_accounts"]:
                    cfg.pop("accounts")
                self._send_json(200, cfg)
            return
        if name == "reset-calls":
            center.reset_calls()
        elif name == "expire-tokens":
            center.expire_tokens()
        elif name == "revoke-tokens":
            center.revoke_tokens()
        elif name == "clear-faults":
            center.clear_faults()
        elif name == "forget-clients":
            center.forget_clients()
        elif name in ("approve", "deny"):
            code = data.get("userCode") if isinstance(data, dict) else None
            if not isinstance(code, str):
                raise ApiError("InvalidRequestException", 'expected {"userCode": "..."}')
            try:
                (center.approve if name == "approve" else center.deny)(code)
            except KeyError as exc:
                raise ApiError("ResourceNotFoundException", str(exc.args[0]), status=404) from None
        elif name == "config":
            if not isinstance(data, dict):
                raise ApiError("InvalidRequestException", "expected a JSON object of config fields")
            if "port" in data:
                raise ApiError("InvalidRequestException", "port cannot change while serving")
            try:
                center.update(data)
            except (TypeError, ValueError) as exc:
                raise ApiError("InvalidRequestException", str(exc)) from None
        elif name == "fault":
            if not isinstance(data, dict) or not isinstance(data.get("op"), str):
                raise ApiError("InvalidRequestException", 'expected {"op": ..., "status": 500, "count": 1}')
            unknown = set(data) - {"op", "status", "count", "code", "message"}
            if unknown:
                raise ApiError("InvalidRequestException", f"unknown field(s): {', '.join(sorted(unknown))}")
            try:
                center.inject_fault(
                    data["op"],
                    status=data.get("status", 500),
                    count=data.get("count", 1),
                    code=data.get("code"),
                    message=data.get("message"),
                )
            except ValueError as exc:
                raise ApiError("InvalidRequestException", str(exc)) from None
        elif name == "accounts":
            accounts = data.get("accounts") if isinstance(data, dict) else data
            try:
                center.set_accounts(accounts)
            except ValueError as exc:
                raise ApiError("InvalidRequestException", str(exc)) from None
        self._send_json(200, ok)


class Emulator:
    """A local IAM Identity Center (sso-oidc + portal, and STS) on 127.0.0.1.

    >>> with Emulator(EmulatorConfig(generate_accounts=100)) as emu:
    ...     emu.url  # doctest: +SKIP
    'http://127.0.0.1:54321'
    """

    def __init__(self, config: EmulatorConfig | None = None, **fields: Any) -> None:
        config = config if config is not None else EmulatorConfig()
        if fields:
            config = dataclasses.replace(config, **fields)
        self._center = IdentityCenter(config)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._state_lock = threading.Lock()

    @classmethod
    def from_file(cls, path: Any, **fields: Any) -> Emulator:
        """Configuration from a JSON or TOML file (TOML needs Python 3.11+)."""
        return cls(load_config_file(path), **fields)

    # ------------------------------------------------------------ lifecycle

    def start(self) -> Emulator:
        with self._state_lock:
            if self._server is not None:
                raise RuntimeError("emulator already started")
            server = _Server(("127.0.0.1", self._center.config.port), self._center)
            self._server = server
            self._center.base_url = f"http://127.0.0.1:{server.server_address[1]}"
            self._thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="ssoenv-emulator", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        with self._state_lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with server.connections_lock:
            connections = list(server.connections)
        for conn in connections:  # wake keep-alive handler threads
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("emulator is not running: call start() first")
        return self._center.base_url

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def config(self) -> EmulatorConfig:
        """The current configuration (a copy; change it with update())."""
        return dataclasses.replace(self._center.config)

    def __repr__(self) -> str:
        where = self._center.base_url if self.running else "stopped"
        return f"<Emulator {where} accounts={len(self._center.org)}>"

    # ------------------------------------------------------------ control

    def calls(self) -> dict[str, int]:
        """Operation name -> number of calls (a Counter: missing names read 0)."""
        return self._center.calls()

    def reset_calls(self) -> None:
        self._center.reset_calls()

    def expire_tokens(self) -> None:
        """Every access token issued so far is expired (refresh tokens stay valid)."""
        self._center.expire_tokens()

    def revoke_tokens(self) -> None:
        """Every access and refresh token issued so far is revoked."""
        self._center.revoke_tokens()

    def forget_clients(self) -> None:
        """Forget every client registration (a re-created instance, revoked clients):
        they get InvalidClientException from now on."""
        self._center.forget_clients()

    def before_next(self, op: str, hook: Any) -> None:
        """Run `hook()` in the server, once, just before the next call of `op` is
        served: lets a test put another tool's action at an exact point of a request."""
        self._center.add_hook(op, hook)

    def pending_user_codes(self) -> list[str]:
        """User codes of device authorizations waiting for approval, oldest first."""
        return self._center.pending_user_codes()

    def approve(self, user_code: str) -> None:
        """Approve a pending device authorization; KeyError if none has that code."""
        self._center.approve(user_code)

    def deny(self, user_code: str) -> None:
        """Deny a pending device authorization; KeyError if none has that code."""
        self._center.deny(user_code)

    def set_accounts(self, accounts: list[dict[str, Any]]) -> None:
        """Replace the organisation: [{"accountId", "accountName", "emailAddress", "roles"}]."""
        self._center.set_accounts(accounts)

    def update(self, **fields: Any) -> None:
        """Change configuration at runtime (latency_ms, throttle_rps, fault_rate, ...)."""
        if "port" in fields and self.running:
            raise ValueError("port cannot change while serving")
        self._center.update(fields)

    def inject_fault(
        self, op: str, status: int = 500, count: int = 1, *, code: str | None = None, message: str | None = None
    ) -> None:
        """The next `count` calls of operation `op` ("*": any) fail with HTTP `status`.

        The error code follows the status (500 InternalServerException, 503
        ServiceUnavailableException, 429 TooManyRequestsException, 401
        UnauthorizedException / InvalidClientException, ...) unless `code` is given."""
        self._center.inject_fault(op, status=status, count=count, code=code, message=message)

    def clear_faults(self) -> None:
        self._center.clear_faults()

    def credentials_valid(self, access_key_id: str, secret: str, session_token: str) -> bool:
        """Whether these are unexpired role credentials this emulator issued."""
        return self._center.federation.is_valid(access_key_id, secret, session_token)


__all__ = ["Emulator", "EmulatorConfig", "OPS"]
