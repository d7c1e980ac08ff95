"""ssoenv pick on a real terminal (pexpect): fzf and the prompt_toolkit fallback."""

from __future__ import annotations

from support import finish, pick_member_read_prints_its_statements, spawn_pick, wait_for


def test_fzf_query_and_enter_prints_statements(synced):
    pick_member_read_prints_its_statements()


def test_fzf_escape_prints_nothing_and_exits_130(synced):
    child = spawn_pick()
    wait_for(child, "RootAccount")
    child.send("\x1b")
    status, output = finish(child)
    assert status == 130
    assert "export" not in output and "unset" not in output


def test_none_entry_clears(synced):
    child = spawn_pick("none clear")
    wait_for(child, "identity of this shell")
    child.send("\r")
    status, output = finish(child)
    assert status == 0 and "unset SSOENV_ACCOUNT_ID;" in output and "export" not in output


def test_builtin_picker_fallback(synced):
    child = spawn_pick(env_extra={"SSOENV_PICKER": "builtin"})
    child.expect("aws>")
    child.send("RootAccount 111111111111 AdministratorAccess")
    child.send("\r")
    status, output = finish(child)
    assert status == 0, output
    assert "export SSOENV_ROLE='AdministratorAccess';" in output


def test_builtin_picker_ctrl_c(synced):
    child = spawn_pick(env_extra={"SSOENV_PICKER": "builtin"})
    child.expect("aws>")
    child.sendcontrol("c")
    status, output = finish(child)
    assert status == 130 and "export" not in output


def test_pick_with_nothing_to_pick(aws_config, emulator, run):
    status, out, err = run("pick", "--shell", "bash")
    assert status == 1 and out == "" and "ssoenv login" in err


def test_pick_without_a_terminal(synced):
    import subprocess
    import sys

    # A new session has no controlling terminal: /dev/tty cannot be opened.
    proc = subprocess.run([sys.executable, "-m", "ssoenv", "pick", "--shell", "bash"], capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL, start_new_session=True)
    assert proc.returncode == 2 and "needs a terminal" in proc.stderr, proc.stderr
    assert proc.stdout == ""


def test_builtin_picker_draws_on_the_terminal_not_into_what_the_shell_evals(synced, tmp_path):
    """Ctrl-A's widget captures pick's stdout and evals it: the built-in picker must draw
    on the terminal, and stdout must hold the statements alone (no escape codes)."""
    import os
    import sys

    import pexpect

    out = tmp_path / "eval-me"
    env = dict(os.environ, TERM="xterm-256color", SSOENV_PICKER="builtin")
    child = pexpect.spawn("bash", ["-c", '"$@" > "$OUT"', "_", sys.executable, "-m", "ssoenv", "pick", "--shell",
                                   "bash"], env={**env, "OUT": str(out)}, encoding="utf-8", timeout=30,
                          dimensions=(30, 120))
    child.expect("aws>")  # on the terminal
    child.send("RootAccount 111111111111 AdministratorAccess\r")
    status, _ = finish(child)
    text = out.read_text()
    assert status == 0, text
    assert "\x1b" not in text and "aws>" not in text, repr(text[:200])
    assert "export SSOENV_ROLE='AdministratorAccess';" in text
