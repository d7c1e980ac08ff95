"""ssoenv env: credentials in the formats of `aws configure export-credentials`."""

from __future__ import annotations

FORMATS = ("env", "env-no-export", "fish", "powershell", "windows-cmd", "process", "json")


def configure_parser(p) -> None:
    from ssoenv import targets

    targets.add_target_arguments(p)
    p.add_argument("--format", choices=FORMATS, default="env", help="output format (default env)")


def run(args) -> int:
    import sys

    from ssoenv import awsconfig, export, quickexit, targets

    config = awsconfig.load()
    entry = targets.select(config, **targets.named(args), default_active=True)
    sys.stdout.write(export.render(config, entry, args.format, interactive=None))
    quickexit.request(args)  # everything is written: skip botocore's teardown
    return 0
