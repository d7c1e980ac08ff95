"""ssoenv use: print the statements that switch a shell to an account/role."""

from __future__ import annotations

import os
import sys

from ssoenv.errors import UsageError


def configure_parser(p) -> None:
    import argparse

    from ssoenv import targets
    from ssoenv.shells import add_shell_arguments

    targets.add_target_arguments(p)
    add_shell_arguments(p)
    p.add_argument("--clear", action="store_true", help="unset everything a switch set")
    # Internal: the shell integration's own calls, hidden from --help.
    # --renew re-issues the active entry's credentials (the prompt hook);
    # --session-state marks the prompt `logged out` when the active sso-session has no
    # token (the shell function, after login and logout).
    p.add_argument("--renew", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--session-state", action="store_true", help=argparse.SUPPRESS)
    p.epilog = ("With the shell integration loaded (`ssoenv init`), `ssoenv use TARGET` switches "
                "the current shell. Without it, eval the output: eval \"$(ssoenv use TARGET)\" "
                "(fish: ssoenv use TARGET | source).")


def run(args) -> int:
    from ssoenv import awsconfig, frecency, shellout, switch, targets
    from ssoenv.shells import output_shell

    words = list(args.target or [])
    targets.join_words(args)
    shell = output_shell(args.shell, "use", words)
    if args.clear:
        if args.target or args.account or args.role:
            raise UsageError("--clear takes no target")
        sys.stdout.write(shellout.render(switch.clear_changes(), shell))
        return 0
    if args.session_state:
        sys.stdout.write(shellout.render(switch.session_state_changes(), shell))
        return 0
    config = awsconfig.load()
    if args.renew:
        if args.target or args.account or args.role:
            raise UsageError("--renew takes no target: it renews the active entry")
        if not targets.active():
            raise UsageError("nothing to renew: no account/role is active in this shell",
                             hint="switch first with Ctrl-A / `ssoenv use TARGET`")
    elif args.target is None and not args.account and not args.role:
        raise UsageError("say which account/role: TARGET, or --account and --role (or --clear)")
    entry = targets.select(config, **targets.named(args), default_active=args.renew)
    mode = args.mode
    if args.renew and mode is None:
        mode = os.environ.get("SSOENV_MODE") if os.environ.get("SSOENV_MODE") in ("profile", "credentials") else None
    out = switch.statements(config, entry, shell=shell, mode=mode,
                            interactive=False if args.renew else None)
    if not args.renew:
        frecency.record(entry.key)
    sys.stdout.write(out)
    return 0
