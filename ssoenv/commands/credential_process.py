"""ssoenv credential-process: for `credential_process = ssoenv credential-process ...`.

Never prompts and never opens a browser: an SDK is waiting on the other end.
When a login is needed it says which command to run, on stderr, and exits 3.
"""

from __future__ import annotations


def configure_parser(p) -> None:
    from ssoenv import targets

    targets.add_target_arguments(p)
    p.epilog = ("Never prompts and never opens a browser (an SDK is waiting): when only a login would do, "
                "exit 3 and a line on stderr naming the command to run.")


def run(args) -> int:
    import sys

    from ssoenv import awsconfig, export, quickexit, targets
    from ssoenv.errors import UsageError

    targets.join_words(args)
    if args.target is None and not args.account and not args.role:
        raise UsageError("credential-process needs a TARGET or --account and --role")
    config = awsconfig.load()
    entry = targets.select(config, **targets.named(args), default_active=False, interactive=False)
    sys.stdout.write(export.render(config, entry, "process", interactive=False))
    quickexit.request(args)  # everything is written: skip botocore's teardown
    return 0
