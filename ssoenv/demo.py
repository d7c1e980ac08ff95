"""`ssoenv demo`: ssoenv in a throwaway shell, against the bundled emulator.

A temporary HOME holds `.aws/config` with `[sso-session demo]`, the caches and an
rc file that loads nothing of the user's, only `ssoenv init`. The emulator runs in
this process (a thread); ssoenv logs in to it (device code, auto-approved) and
syncs before the shell starts. When the shell exits, on Ctrl-C, SIGTERM or SIGHUP,
or when the shell cannot start, the emulator stops and the directory is removed.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from ssoenv import shellout
from ssoenv.errors import ExitStatus, SsoenvError

SESSION = "demo"
START_URL = "https://demo.awsapps.com/start"
REGION = "us-east-1"

# Variables that describe the user's own AWS identity or shell set-up: not in the demo.
_DROP_PREFIXES = ("AWS_",)
_DROP = {"SSOENV_SESSION", "SSOENV_ACCOUNT_ID", "SSOENV_ACCOUNT_NAME", "SSOENV_ROLE", "SSOENV_PROFILE",
         "SSOENV_MODE", "SSOENV_EXPIRES", "SSOENV_PROMPT_SEGMENT", "ZDOTDIR", "HISTFILE", "BASH_ENV",
         "ENV", "PROMPT_COMMAND", "PS1", "PROMPT", "RPROMPT", "XDG_CONFIG_HOME", "XDG_CACHE_HOME",
         "XDG_DATA_HOME", "XDG_STATE_HOME", "STARSHIP_CONFIG", "STARSHIP_SESSION_KEY"}


class _Stop(Exception):
    """SIGTERM or SIGHUP: leave, cleaning up."""


def _on_signal(signum, frame):
    raise _Stop(signum)


@contextlib.contextmanager
def _signals_cleanly():
    """SIGTERM and SIGHUP (terminal closed) unwind like Ctrl-C, so `finally` runs."""
    old = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            old[sig] = signal.signal(sig, _on_signal)
        except (ValueError, OSError):  # not the main thread
            pass
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _environ(env: dict[str, str]):
    """os.environ is `env` inside: the in-process login and sync see the demo's HOME."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class Demo:
    """The emulator, the throwaway HOME and the environment of the demo shell."""

    def __init__(self, accounts: int = 0):
        self.accounts = accounts
        self.home: Path | None = None
        self.emulator = None
        self.env: dict[str, str] = {}

    # -- set up / tear down --------------------------------------------------------

    def __enter__(self) -> "Demo":
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.emulator is not None:
            try:
                self.emulator.stop()
            finally:
                self.emulator = None
        if self.home is not None:
            shutil.rmtree(self.home, ignore_errors=True)
            self.home = None

    def _start(self) -> None:
        from ssoenv.emulator import Emulator, EmulatorConfig
        from ssoenv.emulator.awsdata import write_endpoint_rulesets

        self.home = Path(tempfile.mkdtemp(prefix="ssoenv-demo-"))
        config = EmulatorConfig(generate_accounts=self.accounts) if self.accounts else EmulatorConfig()
        self.emulator = Emulator(config).start()
        url = self.emulator.url
        home = self.home
        (home / ".aws").mkdir(mode=0o700)
        (home / ".aws" / "config").write_text(
            "# ssoenv demo: a local IAM Identity Center emulator stands in for AWS\n"
            f"[sso-session {SESSION}]\nsso_start_url = {START_URL}\nsso_region = {REGION}\n"
            "sso_registration_scopes = sso:account:access\n", encoding="utf-8")
        write_endpoint_rulesets(home / ".aws-data", url)  # for the AWS CLI v2 < 2.13
        bin_dir = home / "bin"
        bin_dir.mkdir()
        self._write_ssoenv_command(bin_dir / "ssoenv")
        env = {k: v for k, v in os.environ.items() if k not in _DROP and not k.startswith(_DROP_PREFIXES)}
        env.update({
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "XDG_STATE_HOME": str(home / ".local" / "state"),
            "AWS_CONFIG_FILE": str(home / ".aws" / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / ".aws" / "credentials"),
            "AWS_ENDPOINT_URL_SSO_OIDC": url,
            "AWS_ENDPOINT_URL_SSO": url,
            "AWS_ENDPOINT_URL_SIGNIN": url,  # `ssoenv console --federation` signs in to the emulator
            "AWS_DATA_PATH": str(home / ".aws-data"),
            "PATH": str(bin_dir) + os.pathsep + os.environ.get("PATH", os.defpath),
            "SSOENV_DEMO": url,
        })
        self.env = env
        self._login_and_sync()

    def _write_ssoenv_command(self, path: Path) -> None:
        """`ssoenv` in the demo shell is this very installation, whatever PATH says."""
        from ssoenv.shells import executable_argv

        argv = executable_argv()
        if len(argv) == 1:
            path.symlink_to(argv[0])
        else:
            path.write_text("#!/bin/sh\nexec " + shellout.quote_argv(argv, "sh") + ' "$@"\n', encoding="utf-8")
            path.chmod(0o755)

    def _login_and_sync(self) -> None:
        from ssoenv import awsconfig, login, sync

        chatter = io.StringIO()
        try:
            with _environ(self.env), contextlib.redirect_stderr(chatter):
                config = awsconfig.load()
                session = config.session(SESSION)
                login.login(session, device_code=True, open_browser=False, via_aws_cli=False)
                sync.sync(config, [session], allow_login=False, quiet=True)
        except SsoenvError as exc:
            sys.stderr.write(chatter.getvalue())
            raise SsoenvError(f"demo: could not log in to the emulator: {exc.message}") from None

    # -- what the user gets ------------------------------------------------------

    def exports(self, shell: str) -> str:
        names = ("HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME",
                 "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_ENDPOINT_URL_SSO_OIDC",
                 "AWS_ENDPOINT_URL_SSO", "AWS_DATA_PATH", "PATH", "AWS_ENDPOINT_URL_SIGNIN")
        return shellout.render([(n, self.env[n]) for n in names], shell)

    def shell_command(self, shell: str, shell_path: str) -> list[str]:
        """Write the rc file of `shell` into the demo HOME; the argv that starts it."""
        from ssoenv.shells import executable_argv

        assert self.home is not None
        init = shellout.quote_argv(executable_argv() + ["init", shell], shell)
        if shell == "bash":
            rc = self.home / ".bashrc"
            rc.write_text(
                "# ssoenv demo: nothing of yours is loaded in this shell.\n"
                f'eval "$({init})"\n'
                "PS1='${SSOENV_PROMPT_SEGMENT:+$SSOENV_PROMPT_SEGMENT }\\[\\e[1m\\]ssoenv-demo\\[\\e[0m\\] \\W \\$ '\n",
                encoding="utf-8")
            return [shell_path, "--noprofile", "--rcfile", str(rc), "-i"]
        if shell == "zsh":
            zdot = self.home / ".zsh"
            zdot.mkdir(exist_ok=True)
            (zdot / ".zshrc").write_text(
                "# ssoenv demo: nothing of yours is loaded in this shell.\n"
                f'eval "$({init})"\n'
                "setopt prompt_subst\n"
                "PROMPT='${SSOENV_PROMPT_SEGMENT:+$SSOENV_PROMPT_SEGMENT }%Bssoenv-demo%b %1~ %# '\n",
                encoding="utf-8")
            self.env["ZDOTDIR"] = str(zdot)
            return [shell_path, "-i"]
        if shell == "fish":
            conf = self.home / ".config" / "fish"
            conf.mkdir(parents=True, exist_ok=True)
            # Else fish's first start leaves a man-page parser running in the background.
            (self.home / ".local" / "share" / "fish" / "generated_completions").mkdir(parents=True, exist_ok=True)
            (conf / "config.fish").write_text(
                "# ssoenv demo: nothing of yours is loaded in this shell.\n"
                "set -g fish_greeting\n"
                f"{init} | source\n"
                "function fish_prompt\n"
                "    printf '%s ' (ssoenv_prompt)\n"
                "    set_color --bold; printf 'ssoenv-demo'; set_color normal\n"
                "    printf ' %s> ' (prompt_pwd)\n"
                "end\n",
                encoding="utf-8")
            return [shell_path, "-i"]
        raise SsoenvError(f"demo: unsupported shell {shell}")

    def banner(self, shell: str) -> str:
        key = self.env.get("SSOENV_PICK_KEY", "ctrl-a")
        accounts = self.emulator.config.generate_accounts or len(self.emulator.config.accounts)
        if key:
            key = key.replace("\\C-", "ctrl-").replace("\\c", "ctrl-").replace("^", "ctrl-").lower()
            pick = f"press {key}, type  member read  and Enter"
        else:
            pick = "run  " + ("eval (ssoenv pick --shell fish)" if shell == "fish"
                              else f'eval "$(ssoenv pick --shell {shell})"')
        lines = [
            "",
            f"ssoenv demo: a throwaway {shell} logged in to a local IAM Identity Center emulator",
            f"({accounts} accounts; nothing here reaches AWS or touches your files).",
            "",
            f"  1. {pick}:",
            "     the prompt now shows the account, the role and the time left",
            "  2. ssoenv exec -- env | grep AWS_     run one command as that account/role",
            "  3. ssoenv list                        every account and role",
            "  4. exit (or Ctrl-D) to leave: the emulator stops, the files go",
            "",
            f"For real: add  {_init_line(shell)}  to your shell's rc file, then  ssoenv configure",
            "",
        ]
        return "\n".join(lines)


def _init_line(shell: str) -> str:
    return "ssoenv init fish | source" if shell == "fish" else f'eval "$(ssoenv init {shell})"'


def _wait(proc: subprocess.Popen) -> int:
    """Wait for the demo shell. Ctrl-C belongs to it (it ignores it itself)."""
    while True:
        try:
            return proc.wait()
        except KeyboardInterrupt:
            continue


def choose_shell(requested: str | None) -> str:
    from ssoenv.shells import SHELLS, detect_shell, normalise

    if requested:
        shell = normalise(requested)
        if shell not in SHELLS:
            raise SsoenvError(f"demo: unsupported shell {requested!r} (bash, zsh or fish)", ExitStatus.USAGE)
        return shell
    shell = detect_shell()
    if shell in SHELLS:
        return shell
    for fallback in SHELLS:
        if shutil.which(fallback):
            if shell:
                print(f"ssoenv demo: {shell} is not supported; using {fallback}", file=sys.stderr)
            return fallback
    raise SsoenvError("demo: needs bash, zsh or fish", ExitStatus.USAGE)


def run(*, shell: str | None, accounts: int, command: str | None, no_shell: bool) -> int:
    with _signals_cleanly():
        try:
            return _run(shell=shell, accounts=accounts, command=command, no_shell=no_shell)
        except _Stop:
            return ExitStatus.INTERRUPTED


def _run(*, shell: str | None, accounts: int, command: str | None, no_shell: bool) -> int:
    if command is not None:
        with Demo(accounts) as demo:
            proc = subprocess.Popen(["/bin/sh", "-c", command], env=demo.env, cwd=str(demo.home))
            try:
                return _wait(proc)
            finally:
                _reap(proc)
    if no_shell:
        chosen = choose_shell(shell)
        with Demo(accounts) as demo:
            sys.stdout.write(demo.exports(chosen))
            sys.stdout.flush()
            print(f"ssoenv demo: emulator at {demo.emulator.url}, HOME {demo.home}; "
                  "Ctrl-C to stop and clean up", file=sys.stderr)
            _sleep_forever()
        return 0
    chosen = choose_shell(shell)
    shell_path = shutil.which(chosen)
    if not shell_path:
        raise SsoenvError(f"demo: {chosen} is not installed", ExitStatus.NOT_FOUND)
    with Demo(accounts) as demo:
        argv = demo.shell_command(chosen, shell_path)
        print(demo.banner(chosen), file=sys.stderr, flush=True)
        try:
            proc = subprocess.Popen(argv, env=demo.env, cwd=str(demo.home))
        except OSError as exc:
            raise SsoenvError(f"demo: cannot start {chosen}: {exc.strerror or exc}") from None
        try:
            status = _wait(proc)
        finally:
            _reap(proc)
    print("ssoenv demo: done; the emulator is stopped and its files are gone", file=sys.stderr)
    return status


def _sleep_forever() -> None:
    import threading

    threading.Event().wait()


def _reap(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
