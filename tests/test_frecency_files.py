"""Issues 17 and 18: frecency.json is read only as a small regular file (a FIFO, a
symlink to /dev/zero, a 50 MB file are an empty history with one debug line, never a
hang), a history of another shape is empty (never a crash of the picker or exec), and
it is written atomically (a reader holding the old file keeps complete bytes)."""

from __future__ import annotations

import json
import os

import pytest
from support import finish, spawn_pick, ssoenv_subprocess, wait_for

from ssoenv import frecency, paths

TARGET = "RootAccount/ReadOnlyAccess"
GOOD = {"version": 1, "entries": {"corp\x1f222222222222\x1fAdministratorAccess": [3, 1_700_000_000.5]}}


def _state():
    path = paths.frecency_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _fifo(path):
    os.mkfifo(path)


def _dev_zero(path):
    path.symlink_to("/dev/zero")


def _huge(path):
    with open(path, "wb") as fh:  # a valid history, then 50 MB of blanks
        fh.write(json.dumps(GOOD).encode())
        fh.truncate(50 * 1024 * 1024)


def _link_to_a_good_history(path):
    real = path.parent / "elsewhere.json"
    real.write_text(json.dumps(GOOD))
    path.symlink_to(real)


NOT_REGULAR = "not a regular file of at most"
SYMLINK = "Too many levels of symbolic links"  # O_NOFOLLOW's ELOOP


@pytest.mark.parametrize("make, reason", [(_fifo, NOT_REGULAR), (_dev_zero, SYMLINK), (_huge, NOT_REGULAR),
                                          (_link_to_a_good_history, SYMLINK)],
                         ids=["fifo", "dev-zero", "50MB", "symlink"])
def test_anything_but_a_small_regular_file_is_an_empty_history(synced, make, reason):
    make(_state())
    assert frecency.load() == {}
    proc = ssoenv_subprocess("--debug", "exec", TARGET, "--", "true", timeout=60)  # a hang fails here
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("frecency: ignoring") == 1, proc.stderr
    assert reason in proc.stderr, proc.stderr


def test_the_picker_opens_with_a_fifo_for_a_history(synced):
    _fifo(_state())
    child = spawn_pick()
    wait_for(child, "RootAccount")
    child.send("\x1b")
    status, output = finish(child)
    assert status == 130, output


WRONG = {
    "count as a string": {"version": 1, "entries": {"corp\x1f222222222222\x1fAdministratorAccess": ["3", 1.0]}},
    "time as a string": {"version": 1, "entries": {"corp\x1f222222222222\x1fAdministratorAccess": [3, "1.0"]}},
    "entries a list": {"version": 1, "entries": [["corp", "222222222222", "AdministratorAccess", 3, 1.0]]},
    "unknown key": {**GOOD, "extra": True},
    "version as a string": {**GOOD, "version": "1"},
    "version true": {**GOOD, "version": True},
    "count true": {"version": 1, "entries": {"corp\x1f222222222222\x1fAdministratorAccess": [True, 1.0]}},
    "a key of two parts": {"version": 1, "entries": {"corp\x1f222222222222": [3, 1.0]}},
    "a count too large for a float": {"version": 1,
                                      "entries": {"corp\x1f222222222222\x1fAdministratorAccess": [10**400, 1.0]}},
    "the whole file a list": [GOOD],
}


@pytest.mark.parametrize("content", WRONG.values(), ids=WRONG.keys())
def test_a_history_of_another_shape_is_empty_and_crashes_nothing(synced, content):
    path = _state()
    path.write_text(json.dumps(content))
    assert frecency.load() == {}
    proc = ssoenv_subprocess("exec", TARGET, "--", "true")
    assert proc.returncode == 0, proc.stderr
    path.write_text(json.dumps(content))
    child = spawn_pick()
    wait_for(child, "RootAccount")
    child.send("\x1b")
    status, output = finish(child)
    assert status == 130 and "internal error" not in output, output


def test_the_history_is_written_atomically(synced):
    path = _state()
    old = json.dumps(GOOD).encode()
    path.write_bytes(old)
    with open(path, "rb") as held:  # a reader that opened the file before the write
        proc = ssoenv_subprocess("exec", TARGET, "--", "true")
        assert proc.returncode == 0, proc.stderr
        assert held.read() == old
    new = json.loads(path.read_text())
    assert set(new["entries"]) == {*GOOD["entries"], "corp\x1f111111111111\x1fReadOnlyAccess"}
    assert oct(path.stat().st_mode & 0o777) == "0o600"
