"""ssoenv use: print the statements that switch a shell to an account/role."""

from __future__ import annotations


def add_shell_arguments(p) -> None:
    p.add_argument("--shell", choices=("bash", "zsh", "fish"), required=True,
                   help="the shell that will eval the output")
    p.add_argument("--mode", choices=("profile", "credentials"), default=None,
                   help="force AWS_PROFILE (profile) or exported keys (credentials); "
                        "default: profile when one exists")


def configure_parser(p) -> None:
    from ssoenv import targets

    targets.add_target_arguments(p)
    add_shell_arguments(p)
    p.add_argument("--clear", action="store_true", help="unset everything a switch set")
    p.add_argument("--renew", action="store_true",
                   help="re-issue the active entry's credentials (the prompt hook uses this)")


def run(args) -> int:
    import sys

    from ssoenv import awsconfig, shellout, switch, targets
    from ssoenv.errors import UsageError

    if args.clear:
        if args.target or args.account or args.role:
            raise UsageError("--clear takes no target")
        sys.stdout.write(shellout.render(switch.clear_changes(), args.shell))
        return 0
    config = awsconfig.load()
    if args.renew:
        if args.target or args.account or args.role:
            raise UsageError("--renew takes no target: it renews the active entry")
        if not targets.active():
            raise UsageError("nothing to renew: no account/role is active in this shell")
    elif args.target is None and not args.account and not args.role:
        raise UsageError("say which account/role: TARGET, or --account and --role (or --clear)")
    entry = targets.select(args, config, default_active=args.renew)
    mode = args.mode
    if args.renew and mode is None:
        import os
        mode = os.environ.get("SSOENV_MODE") if os.environ.get("SSOENV_MODE") in ("profile", "credentials") else None
    out = switch.statements(config, entry, shell=args.shell, mode=mode,
                            interactive=False if args.renew else None)
    sys.stdout.write(out)
    return 0
