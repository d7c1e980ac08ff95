"""ssoenv doctor: check the setup and say what to fix."""

from __future__ import annotations

import os

from ssoenv.errors import SsoenvError


def configure_parser(p) -> None:
    pass


def run(args) -> int:
    import shutil
    import stat

    from ssoenv import awsconfig, identity, paths, tokens

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
        problem = identity.unknown_region(session.region)
        if problem:
            close = problem.rpartition("did you mean ")[2].rstrip("?") if "did you mean" in problem else "REGION"
            report(False, f"{session.name}: {problem}",
                   f"ssoenv configure --sso-session {session.name} --region {close}")
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
    _check_aws_cli(report)
    _check_settings(report)
    if os.environ.get("AWS_ENDPOINT_URL"):
        report(False, "AWS_ENDPOINT_URL is set: it also redirects the SSO calls",
               "set AWS_ENDPOINT_URL_<SERVICE> for the services you mean instead")
    return 1 if problems else 0



def _check_settings(report) -> None:
    from ssoenv import paths, settings

    path = paths.settings_file()
    try:
        problems = settings.unread_in_file()
    except SsoenvError as exc:
        report(False, exc.message, f"fix or remove {path}")
        return
    for problem in problems:
        report(False, f"{path}: {problem}", "keys: " + ", ".join(settings.DEFAULTS) + " (README: Settings)")
    if path.exists() and not problems:
        report(True, f"{path}: settings")


def _all_on_path(program: str) -> list[str]:
    """Every executable `program` on PATH, in PATH's order (the first is what runs)."""
    found: list[str] = []
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        candidate = os.path.join(folder or ".", program)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK) and candidate not in found:
            found.append(candidate)
    return found


def _version(aws: str) -> str:
    import subprocess

    try:  # the v1 prints its version on stderr, the v2 on stdout
        done = subprocess.run([aws, "--version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    out = (done.stdout + done.stderr).strip()
    return out.splitlines()[0] if out else ""


def _check_aws_cli(report) -> None:
    """The `aws` that runs first, and when it is not a v2, whether one is further down PATH."""
    found = _all_on_path("aws")
    if not found:
        print("--   AWS CLI not found (optional: ssoenv logs in by itself)")
        return
    first, version = found[0], _version(found[0])
    if version.startswith("aws-cli/2"):
        report(True, f"AWS CLI: {first} ({version})")
        return
    v2 = next((aws for aws in found[1:] if _version(aws).startswith("aws-cli/2")), None)
    if v2:
        report(False, f"AWS CLI: the `aws` first on PATH is {first} ({version or 'version unknown'}); "
                      f"an AWS CLI v2 is at {v2}",
               f"put {os.path.dirname(v2)} before {os.path.dirname(first)} in PATH, or remove {first}")
    else:
        report(False, f"AWS CLI: {first} ({version or 'version unknown'})",
               "install the AWS CLI v2 for `aws sso login` and SSO profiles")
