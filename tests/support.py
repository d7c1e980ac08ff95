"""Helpers for the tests (no tests here; tests import this module, never conftest).

`shell_sandbox` is the shared `ssoenv.sandbox.Sandbox` (a real emulator over HTTP plus a
temporary HOME) logged in and synced through the real `ssoenv` entry point; `Tmux` drives
a real shell in a private tmux server. Every subprocess gets an environment built from
scratch, so nothing of the machine (AWS_*, rc files, PATH's `aws` shim) leaks in.
`missing_tool`/`need`: every "tool is not installed" skip goes through them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from ssoenv import paths
from ssoenv.emulator import EmulatorConfig
from ssoenv.sandbox import Sandbox, session_config

VENV_BIN = Path(sys.executable).parent
SSOENV = str(VENV_BIN / "ssoenv")
AWS_CLI = "/usr/bin/aws"  # Debian's AWS CLI v2; `aws` on PATH may be a v1 shim
SHELLS = ("bash", "zsh", "fish")

# The in-process tests' ~/.aws/config (conftest's `aws_config` fixture writes it).
SESSION_CONFIG = """\
# my own comment: keep me
[default]
region = eu-west-1

[sso-session corp]
sso_start_url = https://d-0000000000.awsapps.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access
"""

# The shell sandbox's ~/.aws/config: sso-session `demo` and one profile.
SHELL_SANDBOX_CONFIG = session_config("demo") + """
[profile demo-member]
sso_session = demo
sso_account_id = 222222222222
sso_role_name = ReadOnlyAccess
region = us-east-1
"""


# An organisation whose names need sorting case-insensitively and escaping (tab, newline,
# $(...), an escape sequence), and two profiles: one for a listed role, one for a role the
# portal does not list. For the `list` tests.
ODD_NAMES_ORG = [
    {"accountId": "222222222222", "accountName": "beta\tname\nwith $(x)", "emailAddress": "b@example.com",
     "roles": ["Zed", "Admin"]},
    {"accountId": "111111111111", "accountName": "Alpha", "emailAddress": "a@example.com",
     "roles": ["ReadOnlyAccess"]},
    {"accountId": "333333333333", "accountName": "alpha", "emailAddress": "c@example.com",
     "roles": ["Role\x1b[31m"]},
]
ODD_NAMES_PROFILES = ("\n[profile ro]\nsso_session = corp\nsso_account_id = 111111111111\n"
                      "sso_role_name = ReadOnlyAccess\nregion = eu-west-2\n"
                      "\n[profile unsynced]\nsso_session = corp\nsso_account_id = 444444444444\nsso_role_name = X\n")


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing_tool(what: str) -> None:
    """A tool a test needs is absent: a failure under CI (CI=true runs every test), a skip elsewhere."""
    if under_ci():
        pytest.fail(f"{what} is not installed; CI must run every test (scripts/test installs it)", pytrace=False)
    pytest.skip(f"{what} is not installed")


def need(*programs: str) -> None:
    """Skip without `programs`; under CI (CI=true) their absence is a failure."""
    for program in programs:
        if not shutil.which(program) and not os.path.exists(program):
            missing_tool(program)


# --- what every process a test starts sees: the fixtures' HOME, XDG_*, BROWSER and PATH

# Programs Python's webbrowser (and xdg-open) would run when $BROWSER fails or is unset:
# none of them is on the tests' PATH, whatever the machine has installed (issue 19: a
# text-mode browser such as lynx drew its screen inside three tests).
BROWSERS = frozenset({
    "www-browser", "x-www-browser", "gnome-www-browser", "sensible-browser", "xdg-open", "xdg-settings",
    "gio", "gvfs-open", "kfmclient", "kfm", "lynx", "w3m", "links", "links2", "elinks", "browsh",
    "firefox", "firefox-esr", "iceweasel", "chromium", "chromium-browser", "chrome", "google-chrome",
    "google-chrome-stable", "epiphany", "konqueror", "opera", "seamonkey", "iceape", "mozilla",
    "mozilla-firefox", "mozilla-firebird", "firebird", "netscape", "galeon", "skipstone", "mosaic", "grail",
})
SYSTEM_BIN = ("/usr/local/bin", "/usr/bin", "/bin")
_tools_dir: list[Path] = []


def tools_dir() -> Path:
    """A directory of links to every program in SYSTEM_BIN except BROWSERS (the first of
    a name wins, as on a PATH; `aws` is AWS_CLI); made once per process, removed at its exit."""
    if not _tools_dir:
        import atexit
        import tempfile

        directory = Path(tempfile.mkdtemp(prefix="ssoenv-tests-bin-"))
        atexit.register(shutil.rmtree, directory, True)
        if os.path.exists(AWS_CLI):  # `aws` is the v2 the tests use, whatever else PATH would find first
            (directory / "aws").symlink_to(AWS_CLI)
        for system in SYSTEM_BIN:
            try:
                names = sorted(os.listdir(system))
            except OSError:
                continue
            for name in names:
                link, target = directory / name, os.path.join(system, name)
                if name in BROWSERS or link.is_symlink() or not os.access(target, os.X_OK):
                    continue
                if os.path.isfile(target):
                    link.symlink_to(target)
        _tools_dir.append(directory)
    return _tools_dir[0]


def tests_path() -> str:
    """The PATH of every process the tests start: this venv, then the machine's programs
    without any browser."""
    return f"{VENV_BIN}{os.pathsep}{tools_dir()}"


tests_path.__test__ = False  # type: ignore[attr-defined]  # a helper, though its name starts with "test"


def unhermetic(env, base: Path) -> list[str]:
    """What in a process's environment `env` the fixtures did not choose: HOME and the
    XDG_* directories outside the tests' temporary tree `base`, no BROWSER at all, a PATH
    entry other than this venv, the browser-free tools directory or a test's own directory."""
    def inside(value: str | None) -> bool:
        return value is not None and os.path.isabs(value) and Path(value).resolve().is_relative_to(base.resolve())

    problems = []
    if not inside(env.get("HOME")):
        problems.append(f"HOME={env.get('HOME')!r}")
    for var in sorted(set(paths.xdg_dirs_in(Path("/"))) | {v for v in env if v.startswith("XDG_")}):
        if not inside(env.get(var)):
            problems.append(f"{var}={env.get(var)!r}")
    if "BROWSER" not in env:
        problems.append("no BROWSER")
    allowed = {str(VENV_BIN), str(tools_dir())}
    for entry in env.get("PATH", "").split(os.pathsep):
        if entry not in allowed and not inside(entry):
            problems.append(f"PATH entry {entry!r}")
    return problems


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    env = {
        "HOME": str(home),
        "PATH": tests_path(),
        "BROWSER": "",  # none: webbrowser finds none on tests_path() either
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TERM": "xterm-256color",
        "USER": os.environ.get("USER", "test"),
        "HTTPS_PROXY": "http://127.0.0.1:9",  # a dead port: never reach real AWS
        **{var: str(directory) for var, directory in paths.xdg_dirs_in(home).items()},
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


def need_module(module: str, what: str) -> None:
    """Skip unless `module` imports (`what` names the package to install); fails under CI."""
    import importlib

    try:
        importlib.import_module(module)
    except ImportError:
        missing_tool(what)


def ssoenv_subprocess(*argv, env=None, input=None, timeout=60):
    """The installed entry point, for what must run in its own process."""
    return subprocess.run([sys.executable, "-m", "ssoenv", *map(str, argv)], env=env, input=input,
                          capture_output=True, text=True, timeout=timeout)


@contextmanager
def moto_s3(bucket: str) -> Iterator[str]:
    """moto's S3 server on loopback with one bucket; yields its URL."""
    need_module("moto.server", "moto[server]")
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test",
                     aws_secret_access_key="test").create_bucket(Bucket=bucket)
        yield url
    finally:
        server.stop()


# A hub SSO profile and a role chained from it (role chaining: the emulator's default
# trust lets 111111111111 assume Deploy in 999999999999).
CHAIN_HUB, CHAIN_PROD = "111111111111", "999999999999"
CHAINED_CONFIG = session_config("demo") + f"""
[profile hub]
sso_session = demo
sso_account_id = {CHAIN_HUB}
sso_role_name = AdministratorAccess
region = us-east-1

[profile prod-deploy]
role_arn = arn:aws:iam::{CHAIN_PROD}:role/Deploy
source_profile = hub
region = eu-west-1
"""


def shell_sandbox(root: Path, accounts: list[dict] | None = None, *, aws_config: str = SHELL_SANDBOX_CONFIG,
                  trusted_roles: list[dict] | None = None) -> Sandbox:
    """The shared sandbox in `root`/home (sso-session `demo`), logged in and synced through
    the installed entry point; the caller closes it."""
    home = root / "home"
    given: dict[str, Any] = {"accounts": accounts, "trusted_roles": trusted_roles}
    config = EmulatorConfig(**{k: v for k, v in given.items() if v is not None})
    box = Sandbox(clean_env(home), home=home, config=config, aws_config=aws_config, command=[SSOENV])
    try:
        box.ssoenv(*box.login_command(), timeout=60)
        box.ssoenv("sync", timeout=60)
    except BaseException:
        box.close()
        raise
    return box


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

    def start(self, argv: list[str], cwd: Path | None = None) -> Tmux:
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


# --- the picker on a real terminal (pexpect) ---------------------------------------------

def spawn_pick(*args, env_extra=None):
    """`ssoenv pick --shell bash ARGS` on a pexpect terminal, its stdout to a pipe (as
    when a shell evals it: pick refuses to print shell code to a terminal)."""
    import pexpect

    env = dict(os.environ, TERM="xterm-256color", **(env_extra or {}))
    return pexpect.spawn("bash", ["-c", 'set -o pipefail; "$@" | cat', "_", sys.executable, "-m", "ssoenv",
                                  "pick", "--shell", "bash", *args], env=env,
                         encoding="utf-8", timeout=30, dimensions=(30, 120))


def wait_for(child, text):
    """Wait for `text`, answering fzf's cursor-position queries (pexpect is no terminal)."""
    while child.expect_exact(["\x1b[6n", text]) == 0:
        child.send("\x1b[1;1R")


def finish(child):
    """(exit status, everything printed) once the picker has ended."""
    import pexpect

    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus, child.before


def pick_member_read_prints_its_statements() -> None:
    """`ssoenv pick member read`, Enter: the statements of MemberAccount/ReadOnlyAccess."""
    child = spawn_pick("member read")
    wait_for(child, "222222222222")
    child.send("\r")
    status, output = finish(child)
    assert status == 0, output
    assert "export SSOENV_ACCOUNT_ID='222222222222';" in output
    assert "export SSOENV_ROLE='ReadOnlyAccess';" in output
