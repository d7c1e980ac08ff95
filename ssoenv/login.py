"""Logging in and staying logged in: the device-code and PKCE flows (with the
callback server), ssoenv's client registrations, and the renewal policy.

The files live in `tokens.py` (storage); `awscli.py` hands a login to `aws sso login`.

The renewal policy (`ensure_token`): a token with time left is used as is; near
expiry, a refresh token renews it silently; otherwise a login runs if a human is
there, else LoginRequired (exit 3). Renewal and login happen under a per-session
lock, and the cache is re-read once the lock is held, so however many processes
race, one CreateToken (or one browser flow) happens and the others use its result.
"""

from __future__ import annotations

import datetime as dt
import time

from ssoenv import awscli, cache, paths, settings, terminal, tokens
from ssoenv.awsconfig import SsoSession
from ssoenv.errors import LoginRequired, SsoenvError
from ssoenv.log import get_logger

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hot paths
if TYPE_CHECKING:
    from ssoenv.shapes import Registration, Token

log = get_logger(__name__)

REFRESH_WINDOW = 15 * 60  # renew when fewer seconds than this remain (botocore's advisory window)
CLIENT_NAME = "ssoenv"
PKCE_REDIRECT = "http://127.0.0.1/oauth/callback"


# --- client registrations (the files: tokens.py) ---------------------------------------

def _registration(session: SsoSession, pkce: bool, *,
                  refused: Registration | None = None) -> tuple[Registration, bool]:
    """A client registration that fits the flow, and whether it came from the cache.

    `refused`: a cached registration the service no longer knows (InvalidClientException);
    it is replaced by a new one, unless another tool already did."""
    tokens.release_shared_slot(session)
    path = tokens.registration_path(session, pkce)
    cached = cache.read_json(path)
    if tokens.reusable(cached, pkce) and (refused is None or cached.get("clientId") != refused.get("clientId")):
        return cached, True
    registration = _register(session, pkce)
    if tokens.unchanged(path, cached):
        cache.atomic_write_json(path, registration)
    else:  # another tool registered meanwhile: keep its file, use ours for this login
        log.info("client registration of %s changed meanwhile; not replacing it", session.label)
    return registration, False


def _register(session: SsoSession, pkce: bool) -> Registration:
    from ssoenv import identity

    scopes = list(session.scopes) or None
    if pkce:
        response = identity.register_client(session.region, client_name=CLIENT_NAME, scopes=scopes,
                                            grant_types=list(tokens.PKCE_GRANTS), redirect_uris=[PKCE_REDIRECT],
                                            issuer_url=session.start_url)
    else:
        response = identity.register_client(session.region, client_name=CLIENT_NAME, scopes=scopes)
    expires = dt.datetime.fromtimestamp(response["clientSecretExpiresAt"], dt.timezone.utc)
    registration: Registration = {"clientId": response["clientId"], "clientSecret": response["clientSecret"],
                                  "expiresAt": cache.format_time(expires), "scopes": scopes or []}
    if pkce:
        registration["grantTypes"] = list(tokens.PKCE_GRANTS)
    return registration


# --- flows ----------------------------------------------------------------------------

def device_code_flow(session: SsoSession, registration: Registration, *, open_browser: bool, timeout: int) -> dict:
    from ssoenv import identity

    auth = identity.start_device_authorization(session.region, registration["clientId"],
                                               registration["clientSecret"], session.start_url)
    url = auth.get("verificationUriComplete") or auth["verificationUri"]
    terminal.say(f"ssoenv: to log in to {session.label}, open\n\n    {url}\n\n"
         f"and check that it shows the code {auth['userCode']}. Waiting for approval...")
    if open_browser:
        terminal.open_browser(url)
    interval = max(int(auth.get("interval") or 5), 1)
    deadline = time.monotonic() + min(timeout, int(auth.get("expiresIn") or timeout))
    while True:
        try:
            return identity.create_token(session.region, grantType=identity.OIDC_GRANT_DEVICE,
                                         deviceCode=auth["deviceCode"],
                                         clientId=registration["clientId"],
                                         clientSecret=registration["clientSecret"])
        except identity.ApiError as exc:
            if exc.code == "AuthorizationPendingException":
                pass
            elif exc.code == "SlowDownException":
                interval += 5
            elif exc.code == "ExpiredTokenException":
                raise SsoenvError("the login code expired before it was approved; run the login again") from None
            elif exc.code == "AccessDeniedException":
                raise SsoenvError("the login was denied in the browser") from None
            else:
                raise
        if time.monotonic() + interval > deadline:
            raise SsoenvError("timed out waiting for the login to be approved")
        time.sleep(interval)


def _callback_server(state: str):
    """A one-shot HTTP listener on 127.0.0.1 for the authorization-code redirect that
    carries `state`; it refuses any other.

    (Built on demand: http.server is not worth importing on the paths that never log in.)
    """
    import html
    import queue
    import secrets
    import urllib.parse
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class _CallbackHandler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            parsed = urllib.parse.urlsplit(self.path)
            if parsed.path != "/oauth/callback":
                self.send_error(404)
                return
            params = dict(urllib.parse.parse_qsl(parsed.query))
            if not secrets.compare_digest(params.get("state", ""), self.server.state):
                # Not this login's redirect (another page, a stale tab): refused, and the
                # login goes on waiting for its own.
                log.warning("refused a login callback with a wrong state")
                self.send_error(400, "Not this login's state")
                return
            self.server.results.put(params)
            ok = "code" in params
            body = ("<!doctype html><title>ssoenv</title><p>"
                    + html.escape("Logged in. You can close this window." if ok
                                  else "Login failed: " + params.get("error", "unknown error"))
                    + "</p>").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # keep stderr for the user
            pass

    class _CallbackServer(HTTPServer):
        def __init__(self) -> None:
            super().__init__(("127.0.0.1", 0), _CallbackHandler)
            self.results: queue.Queue[dict[str, str]] = queue.Queue()
            self.state = state

    return _CallbackServer()


class BrowserNotOpened(Exception):
    """No browser could be opened for the authorization-code flow."""


def check_client(session: SsoSession, registration: Registration) -> None:
    """Raise InvalidClientException (identity.ApiError) now if the service no longer
    knows this PKCE registration: the browser would only show an error page for it,
    and the login would wait for a callback that never comes. A token request with a
    code that cannot exist costs one call; a client it knows gets InvalidGrantException."""
    from ssoenv import identity

    try:
        identity.create_token(session.region, grantType=identity.OIDC_GRANT_CODE,
                              clientId=registration["clientId"], clientSecret=registration["clientSecret"],
                              code="ssoenv-client-check", redirectUri=PKCE_REDIRECT,
                              codeVerifier="ssoenv-client-check-" + "0" * 43)
    except identity.ApiError as exc:
        if exc.code == "InvalidClientException":
            raise
        log.debug("client check of %s: %s", session.label, exc.code)


def pkce_flow(session: SsoSession, registration: Registration, *, timeout: int) -> dict:
    import base64
    import hashlib
    import queue
    import secrets
    import threading
    import urllib.parse

    from ssoenv import identity

    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = secrets.token_urlsafe(32)
    server = _callback_server(state)
    redirect_uri = f"http://127.0.0.1:{server.server_address[1]}/oauth/callback"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        query = urllib.parse.urlencode({
            "response_type": "code", "client_id": registration["clientId"],
            "redirect_uri": redirect_uri, "state": state, "code_challenge_method": "S256",
            "scopes": " ".join(session.scopes or ["sso:account:access"]), "code_challenge": challenge,
        }, quote_via=urllib.parse.quote)
        url = f"{identity.oidc_endpoint(session.region)}/authorize?{query}"
        if not terminal.open_browser(url):
            raise BrowserNotOpened()
        terminal.say(f"ssoenv: to log in to {session.label}, approve in the browser that opened; if none did, open\n\n"
             f"    {url}\n\non this machine. Waiting for approval...")
        deadline = time.monotonic() + timeout
        while True:
            try:
                params = server.results.get(timeout=max(0.1, min(1.0, deadline - time.monotonic())))
            except queue.Empty:
                if time.monotonic() >= deadline:
                    raise SsoenvError("timed out waiting for the browser login") from None
                continue
            if "error" in params:
                raise SsoenvError(f"the browser login failed: {params['error']}")
            if "code" in params:
                break
    finally:
        server.shutdown()
        server.server_close()
    return identity.create_token(session.region, grantType=identity.OIDC_GRANT_CODE,
                                 clientId=registration["clientId"], clientSecret=registration["clientSecret"],
                                 code=params["code"], redirectUri=redirect_uri, codeVerifier=verifier)


def _login_locked(session: SsoSession, *, device_code: bool, open_browser: bool, via_aws_cli: bool | str) -> Token:
    """`via_aws_cli`: True (find the AWS CLI v2), a path to it, or False (ssoenv's own flow)."""
    if via_aws_cli:
        awscli.aws_cli_login(session, via_aws_cli if isinstance(via_aws_cli, str) else None)
        token = tokens.read_token(session)
        if not token:
            raise SsoenvError("`aws sso login` finished but left no token in the cache")
        return token
    if not device_code and not terminal.browser_available() and not terminal.is_interactive():
        # No browser and nobody to show a code to: a device-code login would wait for
        # nothing. Stop now; an explicit --device-code still runs (URL and code on stderr).
        raise LoginRequired(session.label, f"no browser to open here to log in to {session.label}",
                            tokens.login_command(session) + " --device-code")
    # PKCE needs a browser on this machine; legacy profiles never used it.
    if not device_code and not session.legacy and open_browser and terminal.browser_available():
        try:
            return _own_login(session, pkce=True, open_browser=True)
        except BrowserNotOpened:
            # Its redirect comes back to this machine only: no use printing the URL.
            if not terminal.is_interactive():
                raise LoginRequired(session.label, f"could not open a browser to log in to {session.label}",
                                    tokens.login_command(session) + " --device-code") from None
            terminal.say("ssoenv: could not open a browser; logging in with a device code instead")
            open_browser = False
    return _own_login(session, pkce=False, open_browser=open_browser and terminal.browser_available())


def _own_login(session: SsoSession, *, pkce: bool, open_browser: bool) -> Token:
    """ssoenv's own flow. A cached registration the service no longer knows
    (InvalidClientException: a re-created instance, a revoked client) is replaced by
    one new registration, once."""
    from ssoenv import identity

    registration, cached = _registration(session, pkce)
    try:
        response = _run_flow(session, registration, pkce=pkce, cached=cached, open_browser=open_browser)
    except identity.ApiError as exc:
        if exc.code != "InvalidClientException" or not cached:
            raise
        terminal.say(f"ssoenv: IAM Identity Center no longer knows the cached client registration of "
             f"{session.label}; registering a new one")
        registration, cached = _registration(session, pkce, refused=registration)
        response = _run_flow(session, registration, pkce=pkce, cached=cached, open_browser=open_browser)
    return tokens.write_token(session, response, registration)


def _run_flow(session: SsoSession, registration: Registration, *, pkce: bool, cached: bool,
              open_browser: bool) -> dict:
    timeout = settings.get_int("login_timeout")
    if not pkce:
        return device_code_flow(session, registration, open_browser=open_browser, timeout=timeout)
    if cached:
        check_client(session, registration)
    return pkce_flow(session, registration, timeout=timeout)


def login(session: SsoSession, *, device_code: bool = False, open_browser: bool = True,
          via_aws_cli: bool | None = None) -> Token:
    """An explicit login: runs even without a terminal (URL and code go to stderr)."""
    if via_aws_cli is None:
        via_aws_cli = settings.aws_cli_login_always()
    with cache.file_lock(paths.session_lock_file(session.cache_key)):
        return _login_locked(session, device_code=device_code, open_browser=open_browser,
                             via_aws_cli=via_aws_cli)


def login_unless_renewed(session: SsoSession, seen: Token | None, *, via_aws_cli: bool | str = False) -> bool:
    """Log in, unless another process renewed the token since `seen` was read.

    Under the session lock, so a burst of failing commands makes one login.
    True if this call logged in, False if it found someone else's fresh token.
    """
    with cache.file_lock(paths.session_lock_file(session.cache_key)):
        fresh = tokens.read_token(session)
        if (fresh and tokens.seconds_left(fresh) > 60
                and fresh.get("accessToken") != (seen or {}).get("accessToken")):
            return False
        terminal.say(f"ssoenv: the SSO session {session.label} has expired; logging in"
             + (" with `aws sso login`" if via_aws_cli else ""))
        _login_locked(session, device_code=False, open_browser=True, via_aws_cli=via_aws_cli)
        return True


def _refresh_locked(session: SsoSession, token: Token) -> Token | None:
    from ssoenv import identity

    try:
        response = identity.create_token(session.region, grantType=identity.OIDC_GRANT_REFRESH,
                                         clientId=token["clientId"], clientSecret=token["clientSecret"],
                                         refreshToken=token["refreshToken"])
    except identity.ApiError as exc:
        if exc.code in ("InvalidGrantException", "ExpiredTokenException", "InvalidClientException",
                        "UnauthorizedClientException", "AccessDeniedException", "InvalidRequestException"):
            log.info("silent renewal of %s was refused (%s)", session.label, exc.code)
            return None
        raise
    registration: Registration = {"clientId": token["clientId"], "clientSecret": token["clientSecret"],
                                  "expiresAt": token["registrationExpiresAt"]}
    if not response.get("refreshToken"):
        response = dict(response, refreshToken=token["refreshToken"])
    log.info("renewed the SSO token of %s", session.label)
    return tokens.write_token(session, response, registration, renewing=token)


def ensure_token(session: SsoSession, *, interactive: bool | None = None, min_valid: float = REFRESH_WINDOW,
                 force_refresh: bool = False) -> Token:
    """A token with at least `min_valid` seconds left, renewing or logging in as needed."""
    token = tokens.read_token(session)
    if not force_refresh and token is not None and tokens.seconds_left(token) > min_valid:
        return token
    with cache.file_lock(paths.session_lock_file(session.cache_key)):
        fresh = tokens.read_token(session)
        # Someone else renewed while we waited for the lock: use theirs.
        if fresh and (tokens.seconds_left(fresh) > min_valid and
                      (not force_refresh or fresh.get("accessToken") != (token or {}).get("accessToken"))):
            return fresh
        token = fresh
        if token is not None and tokens.can_refresh(token):
            renewed = _refresh_locked(session, token)
            if renewed:
                return renewed
            # Refused: another tool (the AWS CLI, botocore, ...) may have renewed it a
            # moment ago with the same refresh token, which the service then rotated.
            theirs = tokens.read_token(session)
            if theirs and not tokens.same_token(theirs, token) and tokens.seconds_left(theirs) > 60:
                log.info("another tool renewed the token of %s; using it", session.label)
                return theirs
        if not force_refresh and token is not None and tokens.seconds_left(token) > 60:
            return token  # renewal failed but it still works for a while
        if force_refresh and token and tokens.same_token(tokens.read_token(session), token):
            # The service refused this token and it cannot be renewed: forget it, so
            # `status` stops calling it valid and `ssoenv login` does not skip the login.
            # Only while the file still holds it: never another tool's newer token.
            cache.remove(paths.token_cache_file(session.cache_key))
        reason = (f"the SSO session {session.label} has expired" if token
                  else f"not logged in to {session.label}")
        if interactive is None:
            interactive = terminal.is_interactive()
        if not interactive:
            raise LoginRequired(session.label, reason, tokens.login_command(session))
        terminal.say(f"ssoenv: {reason}; logging in.")
        return _login_locked(session, device_code=False, open_browser=True,
                             via_aws_cli=settings.aws_cli_login_always())
