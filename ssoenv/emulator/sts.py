"""STS, as far as role chaining needs it: GetCallerIdentity and AssumeRole.

The query protocol (a form-encoded POST to `/`, XML answers) signed with SigV4.
The caller is the access key id in the Authorization header: role credentials this
emulator issued through GetRoleCredentials (an SSO role: `assumed-role/
AWSReservedSSO_<set>_<16 hex>/<user>`) or through AssumeRole. The session token
must match the one issued with the key; the signature itself is not checked.

AssumeRole serves the roles of `EmulatorConfig.trusted_roles` and refuses
(AccessDenied) one whose trust names neither the caller's account nor its role, or
whose external id differs. Role chaining caps a session at one hour, as STS does.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from .config import ROLE_ARN, ROLE_SESSION_NAME

NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
STS_OPS = ("AssumeRole", "GetCallerIdentity")
CHAINED_MAX_DURATION = 3600
_CREDENTIAL = re.compile(r"Credential=([A-Z0-9]+)/")

# error code -> HTTP status (STS answers 403 for unknown keys and denials)
STATUS = {"AccessDenied": 403, "InvalidClientTokenId": 403, "ExpiredToken": 400, "ValidationError": 400,
          "Throttling": 400, "InvalidAction": 400, "MissingAuthenticationToken": 403}
# The emulator's portal-style codes (throttling, injected faults) in STS's words.
_FROM_PORTAL = {"TooManyRequestsException": "Throttling", "InternalServerException": "InternalFailure",
                "ServiceUnavailableException": "ServiceUnavailable"}


class StsError(Exception):
    def __init__(self, code: str, message: str, status: int | None = None):
        super().__init__(message)
        self.code = _FROM_PORTAL.get(code, code)
        self.message = message
        self.status = status or STATUS.get(self.code, 500 if self.code.startswith(("Internal", "Service")) else 400)

    def xml(self) -> bytes:
        kind = "Receiver" if self.status >= 500 else "Sender"
        return (f'<ErrorResponse xmlns="{NAMESPACE}"><Error><Type>{kind}</Type><Code>{escape(self.code)}</Code>'
                f"<Message>{escape(self.message)}</Message></Error>"
                f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>").encode()


@dataclass
class Caller:
    account_id: str
    role: str  # the role's name: a permission set, or the assumed role
    session: str  # the session name in the ARN
    sso: bool  # credentials from GetRoleCredentials (an SSO role)

    @property
    def role_arn_name(self) -> str:
        if not self.sso:
            return self.role
        suffix = hashlib.sha256(f"{self.account_id}/{self.role}".encode()).hexdigest()[:16]
        return f"AWSReservedSSO_{self.role}_{suffix}"

    @property
    def arn(self) -> str:
        return f"arn:aws:sts::{self.account_id}:assumed-role/{self.role_arn_name}/{self.session}"

    def user_id(self) -> str:
        digest = hashlib.sha256(f"{self.account_id}/{self.role_arn_name}".encode()).hexdigest().upper()
        return f"AROA{digest[:17]}:{self.session}"


@dataclass
class _Assumed:
    secret: str
    session_token: str
    caller: Caller
    expires_at: float


def operation(body: bytes) -> tuple[str, dict[str, str]]:
    """(Action, the other form fields) of a query-protocol request."""
    try:
        fields = {k: v[0] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
    except UnicodeDecodeError:
        raise StsError("InvalidAction", "The request body is not form-encoded text") from None
    action = fields.pop("Action", "")
    if action not in STS_OPS:
        raise StsError("InvalidAction", f"Could not find operation {action or '(none)'} for version 2011-06-15")
    return action, fields


class Sts:
    def __init__(self, center: Any) -> None:
        self.center = center  # the IdentityCenter: its config and its federation's issued credentials
        self._lock = threading.Lock()
        self._assumed: dict[str, _Assumed] = {}

    def caller(self, headers: Any) -> Caller:
        found = _CREDENTIAL.search(headers.get("Authorization") or "")
        if not found:
            raise StsError("MissingAuthenticationToken", "Request is missing Authentication Token")
        key = found[1]
        token = headers.get("X-Amz-Security-Token") or ""
        with self._lock:
            assumed = self._assumed.get(key)
        if assumed is not None:
            secret_token, expires_at, caller = assumed.session_token, assumed.expires_at, assumed.caller
        else:
            issued = self.center.federation.issued(key)
            if issued is None:
                raise StsError("InvalidClientTokenId", "The security token included in the request is invalid.")
            secret_token, expires_at = issued.session_token, issued.expires_at
            caller = Caller(issued.account_id, issued.role, self.center.config.user_name, sso=True)
        if not hmac.compare_digest(secret_token, token):
            raise StsError("InvalidClientTokenId", "The security token included in the request is invalid.")
        if time.time() >= expires_at:
            raise StsError("ExpiredToken", "The security token included in the request is expired")
        return caller

    def handle(self, action: str, fields: dict[str, str], headers: Any) -> bytes:
        caller = self.caller(headers)
        if action == "GetCallerIdentity":
            result = (f"<Arn>{escape(caller.arn)}</Arn><UserId>{escape(caller.user_id())}</UserId>"
                      f"<Account>{caller.account_id}</Account>")
        else:
            result = self._assume_role(caller, fields)
        return (f'<{action}Response xmlns="{NAMESPACE}"><{action}Result>{result}</{action}Result>'
                f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
                f"</{action}Response>").encode()

    def _trusts(self, principals: list[str], caller: Caller) -> bool:
        for principal in principals:
            if principal in ("*", caller.account_id, f"arn:aws:iam::{caller.account_id}:root"):
                return True
            found = ROLE_ARN.fullmatch(principal)
            if found and found[1] == caller.account_id and found[2] in (caller.role, caller.role_arn_name):
                return True
        return False

    def _assume_role(self, caller: Caller, fields: dict[str, str]) -> str:
        arn, session = fields.get("RoleArn", ""), fields.get("RoleSessionName", "")
        if not ROLE_ARN.fullmatch(arn):
            raise StsError("ValidationError", f"{arn!r} is not a valid role ARN")
        if not ROLE_SESSION_NAME.fullmatch(session):
            raise StsError("ValidationError", "1 validation error detected: Value at 'roleSessionName' failed to "
                           "satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*")
        try:
            duration = int(fields.get("DurationSeconds") or 3600)
        except ValueError:
            raise StsError("ValidationError", "DurationSeconds must be a number") from None
        if not 900 <= duration <= 43200:
            raise StsError("ValidationError", "DurationSeconds must be between 900 and 43200")
        if duration > CHAINED_MAX_DURATION:
            raise StsError("ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit "
                           "for roles assumed by role chaining.")
        role = next((r for r in self.center.config.trusted_roles if r["roleArn"] == arn), None)
        denied = StsError("AccessDenied", f"User: {caller.arn} is not authorized to perform: sts:AssumeRole "
                                          f"on resource: {arn}")
        if role is None or not self._trusts(role["trust"], caller):
            raise denied
        if role["externalId"] is not None and fields.get("ExternalId") != role["externalId"]:
            raise denied
        found = ROLE_ARN.fullmatch(arn)
        assert found is not None
        assumed = Caller(found[1], found[2], session, sso=False)
        key = "ASIA" + secrets.token_hex(8).upper()
        secret, token = secrets.token_urlsafe(30), "FwoGZXIvYXdzE" + secrets.token_urlsafe(200)
        expires_at = time.time() + min(duration, self.center.config.credentials_ttl or duration)
        with self._lock:
            self._assumed[key] = _Assumed(secret, token, assumed, expires_at)
        # the sign-in endpoint accepts them too (console by federation)
        self.center.federation.remember(key, secret, token, assumed.account_id, assumed.role, expires_at)
        expiration = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires_at))
        return (f"<Credentials><AccessKeyId>{key}</AccessKeyId><SecretAccessKey>{secret}</SecretAccessKey>"
                f"<SessionToken>{token}</SessionToken><Expiration>{expiration}</Expiration></Credentials>"
                f"<AssumedRoleUser><AssumedRoleId>{escape(assumed.user_id())}</AssumedRoleId>"
                f"<Arn>{escape(assumed.arn)}</Arn></AssumedRoleUser>")
