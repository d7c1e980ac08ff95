"""Endpoint rule sets that send botocore (and the AWS CLI v2 that bundles it)
to the emulator through `AWS_DATA_PATH`.

Older botocore, such as the one inside Debian's AWS CLI v2 2.9, predates the
`AWS_ENDPOINT_URL_*` variables but looks in `$AWS_DATA_PATH` before its own
data: a directory holding `<service>/<api version>/endpoint-rule-set-1.json`
overrides the bundled rule set for that service."""

from __future__ import annotations

import json
import os
from typing import Any

API_VERSION = "2019-06-10"
# service -> its API version (the directory botocore looks in)
SERVICES = {"sso-oidc": API_VERSION, "sso": API_VERSION, "sts": "2011-06-15"}


def endpoint_ruleset(url: str) -> dict[str, Any]:
    """A rule set with the parameters of botocore's bundled sso/sso-oidc rule
    sets (STS's has one more, UseGlobalEndpoint, which botocore then leaves out)
    and a single rule: the endpoint is `url`, whatever the region."""
    return {
        "version": "1.0",
        "parameters": {
            "Region": {
                "builtIn": "AWS::Region",
                "required": False,
                "documentation": "The AWS region used to dispatch the request.",
                "type": "string",
            },
            "UseDualStack": {
                "builtIn": "AWS::UseDualStack",
                "required": True,
                "default": False,
                "documentation": "When true, use the dual-stack endpoint.",
                "type": "boolean",
            },
            "UseFIPS": {
                "builtIn": "AWS::UseFIPS",
                "required": True,
                "default": False,
                "documentation": "When true, send this request to the FIPS-compliant regional endpoint.",
                "type": "boolean",
            },
            "Endpoint": {
                "builtIn": "SDK::Endpoint",
                "required": False,
                "documentation": "Override the endpoint used to send this request",
                "type": "string",
            },
        },
        "rules": [
            {
                "conditions": [],
                "endpoint": {"url": url, "properties": {}, "headers": {}},
                "type": "endpoint",
            }
        ],
    }


def write_endpoint_rulesets(directory: str | os.PathLike[str], url: str) -> list[str]:
    """Write `sso-oidc/2019-06-10/endpoint-rule-set-1.json`,
    `sso/2019-06-10/endpoint-rule-set-1.json` and `sts/2011-06-15/...` under
    `directory`, all pointing at `url`. Returns the paths written. Use with `AWS_DATA_PATH=directory`."""
    url = url.rstrip("/")
    written = []
    for service, version in SERVICES.items():
        folder = os.path.join(os.fspath(directory), service, version)
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, "endpoint-rule-set-1.json")
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(endpoint_ruleset(url), fh, indent=2)
            fh.write("\n")
        os.replace(tmp, path)
        written.append(path)
    return written
