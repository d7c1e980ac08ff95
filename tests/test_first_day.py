"""The first day of a new user (issue 19), through the installed entry point: which
browser a login or the console may use (never a text-mode one), what happens with and
without a browser and a terminal, and the checks `configure` and `doctor` make."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from login_support import browser_urls, make_browser  # noqa: E402
from support import SSOENV, VENV_BIN, clean_env, need_module  # noqa: E402

from ssoenv.sandbox import Sandbox  # noqa: E402

TEXT_BROWSERS = ("lynx", "w3m", "links", "elinks", "www-browser")


@pytest.fixture
def box(tmp_path):
    """A sandbox (sso-session `demo`, not logged in) whose PATH starts with fake text-mode
    browsers: each records that it ran, so a test sees it even where none is installed."""
    fakes = tmp_path / "fakes"
    fakes.mkdir()
    for name in TEXT_BROWSERS:
        fake = fakes / name
        fake.write_text(f'#!/bin/sh\necho "{name} $*" >> "{tmp_path}/text-browser.log"\nexit 0\n')
        fake.chmod(0o755)
    home = tmp_path / "home"
    env = clean_env(home, PATH=f"{fakes}:{VENV_BIN}:/usr/bin:/bin", SSOENV_LOGIN_TIMEOUT="60")
    with Sandbox(env, home=home) as sandbox:
        yield sandbox


def text_browsers_run(tmp_path: Path) -> str:
    log = tmp_path / "text-browser.log"
    return log.read_text() if log.exists() else ""


def spawn(box: Sandbox, *argv: str, **env: str):
    import pexpect

    return pexpect.spawn(SSOENV, list(argv), env={**box.env, **env}, encoding="utf-8", timeout=60,
                         dimensions=(40, 160))


# --- browsers: yes/no x terminal yes/no ---------------------------------------------------

def test_browser_and_no_terminal_logs_in_in_the_browser(box, tmp_path):
    result = box.ssoenv("login", "--sso-session", "demo", env={"BROWSER": make_browser(tmp_path)}, check=False)
    assert result.returncode == 0, result.stderr
    assert len(browser_urls(tmp_path)) == 1
    calls = box.emulator.calls()
    assert (calls["Authorize"], calls["StartDeviceAuthorization"]) == (1, 0)


def test_browser_and_a_terminal_logs_in_in_the_browser(box, tmp_path):
    need_module("pexpect", "pexpect")
    child = spawn(box, "login", "--sso-session", "demo", BROWSER=make_browser(tmp_path))
    child.expect("logged in to demo")
    child.expect(EOF())
    child.close()
    assert child.exitstatus == 0
    calls = box.emulator.calls()
    assert (calls["Authorize"], calls["StartDeviceAuthorization"]) == (1, 0)
    assert text_browsers_run(tmp_path) == ""


@pytest.mark.parametrize("browser", ["/bin/false", "lynx", None], ids=["failing", "text-mode", "unset"])
def test_no_browser_and_a_terminal_shows_the_device_code(box, tmp_path, browser):
    need_module("pexpect", "pexpect")
    env = {"BROWSER": browser} if browser else {}
    child = spawn(box, "login", "--sso-session", "demo", "--force", **env)
    child.expect("shows the code")
    child.expect("logged in to demo")
    child.expect(EOF())
    child.close()
    assert child.exitstatus == 0
    assert box.emulator.calls()["StartDeviceAuthorization"] == 1
    assert box.emulator.calls()["Authorize"] == 0
    assert text_browsers_run(tmp_path) == ""


@pytest.mark.parametrize("browser", ["/bin/false", "lynx", None], ids=["failing", "text-mode", "unset"])
def test_no_browser_and_no_terminal_stops_at_once(box, tmp_path, browser):
    env = {"BROWSER": browser} if browser else {}
    result = box.ssoenv("login", "--force", env=env, check=False)
    assert result.returncode == 3, result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.endswith("; run: ssoenv login --sso-session demo --device-code\n")
    calls = box.emulator.calls()
    assert (calls["StartDeviceAuthorization"], calls["Authorize"], calls["CreateToken"]) == (0, 0, 0)
    assert text_browsers_run(tmp_path) == ""


def test_an_explicit_device_code_runs_without_a_terminal(box, tmp_path):
    result = box.ssoenv("login", "--device-code", env={"BROWSER": "/bin/false"}, check=False)
    assert result.returncode == 0, result.stderr
    assert box.emulator.calls()["StartDeviceAuthorization"] == 1
    assert text_browsers_run(tmp_path) == ""


@pytest.mark.parametrize("browser", ["/bin/false", "w3m", None], ids=["failing", "text-mode", "unset"])
def test_the_console_never_opens_a_text_mode_browser(box, tmp_path, browser):
    box.ssoenv(*box.login_command())
    box.ssoenv("sync")
    env = {"BROWSER": browser} if browser else {}
    result = box.ssoenv("console", "MemberAccount/ReadOnlyAccess", env=env, check=False)
    assert result.returncode == 0, result.stderr
    assert "no browser to open here" in result.stderr
    assert result.stdout.startswith("https://demo.awsapps.com/start/#/console?account_id=222222222222")
    assert text_browsers_run(tmp_path) == ""


def EOF():  # noqa: N802 (pexpect's name)
    import pexpect

    return pexpect.EOF


# --- nothing configured: one rule, one line --------------------------------------------

NEEDS_A_LOGIN = ["list", "list --json", "status", "sync", "login", "logout", "refresh", "populate",
                 "use prod --shell bash", "pick --shell bash", "exec prod -- true", "exec -- true", "env",
                 "console prod", "credential-process prod"]


@pytest.mark.parametrize("command", NEEDS_A_LOGIN)
def test_nothing_configured_is_exit_1_and_one_line_naming_configure(tmp_path, command):
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    config = home / ".aws" / "config"
    config.write_text("[default]\nregion = eu-west-1\n")
    result = subprocess.run([SSOENV, *command.split()], env=clean_env(home), stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stderr
    assert result.stdout in ("", "[]\n")
    assert result.stderr == (f"ssoenv: no sso-session in {config}; hint: add one with: ssoenv configure "
                             "(or `ssoenv demo` to try it locally)\n")
