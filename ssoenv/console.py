"""The AWS console for an account/role: the URLs, and opening or printing them.

Default: the access portal's shortcut link (`<start URL>/#/console?account_id=…&role_name=…`):
no credential in the URL; the browser's portal session signs in. `--federation`: sign
in with the role's temporary credentials through the AWS federation endpoint
(getSigninToken, then a login URL), for a browser without a portal session. That
login URL is a credential for 15 minutes: it is opened, or printed only where asked.

AWS_ENDPOINT_URL_SIGNIN (the SDKs' override for the Signin service, whose hosts
are the federation endpoint's) points the federation call elsewhere, e.g. at the
emulator.
"""

from __future__ import annotations

import os
import re
import sys

from ssoenv import terminal
from ssoenv.errors import SsoenvError, UsageError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hot paths
if TYPE_CHECKING:
    from ssoenv.shapes import RoleCredentials


ISSUER_FALLBACK = "https://github.com/ssoenv"
SERVICE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}\Z")
FEDERATION_TIMEOUT = 20

# partition -> (sign-in host, console host)
PARTITIONS = {
    "aws": ("signin.aws.amazon.com", "console.aws.amazon.com"),
    "aws-us-gov": ("signin.amazonaws-us-gov.com", "console.amazonaws-us-gov.com"),
    "aws-cn": ("signin.amazonaws.cn", "console.amazonaws.cn"),
}


# --- URLs --------------------------------------------------------------------------

def partition(region: str) -> str:
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws"


def destination_url(destination: str | None, region: str) -> str:
    """A console URL: as given, or the home page of a service (or of the console)."""
    from urllib.parse import quote

    from ssoenv.shellout import printable

    console = PARTITIONS[partition(region)][1]
    if not destination:
        return f"https://{console}/console/home?region={quote(region)}"
    if destination.startswith("https://"):
        if any(ch.isspace() or not ch.isprintable() for ch in destination):
            raise UsageError("the destination URL holds spaces or control characters")
        if not is_console_url(destination, console):
            raise UsageError(f"--destination must be a URL of the AWS console ({console}) of the "
                             f"target's partition, not {printable(destination)!r}")
        return destination
    if SERVICE_NAME.match(destination):
        return f"https://{console}/{destination}/home?region={quote(region)}"
    raise UsageError(f"--destination must be an https:// console URL or a service name such as s3, "
                     f"not {printable(destination)!r}")


def is_console_url(url: str, console: str) -> bool:
    """`url` is https://`console` or one of its subdomains (eu-west-1.console…, s3.console…),
    with no user, password or port that could make a browser go elsewhere."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    host = parts.hostname or ""
    return (parts.scheme == "https" and "\\" not in url and parts.username is None and parts.password is None
            and port is None and parts.netloc.lower() == host and (host == console or host.endswith("." + console)))


def shortcut_url(start_url: str, account_id: str, role: str, destination: str | None) -> str:
    """The access portal's shortcut link for an account and role."""
    from urllib.parse import quote, urlencode

    base = start_url.split("#", 1)[0].rstrip("/")
    params = {"account_id": account_id, "role_name": role}
    if destination:
        params["destination"] = destination
    return f"{base}/#/console?{urlencode(params, quote_via=quote)}"


def federation_endpoint(region: str) -> str:
    override = os.environ.get("AWS_ENDPOINT_URL_SIGNIN")
    if override:
        return override.rstrip("/") + "/federation"
    return f"https://{PARTITIONS[partition(region)][0]}/federation"


def signin_token(endpoint: str, creds: RoleCredentials) -> str:
    """getSigninToken: the role's credentials go in the request only (never argv or logs)."""
    import json
    import urllib.error
    import urllib.request
    from urllib.parse import urlencode, urlsplit

    session = json.dumps({"sessionId": creds["AccessKeyId"], "sessionKey": creds["SecretAccessKey"],
                          "sessionToken": creds["SessionToken"]})
    url = f"{endpoint}?{urlencode({'Action': 'getSigninToken', 'Session': session})}"
    host = urlsplit(endpoint).netloc
    try:
        with urllib.request.urlopen(url, timeout=FEDERATION_TIMEOUT) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        raise SsoenvError(f"the sign-in endpoint {host} refused the role's credentials (HTTP {exc.code})",
                          hint="try again; if it persists, the role may not allow console sign-in") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise SsoenvError(f"cannot reach the sign-in endpoint {host}: {reason}") from None
    try:
        token = json.loads(body).get("SigninToken")
    except (ValueError, AttributeError):
        token = None
    if not isinstance(token, str) or not token:
        raise SsoenvError(f"the sign-in endpoint {host} answered without a sign-in token")
    return token


def login_url(endpoint: str, token: str, issuer: str, destination: str) -> str:
    from urllib.parse import quote, urlencode

    params = {"Action": "login", "Issuer": issuer, "Destination": destination, "SigninToken": token}
    return f"{endpoint}?{urlencode(params, quote_via=quote)}"


# --- delivering the URL ----------------------------------------------------------

def deliver(url: str, what: str, *, print_url: bool, secret: bool, stdout_allowed: bool = True) -> None:
    """Open `url`, or print it: on stdout only where asked (or piped) and allowed.

    `stdout_allowed` is False where stdout is what a shell evals (the picker's key)."""
    if print_url and stdout_allowed:
        print(url, flush=True)
        return
    if not print_url and terminal.open_browser(url):
        print(f"ssoenv: opened the console for {what} in the browser", file=sys.stderr)
        return
    warning = " (it signs in for 15 minutes: keep it to yourself)" if secret else ""
    print(f"ssoenv: no browser to open here; open this URL to reach the console for {what}{warning}:",
          file=sys.stderr, flush=True)
    stream = sys.stdout if stdout_allowed and not sys.stdout.isatty() else sys.stderr
    print(url, file=stream, flush=True)


def open_console(config, entry, *, federation: bool = False, destination: str | None = None,
                 region: str | None = None, print_url: bool = False, stdout_allowed: bool = True) -> int:
    """Open the console for `entry` (shortcut link, or federation sign-in)."""
    from ssoenv import creds, settings
    from ssoenv.shellout import printable

    session = creds.session_of(config, entry)
    from ssoenv import chain

    if not federation and chain.is_chained_name(config, entry.profile):
        print(f"ssoenv: profile {printable(entry.profile)} is a chained role: the access portal's shortcut "
              "link cannot reach it; signing in by federation", file=sys.stderr)
        federation = True
    console_region = (region or entry.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
                      or settings.get("default_region") or session.region)
    what = f"{printable(entry.account_name or entry.account_id)}/{printable(entry.role)}"
    if not federation:
        asked = destination or region
        url = shortcut_url(session.start_url, entry.account_id, entry.role,
                           destination_url(destination, console_region) if asked else None)
        deliver(url, what, print_url=print_url, secret=False, stdout_allowed=stdout_allowed)
        return 0
    target_url = destination_url(destination, console_region)
    role_creds = creds.get(config, entry)
    endpoint = federation_endpoint(console_region)
    token = signin_token(endpoint, role_creds)
    issuer = session.start_url or ISSUER_FALLBACK
    deliver(login_url(endpoint, token, issuer, target_url), what, print_url=print_url, secret=True,
            stdout_allowed=stdout_allowed)
    return 0
