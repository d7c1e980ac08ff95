"""`ssoenv exec` exits as a shell would when the command cannot run (issue 11:
ExitStatus.CANNOT_EXECUTE, 126; NOT_FOUND, 127), with and without --server."""

from __future__ import annotations

import os

import pytest
from support import ssoenv_subprocess


@pytest.mark.parametrize("server", ["--no-server", "--server"])
def test_a_command_that_cannot_run_exits_126(synced, tmp_path, server):
    script = tmp_path / "not-executable"
    script.write_text("#!/bin/sh\necho ran\n")
    script.chmod(0o644)
    proc = ssoenv_subprocess("exec", server, "MemberAccount/ReadOnlyAccess", "--", str(script),
                             env=dict(os.environ))
    assert proc.returncode == 126
    assert proc.stdout == ""
    assert proc.stderr == f"ssoenv: permission denied: {script}\n"


@pytest.mark.parametrize("server", ["--no-server", "--server"])
def test_a_missing_command_exits_127(synced, tmp_path, server):
    missing = tmp_path / "no-such-command"
    proc = ssoenv_subprocess("exec", server, "MemberAccount/ReadOnlyAccess", "--", str(missing),
                             env=dict(os.environ))
    assert proc.returncode == 127
    assert proc.stderr == f"ssoenv: command not found: {missing}\n"


@pytest.mark.parametrize("seconds, shown", [(0, "0m"), (-5, "0m"), (59, "0m"), (2700, "45m"),
                                            (3600, "1h00m"), (3900, "1h05m"), (43199, "11h59m")])
def test_durations_are_written_as_the_prompt_writes_them(seconds, shown):
    from ssoenv import text

    assert text.duration(seconds) == shown
