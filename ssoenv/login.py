"""Logging in and staying logged in.

Token and client-registration files are the AWS CLI v2's (same names, fields and
time format), so one login serves ssoenv, the AWS CLI v2 and every SDK.

The renewal policy (`ensure_token`): a token with time left is used as is; near
expiry, a refresh token renews it silently; otherwise a login runs if a human is
there, else LoginRequired (exit 3). Renewal and login happen under a per-session
lock, and the cache is re-read once the lock is held, so however many processes
race, one CreateToken (or one browser flow) happens and the others use its result.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time

from ssoenv import cache, paths, settings
from ssoenv.awsconfig import SsoSession
from ssoenv.errors import ExitStatus, LoginRequired, SsoenvError
from ssoenv.log import get_logger

log = get_logger(__name__)

REFRESH_WINDOW = 15 * 60  # renew when fewer seconds than this remain (botocore's advisory window)
REGISTRATION_MARGIN = 15 * 60  # reuse a client registration while more than this remains
CLIENT_NAME = "ssoenv"
PKCE_REDIRECT = "http://127.0.0.1/oauth/callback"


# --- the token file ------------------------------------------------------------------

def read_token(session: SsoSession) -> dict | None:
    data = cache.read_json(paths.token_cache_file(session.cache_key))
    if not isinstance(data, dict) or not isinstance(data.get("accessToken"), str) or not data["accessToken"]:
        return None
    if cache.parse_time(data.get("expiresAt", "")) is None:
        return None
    return data


def seconds_left(token: dict | None) -> float:
    if not token:
        return float("-inf")
    expires = cache.parse_time(token.get("expiresAt", ""))
    return (expires - cache.now()).total_seconds() if expires else float("-inf")


def can_refresh(token: dict | None) -> bool:
    if not token or not token.get("refreshToken") or not token.get("clientId") or not token.get("clientSecret"):
        return False
    reg_expires = cache.parse_time(token.get("registrationExpiresAt", ""))
    return reg_expires is not None and reg_expires > cache.now()


def _write_token(session: SsoSession, response: dict, registration: dict) -> dict:
    expires = cache.now() + dt.timedelta(seconds=int(response.get("expiresIn", 3600)))
    token = {
        "startUrl": session.start_url,
        "region": session.region,
        "accessToken": response["accessToken"],
        "expiresAt": cache.format_time(expires),
        "clientId": registration["clientId"],
        "clientSecret": registration["clientSecret"],
        "registrationExpiresAt": registration["expiresAt"],
    }
    if response.get("refreshToken"):
        token["refreshToken"] = response["refreshToken"]
    cache.atomic_write_json(paths.token_cache_file(session.cache_key), token)
    return token


# --- client registration ------------------------------------------------------------

def _registration_path(session: SsoSession):
    return paths.registration_cache_file(session.start_url, session.region,
                                         list(session.scopes) or None,
                                         None if session.legacy else session.name)


def _registration(session: SsoSession, pkce: bool) -> dict:
    from ssoenv import identity

    path = _registration_path(session)
    cached = cache.read_json(path)
    if isinstance(cached, dict) and cached.get("clientId") and cached.get("clientSecret"):
        expires = cache.parse_time(cached.get("expiresAt", ""))
        flow_ok = ("authorization_code" in (cached.get("grantTypes") or [])) == pkce
        if expires and (expires - cache.now()).total_seconds() > REGISTRATION_MARGIN and flow_ok:
            return cached
    scopes = list(session.scopes) or None
    if pkce:
        grant_types = ["authorization_code", "refresh_token"]
        response = identity.register_client(session.region, client_name=CLIENT_NAME, scopes=scopes,
                                            grant_types=grant_types, redirect_uris=[PKCE_REDIRECT],
                                            issuer_url=session.start_url)
    else:
        grant_types = None
        response = identity.register_client(session.region, client_name=CLIENT_NAME, scopes=scopes)
    expires = dt.datetime.fromtimestamp(response["clientSecretExpiresAt"], dt.timezone.utc)
    registration = {"clientId": response["clientId"], "clientSecret": response["clientSecret"],
                    "expiresAt": cache.format_time(expires), "scopes": scopes or []}
    if grant_types:
        registration["grantTypes"] = grant_types
    cache.atomic_write_json(path, registration)
    return registration


# --- flows ----------------------------------------------------------------------------

def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def browser_available() -> bool:
    """Whether opening a browser can work here (not over SSH without a display)."""
    if os.environ.get("BROWSER"):
        return True
    if sys.platform == "darwin" or sys.platform.startswith("win"):
        return not os.environ.get("SSH_CONNECTION")
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _open_browser(url: str) -> bool:
    import webbrowser

    try:
        return bool(webbrowser.open(url))
    except Exception as exc:  # a broken $BROWSER must not abort the login
        log.debug("could not open a browser: %s", exc)
        return False


def device_code_flow(session: SsoSession, registration: dict, *, open_browser: bool, timeout: int) -> dict:
    from ssoenv import identity

    auth = identity.start_device_authorization(session.region, registration["clientId"],
                                               registration["clientSecret"], session.start_url)
    url = auth.get("verificationUriComplete") or auth["verificationUri"]
    _say(f"ssoenv: to log in to {session.label}, open\n\n    {url}\n\n"
         f"and check that it shows the code {auth['userCode']}. Waiting for approval...")
    if open_browser:
        _open_browser(url)
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


def _callback_server():
    """A one-shot HTTP listener on 127.0.0.1 for the authorization-code redirect.

    (Built on demand: http.server is not worth importing on the paths that never log in.)
    """
    import html
    import queue
    import urllib.parse
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class _CallbackHandler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            parsed = urllib.parse.urlsplit(self.path)
            if parsed.path != "/oauth/callback":
                self.send_error(404)
                return
            params = dict(urllib.parse.parse_qsl(parsed.query))
            self.server.results.put(params)  # type: ignore[attr-defined]
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

    server = HTTPServer(("127.0.0.1", 0), _CallbackHandler)
    server.results = queue.Queue()  # type: ignore[attr-defined]
    return server


def pkce_flow(session: SsoSession, registration: dict, *, timeout: int) -> dict:
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
    server = _callback_server()
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
        _say(f"ssoenv: to log in to {session.label}, your browser should open; if it does not, open\n\n"
             f"    {url}\n\nWaiting for approval...")
        _open_browser(url)
        deadline = time.monotonic() + timeout
        while True:
            try:
                params = server.results.get(timeout=max(0.1, min(1.0, deadline - time.monotonic())))  # type: ignore[attr-defined]
            except queue.Empty:
                if time.monotonic() >= deadline:
                    raise SsoenvError("timed out waiting for the browser login") from None
                continue
            if not secrets.compare_digest(params.get("state", ""), state):
                log.warning("ignoring a callback with a wrong state")
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


def find_aws_cli_v2() -> str | None:
    """The `aws` on PATH if it is the AWS CLI v2 (a v1 has no `sso login`)."""
    import shutil
    import subprocess

    aws = shutil.which("aws")
    if not aws:
        return None
    try:
        out = subprocess.run([aws, "--version"], capture_output=True, text=True, timeout=30,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    text = (out.stdout or "") + (out.stderr or "")
    return aws if out.returncode == 0 and text.startswith("aws-cli/2.") else None


def relogin_aws_cli() -> str | None:
    """The AWS CLI v2 the automatic re-login uses, or None for ssoenv's own login.

    login_via_aws_cli: true (must be there), false, or auto (when one is installed).
    """
    if settings.get("login_via_aws_cli").strip().lower() == "auto":
        return find_aws_cli_v2()
    if not settings.get_bool("login_via_aws_cli"):
        return None
    found = find_aws_cli_v2()
    if not found:
        raise SsoenvError("login_via_aws_cli is set but no AWS CLI v2 is on PATH")
    return found


def aws_cli_login(session: SsoSession, aws: str | None = None) -> None:
    """Delegate to `aws sso login` (the AWS CLI v2 writes the same cache)."""
    import subprocess

    aws = aws or find_aws_cli_v2()
    if not aws:
        raise SsoenvError("no AWS CLI v2 on PATH (`aws --version` must say aws-cli/2); "
                          "install it or log in without --via-aws-cli")
    argv = [aws, "sso", "login"] + (["--profile", session.name] if session.legacy
                                    else ["--sso-session", session.name])
    if not browser_available():
        argv.append("--no-browser")
    # Our stdout may be what a shell evals: the CLI's chatter goes to stderr.
    try:
        stderr_fd = sys.stderr.fileno()
    except (AttributeError, ValueError, OSError):  # io.UnsupportedOperation is an OSError
        stderr_fd = 2
    status = subprocess.call(argv, stdout=stderr_fd)
    if status != 0:
        raise SsoenvError(f"`aws sso login` failed with exit status {status}")


def _login_locked(session: SsoSession, *, device_code: bool, open_browser: bool, via_aws_cli: bool | str) -> dict:
    """`via_aws_cli`: True (find the AWS CLI v2), a path to it, or False (ssoenv's own flow)."""
    if via_aws_cli:
        aws_cli_login(session, via_aws_cli if isinstance(via_aws_cli, str) else None)
        token = read_token(session)
        if not token:
            raise SsoenvError("`aws sso login` finished but left no token in the cache")
        return token
    timeout = settings.get_int("login_timeout")
    # PKCE needs a browser on this machine; legacy profiles never used it.
    pkce = not device_code and not session.legacy and open_browser and browser_available()
    registration = _registration(session, pkce)
    if pkce:
        response = pkce_flow(session, registration, timeout=timeout)
    else:
        response = device_code_flow(session, registration, open_browser=open_browser and browser_available(),
                                    timeout=timeout)
    return _write_token(session, response, registration)


def login(session: SsoSession, *, device_code: bool = False, open_browser: bool = True,
          via_aws_cli: bool | None = None) -> dict:
    """An explicit login: runs even without a terminal (URL and code go to stderr)."""
    if via_aws_cli is None:
        via_aws_cli = settings.aws_cli_login_always()
    with cache.file_lock(paths.session_lock_file(session.cache_key)):
        return _login_locked(session, device_code=device_code, open_browser=open_browser,
                             via_aws_cli=via_aws_cli)


def login_unless_renewed(session: SsoSession, seen: dict | None, *, via_aws_cli: bool | str = False) -> bool:
    """Log in, unless another process renewed the token since `seen` was read.

    Under the session lock, so a burst of failing commands makes one login.
    True if this call logged in, False if it found someone else's fresh token.
    """
    with cache.file_lock(paths.session_lock_file(session.cache_key)):
        fresh = read_token(session)
        if (fresh and seconds_left(fresh) > 60
                and fresh.get("accessToken") != (seen or {}).get("accessToken")):
            return False
        _say(f"ssoenv: the SSO session {session.label} has expired; logging in"
             + (" with `aws sso login`" if via_aws_cli else ""))
        _login_locked(session, device_code=False, open_browser=True, via_aws_cli=via_aws_cli)
        return True


def _refresh_locked(session: SsoSession, token: dict) -> dict | None:
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
    registration = {"clientId": token["clientId"], "clientSecret": token["clientSecret"],
                    "expiresAt": token["registrationExpiresAt"]}
    if not response.get("refreshToken"):
        response = dict(response, refreshToken=token["refreshToken"])
    log.info("renewed the SSO token of %s", session.label)
    return _write_token(session, response, registration)


def is_interactive() -> bool:
    try:
        return sys.stdin.isatty() and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def ensure_token(session: SsoSession, *, interactive: bool | None = None, min_valid: float = REFRESH_WINDOW,
                 force_refresh: bool = False) -> dict:
    """A token with at least `min_valid` seconds left, renewing or logging in as needed."""
    token = read_token(session)
    if not force_refresh and seconds_left(token) > min_valid:
        return token
    with cache.file_lock(paths.session_lock_file(session.cache_key)):
        fresh = read_token(session)
        # Someone else renewed while we waited for the lock: use theirs.
        if fresh and (seconds_left(fresh) > min_valid and
                      (not force_refresh or fresh.get("accessToken") != (token or {}).get("accessToken"))):
            return fresh
        token = fresh
        if can_refresh(token):
            renewed = _refresh_locked(session, token)
            if renewed:
                return renewed
        if not force_refresh and seconds_left(token) > 60:
            return token  # renewal failed but it still works for a while
        if force_refresh and token:
            # The service refused this token and it cannot be renewed: forget it, so
            # `status` stops calling it valid and `ssoenv login` does not skip the login.
            cache.remove(paths.token_cache_file(session.cache_key))
        reason = (f"the SSO session {session.label} has expired" if token
                  else f"not logged in to {session.label}")
        if interactive is None:
            interactive = is_interactive()
        if not interactive:
            raise LoginRequired(session.label, reason, login_command(session))
        _say(f"ssoenv: {reason}; logging in.")
        return _login_locked(session, device_code=False, open_browser=True,
                             via_aws_cli=settings.aws_cli_login_always())


def login_command(session: SsoSession) -> str:
    import shlex

    if session.legacy:
        return f"ssoenv login --profile {shlex.quote(session.name)}"
    return f"ssoenv login --sso-session {shlex.quote(session.name)}"
