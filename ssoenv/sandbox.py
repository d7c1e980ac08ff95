"""A throwaway HOME logged in to the bundled emulator: what `ssoenv demo`, the shell tests
and the benchmarks each need, built one way.

    with Sandbox(base_env, home=..., config=EmulatorConfig()) as box:
        box.login_and_sync()            # in this process (the demo), or
        box.ssoenv("login", ...)        # through the installed entry point (tests, benchmarks)
        subprocess.run(..., env=box.env)

The HOME is laid out from `ssoenv.paths`: `~/.aws/config` holding an sso-session, the
endpoint rule sets that point an AWS CLI v2 < 2.13 at the emulator (AWS_DATA_PATH), and an
environment for subprocesses whose HOME, XDG directories, AWS files and endpoints are the
sandbox's. The emulator runs in this process (a thread) and approves device codes by itself.
`close()` stops an emulator the sandbox started and removes a HOME it created.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from ssoenv import paths
from ssoenv.errors import SsoenvError

SESSION = "demo"
START_URL = "https://demo.awsapps.com/start"
REGION = "us-east-1"

T = TypeVar("T")


def session_config(session: str = SESSION, start_url: str = START_URL, region: str = REGION) -> str:
    """An `[sso-session]` section for `~/.aws/config`."""
    return (f"[sso-session {session}]\nsso_start_url = {start_url}\nsso_region = {region}\n"
            "sso_registration_scopes = sso:account:access\n")


def _default_command() -> list[str]:
    """This installation's `ssoenv` entry point (beside the running Python), else `python -m ssoenv`."""
    script = Path(sys.executable).parent / "ssoenv"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ssoenv"]


class SandboxCommandError(RuntimeError):
    """`Sandbox.ssoenv(..., check=True)` exited non-zero; the message carries its stderr."""


@contextlib.contextmanager
def environ(env: Mapping[str, str]):
    """os.environ is `env` inside (in-process ssoenv code reads it), restored after."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class Sandbox:
    """The emulator, a HOME configured for it and the environment of its subprocesses.

    base_env: the environment to start from (the caller decides what of its own survives);
    home: the HOME to lay out (default: a new temporary directory, removed by close());
    emulator: a running Emulator to use (left running by close()), else one is started from
    `config` (an EmulatorConfig; default: the sample organisation);
    aws_config: the text of `~/.aws/config`, or a function of the emulator's URL that
    returns it (default: one sso-session, `session`);
    command: argv that runs ssoenv for `ssoenv()` (default: this installation's entry point).
    """

    def __init__(self, base_env: Mapping[str, str], *, home: Path | None = None, emulator=None, config=None,
                 aws_config: str | Callable[[str], str] | None = None, session: str = SESSION,
                 prefix: str = "ssoenv-sandbox-", command: list[str] | None = None):
        self.session = session
        self.command = command or _default_command()
        self._owns_home = home is None
        self._owns_emulator = emulator is None
        self.home: Path = Path(tempfile.mkdtemp(prefix=prefix)) if home is None else Path(home)
        self.emulator = emulator
        self.env: dict[str, str] = {}
        try:
            if self.emulator is None:
                from ssoenv.emulator import Emulator, EmulatorConfig

                self.emulator = Emulator(config or EmulatorConfig()).start()
            if callable(aws_config):
                aws_config = aws_config(self.emulator.url)
            self._lay_out(base_env, session_config(session) if aws_config is None else aws_config)
        except BaseException:
            self.close()
            raise

    def _lay_out(self, base_env: Mapping[str, str], aws_config: str) -> None:
        from ssoenv.emulator.awsdata import write_endpoint_rulesets

        home, url = self.home, self.emulator.url
        config_file = paths.aws_config_file_in(home)
        config_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        config_file.write_text(aws_config, encoding="utf-8")
        rulesets = paths.endpoint_rulesets_dir_in(home)
        write_endpoint_rulesets(rulesets, url)
        self.env = dict(base_env)
        self.env.update({var: str(path) for var, path in paths.xdg_dirs_in(home).items()})
        self.env.update({
            "HOME": str(home),
            "AWS_CONFIG_FILE": str(config_file),
            "AWS_SHARED_CREDENTIALS_FILE": str(paths.aws_credentials_file_in(home)),
            "AWS_ENDPOINT_URL_SSO_OIDC": url,
            "AWS_ENDPOINT_URL_SSO": url,
            "AWS_ENDPOINT_URL_STS": url,  # role chaining, and `aws sts get-caller-identity` in the demo
            "AWS_ENDPOINT_URL_SIGNIN": url,  # `ssoenv console --federation` signs in to the emulator
            "AWS_DATA_PATH": str(rulesets),
        })

    # -- set up / tear down ----------------------------------------------------------

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop the emulator if this sandbox started it; remove the HOME if it made it."""
        try:
            if self._owns_emulator and self.emulator is not None:
                emulator, self.emulator = self.emulator, None
                emulator.stop()
        finally:
            if self._owns_home:
                self._owns_home = False  # removed once, however often close() runs
                shutil.rmtree(self.home, ignore_errors=True)

    # -- logging in ------------------------------------------------------------------

    def login_and_sync(self) -> None:
        """Device-code login (the emulator approves it) and a sync, in this process.

        What ssoenv says on the way is kept back, and shown only when it fails."""
        from ssoenv import awsconfig, login, sync

        chatter = io.StringIO()
        try:
            with environ(self.env), contextlib.redirect_stderr(chatter):
                config = awsconfig.load()
                session = config.session(self.session)
                login.login(session, device_code=True, open_browser=False, via_aws_cli=False)
                sync.sync(config, [session], allow_login=False, quiet=True)
        except SsoenvError:
            sys.stderr.write(chatter.getvalue())
            raise

    def login_command(self) -> list[str]:
        """The arguments of `ssoenv login` that log this sandbox in without a browser."""
        return ["login", "--sso-session", self.session, "--device-code", "--no-browser"]

    # -- using it --------------------------------------------------------------------

    def ssoenv(self, *argv: str, check: bool = True, env: Mapping[str, str] | None = None,
               timeout: float = 120) -> subprocess.CompletedProcess:
        """Run ssoenv in a subprocess in the sandbox (its stdin empty, output captured)."""
        result = subprocess.run([*self.command, *argv], capture_output=True, text=True, timeout=timeout,
                                env={**self.env, **(env or {})}, stdin=subprocess.DEVNULL)
        if check and result.returncode != 0:
            raise SandboxCommandError(f"ssoenv {' '.join(argv)} exited {result.returncode}:\n{result.stderr}")
        return result

    def serve(self, *argv: str, stderr=subprocess.PIPE) -> tuple[subprocess.Popen, dict[str, str]]:
        """`ssoenv serve --shell bash ARGV` running in the sandbox, and the two
        AWS_CONTAINER_* variables it exported (the caller ends the process)."""
        import re

        proc = subprocess.Popen([*self.command, "serve", "--shell", "bash", *argv], env=self.env, text=True,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr)
        exports: dict[str, str] = {}
        assert proc.stdout is not None  # stdout=PIPE
        for line in proc.stdout:
            found = re.match(r"export (AWS_CONTAINER_\w+)='([^']*)';", line)
            if found:
                exports[found[1]] = found[2]
            if len(exports) == 2:
                break
        return proc, exports

    def path(self, where: Callable[[], T]) -> T:
        """A `ssoenv.paths` function's answer inside the sandbox: `box.path(paths.catalog_file)`."""
        with environ(self.env):
            return where()

    def clear_cli_cache(self) -> None:
        """Forget the role credentials cached for the AWS CLI (and ssoenv's exec)."""
        shutil.rmtree(self.path(paths.cli_cache_dir), ignore_errors=True)
