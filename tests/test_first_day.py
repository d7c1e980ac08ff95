"""The first day of a new user (issue 19), through the installed entry point: which
browser a login or the console may use (never a text-mode one), what happens with and
without a browser and a terminal (pexpect for the terminal), "nothing configured" and
one-line messages, the checks `configure` and `doctor` make, the backups of the AWS
config, the help texts, mypy's output and the README's first lines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from login_support import browser_urls, make_browser  # noqa: E402
from support import SSOENV, VENV_BIN, clean_env, need_module, tests_path, tools_dir  # noqa: E402

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
    env = clean_env(home, PATH=f"{fakes}:{tests_path()}", SSOENV_LOGIN_TIMEOUT="60")
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



def test_aws_sso_login_gets_no_text_mode_browser_either(box, tmp_path):
    """`login --via-aws-cli`: the AWS CLI opens its browser with Python's webbrowser too;
    it gets the same environment (no $TERM, $BROWSER without its text-mode entries)."""
    fake = tmp_path / "awscli"
    fake.mkdir()
    (fake / "aws").write_text('#!/bin/sh\nif [ "$1" = --version ]; then echo "aws-cli/2.15.0 Python/3.11"; exit 0; fi\n'
                              f'echo "TERM=${{TERM-unset}} BROWSER=${{BROWSER-unset}} ARGS=$*" > "{tmp_path}/aws.log"\n'
                              "exit 1\n")
    (fake / "aws").chmod(0o755)
    env = {"PATH": f"{fake}:{box.env['PATH']}", "BROWSER": f"lynx{os.pathsep}{make_browser(tmp_path)}"}
    result = box.ssoenv("login", "--via-aws-cli", env=env, check=False)
    assert "`aws sso login` failed" in result.stderr
    seen = (tmp_path / "aws.log").read_text()
    assert seen.startswith(f"TERM=unset BROWSER={make_browser(tmp_path)} ARGS=sso login --sso-session demo"), seen
    assert "--no-browser" not in seen
    env["BROWSER"] = "w3m"  # only a text-mode one, no display: no browser at all
    box.ssoenv("login", "--via-aws-cli", env=env, check=False)
    assert (tmp_path / "aws.log").read_text().strip().endswith("--sso-session demo --no-browser")
    assert text_browsers_run(tmp_path) == ""


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


# --- configure: regions, URLs, answers --------------------------------------------------

def configure(home: Path, *argv: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([SSOENV, "configure", *argv], env=clean_env(home, **env), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("argv, message", [
    (["--region", "eu-wset-1"], "unknown region eu-wset-1; did you mean eu-west-1?"),
    (["--region", "us-east-1", "--start-url", "http://d-1234567890.awsapps.com/start"],
     "bad url 'http://d-1234567890.awsapps.com/start': an https:// URL, e.g. https://d-1234567890.awsapps.com/start"),
    (["--region", "us-east-1", "--start-url", "ftp://d-1234567890.awsapps.com/start"],
     "bad url 'ftp://d-1234567890.awsapps.com/start': an https:// URL, e.g. https://d-1234567890.awsapps.com/start"),
])
def test_configure_refuses_an_unknown_region_and_plain_http(tmp_path, argv, message):
    home = tmp_path / "home"
    args = ["--sso-session", "corp", "--start-url", "https://d-1234567890.awsapps.com/start", *argv]
    result = configure(home, *args)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == f"ssoenv: {message}"
    assert not (home / ".aws" / "config").exists()


def test_configure_takes_the_emulators_loopback_url_and_its_endpoint_override(tmp_path):
    with Sandbox(clean_env(tmp_path / "home"), home=tmp_path / "home", aws_config="") as box:
        url = box.emulator.url + "/start"
        assert url.startswith("http://127.0.0.1:")
        result = box.ssoenv("configure", "--sso-session", "emu", "--start-url", url, "--region", "eu-west-1",
                            check=False)
        assert result.returncode == 0, result.stderr
        assert box.ssoenv("login", "--sso-session", "emu", "--device-code", check=False).returncode == 0


def test_doctor_flags_a_configured_unknown_region(tmp_path):
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "config").write_text("[sso-session corp]\nsso_start_url = https://x.awsapps.com/start\n"
                                          "sso_region = eu-wset-1\n")
    result = subprocess.run([SSOENV, "doctor"], env=clean_env(home, PATH=str(tools_dir())), capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1
    assert "FIX  corp: unknown region eu-wset-1; did you mean eu-west-1?" in result.stdout
    assert "-> ssoenv configure --sso-session corp --region eu-west-1" in result.stdout


def test_doctor_names_the_v1_first_on_path_and_the_v2_behind_it(tmp_path):
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    v1, v2 = tmp_path / "v1", tmp_path / "v2"
    for folder, script in ((v1, 'echo "aws-cli/1.32.0 Python/3.11 Linux botocore/1.34.0" >&2'),
                           (v2, 'echo "aws-cli/2.15.0 Python/3.11 Linux exe/x86_64"')):
        folder.mkdir()
        (folder / "aws").write_text(f"#!/bin/sh\n{script}\n")
        (folder / "aws").chmod(0o755)
    env = clean_env(home, PATH=f"{v1}:{VENV_BIN}:{v2}:{tools_dir()}")
    result = subprocess.run([SSOENV, "doctor"], env=env, capture_output=True, text=True, timeout=60)
    assert (f"FIX  AWS CLI: the `aws` first on PATH is {v1}/aws (aws-cli/1.32.0 Python/3.11 Linux botocore/1.34.0); "
            f"an AWS CLI v2 is at {v2}/aws") in result.stdout
    assert f"-> put {v2} before {v1} in PATH, or remove {v1}/aws" in result.stdout
    env["PATH"] = f"{v2}:{VENV_BIN}:{v1}:{tools_dir()}"
    result = subprocess.run([SSOENV, "doctor"], env=env, capture_output=True, text=True, timeout=60)
    assert f"ok   AWS CLI: {v2}/aws (aws-cli/2.15.0 Python/3.11 Linux exe/x86_64)" in result.stdout


def test_a_rejected_answer_is_not_kept_for_the_next_one(tmp_path):
    """Interactive configure on a real terminal: after a rejected answer the line starts
    empty (`my corp`, then `corp`, is `corp`, not `my corpcorp`)."""
    need_module("pexpect", "pexpect")
    import pexpect

    home = tmp_path / "home"
    child = pexpect.spawn(SSOENV, ["configure"], env=clean_env(home, PROMPT_TOOLKIT_NO_CPR="1"),
                          encoding="utf-8", timeout=60, dimensions=(40, 160))
    child.expect_exact("SSO session name:")
    child.send("my corp\r")
    child.expect_exact("bad name 'my corp'")
    child.expect_exact("SSO session name:")
    child.send("corp\r")
    child.expect_exact("SSO start URL:")
    child.send("http://d-1234567890.awsapps.com/start\r")
    child.expect_exact("an https:// URL")
    child.expect_exact("SSO start URL:")
    child.send("https://d-1234567890.awsapps.com/start\r")
    child.expect_exact("SSO region:")
    child.send("eu-wset-1\r")
    child.expect_exact("unknown region eu-wset-1; did you mean eu-west-1?")
    child.expect_exact("SSO region:")
    child.send("eu-west-1\r")
    child.expect_exact("SSO registration scopes [sso:account:access]:")
    child.send("\r")
    child.expect(EOF())
    child.close()
    assert child.exitstatus == 0, child.before
    assert (home / ".aws" / "config").read_text() == (
        "[sso-session corp]\nsso_start_url = https://d-1234567890.awsapps.com/start\nsso_region = eu-west-1\n"
        "sso_registration_scopes = sso:account:access\n")


# --- backups -----------------------------------------------------------------------------

def test_the_users_original_config_survives_several_edits(tmp_path):
    """configure, configure again, then populate: config.ssoenv-original is still the
    user's own file; config.ssoenv-backup is the file before the latest edit."""
    home = tmp_path / "home"
    config = home / ".aws" / "config"
    config.parent.mkdir(parents=True)
    mine = "# my own file\n[profile mine]\nregion = eu-west-1\n"
    config.write_text(mine)
    with Sandbox(clean_env(home), home=home, aws_config=mine) as box:
        url = box.emulator.url + "/start"
        box.ssoenv("configure", "--sso-session", "demo", "--start-url", url, "--region", "us-east-1")
        original = Path(str(config) + ".ssoenv-original")
        latest = Path(str(config) + ".ssoenv-backup")
        assert original.read_text() == mine and latest.read_text() == mine
        box.ssoenv("configure", "--sso-session", "demo", "--region", "eu-west-1")
        box.ssoenv(*box.login_command())
        before_populate = config.read_text()
        result = box.ssoenv("populate")
        assert f"backup: {latest}" in result.stderr
        assert original.read_text() == mine
        assert latest.read_text() == before_populate != mine
        assert oct(original.stat().st_mode & 0o777) == "0o600"


# --- help ---------------------------------------------------------------------------------

def help_of(*command: str) -> str:
    result = subprocess.run([SSOENV, *command, "--help"], env=clean_env(Path(os.environ["HOME"]), COLUMNS="200"),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("command, option", [
    ("logout", "--sso-session NAME"), ("refresh", "--sso-session NAME"), ("refresh", "--profile NAME"),
])
def test_every_option_has_a_help_text(command, option):
    (line,) = [line for line in help_of(command).splitlines() if line.strip().startswith(option)]
    assert line.strip()[len(option):].strip(), f"`{command} {option}` has no help text"


def test_init_help_names_every_shell_setting():
    text = help_of("init")
    for variable in ("SSOENV_PICK_KEY", "SSOENV_WRAP ", "SSOENV_WRAP_SERVER", "SSOENV_AUTO_LOGIN", "SSOENV_PROMPT ",
                     "SSOENV_PROMPT_COLOR", "SSOENV_PROMPT_PSVAR", "SSOENV_PICKER"):
        assert variable in text, variable


def test_use_help_and_completion_hide_the_internal_flags():
    text = help_of("use")
    assert "--clear" in text
    assert "--renew" not in text and "--session-state" not in text
    offered = subprocess.run([SSOENV, "__complete", "bash", "ssoenv use --", "--"], capture_output=True, text=True,
                             timeout=60).stdout
    assert "--clear" in offered and "--renew" not in offered and "--session-state" not in offered


# --- mypy ------------------------------------------------------------------------------------

def test_mypy_prints_findings_only(tmp_path):
    """The project's mypy settings on an unannotated test-like function with a local
    annotation: no "annotation-unchecked" note (it was printed nine times in every run)."""
    need_module("mypy", "mypy")
    sample = tmp_path / "sample.py"
    sample.write_text("def test_thing(fixture):\n    seen: set[str] = set()\n    assert not seen\n")
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(root / "pyproject.toml"),
                             "--no-incremental", str(sample)], capture_output=True, text=True, timeout=300,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert "note:" not in result.stdout, result.stdout


# --- the README's first lines ------------------------------------------------------------

def test_the_readmes_first_lines_name_the_demo_in_each_shell(tmp_path):
    """The first code block says how to run the demo in zsh or fish, and that line works."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    first_block = readme.split("```sh\n", 1)[1].split("```", 1)[0]
    assert "ssoenv demo --shell zsh (or bash, or fish)" in first_block
    for shell in ("zsh", "fish"):
        result = subprocess.run([SSOENV, "demo", "--shell", shell, "--command", "ssoenv list"],
                                env=clean_env(tmp_path / shell), capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert "MemberAccount" in result.stdout


def test_an_ambiguous_target_has_its_hint_on_the_first_line_and_the_candidates_below(box):
    box.ssoenv(*box.login_command())
    box.ssoenv("sync")
    result = box.ssoenv("env", "account", check=False)
    assert result.returncode == 2
    first, *candidates = result.stderr.splitlines()
    assert first.startswith("ssoenv: 'account' matches ")
    assert first.endswith("entries; be more specific; hint: use --account ID --role ROLE "
                          "(and --sso-session NAME) to name one exactly")
    assert len(candidates) >= 2 and all(line.startswith("  ") for line in candidates)
