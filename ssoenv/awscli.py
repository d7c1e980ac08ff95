"""Handing a login to the AWS CLI v2 (`aws sso login`), which writes the same cache."""

from __future__ import annotations

import sys

from ssoenv import settings, terminal, tokens
from ssoenv.awsconfig import SsoSession
from ssoenv.errors import SsoenvError


def find_aws_cli_v2() -> str | None:
    """The `aws` on PATH if it is the AWS CLI v2 (a v1 has no `sso login`)."""
    import shutil
    import subprocess  # lazy, as the callers of login: only a login pays for it

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
    # A CLI before 2.22 reuses whatever registration sits in its slot, without checking the flow.
    tokens.release_shared_slot(session)
    argv = [aws, "sso", "login"] + (["--profile", session.name] if session.legacy
                                    else ["--sso-session", session.name])
    if not terminal.browser_available():
        argv.append("--no-browser")
    # Our stdout may be what a shell evals: the CLI's chatter goes to stderr.
    try:
        stderr_fd = sys.stderr.fileno()
    except (AttributeError, ValueError, OSError):  # io.UnsupportedOperation is an OSError
        stderr_fd = 2
    # Its webbrowser would fall through to lynx as ssoenv's would: the same environment.
    status = subprocess.call(argv, stdout=stderr_fd, env=terminal.browser_env())
    if status != 0:
        raise SsoenvError(f"`aws sso login` failed with exit status {status}")
