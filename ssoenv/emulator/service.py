"""The emulated IAM Identity Center: sso-oidc and portal logic, no HTTP.

Every public method takes already-decoded request fields and either returns
the response body (a dict) or raises `ApiError`. One lock guards all state;
nothing slow happens while holding it (the configured latency is slept by the
HTTP layer, outside the lock)."""

from __future__ import annotations

import base64
import collections
import dataclasses
import hashlib
import hmac
import html
import json
import random
import secrets
import string
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from .config import FIELD_NAMES, EmulatorConfig, config_from_mapping, normalise_accounts
from .federation import Federation
from .org import Organisation, build_organisation
from .sts import STS_OPS, Sts

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
KNOWN_GRANTS = (DEVICE_GRANT, "authorization_code", "refresh_token")
REFRESH_SCOPE = "sso:account:access"

OIDC_OPS = ("RegisterClient", "StartDeviceAuthorization", "CreateToken", "Authorize")
PORTAL_OPS = ("ListAccounts", "ListAccountRoles", "GetRoleCredentials", "Logout")
OPS = OIDC_OPS + PORTAL_OPS + STS_OPS
# Operations a browser drives: no throttling, no random faults, HTML errors.
BROWSER_OPS = ("Authorize",)

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
UNAUTHORIZED_MESSAGE = "Session token not found or invalid"

# error code -> (HTTP status, OAuth "error" value for sso-oidc bodies)
ERRORS: dict[str, tuple[int, str]] = {
    "AuthorizationPendingException": (400, "authorization_pending"),
    "SlowDownException": (400, "slow_down"),
    "ExpiredTokenException": (400, "expired_token"),
    "InvalidGrantException": (400, "invalid_grant"),
    "AccessDeniedException": (400, "access_denied"),
    "InvalidClientException": (401, "invalid_client"),
    "InvalidRequestException": (400, "invalid_request"),
    "UnauthorizedClientException": (400, "unauthorized_client"),
    "UnsupportedGrantTypeException": (400, "unsupported_grant_type"),
    "InvalidScopeException": (400, "invalid_scope"),
    "InvalidClientMetadataException": (400, "invalid_client_metadata"),
    "InvalidRedirectUriException": (400, "invalid_redirect_uri"),
    "InternalServerException": (500, "server_error"),
    "ServiceUnavailableException": (503, "temporarily_unavailable"),
    "TooManyRequestsException": (429, "too_many_requests"),
    "UnauthorizedException": (401, "unauthorized"),
    "ResourceNotFoundException": (404, "not_found"),
    "ForbiddenException": (403, "forbidden"),
}

# HTTP status of an injected fault -> error code (per API family).
FAULT_CODES_PORTAL = {
    400: "InvalidRequestException",
    401: "UnauthorizedException",
    403: "ForbiddenException",
    404: "ResourceNotFoundException",
    429: "TooManyRequestsException",
    500: "InternalServerException",
    502: "BadGatewayException",
    503: "ServiceUnavailableException",
    504: "GatewayTimeoutException",
}
FAULT_CODES_OIDC = {**FAULT_CODES_PORTAL, 401: "InvalidClientException", 403: "AccessDeniedException"}

USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # no vowels: no accidental words
ACCESS_KEY_ALPHABET = string.ascii_uppercase + "234567"
SECRET_KEY_ALPHABET = string.ascii_letters + string.digits + "+/"


class ApiError(Exception):
    """An error answer: HTTP status, `x-amzn-ErrorType` code, message.

    `oidc` selects the body shape: {"error", "error_description"} for sso-oidc,
    {"message"} for the portal and the control endpoints."""

    def __init__(self, code: str, message: str, *, status: int | None = None, oidc: bool = False):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status if status is not None else ERRORS.get(code, (400, ""))[0]
        self.oidc = oidc

    def body(self) -> dict[str, Any]:
        if self.oidc and self.code != "TooManyRequestsException":
            oauth = ERRORS.get(self.code, (0, "server_error" if self.status >= 500 else "invalid_request"))[1]
            return {"error": oauth, "error_description": self.message}
        return {"message": self.message}


def _oidc(code: str, message: str) -> ApiError:
    return ApiError(code, message, oidc=True)


def _portal(code: str, message: str) -> ApiError:
    return ApiError(code, message, oidc=False)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def pkce_challenge(verifier: str) -> str:
    """S256 code challenge: base64url(sha256(verifier)) without padding."""
    return _b64url(hashlib.sha256(verifier.encode("ascii", "replace")).digest())


@dataclass
class Client:
    client_id: str
    secret: str
    name: str
    scopes: tuple[str, ...]
    grant_types: tuple[str, ...]  # empty: not given at registration (no restriction)
    redirect_uris: tuple[str, ...]
    issued_at: float
    expires_at: float


@dataclass
class DeviceAuth:
    device_code: str
    user_code: str
    client_id: str
    start_url: str
    expires_at: float
    interval: int
    status: str = "pending"  # pending | approved | denied | consumed
    last_poll: float | None = None  # time.monotonic()
    fast_polls: int = 0


@dataclass
class AuthRequest:
    """A pending /authorize waiting for the user's Allow/Deny."""

    client_id: str
    redirect_uri: str
    state: str | None
    challenge: str
    scopes: tuple[str, ...]
    expires_at: float


@dataclass
class AuthCode:
    client_id: str
    redirect_uri: str
    challenge: str
    scopes: tuple[str, ...]
    expires_at: float
    used: bool = False


@dataclass
class AccessToken:
    client_id: str
    family: str
    expires_at: float
    revoked: bool = False


@dataclass
class RefreshToken:
    client_id: str
    family: str
    expires_at: float
    state: str = "active"  # active | used | revoked


@dataclass
class Redirect:
    location: str


@dataclass
class Html:
    status: int
    title: str
    body_html: str


@dataclass
class _Fault:
    code: str | None
    status: int
    remaining: int
    message: str | None = None
    extra: dict = field(default_factory=dict)


class IdentityCenter:
    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self._lock = threading.RLock()
        self.config = dataclasses.replace(config) if config is not None else EmulatorConfig()
        self.org: Organisation = self._build_org(self.config)
        self.base_url = "http://127.0.0.1"
        self._clients: dict[str, Client] = {}
        self._devices: dict[str, DeviceAuth] = {}
        self._user_codes: dict[str, str] = {}
        self._auth_requests: dict[str, AuthRequest] = {}
        self._codes: dict[str, AuthCode] = {}
        self._access: dict[str, AccessToken] = {}
        self._refresh: dict[str, RefreshToken] = {}
        self._calls: collections.Counter[str] = collections.Counter()
        self._faults: dict[str, list[_Fault]] = {}
        self._hooks: dict[str, list[Any]] = {}
        self._window: collections.deque[float] = collections.deque()
        self._rng = random.Random(self.config.seed)
        self._page_key = secrets.token_bytes(32)
        self._issued_since_prune = 0
        self.federation = Federation()  # the sign-in endpoint checks the credentials issued here
        self.sts = Sts(self)

    # ------------------------------------------------------------------ admin

    @staticmethod
    def _build_org(cfg: EmulatorConfig) -> Organisation:
        return build_organisation(cfg.accounts, cfg.generate_accounts, cfg.roles_per_account)

    def calls(self) -> collections.Counter[str]:
        with self._lock:
            return collections.Counter(self._calls)

    def reset_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    def expire_tokens(self) -> int:
        """Every access token issued so far is expired from now on. Returns how many."""
        now = time.time()
        with self._lock:
            for tok in self._access.values():
                tok.expires_at = min(tok.expires_at, now)
            return len(self._access)

    def revoke_tokens(self) -> int:
        with self._lock:
            for tok in self._access.values():
                tok.revoked = True
            for rtok in self._refresh.values():
                if rtok.state == "active":
                    rtok.state = "revoked"
            return len(self._access)

    def forget_clients(self) -> int:
        """Forget every registered client, as a re-created instance would (their
        registrations answer InvalidClientException from now on). Returns how many."""
        with self._lock:
            count = len(self._clients)
            self._clients.clear()
            return count

    def add_hook(self, op: str, hook: Any) -> None:
        """Call `hook()` once, before the next call of `op` is served (outside the
        lock): a test's way to let "another tool" act at an exact point of a request."""
        if op not in OPS:
            raise ValueError(f"unknown operation {op!r} (known: {', '.join(OPS)})")
        with self._lock:
            self._hooks.setdefault(op, []).append(hook)

    def take_hook(self, op: str) -> Any:
        with self._lock:
            queue = self._hooks.get(op)
            return queue.pop(0) if queue else None

    def _device_for_user_code(self, user_code: str) -> DeviceAuth:
        code = str(user_code).strip().upper()
        if len(code) == 8 and "-" not in code:
            code = f"{code[:4]}-{code[4:]}"
        device_code = self._user_codes.get(code)
        dev = self._devices.get(device_code) if device_code else None
        if dev is None or dev.status != "pending" or time.time() >= dev.expires_at:
            raise KeyError(f"no pending device authorization with user code {user_code!r}")
        return dev

    def pending_user_codes(self) -> list[str]:
        """User codes of device authorizations waiting for approval, oldest first."""
        now = time.time()
        with self._lock:
            return [d.user_code for d in self._devices.values() if d.status == "pending" and now < d.expires_at]

    def approve(self, user_code: str) -> None:
        """Approve a pending device authorization. KeyError if there is none."""
        with self._lock:
            self._device_for_user_code(user_code).status = "approved"

    def deny(self, user_code: str) -> None:
        """Deny a pending device authorization. KeyError if there is none."""
        with self._lock:
            self._device_for_user_code(user_code).status = "denied"

    def set_accounts(self, accounts: Any) -> None:
        accounts = normalise_accounts(accounts)
        with self._lock:
            self.config = dataclasses.replace(self.config, accounts=accounts, generate_accounts=0)
            self.org = self._build_org(self.config)

    def update(self, fields: dict[str, Any]) -> EmulatorConfig:
        """Change config fields at runtime. ValueError on unknown/invalid fields."""
        unknown = sorted(set(fields) - set(FIELD_NAMES))
        if unknown:
            raise ValueError(f"unknown configuration field(s): {', '.join(unknown)}")
        with self._lock:
            new = config_from_mapping(fields, base=self.config)
            if {"accounts", "generate_accounts", "roles_per_account"} & set(fields):
                self.org = self._build_org(new)
            if "seed" in fields:
                self._rng = random.Random(new.seed)
            if "throttle_rps" in fields:
                self._window.clear()
            self.config = new
            return new

    def inject_fault(
        self,
        op: str,
        status: int = 500,
        count: int = 1,
        code: str | None = None,
        message: str | None = None,
    ) -> None:
        """The next `count` calls of `op` ("*" = any operation) fail with `status`."""
        if op != "*" and op not in OPS:
            raise ValueError(f"unknown operation {op!r} (known: {', '.join(OPS)}, or '*')")
        if not (isinstance(status, int) and 400 <= status <= 599):
            raise ValueError(f"fault status must be an HTTP error status 400-599, got {status!r}")
        if not (isinstance(count, int) and count >= 1):
            raise ValueError(f"fault count must be a positive integer, got {count!r}")
        with self._lock:
            self._faults.setdefault(op, []).append(_Fault(code, status, count, message))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # ------------------------------------------------------- request gating

    def count(self, op: str) -> float:
        """Record one call of `op`; return the latency (seconds) to sleep."""
        with self._lock:
            self._calls[op] += 1
            return self.config.latency_ms / 1000.0

    def admit(self, op: str) -> None:
        """Throttling and faults for one call of `op`; raises ApiError to refuse."""
        oidc = op in OIDC_OPS
        browser = op in BROWSER_OPS
        with self._lock:
            cfg = self.config
            if cfg.throttle_rps > 0 and not browser:
                now = time.monotonic()
                window = self._window
                while window and window[0] <= now - 1.0:
                    window.popleft()
                if len(window) >= cfg.throttle_rps:
                    raise ApiError("TooManyRequestsException", "Too many requests", oidc=oidc)
                window.append(now)
            fault = self._take_fault(op)
            if fault is not None:
                table = FAULT_CODES_OIDC if oidc else FAULT_CODES_PORTAL
                code = fault.code or table.get(
                    fault.status, "InternalServerException" if fault.status >= 500 else "InvalidRequestException"
                )
                message = fault.message or f"Injected fault ({fault.status} {code})"
                raise ApiError(code, message, status=fault.status, oidc=oidc)
            if cfg.fault_rate > 0 and not browser and self._rng.random() < cfg.fault_rate:
                raise ApiError("InternalServerException", "Internal server error (random fault)", status=500, oidc=oidc)

    def _take_fault(self, op: str) -> _Fault | None:
        for key in (op, "*"):
            queue = self._faults.get(key)
            if queue:
                fault = queue[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.pop(0)
                return fault
        return None

    # ---------------------------------------------------------------- helpers

    def _client(self, client_id: Any, client_secret: Any) -> Client:
        if not isinstance(client_id, str) or not isinstance(client_secret, str):
            raise _oidc("InvalidClientException", "Invalid client id or secret")
        client = self._clients.get(client_id)
        if client is None or not hmac.compare_digest(client.secret, client_secret):
            raise _oidc("InvalidClientException", "Invalid client id or secret")
        if time.time() >= client.expires_at:
            raise _oidc("InvalidClientException", "Client secret has expired")
        return client

    def _maybe_prune(self) -> None:
        self._issued_since_prune += 1
        if self._issued_since_prune < 2000:
            return
        self._issued_since_prune = 0
        now = time.time()
        self._access = {k: v for k, v in self._access.items() if v.expires_at > now and not v.revoked}
        self._refresh = {k: v for k, v in self._refresh.items() if v.expires_at > now and v.state == "active"}
        self._codes = {k: v for k, v in self._codes.items() if v.expires_at > now and not v.used}
        self._auth_requests = {k: v for k, v in self._auth_requests.items() if v.expires_at > now}
        stale = now - 3600
        self._devices = {k: v for k, v in self._devices.items() if v.expires_at > stale}
        self._user_codes = {v.user_code: k for k, v in self._devices.items()}

    def _issue_tokens(self, client: Client, family: str | None = None) -> dict[str, Any]:
        cfg = self.config
        now = time.time()
        family = family or secrets.token_hex(8)
        access = "aoa" + secrets.token_urlsafe(48)
        self._access[access] = AccessToken(client.client_id, family, now + cfg.access_token_ttl)
        resp: dict[str, Any] = {
            "accessToken": access,
            "tokenType": "Bearer",
            "expiresIn": cfg.access_token_ttl,
        }
        if REFRESH_SCOPE in client.scopes:
            refresh = "aor" + secrets.token_urlsafe(48)
            self._refresh[refresh] = RefreshToken(client.client_id, family, now + cfg.refresh_token_ttl)
            resp["refreshToken"] = refresh
        claims = {
            "iss": self.base_url,
            "aud": client.client_id,
            "sub": "emulated-user",
            "iat": int(now),
            "exp": int(now + cfg.access_token_ttl),
        }
        resp["idToken"] = ".".join(
            (
                _b64url(b'{"alg":"none","typ":"JWT"}'),
                _b64url(json.dumps(claims, separators=(",", ":")).encode()),
                "",
            )
        )
        self._maybe_prune()
        return resp

    # ---------------------------------------------------------------- sso-oidc

    def register_client(self, body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("clientName")
        ctype = body.get("clientType")
        if not isinstance(name, str) or not name:
            raise _oidc("InvalidRequestException", "clientName is required")
        if ctype is None:
            raise _oidc("InvalidRequestException", "clientType is required")
        if ctype != "public":
            raise _oidc("InvalidClientMetadataException", "clientType must be 'public'")
        scopes = body.get("scopes") or []
        if not isinstance(scopes, list) or not all(isinstance(s, str) and s and " " not in s for s in scopes):
            raise _oidc("InvalidScopeException", "Invalid scopes")
        grants = body.get("grantTypes") or []
        if not isinstance(grants, list) or not all(isinstance(g, str) for g in grants):
            raise _oidc("InvalidRequestException", "grantTypes must be a list of strings")
        for grant in grants:
            if grant not in KNOWN_GRANTS:
                raise _oidc("UnsupportedGrantTypeException", f"Unsupported grant type: {grant}")
        redirects = body.get("redirectUris") or []
        if not isinstance(redirects, list):
            raise _oidc("InvalidRedirectUriException", "redirectUris must be a list")
        for uri in redirects:
            parts = urlsplit(uri) if isinstance(uri, str) else None
            if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.fragment:
                raise _oidc("InvalidRedirectUriException", f"Invalid redirect URI: {uri!r}")
        if "authorization_code" in grants and not redirects:
            raise _oidc("InvalidRedirectUriException", "redirectUris is required for the authorization_code grant")
        if "authorization_code" in grants and DEVICE_GRANT in grants:
            # As Identity Center: one registration per flow (INTEROP.md).
            raise _oidc("InvalidScopeException", "authorization_code and device_code cannot be registered together")
        cfg = self.config
        now = time.time()
        with self._lock:
            client_id = secrets.token_urlsafe(24)
            client = Client(
                client_id=client_id,
                secret=secrets.token_urlsafe(96),
                name=name,
                scopes=tuple(scopes),
                grant_types=tuple(grants),
                redirect_uris=tuple(redirects),
                issued_at=now,
                expires_at=now + cfg.client_secret_ttl,
            )
            self._clients[client_id] = client
        return {
            "clientId": client.client_id,
            "clientSecret": client.secret,
            "clientIdIssuedAt": int(client.issued_at),
            "clientSecretExpiresAt": int(client.expires_at),
        }

    def start_device_authorization(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            client = self._client(body.get("clientId"), body.get("clientSecret"))
            if client.grant_types and DEVICE_GRANT not in client.grant_types:
                raise _oidc("UnauthorizedClientException", "Client is not registered for the device code grant")
            start_url = body.get("startUrl")
            if not isinstance(start_url, str) or not start_url:
                raise _oidc("InvalidRequestException", "startUrl is required")
            cfg = self.config
            device_code = secrets.token_urlsafe(48)
            while True:
                raw = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(8))
                user_code = f"{raw[:4]}-{raw[4:]}"
                if user_code not in self._user_codes:
                    break
            dev = DeviceAuth(
                device_code=device_code,
                user_code=user_code,
                client_id=client.client_id,
                start_url=start_url,
                expires_at=time.time() + cfg.device_code_ttl,
                interval=cfg.poll_interval,
                status="approved" if cfg.auto_approve else "pending",
            )
            self._devices[device_code] = dev
            self._user_codes[user_code] = device_code
            base = self.base_url
        return {
            "deviceCode": device_code,
            "userCode": user_code,
            "verificationUri": f"{base}/device",
            "verificationUriComplete": f"{base}/device?{urlencode({'user_code': user_code})}",
            "expiresIn": cfg.device_code_ttl,
            "interval": cfg.poll_interval,
        }

    def create_token(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            client = self._client(body.get("clientId"), body.get("clientSecret"))
            grant = body.get("grantType")
            if not isinstance(grant, str) or not grant:
                raise _oidc("InvalidRequestException", "grantType is required")
            if grant not in KNOWN_GRANTS:
                raise _oidc("UnsupportedGrantTypeException", f"Unsupported grant type: {grant}")
            if client.grant_types and grant not in client.grant_types:
                raise _oidc("UnauthorizedClientException", f"Client is not registered for grant type {grant}")
            if grant == DEVICE_GRANT:
                return self._token_from_device(client, body)
            if grant == "authorization_code":
                return self._token_from_code(client, body)
            return self._token_from_refresh(client, body)

    def _token_from_device(self, client: Client, body: dict[str, Any]) -> dict[str, Any]:
        device_code = body.get("deviceCode")
        if not isinstance(device_code, str) or not device_code:
            raise _oidc("InvalidRequestException", "deviceCode is required")
        dev = self._devices.get(device_code)
        if dev is None or dev.client_id != client.client_id:
            raise _oidc("InvalidGrantException", "Invalid device code provided")
        if dev.status == "consumed":
            raise _oidc("InvalidGrantException", "Device code has already been used")
        if time.time() >= dev.expires_at:
            raise _oidc("ExpiredTokenException", "Device code has expired")
        if dev.status == "denied":
            raise _oidc("AccessDeniedException", "The user denied the authorization request")
        # RFC 8628 slow_down, forgiving one early poll: botocore's first two polls
        # are back to back. Only a second consecutive early poll is refused.
        now = time.monotonic()
        if dev.last_poll is not None and now - dev.last_poll < dev.interval * 0.9:
            dev.fast_polls += 1
        else:
            dev.fast_polls = 0
        dev.last_poll = now
        if dev.status == "pending":
            if dev.fast_polls >= 2:
                raise _oidc("SlowDownException", "Client is polling too fast")
            raise _oidc("AuthorizationPendingException", "Authorization is still pending")
        dev.status = "consumed"
        return self._issue_tokens(client)

    def _token_from_code(self, client: Client, body: dict[str, Any]) -> dict[str, Any]:
        code = body.get("code")
        if not isinstance(code, str) or not code:
            raise _oidc("InvalidRequestException", "code is required")
        rec = self._codes.get(code)
        if rec is None or rec.used or time.time() >= rec.expires_at:
            raise _oidc("InvalidGrantException", "Invalid authorization code")
        if rec.client_id != client.client_id:
            raise _oidc("InvalidGrantException", "Authorization code was issued to another client")
        rec.used = True  # single use, even if the rest of the request is wrong
        if body.get("redirectUri") != rec.redirect_uri:
            raise _oidc("InvalidGrantException", "redirectUri does not match the authorization request")
        verifier = body.get("codeVerifier")
        if not isinstance(verifier, str) or not verifier:
            raise _oidc("InvalidGrantException", "codeVerifier is required")
        if not hmac.compare_digest(pkce_challenge(verifier), rec.challenge):
            raise _oidc("InvalidGrantException", "Code verifier does not match the code challenge")
        return self._issue_tokens(client)

    def _token_from_refresh(self, client: Client, body: dict[str, Any]) -> dict[str, Any]:
        token = body.get("refreshToken")
        if not isinstance(token, str) or not token:
            raise _oidc("InvalidRequestException", "refreshToken is required")
        rec = self._refresh.get(token)
        if rec is None or rec.state != "active" or time.time() >= rec.expires_at:
            raise _oidc("InvalidGrantException", "Invalid refresh token provided")
        if rec.client_id != client.client_id:
            raise _oidc("InvalidGrantException", "Refresh token was issued to another client")
        rec.state = "used"
        return self._issue_tokens(client, family=rec.family)

    def _redirect_allowed(self, client: Client, uri: str) -> bool:
        try:
            parts = urlsplit(uri)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            return False
        if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "::1") or parts.fragment:
            return False
        for registered in client.redirect_uris:
            reg = urlsplit(registered)
            if (reg.scheme, reg.hostname, reg.path or "/", reg.query) == (
                parts.scheme,
                parts.hostname,
                parts.path or "/",
                parts.query,
            ):
                return True
        return False

    @staticmethod
    def _with_params(uri: str, params: dict[str, str | None]) -> str:
        query = urlencode({k: v for k, v in params.items() if v is not None})
        return uri + ("&" if urlsplit(uri).query else "?") + query

    def authorize(self, params: dict[str, str]) -> Redirect | Html:
        """GET /authorize: a redirect to the client's loopback listener, or a page."""
        with self._lock:
            client = self._clients.get(params.get("client_id", ""))
            if client is None or time.time() >= client.expires_at:
                return Html(400, "Invalid client", "<p>The application is not registered (invalid client_id).</p>")
            redirect_uri = params.get("redirect_uri", "")
            if not redirect_uri or not self._redirect_allowed(client, redirect_uri):
                return Html(400, "Invalid redirect URI",
                            "<p>The redirect_uri is not registered for this application.</p>")
            state = params.get("state")
            if params.get("response_type") != "code":
                return Redirect(self._with_params(redirect_uri, {"error": "unsupported_response_type", "state": state}))
            if client.grant_types and "authorization_code" not in client.grant_types:
                return Redirect(self._with_params(redirect_uri, {"error": "unauthorized_client", "state": state}))
            challenge = params.get("code_challenge", "")
            if params.get("code_challenge_method") != "S256" or not challenge:
                return Redirect(
                    self._with_params(
                        redirect_uri,
                        {"error": "invalid_request", "error_description": "PKCE S256 is required", "state": state},
                    )
                )
            scopes = tuple(s for s in params.get("scopes", "").replace(",", " ").split() if s)
            request = AuthRequest(
                client_id=client.client_id,
                redirect_uri=redirect_uri,
                state=state,
                challenge=challenge,
                scopes=scopes,
                expires_at=time.time() + self.config.device_code_ttl,
            )
            if self.config.auto_approve:
                return self._grant_code(request)
            request_id = secrets.token_urlsafe(16)
            self._auth_requests[request_id] = request
            return Html(
                200,
                "Allow access?",
                f"<p>Allow <b>{_html(client.name)}</b> to access your AWS accounts?</p>"
                f'<p><a id="allow" href="/authorize/decision?request_id={request_id}&amp;allow=1">Allow</a> '
                f'<a id="deny" href="/authorize/decision?request_id={request_id}&amp;allow=0">Deny</a></p>',
            )

    def _grant_code(self, request: AuthRequest) -> Redirect:
        code = secrets.token_urlsafe(32)
        self._codes[code] = AuthCode(
            client_id=request.client_id,
            redirect_uri=request.redirect_uri,
            challenge=request.challenge,
            scopes=request.scopes,
            expires_at=time.time() + self.config.auth_code_ttl,
        )
        return Redirect(self._with_params(request.redirect_uri, {"code": code, "state": request.state}))

    def authorize_decision(self, params: dict[str, str]) -> Redirect | Html:
        with self._lock:
            request = self._auth_requests.pop(params.get("request_id", ""), None)
            if request is None or time.time() >= request.expires_at:
                return Html(400, "Request expired", "<p>This authorization request is unknown or has expired.</p>")
            if params.get("allow") in ("1", "true", "yes"):
                return self._grant_code(request)
            return Redirect(self._with_params(request.redirect_uri, {"error": "access_denied", "state": request.state}))

    def device_page(self, params: dict[str, str]) -> Html:
        user_code = params.get("user_code", "").strip()
        if not user_code:
            return Html(
                200,
                "Authorize request",
                '<form method="get" action="/device"><label>Code: <input name="user_code" autofocus></label> '
                '<button type="submit" name="action" value="allow">Allow</button> '
                '<button type="submit" name="action" value="deny">Deny</button></form>',
            )
        deny = params.get("action") == "deny" or params.get("allow") == "0"
        with self._lock:
            try:
                (self.deny if deny else self.approve)(user_code)
            except KeyError:
                # Already approved (auto_approve, or a second visit): say so.
                normalised = user_code.upper() if "-" in user_code else f"{user_code[:4]}-{user_code[4:]}".upper()
                dev = self._devices.get(self._user_codes.get(normalised, ""))
                if dev is not None and dev.status in ("approved", "consumed") and time.time() < dev.expires_at:
                    return Html(200, "Request approved", "<p>Request approved. You can close this window.</p>")
                return Html(404, "Unknown code", "<p>This code is unknown, expired or already used.</p>")
        if deny:
            return Html(200, "Request denied", "<p>Access was denied. You can close this window.</p>")
        return Html(200, "Request approved", "<p>Request approved. You can close this window.</p>")

    # -------------------------------------------------------------- portal

    def _session(self, token: str | None) -> AccessToken:
        rec = self._access.get(token) if token else None
        if rec is None or rec.revoked or time.time() >= rec.expires_at:
            raise _portal("UnauthorizedException", UNAUTHORIZED_MESSAGE)
        return rec

    def _page_token(self, kind: str, offset: int) -> str:
        payload = json.dumps([kind, offset], separators=(",", ":")).encode()
        mac = hmac.new(self._page_key, payload, hashlib.sha256).digest()[:12]
        return _b64url(mac + payload)

    def _page_offset(self, kind: str, token: str | None) -> int:
        if token is None:
            return 0
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            mac, payload = raw[:12], raw[12:]
            good = hmac.compare_digest(mac, hmac.new(self._page_key, payload, hashlib.sha256).digest()[:12])
            got_kind, offset = json.loads(payload) if good else (None, None)
        except (ValueError, TypeError):
            got_kind, offset = None, None
        if got_kind != kind or not isinstance(offset, int) or offset < 0:
            raise _portal("InvalidRequestException", "Invalid nextToken")
        return offset

    @staticmethod
    def _page_size(max_result: str | None) -> int:
        if max_result is None:
            return DEFAULT_PAGE_SIZE
        try:
            size = int(max_result)
        except ValueError:
            raise _portal("InvalidRequestException", "max_result must be an integer") from None
        if size < 1:
            raise _portal("InvalidRequestException", "max_result must be at least 1")
        return min(size, MAX_PAGE_SIZE)

    def list_accounts(self, token: str | None, max_result: str | None, next_token: str | None) -> dict[str, Any]:
        with self._lock:
            self._session(token)
            size = self._page_size(max_result)
            start = self._page_offset("accounts", next_token)
            org = self.org
            end = min(start + size, len(org))
            page = [org.account(i) for i in range(start, end)]
            resp: dict[str, Any] = {"accountList": page}
            if end < len(org):
                resp["nextToken"] = self._page_token("accounts", end)
            return resp

    def list_account_roles(
        self, token: str | None, account_id: str | None, max_result: str | None, next_token: str | None
    ) -> dict[str, Any]:
        with self._lock:
            self._session(token)
            if not account_id:
                raise _portal("InvalidRequestException", "account_id is required")
            size = self._page_size(max_result)
            start = self._page_offset(f"roles:{account_id}", next_token)
            roles = self.org.roles(account_id) or ()
            end = min(start + size, len(roles))
            resp: dict[str, Any] = {
                "roleList": [{"roleName": r, "accountId": account_id} for r in roles[start:end]]
            }
            if end < len(roles):
                resp["nextToken"] = self._page_token(f"roles:{account_id}", end)
            return resp

    def get_role_credentials(self, token: str | None, role_name: str | None, account_id: str | None) -> dict[str, Any]:
        with self._lock:
            self._session(token)
            if not role_name or not account_id:
                raise _portal("InvalidRequestException", "role_name and account_id are required")
            roles = self.org.roles(account_id)
            if roles is None or role_name not in roles:
                raise _portal(self.config.no_access_error, "No access")
            ttl = self.config.credentials_ttl
        rand = secrets.SystemRandom()
        key_id = "ASIA" + "".join(rand.choice(ACCESS_KEY_ALPHABET) for _ in range(16))
        secret = "".join(rand.choice(SECRET_KEY_ALPHABET) for _ in range(40))
        session_token = "IQoJb3JpZ2luX2Vj" + secrets.token_urlsafe(300)
        expires_ms = int((time.time() + ttl) * 1000)
        creds = {"accessKeyId": key_id, "secretAccessKey": secret, "sessionToken": session_token,
                 "expiration": expires_ms}
        self.federation.remember(key_id, secret, session_token, account_id, role_name, expires_ms / 1000)
        return {"roleCredentials": creds}

    def logout(self, token: str | None) -> None:
        """Revoke the access token and every token of its session (refresh chain)."""
        with self._lock:
            rec = self._session(token)
            for tok in self._access.values():
                if tok.family == rec.family:
                    tok.revoked = True
            for rtok in self._refresh.values():
                if rtok.family == rec.family and rtok.state == "active":
                    rtok.state = "revoked"


def _html(text: str) -> str:
    return html.escape(text, quote=True)
