"""`ssoenv demo`: ssoenv in a throwaway shell, against the bundled emulator.

A temporary HOME holds `.aws/config` with `[sso-session demo]`, the caches and an
rc file that loads nothing of the user's, only `ssoenv init`. The emulator runs in
this process (a thread); ssoenv logs in to it (device code, auto-approved) and
syncs before the shell starts. When the shell exits, on Ctrl-C, SIGTERM or SIGHUP,
or when the shell cannot start, the emulator stops and the directory is removed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from ssoenv import paths, shellout
from ssoenv.errors import ExitStatus, SsoenvError
from ssoenv.sandbox import REGION, SESSION, Sandbox, session_config

# Variables that describe the user's own AWS identity or shell set-up: not in the demo.
_DROP_PREFIXES = ("AWS_",)
_DROP = {"SSOENV_SESSION", "SSOENV_ACCOUNT_ID", "SSOENV_ACCOUNT_NAME", "SSOENV_ROLE", "SSOENV_PROFILE",
         "SSOENV_MODE", "SSOENV_EXPIRES", "SSOENV_PROMPT_SEGMENT", "ZDOTDIR", "HISTFILE", "BASH_ENV",
         "ENV", "PROMPT_COMMAND", "PS1", "PROMPT", "RPROMPT", "XDG_CONFIG_HOME", "XDG_CACHE_HOME",
         "XDG_DATA_HOME", "XDG_STATE_HOME", "STARSHIP_CONFIG", "STARSHIP_SESSION_KEY"}


# One chained role (role_arn + source_profile), so the picker shows one: the emulator's
# STS lets RootAccount's AdministratorAccess assume Deploy in 999999999999 (the sample
# organisation only; a generated one has no RootAccount).
CHAINED_PROFILES = f"""
[profile hub]
sso_session = {SESSION}
sso_account_id = 111111111111
sso_role_name = AdministratorAccess
region = {REGION}

[profile prod-deploy]
role_arn = arn:aws:iam::999999999999:role/Deploy
source_profile = hub
region = {REGION}
"""


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


class Demo:
    """The demo's sandbox (emulator, throwaway HOME, logged in and synced) and its shell."""

    def __init__(self, accounts: int = 0):
        self.accounts = accounts
        self.sandbox: Sandbox | None = None

    @property
    def home(self) -> Path | None:
        return self.sandbox.home if self.sandbox else None

    @property
    def emulator(self):
        return self.sandbox.emulator if self.sandbox else None

    @property
    def env(self) -> dict[str, str]:
        return self.sandbox.env if self.sandbox else {}

    # -- set up / tear down --------------------------------------------------------

    def __enter__(self) -> Demo:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.sandbox is not None:
            try:
                self.sandbox.close()
            finally:
                self.sandbox = None

    def _start(self) -> None:
        from ssoenv.emulator import EmulatorConfig

        config = EmulatorConfig(generate_accounts=self.accounts) if self.accounts else EmulatorConfig()
        user_env = {k: v for k, v in os.environ.items() if k not in _DROP and not k.startswith(_DROP_PREFIXES)}
        sandbox = self.sandbox = Sandbox(
            user_env, config=config, prefix="ssoenv-demo-", session=SESSION,
            aws_config=lambda url: "# ssoenv demo: a local IAM Identity Center emulator stands in for AWS\n"
            # its access portal too: a console shortcut link (Ctrl-O) stays on this machine
            + session_config(SESSION, f"{url}/start", REGION) + ("" if self.accounts else CHAINED_PROFILES))
        bin_dir = sandbox.home / "bin"
        bin_dir.mkdir()
        self._write_ssoenv_command(bin_dir / "ssoenv")
        self.env.update({
            "PATH": str(bin_dir) + os.pathsep + os.environ.get("PATH", os.defpath),
            "SSOENV_DEMO": self.emulator.url,
        })
        try:
            self.sandbox.login_and_sync()
        except SsoenvError as exc:
            raise SsoenvError(f"demo: could not log in to the emulator: {exc.message}") from None

    def _write_ssoenv_command(self, path: Path) -> None:
        """`ssoenv` in the demo shell is this very installation, whatever PATH says."""
        from ssoenv.shells import executable_argv

        argv = executable_argv()
        if len(argv) == 1:
            path.symlink_to(argv[0])
        else:
            path.write_text("#!/bin/sh\nexec " + shellout.quote_argv(argv, "sh") + ' "$@"\n', encoding="utf-8")
            path.chmod(0o755)

    # -- what the user gets ------------------------------------------------------

    def exports(self, shell: str) -> str:
        names = ("HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME",
                 "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_ENDPOINT_URL_SSO_OIDC",
                 "AWS_ENDPOINT_URL_SSO", "AWS_DATA_PATH", "PATH", "AWS_ENDPOINT_URL_SIGNIN",
                 "AWS_ENDPOINT_URL_STS")
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
            conf = paths.xdg_dirs_in(self.home)["XDG_CONFIG_HOME"] / "fish"
            conf.mkdir(parents=True, exist_ok=True)
            # Else fish's first start leaves a man-page parser running in the background.
            fish_data = paths.xdg_dirs_in(self.home)["XDG_DATA_HOME"] / "fish"
            (fish_data / "generated_completions").mkdir(parents=True, exist_ok=True)
            (conf / "config.fish").write_text(
                "# ssoenv demo: nothing of yours is loaded in this shell.\n"
                "set -g fish_greeting\n"
                f"{init} | source\n"
                "function fish_prompt\n"
                "    printf '%s' $SSOENV_PROMPT_SEGMENT' '  # nothing at all when there is no segment\n"
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
        steps = [
            f"{pick}:",
            "   the prompt now shows the account, the role and the time left",
            "ssoenv exec -- env | grep AWS_     run one command as that account/role",
        ]
        chained = not self.accounts  # the sample organisation has the chained profile
        if _aws_cli_v2():  # the emulator answers STS; no other service is there
            steps.append("aws sts get-caller-identity       who AWS says you are")
            if chained:
                steps += ["ssoenv exec prod-deploy -- aws sts get-caller-identity",
                          "   a role assumed from the hub profile (role chaining)"]
        elif chained:
            steps.append("ssoenv use prod-deploy             a role assumed from the hub profile (role chaining)")
        steps += ["ssoenv list                        every account and role",
                  "exit (or Ctrl-D) to leave: the emulator stops, the files go"]
        numbered, n = [], 0
        for step in steps:
            if step.startswith("   "):
                numbered.append(f"     {step[3:]}")
            else:
                n += 1
                numbered.append(f"  {n}. {step}")
        lines = [
            "",
            f"ssoenv demo: a throwaway {shell} logged in to a local IAM Identity Center emulator",
            f"({accounts} accounts; nothing here reaches AWS or touches your files).",
            "",
            *numbered,
            "",
            f"For real: add  {_init_line(shell)}  to your shell's rc file, then  ssoenv configure",
            "",
        ]
        return "\n".join(lines)


def _aws_cli_v2() -> bool:
    from ssoenv.awscli import find_aws_cli_v2

    return find_aws_cli_v2() is not None


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
