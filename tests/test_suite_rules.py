"""Rules of the test suite itself: helpers come from support.py (never conftest), and a
missing tool is a skip on a developer's machine but a failure under CI (CI=true)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent


def _test_sources() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(TESTS.glob("*.py")) if p.name != "conftest.py"}


def test_no_test_imports_conftest():
    offenders = [name for name, text in _test_sources().items()
                 if re.search(r"^\s*(from conftest import|import conftest)\b", text, re.M)]
    assert offenders == []


def test_every_missing_tool_skip_goes_through_missing_tool():
    """A direct skip saying a tool is not installed, or a skipif marker on `which`, would skip under CI too."""
    offenders = []
    for name, text in _test_sources().items():
        if name == "support.py":
            continue
        for match in re.finditer(r"pytest\.skip\((.*)\)|pytest\.mark\.skipif\((.*)\)", text):
            call = match.group(0)
            if "not installed" in call or "shutil.which" in call or "os.access" in call:
                offenders.append(f"{name}: {call}")
    assert offenders == []


PROBE = """\
from support import need, need_module


def test_a_program():
    need("ssoenv-no-such-program")


def test_a_module():
    need_module("ssoenv_no_such_module", "ssoenv-no-such-package")
"""


def _run_probe(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess:
    probe = tmp_path / "test_probe.py"
    probe.write_text(PROBE)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS), env.get("PYTHONPATH")]))
    if ci is not None:
        env["CI"] = ci
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rsf", "-p", "no:cacheprovider",
                           "--rootdir", str(tmp_path), str(probe)],
                          capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)


def test_a_missing_tool_is_a_skip_outside_ci(tmp_path):
    result = _run_probe(tmp_path, None)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 skipped" in result.stdout
    assert "ssoenv-no-such-program is not installed" in result.stdout
    assert "ssoenv-no-such-package is not installed" in result.stdout


def test_a_missing_tool_fails_under_ci(tmp_path):
    result = _run_probe(tmp_path, "true")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "2 failed" in result.stdout
    assert result.stdout.count("CI must run every test") >= 2


# --- hermetic: the machine's browsers, HOME, XDG_* and PATH order are not the tests' (issues 18, 19)

def test_no_browser_is_on_the_tests_path_whatever_the_machine_has():
    """The in-process tests' PATH and clean_env's are the fixtures' browser-free one, and
    Python's webbrowser finds nothing there to fall through to (lynx, w3m, xdg-open...)."""
    import shutil
    import webbrowser

    from support import BROWSERS, clean_env, tests_path

    assert os.environ["PATH"] == tests_path() == clean_env(Path(os.environ["HOME"]))["PATH"]
    assert [b for b in sorted(BROWSERS) if shutil.which(b, path=tests_path())] == []
    webbrowser.register_standard_browsers()
    assert webbrowser._tryorder == []  # BROWSER is empty, and no browser is found


def test_the_fixtures_choose_home_xdg_and_browser(home, tmp_path_factory):
    from support import clean_env, unhermetic

    assert os.environ["HOME"] == str(home) and os.environ["BROWSER"] == ""
    for var in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        assert os.environ[var].startswith(str(home) + "/")
    base = tmp_path_factory.getbasetemp()
    assert unhermetic(dict(os.environ), base) == []
    assert unhermetic(clean_env(home / "other"), base) == []


@pytest.mark.parametrize("change, problem", [
    ({"HOME": "/root"}, "HOME='/root'"),
    ({"PATH": "/usr/bin:/bin"}, "PATH entry '/usr/bin'"),
    ({"BROWSER": None}, "no BROWSER"),
    ({"XDG_CONFIG_HOME": "/root/.config"}, "XDG_CONFIG_HOME='/root/.config'"),
    ({"XDG_STATE_HOME": None}, "XDG_STATE_HOME=None"),
    ({"XDG_RUNTIME_DIR": "/run/user/0"}, "XDG_RUNTIME_DIR='/run/user/0'"),
])
def test_unhermetic_names_what_the_fixtures_did_not_choose(home, tmp_path_factory, change, problem):
    from support import clean_env, unhermetic

    env = clean_env(home)
    for var, value in change.items():
        if value is None:
            env.pop(var)
        else:
            env[var] = value
    assert problem in unhermetic(env, tmp_path_factory.getbasetemp())


STRAY_PROBE = """\
import os
import subprocess
import sys


def test_a_process_with_the_machines_path():
    subprocess.run([sys.executable, "-c", "pass"], env=dict(os.environ, PATH="/usr/bin:/bin"), check=True)


def test_a_process_in_the_real_home():
    subprocess.run([sys.executable, "-c", "pass"], env=dict(os.environ, HOME="/root"), check=True)


def test_a_terminal_without_browser():
    import pexpect

    env = {k: v for k, v in os.environ.items() if k != "BROWSER"}
    child = pexpect.spawn(sys.executable, ["-c", "pass"], env=env)
    child.expect(pexpect.EOF)


def test_a_process_of_the_fixtures():
    subprocess.run([sys.executable, "-c", "pass"], check=True)
"""


def test_a_process_started_outside_the_fixtures_environment_fails_its_test(tmp_path):
    """conftest's `hermetic_processes`, loaded as a plugin into a probe run."""
    probe = tmp_path / "test_stray.py"
    probe.write_text(STRAY_PROBE)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS), env.get("PYTHONPATH")]))
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "conftest",
                             "--rootdir", str(tmp_path), str(probe)],
                            capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "4 passed, 3 errors" in out, out
    assert "PATH entry '/usr/bin'" in out and "HOME='/root'" in out and "no BROWSER" in out
    assert "ERROR test_stray.py::test_a_process_of_the_fixtures" not in out


def test_scripts_test_runs_fish_under_a_temporary_home():
    """fish and fish_indent create ~/.config/fish and ~/.local/share/fish."""
    script = (TESTS.parent / "scripts" / "test").read_text().replace("\\\n", " ")
    runs = [line for line in script.splitlines() if re.match(r"\s*(\w+=\S+\s+)*fish(_indent)?\s", line)]
    assert len(runs) == 2, runs  # fish --no-execute, fish_indent --check
    for line in runs:
        assert re.match(r"\s*HOME=\$fish_home XDG_CONFIG_HOME=\$fish_home/\.config "
                        r"XDG_DATA_HOME=\$fish_home/\.local/share\s+fish", line), line
    assert "fish_home=$(mktemp -d)" in script and 'rm -rf "$fish_home"' in script
