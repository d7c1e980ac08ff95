"""Shared fixtures: a temporary HOME, the local Identity Center emulator over real
HTTP, an sso-session in a real ~/.aws/config, and `run` for in-process CLI calls.
Helpers tests import live in support.py: no test imports this file."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
from support import SESSION_CONFIG, tests_path, unhermetic

from ssoenv import paths
from ssoenv.emulator import Emulator, EmulatorConfig

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config):
    """Run as a background job of a non-interactive shell (as CI harnesses may), the
    suite starts with SIGINT ignored, and every child would inherit that: the Ctrl-C
    tests could then never interrupt anything. A handled signal is reset to the
    default in children, so handle it here."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


AWS_VARS = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN", "AWS_CREDENTIAL_EXPIRATION", "AWS_SESSION_EXPIRATION", "AWS_REGION",
            "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
            "AWS_DATA_PATH", "AWS_CA_BUNDLE")


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """Every test gets its own HOME; nothing of the machine's AWS setup leaks in."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in AWS_VARS:
        monkeypatch.delenv(var, raising=False)
    for var in list(os.environ):
        if var.startswith(("SSOENV_", "AWS_ENDPOINT_URL", "XDG_")):
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # a dead port: never reach real AWS
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    # The machine's browsers, tool order and XDG directories are not the tests' to depend
    # on (issue 19): no browser, a PATH without any, the XDG defaults under this HOME.
    monkeypatch.setenv("PATH", tests_path())
    monkeypatch.setenv("BROWSER", "")
    for var, directory in paths.xdg_dirs_in(home).items():
        monkeypatch.setenv(var, str(directory))
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    import webbrowser  # it reads $BROWSER once per process: let each test's count
    monkeypatch.setattr(webbrowser, "_tryorder", None)
    monkeypatch.setattr(webbrowser, "_browsers", {})
    from ssoenv import identity, settings

    settings._file_values.cache_clear()
    identity._clients.clear()
    identity._session = None  # botocore reads AWS_DATA_PATH etc. when the session is made
    return home


@pytest.fixture(autouse=True)
def hermetic_processes(home, monkeypatch, tmp_path_factory):
    """Every process a test starts (subprocess, pexpect; the test's or ssoenv's own)
    gets HOME, XDG_*, BROWSER and PATH of the fixtures' choosing (`support.unhermetic`
    says what else counts as chosen): the test fails at teardown if one did not."""
    base = tmp_path_factory.getbasetemp()
    strays = []

    def check(argv, env) -> None:
        problems = unhermetic(os.environ if env is None else env, base)
        if problems:
            strays.append(f"{argv!r}: {', '.join(problems)}")

    popen_init = subprocess.Popen.__init__

    def init(self, args, *rest, **kwargs):
        check(args, kwargs.get("env"))
        popen_init(self, args, *rest, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "__init__", init)
    try:
        import pexpect
    except ImportError:
        pexpect = None
    if pexpect is not None:
        spawnpty = pexpect.spawn._spawnpty

        def _spawnpty(self, args, **kwargs):
            check(args, kwargs.get("env"))
            return spawnpty(self, args, **kwargs)

        monkeypatch.setattr(pexpect.spawn, "_spawnpty", _spawnpty)
    yield
    assert not strays, "processes started outside the fixtures' environment:\n" + "\n".join(strays)


@pytest.fixture
def emulator(monkeypatch):
    emu = Emulator(EmulatorConfig()).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO", emu.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO_OIDC", emu.url)
    yield emu
    emu.stop()


@pytest.fixture
def aws_config(home):
    path = home / ".aws" / "config"
    path.parent.mkdir(mode=0o700)
    path.write_text(SESSION_CONFIG)
    return path


@pytest.fixture
def run(capsys):
    """Call the CLI in-process: (exit status, stdout, stderr)."""
    from ssoenv.cli import main

    def _run(*argv):
        capsys.readouterr()
        status = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return status, out, err

    return _run


@pytest.fixture
def logged_in(emulator, aws_config, run):
    status, _, err = run("login", "--sso-session", "corp", "--device-code", "--no-browser")
    assert status == 0, err
    return emulator


@pytest.fixture
def synced(logged_in, run):
    status, _, err = run("sync")
    assert status == 0, err
    return logged_in
