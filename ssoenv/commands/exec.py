"""ssoenv exec [TARGET] -- CMD ARGS...: run CMD with an account/role's credentials."""

from __future__ import annotations

import argparse
import os
import sys

from ssoenv.errors import ExitStatus, LoginRequired, SsoenvError, UsageError


def configure_parser(p) -> None:
    from ssoenv import targets

    targets.add_target_arguments(p)
    server = p.add_mutually_exclusive_group()
    server.add_argument("--server", dest="server", action="store_true", default=None,
                        help="serve renewing credentials on 127.0.0.1 instead of static keys "
                             "(for commands that outlive the role's session; default: setting exec_server)")
    server.add_argument("--no-server", dest="server", action="store_false", help="static keys, even if "
                        "exec_server = true")
    p.add_argument("command_argv", nargs=argparse.REMAINDER, metavar="-- CMD ARGS",
                   help="the command to run (after --; or after TARGET)")
    p.epilog = ("Everything after -- is the command, untouched. Without --, the first word is "
                "TARGET and the rest the command. Without TARGET, the shell's active entry.")


def run(args) -> int:
    from ssoenv import awsconfig, creds, switch, targets

    if not args.command_argv:
        raise UsageError("nothing to run: ssoenv exec [TARGET] -- CMD ARGS...")
    config = awsconfig.load()
    try:
        entry = targets.select(config, **targets.named(args), default_active=True)
    except SsoenvError as exc:
        if args.target and not getattr(args, "_after_dashes", False) and not isinstance(exc, LoginRequired):
            from ssoenv.shellout import printable
            word = printable(args.target)
            exc.hint = (f"without --, the first word ({word!r}) is TARGET; to run it as the shell's "
                        f"account/role: ssoenv exec -- {word} ...")
        raise
    if args.server if args.server is not None else _server_by_default():
        from ssoenv import credserver

        return credserver.exec_with_endpoint(config, entry, args.command_argv)
    credentials = creds.get(config, entry)
    region = switch.region_for(entry) or switch.inherited_region()
    env = switch.child_environment(entry, credentials, region, creds.expiry_epoch(credentials))
    from ssoenv import frecency
    frecency.record(entry.key)  # the picker offers what you use most
    sys.stdout.flush()
    sys.stderr.flush()
    import signal

    command = args.command_argv[0]
    # Python ignores SIGPIPE and SIGXFSZ, and exec keeps ignored signals: give the
    # command a shell's defaults (`ssoenv exec -- yes | head` ends quietly), and put
    # them back if the exec fails.
    python_handlers = {sig: signal.signal(sig, signal.SIG_DFL) for sig in (signal.SIGPIPE, signal.SIGXFSZ)}
    try:
        try:
            os.execvpe(command, args.command_argv, env)
        finally:
            for sig, handler in python_handlers.items():
                signal.signal(sig, handler)
    except FileNotFoundError:
        raise SsoenvError(f"command not found: {command}", ExitStatus.NOT_FOUND) from None
    except PermissionError:
        raise SsoenvError(f"permission denied: {command}", ExitStatus.CANNOT_EXECUTE) from None
    except OSError as exc:
        raise SsoenvError(f"cannot run {command}: {exc.strerror}", ExitStatus.CANNOT_EXECUTE) from None
    return 0  # not reached


def _server_by_default() -> bool:
    from ssoenv import settings

    return settings.get_bool("exec_server")
