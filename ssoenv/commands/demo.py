"""ssoenv demo: try ssoenv in a throwaway shell against the bundled emulator."""

from __future__ import annotations

from ssoenv.errors import UsageError

MAX_ACCOUNTS = 30_000  # the largest organisation the benchmarks measure; its sync takes ~25 s here


def configure_parser(p) -> None:
    p.add_argument("--shell", metavar="SHELL", help="bash, zsh or fish (default: the shell this runs in)")
    p.add_argument("--accounts", type=int, default=0, metavar="N",
                   help="generate N accounts, at most 30,000 (default: the sample organisation of 2)")
    p.add_argument("--command", "-c", dest="run_command", metavar="CMD",
                   help="run CMD with /bin/sh in the demo environment instead of a shell; "
                        "exit with its status")
    p.add_argument("--no-shell", action="store_true",
                   help="print the environment (for --shell's syntax) and keep the emulator "
                        "running until Ctrl-C, instead of starting a shell")
    p.epilog = ("Nothing is left behind: the emulator runs inside this process and the "
                "temporary HOME is removed when the shell exits.")


def run(args) -> int:
    from ssoenv import demo

    if not 0 <= args.accounts <= MAX_ACCOUNTS:  # a zero too many would fill the memory, not fail
        raise UsageError(f"--accounts must be between 1 and {MAX_ACCOUNTS:,}, not {args.accounts:,}")
    return demo.run(shell=args.shell, accounts=args.accounts, command=args.run_command, no_shell=args.no_shell)
