"""The AWS sign-in federation endpoint, as far as console sign-in needs it.

`GET /federation?Action=getSigninToken&Session=<JSON>` checks that the session
credentials are ones this emulator issued through GetRoleCredentials (key id,
secret and session token all match, not expired) and answers a sign-in token
valid 15 minutes. `GET /federation?Action=login&SigninToken=...&Destination=...`
spends that token and redirects to `/console`, a page that names the account and
role (the real endpoint redirects to the AWS console).
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass

SIGNIN_TOKEN_TTL = 15 * 60
MAX_REMEMBERED = 50_000  # issued credentials kept for checking (oldest dropped)


class FederationError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class _Issued:
    secret: str
    session_token: str
    account_id: str
    role: str
    expires_at: float


@dataclass
class _Signin:
    account_id: str
    role: str
    expires_at: float


class Federation:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._issued: dict[str, _Issued] = {}
        self._tokens: dict[str, _Signin] = {}
        self._consoles: dict[str, tuple[str, str, str]] = {}

    def remember(self, access_key_id: str, secret: str, session_token: str, account_id: str, role: str,
                 expires_at: float) -> None:
        with self._lock:
            if len(self._issued) >= MAX_REMEMBERED:
                self._issued.pop(next(iter(self._issued)))
            self._issued[access_key_id] = _Issued(secret, session_token, account_id, role, expires_at)

    def issued(self, access_key_id: str) -> _Issued | None:
        """What was issued with this key id (STS names its caller from it)."""
        with self._lock:
            return self._issued.get(access_key_id)

    def signin_token(self, session: str | None) -> str:
        try:
            doc = json.loads(session or "")
        except ValueError:
            doc = None
        if not isinstance(doc, dict) or not all(isinstance(doc.get(k), str)
                                                for k in ("sessionId", "sessionKey", "sessionToken")):
            raise FederationError(400, "Session must be JSON with sessionId, sessionKey and sessionToken")
        with self._lock:
            issued = self._issued.get(doc["sessionId"])
            if (issued is None or not hmac.compare_digest(issued.secret, doc["sessionKey"])
                    or not hmac.compare_digest(issued.session_token, doc["sessionToken"])):
                raise FederationError(400, "The session credentials are not valid")
            if time.time() >= issued.expires_at:
                raise FederationError(400, "The session credentials have expired")
            token = secrets.token_urlsafe(48)
            self._tokens[token] = _Signin(issued.account_id, issued.role, time.time() + SIGNIN_TOKEN_TTL)
            return token

    def login(self, signin_token: str | None, destination: str | None) -> str:
        """Spend a sign-in token; the id of the console session it opens."""
        with self._lock:
            signin = self._tokens.pop(signin_token or "", None)
            if signin is None or time.time() >= signin.expires_at:
                raise FederationError(400, "The sign-in token is not valid or has expired")
            console = secrets.token_urlsafe(16)
            self._consoles[console] = (signin.account_id, signin.role, destination or "")
            return console

    def console(self, console: str | None) -> tuple[str, str, str]:
        """(account id, role, destination) of a console session."""
        with self._lock:
            found = self._consoles.get(console or "")
        if found is None:
            raise FederationError(403, "Not signed in")
        return found

    def is_valid(self, access_key_id: str, secret: str, session_token: str) -> bool:
        """Whether these are unexpired credentials this emulator issued (for tests)."""
        try:
            self.signin_token(json.dumps({"sessionId": access_key_id, "sessionKey": secret,
                                          "sessionToken": session_token}))
        except FederationError:
            return False
        return True
