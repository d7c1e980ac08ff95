"""ssoenv exec [TARGET] -- CMD ARGS...: run CMD with an account/role's credentials."""

from __future__ import annotations

import argparse
import os
import sys

from ssoenv.errors import ExitStatus, LoginRequired, SsoenvError, UsageError


def configure_parser(p) -> None:
    from ssoenv import fanout, targets

    targets.add_target_arguments(p, one_word=True)
    server = p.add_mutually_exclusive_group()
    server.add_argument("--server", dest="server", action="store_true", default=None,
                        help="serve renewing credentials on 127.0.0.1 instead of static keys "
                             "(for commands that outlive the role's session; default: setting exec_server)")
    server.add_argument("--no-server", dest="server", action="store_false", help="static keys, even if "
                        "exec_server = true")
    fanout.add_arguments(p)
    p.add_argument("command_argv", nargs=argparse.REMAINDER, metavar="-- CMD ARGS",
                   help="the command to run (after --; or after TARGET)")
    p.epilog = ("Everything after -- is the command, untouched, and the words before it are TARGET "
                "(`exec member read -- CMD`); when those words match nothing, the first is TARGET "
                "and the command starts at the second (its own -- kept). Without --, the first "
                "word is TARGET and the rest the command. Without TARGET, the shell's active entry. "
                "--each PATTERN runs it in every matching account/role (see the README).")


# options that mean something only with --each (name -> its value when not given)
EACH_ONLY: dict[str, object] = {"exclude": [], "parallel": None, "region": None, "yes": False,
                                "dry_run": False, "group": False, "output_dir": None, "json": False,
                                "fail_fast": False}


def run(args) -> int:
    if args.each:
        from ssoenv import fanout

        return fanout.run(args)
    given = [name for name, unset in EACH_ONLY.items() if getattr(args, name) != unset]
    if given:
        raise UsageError(f"--{given[0].replace('_', '-')} goes with --each PATTERN")
    from ssoenv import awsconfig, creds, switch

    if not args.command_argv:
        raise UsageError("nothing to run: ssoenv exec [TARGET] -- CMD ARGS...")
    config = awsconfig.load()
    try:
        entry = _select(config, args)
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


def _select(config, args):
    """The entry. Words between TARGET and -- (`exec member read -- CMD`) are more of
    TARGET when all of them together match an entry; otherwise the command began at
    the second word and the -- is its own (`exec prod git log -- path`)."""
    from ssoenv import targets

    words = getattr(args, "_target_words", None)
    if words and not any(word.startswith("-") for word in words):
        try:
            entry = targets.select(config, **{**targets.named(args), "target": " ".join([args.target, *words])},
                                   default_active=True)
        except targets.NoMatch as first:
            try:
                return targets.select(config, **targets.named(args), default_active=True)
            except targets.NoMatch:
                raise first from None
        args.command_argv = args._after
        return entry
    return targets.select(config, **targets.named(args), default_active=True)


def _server_by_default() -> bool:
    from ssoenv import settings

    return settings.get_bool("exec_server")
