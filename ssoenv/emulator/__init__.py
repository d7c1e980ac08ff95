"""A local AWS IAM Identity Center (AWS SSO) emulator: the sso-oidc API and the
sso portal API on one loopback port, stdlib only.

    from ssoenv.emulator import Emulator, EmulatorConfig
    with Emulator(EmulatorConfig(generate_accounts=250)) as emu:
        # AWS_ENDPOINT_URL_SSO_OIDC=emu.url AWS_ENDPOINT_URL_SSO=emu.url
        ...

Run it standalone with `python -m ssoenv.emulator` (prints its URL first).
"""

from .config import EmulatorConfig, load_config_file
from .server import Emulator
from .service import OPS

__all__ = ["Emulator", "EmulatorConfig", "OPS", "load_config_file"]
