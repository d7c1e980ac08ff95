"""Rules of the test suite itself: helpers come from support.py (never conftest), and a
missing tool is a skip on a developer's machine but a failure under CI (CI=true)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

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
