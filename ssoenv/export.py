"""Role credentials rendered as `aws configure export-credentials` does (env, fish,
powershell, windows-cmd, process, json): shared by `ssoenv env` and
`ssoenv credential-process` (commands never import each other)."""

from __future__ import annotations


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
