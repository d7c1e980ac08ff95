"""ssoenv env: credentials in the formats of `aws configure export-credentials`."""

from __future__ import annotations

FORMATS = ("env", "env-no-export", "fish", "powershell", "windows-cmd", "process", "json")


def configure_parser(p) -> None:
    from ssoenv import targets

    targets.add_target_arguments(p)
    p.add_argument("--format", choices=FORMATS, default="env", help="output format (default env)")


def render(config, entry, fmt: str, *, interactive: bool | None) -> str:
    import json

    from ssoenv import creds, shellout, switch

    credentials = creds.get(config, entry, interactive=interactive)
    if fmt == "process":
        return shellout.process_json(credentials["AccessKeyId"], credentials["SecretAccessKey"],
                                     credentials["SessionToken"], credentials["Expiration"])
    if fmt == "json":
        doc = {"Version": 1, **{k: credentials[k] for k in ("AccessKeyId", "SecretAccessKey", "SessionToken",
                                                             "Expiration")},
               "AccountId": entry.account_id, "AccountName": entry.account_name, "RoleName": entry.role,
               "SsoSession": entry.sso_session, "Profile": entry.profile, "Region": entry.region}
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    return shellout.export_credentials(switch.credential_values(credentials), fmt)


def run(args) -> int:
    import sys

    from ssoenv import awsconfig, quickexit, targets

    config = awsconfig.load()
    entry = targets.select(args, config, default_active=True)
    sys.stdout.write(render(config, entry, args.format, interactive=None))
    quickexit.request(args)  # everything is written: skip botocore's teardown
    return 0
