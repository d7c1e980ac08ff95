"""`python -m ssoenv.emulator`: serve the emulator until SIGINT/SIGTERM.

The URL is the first line on stdout; request logs go to stderr with -v."""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any, NoReturn

PROG = "python -m ssoenv.emulator"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2
        self.exit(2, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog=PROG,
        description="Local AWS IAM Identity Center emulator (sso-oidc + sso portal) on 127.0.0.1. "
        "Prints its URL as the first line on stdout. Point SDKs at it with "
        "AWS_ENDPOINT_URL_SSO_OIDC=URL AWS_ENDPOINT_URL_SSO=URL.",
    )
    # Every option defaults to None: only options given on the command line
    # override the config file.
    p.add_argument("--port", type=int, help="port on 127.0.0.1 (default 0: any free port)")
    p.add_argument("--config", metavar="FILE", help="JSON or TOML file with EmulatorConfig fields")
    p.add_argument("--accounts", type=int, metavar="N", dest="generate_accounts", help="generate N accounts")
    p.add_argument("--roles-per-account", type=int, metavar="K", help="roles per generated account (default 3)")
    p.add_argument("--latency-ms", type=float, metavar="MS", help="delay every call by MS milliseconds")
    p.add_argument("--throttle-rps", type=float, metavar="N", help="answer 429 beyond N calls per second")
    p.add_argument("--fault-rate", type=float, metavar="P", help="probability of a 500 on any call")
    p.add_argument("--seed", type=int, help="seed of the random faults")
    p.add_argument(
        "--no-auto-approve",
        dest="auto_approve",
        action="store_false",
        default=None,
        help="wait for the user to open the verification URL / Allow page",
    )
    p.add_argument("--poll-interval", type=int, metavar="S", help="device-code poll interval to announce")
    p.add_argument("--access-token-ttl", type=int, metavar="S", help="access token lifetime (default 3600)")
    p.add_argument("--credentials-ttl", type=int, metavar="S", help="role credentials lifetime (default 3600)")
    p.add_argument("-v", "--verbose", action="store_true", default=None, help="log requests to stderr")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from .config import EmulatorConfig, load_config_file
    from .server import Emulator

    overrides: dict[str, Any] = {
        k: v for k, v in vars(args).items() if v is not None and k != "config"
    }
    try:
        config = load_config_file(args.config) if args.config else EmulatorConfig()
        config = dataclasses.replace(config, **overrides) if overrides else config
    except (TypeError, ValueError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    emu = Emulator(config)
    try:
        emu.start()
    except OSError as exc:
        print(f"{PROG}: error: cannot listen on 127.0.0.1:{config.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2

    stop = threading.Event()

    def _on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        try:
            sys.stdout.write(emu.url + "\n")
            sys.stdout.flush()
        except (BrokenPipeError, OSError):
            pass
        if config.verbose:
            n = config.generate_accounts or len(config.accounts)
            print(f"serving IAM Identity Center emulator at {emu.url} ({n} accounts)", file=sys.stderr)
        while not stop.wait(0.5):
            pass
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
