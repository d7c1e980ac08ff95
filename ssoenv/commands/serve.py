"""ssoenv serve [TARGET]: a credential endpoint in the foreground, for tools started
from several terminals; and `ssoenv exec --server`, the same endpoint for one command.

Both serve the role's credentials on 127.0.0.1 (a random port, a random token per
run) in the container-credentials format the SDKs and the AWS CLI poll, renewing
them before they expire (see ssoenv/credserver.py).
"""

from __future__ import annotations

import sys


def configure_parser(p) -> None:
    from ssoenv import targets
    from ssoenv.shells import SHELLS

    targets.add_target_arguments(p)
    p.add_argument("--shell", choices=SHELLS,
                   help="quote the variables for this shell (default: the one this runs in)")
    p.epilog = ("Prints the two variables to export on stdout, then serves until Ctrl-C. "
                "Without TARGET, the shell's active entry.")


def run(args) -> int:
    import signal

    from ssoenv import awsconfig, credserver, shellout, targets
    from ssoenv.shellout import printable

    shell = args.shell
    if shell is None:
        from ssoenv.shells import detect_shell

        shell = detect_shell()
    config = awsconfig.load()
    entry = targets.select(config, **targets.named(args), default_active=True)
    endpoint = credserver.start_for(config, entry)

    class _Stop(Exception):
        pass

    def on_signal(signum, _frame):
        raise _Stop(signum)

    # Before anything is printed: whoever read the exports may stop it at once, cleanly.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    try:
        endpoint.start()
        changes = list(endpoint.environment().items())
        changes += [(name, None) for name in credserver.SHADOWING_VARS]
        sys.stdout.write(shellout.render(changes, shell))
        sys.stdout.flush()
        what = f"{printable(entry.account_name or entry.account_id)}/{printable(entry.role)}"
        print(f"ssoenv: serving credentials for {what} at {endpoint.url}; export the variables above "
              f"in each shell that should use them; Ctrl-C stops", file=sys.stderr, flush=True)
        while True:
            signal.pause()
    except _Stop as stop:
        status = 128 + stop.args[0]
    finally:
        endpoint.close()
    print("ssoenv: stopped serving credentials", file=sys.stderr, flush=True)
    return status
