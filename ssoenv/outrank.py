"""What would outrank a credential endpoint in the SDKs' credential chain.

botocore (and the other SDKs) try, in order: environment keys; then, for the
selected profile (`AWS_PROFILE`, else `default`), assume-role, web identity, SSO,
the shared credentials file, `aws login`, `credential_process` and keys in the
config; then a boto2 credential file and a boto config; and only then the
container endpoint (`AWS_CONTAINER_CREDENTIALS_FULL_URI`). `exec --server` and
`serve` remove the variables; what stays is the `default` profile in the files,
which would silently run the command in another account. `check` finds it before
the command starts.
"""

from __future__ import annotations

from ssoenv import awsconfig, paths
from ssoenv.errors import SsoenvError

# Keys of the selected profile that give botocore credentials before the container endpoint.
PROFILE_KEYS = ("role_arn", "web_identity_token_file", "sso_account_id", "sso_role_name", "login_session",
                "credential_process", "aws_access_key_id")
CREDENTIALS_FILE_KEYS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")
BOTO_KEYS = ("aws_access_key_id",)


def check(config) -> None:
    """SsoenvError naming the file, the section and the fix when something in the AWS
    files would be used by an SDK child before the credential endpoint."""
    default = config.profiles.get("default")
    found = [k for k in PROFILE_KEYS if default is not None and default.values.get(k)]
    if found:
        raise _outranked(config.path, "[default]", found, "move them to a named profile "
                         "(e.g. [profile old-default]) and use it with --profile or AWS_PROFILE")
    credentials = paths.aws_credentials_file()
    found = [k for k in CREDENTIALS_FILE_KEYS if awsconfig.ini_sections(credentials).get("default", {}).get(k)]
    if found:
        raise _outranked(credentials, "[default]", found, "rename the section (e.g. [old-default]) and "
                         "use it with --profile or AWS_PROFILE")
    for boto in paths.boto_config_files():
        found = [k for k in BOTO_KEYS if awsconfig.ini_sections(boto).get("Credentials", {}).get(k)]
        if found:
            raise _outranked(boto, "[Credentials]", found, "remove them (boto 2 is long gone)")


def _outranked(path, section: str, keys: list[str], fix: str) -> SsoenvError:
    from ssoenv.shellout import printable

    return SsoenvError(f"{printable(str(path))}: {section} sets {', '.join(keys)}, which the SDKs use before "
                       f"the credential endpoint (the command would run with those credentials, not the "
                       f"account you chose); {fix}")
