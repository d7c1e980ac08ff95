"""ssoenv doctor: check the setup and say what to fix."""

from __future__ import annotations

import os

from ssoenv.errors import SsoenvError


def configure_parser(p) -> None:
    pass


def run(args) -> int:
    import shutil
    import stat
    import subprocess

    from ssoenv import awsconfig, paths, tokens

    problems = 0

    def report(ok: bool, text: str, fix: str = "") -> None:
        nonlocal problems
        problems += not ok
        print(f"{'ok ' if ok else 'FIX'}  {text}" + (f"\n     -> {fix}" if fix and not ok else ""))

    try:
        config = awsconfig.load()
        report(bool(config.sessions), f"{config.path}: {len(config.sessions)} sso-session(s)",
               "ssoenv configure")
    except SsoenvError as exc:
        report(False, exc.message, exc.hint or "")
        return 1
    for session in config.sessions.values():
        token = tokens.read_token(session)
        left = tokens.seconds_left(token)
        if left > 0:
            report(True, f"{session.name}: logged in, {int(left // 60)} min left"
                   + ("; renews silently" if tokens.can_refresh(token) else ""))
        else:
            report(tokens.can_refresh(token), f"{session.name}: "
                   + ("expired, renews silently" if tokens.can_refresh(token) else "not logged in"),
                   tokens.login_command(session))
        if "sso:account:access" not in session.scopes:
            report(False, f"{session.name}: no sso_registration_scopes, so no silent renewal",
                   f"ssoenv configure --sso-session {session.name} --scopes sso:account:access")
    cache_dir = paths.sso_cache_dir()
    if cache_dir.exists():
        mode = stat.S_IMODE(cache_dir.stat().st_mode)
        report(not mode & 0o077, f"{cache_dir} is mode {mode:o}", f"chmod 700 {cache_dir}")
    try:
        import iterfzf as fzfmod
        fzf = getattr(fzfmod, "BUNDLED_EXECUTABLE", None) or shutil.which("fzf")
        report(bool(fzf), f"fzf: {fzf or 'not found'}", "the picker falls back to a simpler prompt")
    except ImportError:
        report(False, "iterfzf is not installed", "pip install iterfzf")
    aws = shutil.which("aws")
    if aws:
        try:
            version = subprocess.run([aws, "--version"], capture_output=True, text=True, timeout=20).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            version = "unknown"
        report(version.startswith("aws-cli/2"), f"AWS CLI: {version or 'unknown'}",
               "install the AWS CLI v2 for `aws sso login` and SSO profiles")
    else:
        print("--   AWS CLI not found (optional: ssoenv logs in by itself)")
    if os.environ.get("AWS_ENDPOINT_URL"):
        report(False, "AWS_ENDPOINT_URL is set: it also redirects the SSO calls",
               "set AWS_ENDPOINT_URL_<SERVICE> for the services you mean instead")
    return 1 if problems else 0
