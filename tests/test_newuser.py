"""A new user's first hour, after issues 17, 19, 20 and 22: what a fresh clone showed
that did not match the README, each through the installed `ssoenv` entry point."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from support import SHELLS, SSOENV, clean_env

from ssoenv.subcommands import COMMANDS

README = Path(__file__).resolve().parent.parent / "README.md"


def _help(command: str) -> str:
    result = subprocess.run([SSOENV, command, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _commands_table() -> dict[str, list[tuple[str, str]]]:
    """The README's Commands table: subcommand -> its rows (the first cell, the whole row)."""
    section = README.read_text(encoding="utf-8").split("## Commands\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, list[tuple[str, str]]] = {}
    for line in section.splitlines():
        if match := re.match(r"\| `ssoenv ([a-z-]+)([^|]|\\\|)*\|", line):
            rows.setdefault(match.group(1), []).append((match.group(0), line))
    return rows


def test_the_commands_table_names_every_command_with_the_flags_its_help_has():
    """Every subcommand a user can type has a row (`recover` is the shell hook's own), and
    every flag a row shows is one `ssoenv CMD --help` knows, with the same values; a row
    that promises exit 3 has a --help that says so."""
    rows = _commands_table()
    assert sorted(set(COMMANDS) - {"recover"} - set(rows)) == []
    for command, cells in rows.items():
        help_text = _help(command)
        for cell, row in cells:
            for flag, values in re.findall(r"(--[a-z][a-z-]*)(?: ((?:[a-z0-9-]+\\\|)+[a-z0-9-]+))?", cell):
                assert re.search(rf"(^|[\s,\[]){flag}\b", help_text), f"{command}: README shows {flag}, --help has none"
                choices = re.search(rf"{flag} \{{([^}}]*)\}}", help_text)
                if values and choices:
                    assert values.split("\\|") == choices.group(1).split(","), (command, flag)
            if re.search(r"\bexit 3\b|\b3 when\b", row):  # what the row says of exit 3, --help says too
                assert re.search(r"\bexit (status )?3\b|\b3 when\b", " ".join(help_text.split())), command


@pytest.mark.parametrize("shell", SHELLS)
def test_demo_shell_values_are_completed(shell):
    """`ssoenv demo --shell <Tab>` (the README's first command) offers the three shells,
    as `use --shell` does; demo's --shell also takes a path, so argparse has no choices."""
    words = ["ssoenv demo --shell ", ""] if shell == "bash" else ["demo", "--shell", ""]
    result = subprocess.run([SSOENV, "__complete", shell, *words], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert set(SHELLS) <= set(result.stdout.replace("\0", "\n").split()), result.stdout  # zsh: NUL-separated


def test_the_demos_console_link_stays_on_this_machine(tmp_path):
    """The demo's banner says nothing in it reaches AWS: Ctrl-O / `ssoenv console` there
    opens the emulator's access portal, not a real `*.awsapps.com` one (`demo` is any
    organisation's alias), and that page answers."""
    fetch = ("import sys, urllib.request as u; "
             "print(u.build_opener(u.ProxyHandler({})).open(sys.argv[1].split('#')[0]).status)")
    script = f'url=$(ssoenv console member read --print) && echo "$url" && {shlex.quote(sys.executable)} -c "$0" "$url"'
    result = subprocess.run([SSOENV, "demo", "--command", f"sh -c {shlex.quote(script)} {shlex.quote(fetch)}"],
                            env=clean_env(tmp_path / "home"), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    url, status = result.stdout.split()
    assert re.match(r"http://127\.0\.0\.1:\d+/start/#/console\?account_id=222222222222&role_name=ReadOnlyAccess\Z",
                    url), url
    assert status == "200"


def test_a_region_in_capitals_is_refused_with_its_spelling(home):
    """`--region EU-WEST-1` (as a console page shows it): exit 2, one line that names the
    region to write, and no config written."""
    result = subprocess.run([SSOENV, "configure", "--sso-session", "corp", "--start-url",
                             "https://d-1234567890.awsapps.com/start", "--region", "EU-WEST-1"],
                            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 2
    assert result.stderr == ("ssoenv: bad region 'EU-WEST-1': an AWS region, e.g. us-east-1; "
                             "did you mean eu-west-1?\n")
    assert not (home / ".aws" / "config").exists()


def test_every_command_that_takes_a_target_completes_one(tmp_path):
    """Tab completes TARGETs (README) in every command whose usage names TARGET (`serve`
    offered none), asked as the bash snippet asks, in the demo's organisation."""
    takes_target = [c for c in COMMANDS if c != "recover" and "TARGET" in _help(c).split("\n\n", 1)[0]]
    assert {"use", "pick", "exec", "serve", "env", "console", "credential-process"} <= set(takes_target)
    script = "; ".join(f'echo "{c}: $(ssoenv __complete bash "ssoenv {c} Mem" Mem | tr "\\n" " ")"'
                       for c in takes_target)
    result = subprocess.run([SSOENV, "demo", "--command", script], env=clean_env(tmp_path / "home"),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    offered = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    for command in takes_target:
        assert "MemberAccount/ReadOnlyAccess" in offered[command].split(), (command, offered[command])


@pytest.mark.parametrize("scopes", ["sso:account:access\n[profile evil]\ncredential_process = touch pwned",
                                    "sso:account:access ; note", ","])
def test_scopes_that_would_change_the_config_file_are_refused(home, scopes):
    """`configure --scopes` is checked like the name, URL and region: a newline wrote a
    section of its own into ~/.aws/config, an inline `; note` became part of the value."""
    result = subprocess.run([SSOENV, "configure", "--sso-session", "corp", "--start-url",
                             "https://d-1234567890.awsapps.com/start", "--region", "eu-west-1", "--scopes", scopes],
                            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 2
    assert result.stderr == f"ssoenv: bad scopes {scopes!r}: scopes such as sso:account:access, comma-separated\n"
    assert not (home / ".aws" / "config").exists()


def test_several_scopes_are_written_comma_separated(home):
    result = subprocess.run([SSOENV, "configure", "--sso-session", "corp", "--start-url",
                             "https://d-1234567890.awsapps.com/start", "--region", "eu-west-1",
                             "--scopes", "sso:account:access, codewhisperer:completions"],
                            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    config = (home / ".aws" / "config").read_text()
    assert "sso_registration_scopes = sso:account:access,codewhisperer:completions\n" in config


def test_doctor_names_a_settings_key_ssoenv_never_reads(home):
    """A typo'd key (`exec_sever = true`) or section in the settings file had no effect and
    no word said: doctor names it, with the key meant, and exits 1."""
    settings_file = home / ".config" / "ssoenv" / "config"
    settings_file.parent.mkdir(parents=True)
    settings_file.write_text("[ssoenv]\nexec_sever = true\ncatalog_ttl = 60\n\n[ssoenv-settings]\nx = 1\n")
    result = subprocess.run([SSOENV, "doctor"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    fixes = [line for line in result.stdout.splitlines() if line.startswith("FIX") and str(settings_file) in line]
    assert fixes == [f"FIX  {settings_file}: section [ssoenv-settings]: ssoenv reads only [ssoenv]",
                     f"FIX  {settings_file}: unknown setting exec_sever; did you mean exec_server?"]
    settings_file.write_text("[ssoenv]\nexec_server = true\n")
    result = subprocess.run([SSOENV, "doctor"], capture_output=True, text=True, timeout=60)
    assert f"ok   {settings_file}: settings" in result.stdout.splitlines()


@pytest.mark.parametrize("accounts", ["100000000", "-1"])
def test_demo_refuses_an_organisation_it_could_not_build(tmp_path, accounts):
    """`demo --accounts 100000000` (a few zeros too many) grew past 700 MB in 20 s before
    it was stopped: one line, exit 2, at once."""
    # The refusal comes before any work; without it, 30 s is a gigabyte.
    result = subprocess.run([SSOENV, "demo", "--accounts", accounts, "--command", "true"],
                            env=clean_env(tmp_path / "home"), capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr == f"ssoenv: --accounts must be between 1 and 30,000, not {int(accounts):,}\n"


def test_exec_names_a_chained_role_by_account_id_and_role(tmp_path):
    """`list` shows the demo's chained role as account 999999999999, role Deploy, and
    `--account ID --role ROLE` names any row exactly (README): exec's catalog-free path
    for an id asked the portal for that account instead ("no access"), while `use`,
    `env` and `exec prod-deploy` reached it."""
    result = subprocess.run([SSOENV, "demo", "--command", "ssoenv exec --account 999999999999 --role Deploy -- "
                             "aws sts get-caller-identity --query Arn --output text"],
                            env=clean_env(tmp_path / "home"), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("arn:aws:sts::999999999999:assumed-role/Deploy/"), result.stdout


@pytest.mark.parametrize("key", ["\x04", "\x03"], ids=["ctrl-d", "ctrl-c"])
def test_configure_left_with_ctrl_d_or_ctrl_c_writes_nothing(home, key):
    """Ctrl-D at one of configure's questions was "internal error (EOFError)", exit 1:
    it leaves as Ctrl-C does, exit 130, no message, no file."""
    import pexpect

    child = pexpect.spawn(SSOENV, ["configure"], env=dict(os.environ, TERM="xterm-256color"),
                          encoding="utf-8", timeout=30, dimensions=(24, 100))
    child.expect_exact("SSO session name")
    child.send(key)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130, child.before
    assert "error" not in child.before
    assert not (home / ".aws" / "config").exists()


def test_verbose_and_debug_work_after_the_command_too(tmp_path):
    """`ssoenv sync -v` logs as `ssoenv -v sync` does; `ssoenv list --debug` was a usage
    error printed with a traceback."""
    script = ("ssoenv sync -v; echo status=$?; ssoenv -v sync; echo status=$?; "
              "ssoenv list --debug >/dev/null; echo status=$?")
    result = subprocess.run([SSOENV, "demo", "--command", script], env=clean_env(tmp_path / "home"),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["status=0"] * 3, result.stderr
    assert "Traceback" not in result.stderr and "unrecognized" not in result.stderr, result.stderr
    paced = [line for line in result.stderr.splitlines() if line.startswith("ssoenv: demo: 2 accounts in ")]
    assert len(paced) == 2, result.stderr  # the -v line, once per order


def test_a_command_without_target_in_a_shell_not_switched_says_how_on_its_line(tmp_path):
    """The demo's second step (`ssoenv exec -- env`) before the first (the switch): one
    line, `; hint:` as the README's messages promise, exit 2, in each command that
    defaults to the active entry."""
    script = "for c in 'exec -- true' env console serve 'use --renew --shell bash'; do ssoenv $c; echo status=$?; done"
    result = subprocess.run([SSOENV, "demo", "--command", script], env=clean_env(tmp_path / "home"),
                            capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["status=2"] * 5, result.stderr
    lines = result.stderr.splitlines()
    assert lines[:4] == ["ssoenv: no account/role is active in this shell; hint: give a TARGET "
                         "(or --account and --role), or switch first with Ctrl-A / `ssoenv use`"] * 4
    assert lines[4:] == ["ssoenv: nothing to renew: no account/role is active in this shell; "
                         "hint: switch first with Ctrl-A / `ssoenv use TARGET`"]
