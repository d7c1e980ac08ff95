"""Helpers for the shell integration tests (test_shell_*.py); no tests here.

A `World` is a real emulator over HTTP plus a temporary HOME that is logged in
and synced through the real `ssoenv` entry point; `Tmux` drives a real shell in a
private tmux server. Every subprocess gets an environment built from scratch, so
nothing of the machine (AWS_*, rc files, PATH's `aws` shim) leaks in.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from ssoenv.emulator import Emulator, EmulatorConfig
from ssoenv.emulator.awsdata import write_endpoint_rulesets

VENV_BIN = Path(sys.executable).parent
SSOENV = str(VENV_BIN / "ssoenv")
AWS_CLI = "/usr/bin/aws"  # Debian's AWS CLI v2; `aws` on PATH may be a v1 shim
SHELLS = ("bash", "zsh", "fish")

SESSION_CONFIG = """\
[sso-session demo]
sso_start_url = https://demo.awsapps.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access

[profile demo-member]
sso_session = demo
sso_account_id = 222222222222
sso_role_name = ReadOnlyAccess
region = us-east-1
"""


def need(*programs: str) -> None:
    """Skip without `programs`; under CI (CI=true) their absence is a failure."""
    from conftest import missing_tool

    for program in programs:
        if not shutil.which(program) and not os.path.exists(program):
            missing_tool(program)


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    env = {
        "HOME": str(home),
        "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TERM": "xterm-256color",
        "USER": os.environ.get("USER", "test"),
        "HTTPS_PROXY": "http://127.0.0.1:9",  # a dead port: never reach real AWS
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "ZDOTDIR": str(home),
        "AWS_PAGER": "",
        "TMPDIR": str(home / "tmp"),
    }
    if os.environ.get("PYTHONPATH"):  # which ssoenv the tests run (scripts/mutate points it at a copy)
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    # fish's first interactive start would parse every man page in the background.
    (home / ".local" / "share" / "fish" / "generated_completions").mkdir(parents=True, exist_ok=True)
    env.update(extra)
    return env


def rendered(shell: str) -> str:
    out = subprocess.run([SSOENV, "init", shell], capture_output=True, text=True, check=True)
    return out.stdout


class World:
    """An emulator and a HOME logged in to it (sso-session `demo`) and synced."""

    def __init__(self, root: Path, accounts: list[dict] | None = None):
        self.root = root
        self.home = root / "home"
        (self.home / ".aws").mkdir(parents=True, mode=0o700)
        config = EmulatorConfig(accounts=accounts) if accounts is not None else EmulatorConfig()
        self.emu = Emulator(config).start()
        (self.home / ".aws" / "config").write_text(SESSION_CONFIG)
        write_endpoint_rulesets(root / "awsdata", self.emu.url)
        self.env = clean_env(self.home, AWS_ENDPOINT_URL_SSO_OIDC=self.emu.url,
                             AWS_ENDPOINT_URL_SSO=self.emu.url, AWS_DATA_PATH=str(root / "awsdata"))
        self.ssoenv("login", "--sso-session", "demo", "--device-code", "--no-browser")
        self.ssoenv("sync")

    def ssoenv(self, *argv: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run([SSOENV, *argv], capture_output=True, text=True, timeout=60,
                                env={**self.env, **(env or {})}, stdin=subprocess.DEVNULL)
        if check and result.returncode != 0:
            raise AssertionError(f"ssoenv {' '.join(argv)}: {result.returncode}\n{result.stderr}")
        return result

    def clear_cli_cache(self) -> None:
        shutil.rmtree(self.home / ".aws" / "cli" / "cache", ignore_errors=True)

    def close(self) -> None:
        self.emu.stop()


# --- rc files for the tmux shells ------------------------------------------------

def write_rc(shell: str, home: Path, before: str = "", after: str = "") -> list[str]:
    """A clean rc file in `home` that loads the integration; the argv of the shell."""
    if shell == "bash":
        rc = home / ".bashrc"
        rc.write_text(f"{before}\neval \"$(ssoenv init bash)\"\n"
                      "PS1='${SSOENV_PROMPT_SEGMENT:+$SSOENV_PROMPT_SEGMENT }[$?]\\$ '\n"
                      f"{after}\n")
        return ["bash", "--noprofile", "--rcfile", str(rc), "-i"]
    if shell == "zsh":
        (home / ".zshrc").write_text(f"{before}\neval \"$(ssoenv init zsh)\"\nsetopt prompt_subst\n"
                                     "PROMPT='${SSOENV_PROMPT_SEGMENT:+$SSOENV_PROMPT_SEGMENT }[%?]%# '\n"
                                     f"{after}\n")
        return ["zsh", "-d", "-i"]
    if shell == "fish":
        conf = home / ".config" / "fish"
        conf.mkdir(parents=True, exist_ok=True)
        (conf / "config.fish").write_text(
            f"set -g fish_greeting\n{before}\nssoenv init fish | source\n"
            "function fish_prompt\n    set -l st $status\n"
            "    set -l seg (ssoenv_prompt)\n"
            "    test -n \"$seg\"; and printf '%s ' $seg\n"
            "    printf '[%s]> ' $st\nend\n"
            f"{after}\n")
        return ["fish", "-i"]
    raise ValueError(shell)


# --- tmux --------------------------------------------------------------------------

class Tmux:
    """One shell in a private tmux server (its own -L socket)."""

    def __init__(self, env: dict[str, str], width: int = 180, height: int = 50):
        self.env = env
        self.socket = f"ssoenv-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.width, self.height = width, height

    def _tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args], env=self.env,
                              capture_output=True, text=True, check=check, timeout=30)

    def start(self, argv: list[str], cwd: Path | None = None) -> "Tmux":
        self._tmux("new-session", "-d", "-x", str(self.width), "-y", str(self.height),
                   "-c", str(cwd or self.env["HOME"]), "--", *argv)
        self._tmux("set-option", "-g", "status", "off")
        return self

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", *keys)

    def type(self, text: str) -> None:
        self._tmux("send-keys", "-l", text)

    def line(self, text: str) -> None:
        self.type(text)
        self.keys("Enter")

    def screen(self) -> str:
        result = self._tmux("capture-pane", "-p", "-J", check=False)
        return result.stdout

    def wait(self, what, timeout: float = 20.0, gone: bool = False) -> str:
        """Poll the screen until `what` (a regex, or a predicate) appears (or is gone)."""
        check = (lambda s: re.search(what, s, re.M) is not None) if isinstance(what, str) else what
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if check(screen) != gone:
                return screen
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what!r}{' to go' if gone else ''}; screen:\n{screen}")

    def run(self, command: str, marker: str | None = None, timeout: float = 30.0) -> str:
        """Type `command` with an end marker; return the screen once the marker is printed."""
        marker = marker or f"end-{uuid.uuid4().hex[:8]}"
        self.line(f"{command}; echo {marker}")
        return self.wait(rf"^{re.escape(marker)}\s*$", timeout)

    def alive(self) -> bool:
        return self._tmux("has-session", check=False).returncode == 0

    def close(self) -> None:
        self._tmux("kill-server", check=False)


def pick(tmux: Tmux, query: str) -> None:
    """Ctrl-A, type `query` once fzf is up, check it narrowed to one entry, Enter."""
    tmux.keys("C-a")
    tmux.wait(r"Enter: switch\s+Esc: cancel")
    tmux.type(query)
    tmux.wait(r"^\s*1/\d+")
    tmux.keys("Enter")
    tmux.wait(r"Enter: switch\s+Esc: cancel", gone=True)
