"""ssoenv recover [--shell SH] [--preflight] -- CMD ARGS...

Called by the shell integration when a wrapped command (aws, terraform, ...)
failed with an expired or invalid SSO token: renew the token silently when a
refresh token allows it, else log in (`aws sso login` or ssoenv's own flow),
under the per-session lock, so a burst of failing commands makes one login.

The protocol with the snippets:
  * exit 0: the command may be run again (once); stdout holds statements for the
    shell to eval (only with --shell, and only when the shell is switched to an
    entry of the renewed sso-session: its exported credentials, or the expiry the
    prompt shows, are stale); nothing otherwise.
  * exit != 0: do not re-run; the command's own status stands. 3: a login is
    needed but cannot run here (no terminal).
  * --preflight: the command has not run yet; the shell saw SSOENV_EXPIRES pass.
    Renew what has expired (no forced token refresh), then print the statements.
Messages go to stderr, one line each, never a traceback (without --debug).
"""

from __future__ import annotations

import argparse
import os
import sys

from ssoenv.errors import LoginRequired, SsoenvError


def configure_parser(p) -> None:
    from ssoenv.shells import SHELLS

    p.add_argument("--shell", choices=SHELLS,
                   help="print statements for this shell to eval when its exported identity is stale")
    p.add_argument("--preflight", action="store_true",
                   help="the command has not run yet: renew only what has expired")
    p.add_argument("command_argv", nargs=argparse.REMAINDER, metavar="-- CMD ARGS",
                   help="the command that failed (its --profile names the sso-session)")
    p.epilog = ("The sso-session is the one of the command's --profile, else the shell's "
                "(SSOENV_SESSION) if it exported credentials, else of AWS_PROFILE, else the shell's, "
                "else the only one in the AWS config. "
                "A login (only with a terminal; else exit 3) uses `aws sso login` when the setting "
                "login_via_aws_cli is true, or auto and an AWS CLI v2 is installed; else ssoenv's own.")


def profile_in_argv(argv: list[str]) -> str | None:
    """The value of --profile X / --profile=X in an AWS CLI-like command line."""
    for i, arg in enumerate(argv[1:], start=1):
        if arg == "--profile" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--profile="):
            return arg.split("=", 1)[1]
    return None


def session_for(config, argv: list[str]):
    """The SsoSession the failed command used (precedence: awsconfig.session_claims).

    Stricter than choose_sessions: a claim that cannot be resolved is an error, not
    passed over, since renewing another sso-session would not help the command."""
    from ssoenv import awsconfig

    def of_profile(name: str, where: str):
        if name not in config.profiles:
            raise SsoenvError(f"no profile named {name!r} ({where}) in {config.path}")
        if "role_arn" in config.profiles[name].values:  # a chained role: the SSO profile it starts from
            from ssoenv import chain

            name = chain.base_profile(config, name).name
        if not config.profiles[name].is_sso:
            session = credential_process_session(config, config.profiles[name])
            if session is None:
                raise SsoenvError(f"profile {name!r} ({where}) does not use IAM Identity Center; nothing to renew")
            return session
        return config.session_for_profile(name)

    def of_active(active: str):
        if active in config.sessions:
            return config.sessions[active]
        switched_profile = os.environ.get("SSOENV_PROFILE")
        if switched_profile and switched_profile in config.profiles:
            return config.session_for_profile(switched_profile)
        from ssoenv import catalog
        legacy = catalog.login_named(config, active)  # `profile NAME`: a legacy login's entry
        if legacy:
            return legacy
        raise SsoenvError(f"the shell is switched to sso-session {active!r}, which {config.path} no longer has")

    claims = awsconfig.session_claims(profile=profile_in_argv(argv))
    if claims:
        claim = claims[0]
        return of_active(claim.name) if claim.kind == "active" else of_profile(claim.name, claim.where)
    if len(config.sessions) == 1:
        return next(iter(config.sessions.values()))
    if not config.sessions:
        raise SsoenvError(f"no sso-session in {config.path}; cannot tell what to renew",
                          hint="add one with: ssoenv configure (or `ssoenv demo` to try it locally)")
    names = ", ".join(sorted(config.sessions))
    raise SsoenvError(f"cannot tell which sso-session the command used ({names}); "
                      "give it --profile, or switch the shell first")


def credential_process_session(config, profile):
    """The SsoSession behind a profile whose credential_process is `ssoenv
    credential-process TARGET…` (to the AWS CLI not an IAM Identity Center profile,
    yet ssoenv's login is what it needs); None for any other profile."""
    import shlex

    from ssoenv import creds, targets

    try:
        argv = shlex.split(profile.values.get("credential_process") or "")
    except ValueError:
        return None
    if "credential-process" not in argv:
        return None
    at = argv.index("credential-process")
    if not any(os.path.basename(word) == "ssoenv" or word == "ssoenv" for word in argv[:at]):
        return None
    parser = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    targets.add_target_arguments(parser)
    try:
        named, _ = parser.parse_known_args(argv[at + 1:])
    except (argparse.ArgumentError, SystemExit):  # a line credential-process would refuse too
        return None
    try:
        entry = targets.select(config, **targets.named(named), default_active=False, need_name=False,
                               interactive=False)
        return creds.session_of(config, entry)
    except SsoenvError as exc:
        raise SsoenvError(f"cannot tell which sso-session the credential_process of profile "
                          f"{profile.name!r} uses: {exc.message}") from None


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def renew(session, *, force: bool) -> str:
    """Renew the token of `session` or log in; 'valid', 'renewed' or 'logged in'.

    `force`: the command was refused with this token, so a token that looks valid
    is not trusted (it may have been revoked): refresh it, or log in.
    """
    from ssoenv import awscli, login, terminal, tokens

    before = tokens.read_token(session)
    try:
        token = login.ensure_token(session, interactive=False, force_refresh=force)
    except LoginRequired:
        pass
    else:
        same = before is not None and token.get("accessToken") == before.get("accessToken")
        return "valid" if same else "renewed"
    if not terminal.is_interactive():
        raise LoginRequired(session.label, f"the SSO session {session.label} has expired and "
                                           "cannot be renewed silently", tokens.login_command(session))
    aws = awscli.relogin_aws_cli()
    if not login.login_unless_renewed(session, before, via_aws_cli=aws or False):
        return "renewed"
    return "logged in"


def statements(config, session, shell: str) -> str:
    """What the shell must eval when it is switched to an entry of `session`."""
    from ssoenv import creds, switch, targets

    if not shell or not targets.active():
        return ""
    mode = os.environ.get("SSOENV_MODE")
    if mode not in ("profile", "credentials"):
        return ""
    entry = targets.select(config, default_active=True)
    if creds.session_of(config, entry) != session:
        return ""
    return switch.statements(config, entry, shell=shell, mode=mode, interactive=False)


def run(args) -> int:
    from ssoenv import awsconfig

    argv = list(args.command_argv or [])
    if argv[:1] == ["--"]:
        argv = argv[1:]
    config = awsconfig.load()
    session = session_for(config, argv)
    outcome = renew(session, force=not args.preflight)
    if outcome == "renewed":
        _say(f"ssoenv: renewed the SSO session {session.label}")
    elif outcome == "logged in":
        _say(f"ssoenv: logged in to {session.label}")
    try:
        out = statements(config, session, args.shell)
    except SsoenvError as exc:
        # The token is good again; the shell's own identity could not be renewed.
        _say(f"ssoenv: cannot renew this shell's credentials: {exc.message}")
        return exc.exit_status
    sys.stdout.write(out)
    return 0
