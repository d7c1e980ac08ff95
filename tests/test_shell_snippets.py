"""The shell snippets in the real shells, without a terminal: `ssoenv init`, silent
and idempotent sourcing, other hooks and `$?` left alone, the prompt segment
(no process: empty PATH and strace), the prompt-time renewal and the wrapper
protocol (fake `ssoenv` and fake commands: fast, and every branch)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from support import (  # noqa: E402
    SHELLS,
    SSOENV,
    clean_env,
    need,
    rendered,
    under_ci,  # noqa: E402
)

SOURCE = {"bash": 'eval "$(ssoenv init bash)"', "zsh": 'eval "$(ssoenv init zsh)"',
          "fish": "ssoenv init fish | source"}
STRICT = {"bash": ["bash", "--noprofile", "--norc", "-euo", "pipefail", "-c"],
          "zsh": ["zsh", "-f", "-eu", "-c"], "fish": ["fish", "--no-config", "-c"]}


def sh(shell: str, script: str, env: dict, timeout: float = 30) -> subprocess.CompletedProcess:
    need(shell)
    return subprocess.run(STRICT[shell] + [script], env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture
def env(tmp_path):
    return clean_env(tmp_path / "h")


@pytest.fixture(scope="module")
def snippet_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("snippets")
    out = {}
    for shell in SHELLS:
        out[shell] = d / f"ssoenv.{shell}"
        out[shell].write_text(rendered(shell))
    return out


# --- ssoenv init ---------------------------------------------------------------------

@pytest.mark.parametrize("shell", SHELLS)
def test_init_renders_the_executable_quoted_and_no_placeholder(shell):
    text = rendered(shell)
    assert "__SSOENV_" not in text
    quoted = f"'{SSOENV}'"
    assert quoted in text
    assert "'Token has expired and refresh failed'" in text


def test_init_falls_back_to_python_dash_m():
    out = subprocess.run([sys.executable, "-m", "ssoenv", "init", "zsh"], capture_output=True, text=True)
    assert out.returncode == 0
    assert f"__ssoenv_bin=('{sys.executable}' '-m' 'ssoenv')" in out.stdout


def test_init_unknown_shell_is_a_usage_error():
    out = subprocess.run([SSOENV, "init", "tcsh"], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stdout == ""
    assert "unsupported shell 'tcsh'" in out.stderr and "bash, zsh and fish" in out.stderr


@pytest.mark.parametrize("shell", SHELLS)
def test_init_detects_the_running_shell(shell, env):
    need(shell)
    # `; true` keeps the shell as ssoenv's parent (no exec of the last command).
    out = subprocess.run([shell, "-c", f"{SSOENV} init; true"], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout == rendered(shell)


def test_init_finds_the_snippets_in_an_installed_layout(tmp_path, monkeypatch):
    """In a wheel the snippets are ssoenv/shell/ssoenv.<sh> next to the package."""
    import ssoenv
    from ssoenv import shells as init

    fake_pkg = tmp_path / "site" / "ssoenv"
    (fake_pkg / "shell").mkdir(parents=True)
    (fake_pkg / "shell" / "ssoenv.bash").write_text("# installed copy\n")
    monkeypatch.setattr(ssoenv, "__file__", str(fake_pkg / "__init__.py"))
    assert init.snippet_path("bash") == fake_pkg / "shell" / "ssoenv.bash"


# --- sourcing: silent, idempotent, nothing of the user's clobbered ----------------

@pytest.mark.parametrize("shell", SHELLS)
def test_sourcing_twice_prints_nothing_under_strict_options(shell, env):
    out = sh(shell, f"{SOURCE[shell]}\n{SOURCE[shell]}\necho ok", env)
    assert (out.returncode, out.stdout, out.stderr) == (0, "ok\n", "")


def test_sourcing_in_an_interactive_bash_prints_nothing(env, snippet_files):
    need("bash", "script")
    cmd = f"bash --noprofile --norc -i -c 'source {snippet_files['bash']}; source {snippet_files['bash']}; echo ok'"
    out = subprocess.run(["script", "-qec", cmd, "/dev/null"], env=env, capture_output=True, text=True,
                         timeout=30)
    assert out.stdout.replace("\r", "") == "ok\n", out.stdout


def test_shellcheck_passes_on_the_bash_snippet(snippet_files):
    need("shellcheck")
    out = subprocess.run(["shellcheck", "-s", "bash", str(snippet_files["bash"])], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout


def test_bash_prompt_command_string_form_survives(env):
    script = f"""
PROMPT_COMMAND='; user_hook_1; user_hook_2'
{SOURCE['bash']}
{SOURCE['bash']}
printf '%s' "$PROMPT_COMMAND"
"""
    out = sh("bash", script, env)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "__ssoenv_hook\n user_hook_1; user_hook_2"
    # and it still parses as shell code
    assert sh("bash", "user_hook_1() { :; }; user_hook_2() { :; }; __ssoenv_hook() { :; }\n"
                      "eval $'__ssoenv_hook\\n user_hook_1; user_hook_2'", env).returncode == 0


def test_bash_prompt_command_array_form_survives(env):
    script = f"""
PROMPT_COMMAND=(user_a 'user_b arg')
{SOURCE['bash']}
{SOURCE['bash']}
declare -p PROMPT_COMMAND
"""
    out = sh("bash", script, env)
    assert out.stdout.strip() == 'declare -a PROMPT_COMMAND=([0]="__ssoenv_hook" [1]="user_a" [2]="user_b arg")'


def test_bash_exit_status_survives_the_hooks(env):
    script = f"""
PROMPT_COMMAND=(user_hook)
user_hook() {{ local r=$?; echo "user hook saw $r"; return $r; }}
{SOURCE['bash']}
export SSOENV_ACCOUNT_ID=1 SSOENV_ROLE=r SSOENV_MODE=profile SSOENV_PROFILE=p AWS_PROFILE=p
export SSOENV_EXPIRES=$((EPOCHSECONDS + 5000))
set +e
(exit 7)
for __c in "${{PROMPT_COMMAND[@]}}"; do eval "$__c"; done
echo "prompt sees $?"
"""
    out = sh("bash", script, env)
    assert out.stdout == "user hook saw 7\nprompt sees 7\n", out.stderr


def test_zsh_precmd_functions_and_exit_status_survive(env):
    script = f"""
user_precmd() {{ echo "user precmd saw $?"; }}
precmd_functions=(user_precmd)
{SOURCE['zsh']}
{SOURCE['zsh']}
print -r -- "$precmd_functions"
export SSOENV_ACCOUNT_ID=1 SSOENV_ROLE=r SSOENV_MODE=profile SSOENV_PROFILE=p AWS_PROFILE=p
export SSOENV_EXPIRES=$((EPOCHSECONDS + 5000))
setopt no_err_exit
(exit 7)
__ssoenv_precmd
echo "after our hook $?"
"""
    out = sh("zsh", script, env)
    assert out.stdout == "user_precmd __ssoenv_precmd\nafter our hook 7\n", out.stderr


def test_fish_keeps_the_users_prompt_and_bindings(env):
    script = f"""
function fish_prompt; echo mine; end
bind \\cg 'echo user-binding'
{SOURCE['fish']}
{SOURCE['fish']}
functions fish_prompt | string match -q '*echo mine*'; and echo prompt-kept
bind \\cg
bind \\ca
set -e SSOENV_ACCOUNT_ID
false
__ssoenv_on_prompt
echo status $status
"""
    out = sh("fish", script, env)
    lines = out.stdout.splitlines()
    assert lines[0] == "prompt-kept"
    assert lines[1] == "bind \\cg 'echo user-binding'"
    assert lines[2] == "bind \\ca __ssoenv_pick"
    assert out.returncode == 0, out.stderr


def test_wrappers_leave_the_users_own_functions_alone(env):
    bash = sh("bash", f"terraform() {{ echo mine; }}\nSSOENV_WRAP='aws terraform'\n{SOURCE['bash']}\n"
                      f"{SOURCE['bash']}\nterraform; declare -F aws", env)
    assert bash.stdout == "mine\naws\n", bash.stderr
    zsh = sh("zsh", f"terraform() {{ echo mine; }}\nalias cdk='echo alias'\nSSOENV_WRAP='aws terraform cdk'\n"
                    f"{SOURCE['zsh']}\nterraform; (( ${{+functions[aws]}} )) && echo aws; "
                    f"(( ${{+functions[cdk]}} )) || echo no-cdk-function", env)
    assert zsh.stdout == "mine\naws\nno-cdk-function\n", zsh.stderr
    fish = sh("fish", f"function terraform; echo mine; end\nset SSOENV_WRAP 'aws  terraform'\n"
                      f"{SOURCE['fish']}\nterraform; functions -q aws; and echo aws", env)
    assert fish.stdout == "mine\naws\n", fish.stderr


# --- key bindings ---------------------------------------------------------------------

def _bash_interactive(script: str, env: dict) -> str:
    need("bash", "script")
    path = Path(env["HOME"]) / "keys.bash"
    path.write_text(script)
    out = subprocess.run(["script", "-qec", f"bash --noprofile --norc -i {path}", "/dev/null"], env=env,
                         capture_output=True, text=True, timeout=30)
    return out.stdout.replace("\r", "")


def test_bash_binds_emacs_and_vi_insert_and_honours_the_setting(env):
    out = _bash_interactive(f"{SOURCE['bash']}\nbind -m emacs-standard -s\necho --\n"
                            "bind -m vi-insert -s\n", env)
    emacs, vi = out.split("--\n")
    assert '"\\C-a": "\\C-x\\C-_1\\C-x\\C-_2\\C-x\\C-_3"' in emacs
    assert '"\\C-a": "\\C-x\\C-_1\\C-x\\C-_2\\C-x\\C-_3"' in vi
    out = _bash_interactive(f"bind '\"\\C-g\": kill-whole-line'\nSSOENV_PICK_KEY=alt-p\n{SOURCE['bash']}\n"
                            "bind -s; bind -p | grep -F '\"\\C-g\"'; bind -p | grep -F '\"\\C-a\"'\n", env)
    assert '"\\ep": "\\C-x\\C-_1' in out
    assert '"\\C-g": kill-whole-line' in out
    assert '"\\C-a": beginning-of-line' in out
    out = _bash_interactive(f"SSOENV_PICK_KEY=\n{SOURCE['bash']}\n(bind -s; bind -X) 2>/dev/null; echo end\n", env)
    assert out == "end\n"


def test_zsh_and_fish_key_settings(env):
    zsh = sh("zsh", f"{SOURCE['zsh']}\nbindkey -M emacs '^A'; bindkey -M viins '^A'", env)
    assert zsh.stdout == '"^A" __ssoenv_pick\n"^A" __ssoenv_pick\n'
    zsh = sh("zsh", f"SSOENV_PICK_KEY=alt-p\n{SOURCE['zsh']}\nbindkey -M emacs '^[p'; bindkey -M emacs '^A'", env)
    assert zsh.stdout == '"^[p" __ssoenv_pick\n"^A" beginning-of-line\n'
    zsh = sh("zsh", f"SSOENV_PICK_KEY=\n{SOURCE['zsh']}\nbindkey -M emacs '^A'", env)
    assert zsh.stdout == '"^A" beginning-of-line\n'
    fish = sh("fish", f"{SOURCE['fish']}\nbind \\ca; bind -M insert \\ca", env)
    assert fish.stdout == "bind \\ca __ssoenv_pick\nbind -M insert \\ca __ssoenv_pick\n"
    fish = sh("fish", f"set SSOENV_PICK_KEY ctrl-g\n{SOURCE['fish']}\nbind \\cg", env)
    assert fish.stdout == "bind \\cg __ssoenv_pick\n"
    fish = sh("fish", f"set SSOENV_PICK_KEY ''\n{SOURCE['fish']}\nbind | string match -e __ssoenv_pick; echo end", env)
    assert fish.stdout == "end\n"


# --- the prompt segment ---------------------------------------------------------------

def _cases(now: float) -> list[tuple[dict, str]]:
    switch = {"SSOENV_ACCOUNT_ID": "222222222222", "SSOENV_ACCOUNT_NAME": "MemberAccount",
              "SSOENV_ROLE": "ReadOnlyAccess", "SSOENV_SESSION": "demo", "SSOENV_MODE": "credentials",
              "AWS_ACCESS_KEY_ID": "ASIAEXAMPLE"}
    at = lambda seconds: str(int(now + seconds))  # noqa: E731
    return [
        ({}, ""),
        ({**switch, "SSOENV_EXPIRES": at(42 * 60 + 30)}, "aws:MemberAccount/ReadOnlyAccess 42m"),
        ({**switch, "SSOENV_EXPIRES": at(3 * 3600 + 5 * 60 + 30)}, "aws:MemberAccount/ReadOnlyAccess 3h05m"),
        ({**switch, "SSOENV_EXPIRES": at(7 * 60 + 30)}, "aws:MemberAccount/ReadOnlyAccess 7m!"),
        ({**switch, "SSOENV_EXPIRES": at(-5)}, "aws:MemberAccount/ReadOnlyAccess expired"),
        ({**switch}, "aws:MemberAccount/ReadOnlyAccess"),
        ({**switch, "SSOENV_ACCOUNT_NAME": "", "SSOENV_EXPIRES": at(42 * 60 + 30)},
         "aws:222222222222/ReadOnlyAccess 42m"),
        # profile mode shows the profile when there is no account name
        ({**switch, "SSOENV_MODE": "profile", "SSOENV_ACCOUNT_NAME": "", "SSOENV_PROFILE": "prod-ro",
          "AWS_PROFILE": "prod-ro", "AWS_ACCESS_KEY_ID": ""}, "aws:prod-ro/ReadOnlyAccess"),
        # the user overrode the switch by hand: ssoenv's facts no longer hold
        ({**switch, "SSOENV_MODE": "profile", "SSOENV_PROFILE": "prod-ro", "AWS_PROFILE": "other"}, ""),
        ({**switch, "AWS_ACCESS_KEY_ID": ""}, ""),
        ({**switch, "SSOENV_ACCOUNT_NAME": "a\nb\x1b[31m%n$(x)"}, "aws:a?b?[31m%n$(x)/ReadOnlyAccess"),
    ]


def _segment_script(shell: str, cases: list[dict], snippet: Path) -> str:
    """Source the snippet, empty PATH, then render each case. No process may start.

    Per case: what ssoenv_prompt prints, \\036, what the hook leaves in
    SSOENV_PROMPT_SEGMENT (bash, zsh), \\037."""
    names = sorted({k for case in cases for k in case})
    lines = []
    if shell == "fish":
        lines += [f"source {snippet}", "set -gx SSOENV_PROMPT_COLOR 0", "set -g PATH"]
        for case in cases:
            lines += [f"set -e {n}" for n in names]
            lines += [f"set -gx {k} {_fish_quote(v)}" for k, v in case.items()]
            lines += ["ssoenv_prompt", "printf '\\036\\037'"]
    else:
        # zsh's variable is %-escaped for prompt expansion: show it expanded, as a prompt would
        show = '"${(%)SSOENV_PROMPT_SEGMENT}"' if shell == "zsh" else '"$SSOENV_PROMPT_SEGMENT"'
        lines += [f"source {snippet}", "SSOENV_PROMPT_COLOR=0", "PATH="]
        for case in cases:
            lines += [f"unset {' '.join(names)}"]
            lines += [f"export {k}={_posix_quote(v)}" for k, v in case.items()]
            # the variable the prompt hook sets (the hook itself would renew the expired case)
            lines += ["ssoenv_prompt", "printf '\\036'", "__ssoenv_render", f"printf '%s\\037' {show}"]
    return "\n".join(lines) + "\n"


def _posix_quote(v: str) -> str:
    return "'" + v.replace("'", "'\\''") + "'"


def _fish_quote(v: str) -> str:
    return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"


@pytest.mark.parametrize("shell", SHELLS)
def test_prompt_segment_with_empty_path(shell, env, snippet_files):
    cases = _cases(time.time())
    out = sh(shell, _segment_script(shell, [c for c, _ in cases], snippet_files[shell]), env)
    assert out.stderr == ""  # no "command not found": nothing was run
    assert out.returncode == 0
    blocks = out.stdout.split("\037")[:-1]
    assert len(blocks) == len(cases)
    for (case, expected), block in zip(cases, blocks, strict=True):
        printed, from_variable = block.split("\036")
        assert printed == (expected.replace("%", "%%") if shell == "zsh" else expected), case
        if shell != "fish":
            assert from_variable == expected, case


@pytest.mark.parametrize("shell", SHELLS)
def test_prompt_segment_colours(shell, env, snippet_files):
    now = int(time.time())
    base = {"SSOENV_ACCOUNT_ID": "1", "SSOENV_ROLE": "r", "SSOENV_MODE": "credentials", "AWS_ACCESS_KEY_ID": "k"}
    # Each time sits late in its displayed minute (5m50s, 1h23m50s): a slow shell start on
    # a loaded machine must not turn "5m" into "4m".
    soon = {**base, "SSOENV_EXPIRES": str(now + 5 * 60 + 50)}
    gone = {**base, "SSOENV_EXPIRES": str(now - 1)}
    fine = {**base, "SSOENV_EXPIRES": str(now + 83 * 60 + 50)}
    script = []
    for case in (soon, gone, fine):
        if shell == "fish":
            script += [f"set -gx {k} {v}" for k, v in case.items()] + ["ssoenv_prompt", "echo"]
        else:
            script += [f"export {k}={v}" for k, v in case.items()] + ["ssoenv_prompt", "echo"]
    out = sh(shell, f"source {snippet_files[shell]}\n" + "\n".join(script), env)
    soon_out, gone_out, fine_out = out.stdout.splitlines()
    if shell == "bash":
        assert soon_out == "aws:1/r \x01\x1b[33m\x025m!\x01\x1b[39m\x02"
        assert gone_out == "aws:1/r \x01\x1b[31m\x02expired\x01\x1b[39m\x02"
    elif shell == "zsh":
        assert soon_out == "aws:1/r %F{yellow}5m!%f"
        assert gone_out == "aws:1/r %F{red}expired%f"
    else:
        assert soon_out.startswith("aws:1/r \x1b[33m5m!") and "\x1b[31mexpired" in gone_out
    assert fine_out == "aws:1/r 1h23m"


@pytest.mark.parametrize("shell", SHELLS)
def test_prompt_segment_starts_no_process(shell, env, snippet_files, tmp_path):
    """strace: sourcing plus 200 renders and hooks make not one fork (threads aside)."""
    need("strace")
    now = int(time.time())
    if shell == "fish":
        body = (f"source {snippet_files[shell]}\nset -gx SSOENV_ACCOUNT_ID 1; set -gx SSOENV_ROLE r\n"
                f"set -gx SSOENV_MODE credentials; set -gx AWS_ACCESS_KEY_ID k; set -gx SSOENV_EXPIRES {now + 5000}\n"
                "for i in (seq 200); ssoenv_prompt >/dev/null; __ssoenv_on_prompt; end\n")
        body = body.replace("(seq 200)", "(string split ' ' (string repeat -n 200 'x '))")
    else:
        hook = "__ssoenv_precmd" if shell == "zsh" else "__ssoenv_hook"
        body = (f"source {snippet_files[shell]}\nexport SSOENV_ACCOUNT_ID=1 SSOENV_ROLE=r SSOENV_MODE=credentials "
                f"AWS_ACCESS_KEY_ID=k SSOENV_EXPIRES={now + 5000}\n"
                f"for i in {{1..200}}; do ssoenv_prompt >/dev/null; {hook}; done\n")
    script = tmp_path / "render"
    script.write_text(body)
    trace = tmp_path / "trace"
    argv = {"bash": ["bash", "--noprofile", "--norc"], "zsh": ["zsh", "-f"], "fish": ["fish", "--no-config"]}[shell]
    out = subprocess.run(["strace", "-f", "-qq", "-e", "trace=clone,clone3,fork,vfork,execve", "-o", str(trace),
                          *argv, str(script)], env=env, capture_output=True, text=True, timeout=60)
    if out.returncode != 0 and "ptrace" in out.stderr and not under_ci():
        pytest.skip(f"strace cannot trace here: {out.stderr.strip()}")
    assert out.returncode == 0, out.stderr
    calls = trace.read_text().splitlines()
    processes = [c for c in calls if re.search(r"\b(fork|vfork|clone3?)\(", c) and "CLONE_THREAD" not in c]
    execs = [c for c in calls if "execve(" in c]
    assert processes == [], processes
    assert len(execs) == 1, execs  # the shell itself


# --- renewal before the prompt --------------------------------------------------------

FAKE_SSOENV = """#!/bin/sh
# A stand-in for ssoenv: log the call, then act as told by $FAKE_MODE.
printf '%s\\n' "$*" >> "$FAKE_LOG"
case "$1" in
use)
    if [ "$FAKE_MODE" = fail ]; then
        echo "Traceback (most recent call last): noise" >&2
        echo "ssoenv: the SSO session demo has expired; run: ssoenv login --sso-session demo" >&2
        exit "${FAKE_STATUS:-3}"
    fi
    if [ "$4" = fish ]; then echo "set -gx SSOENV_EXPIRES '$FAKE_NEW_EXPIRES';"
    else echo "export SSOENV_EXPIRES='$FAKE_NEW_EXPIRES';"; fi ;;
recover)
    [ "${FAKE_RECOVER_STATUS:-0}" = 0 ] || exit "$FAKE_RECOVER_STATUS"
    if [ "$3" = fish ]; then echo "set -gx FAKE_RECOVERED yes;"; else echo "export FAKE_RECOVERED=yes;"; fi ;;
esac
"""


@pytest.fixture
def fake_ssoenv(tmp_path):
    path = tmp_path / "fake-ssoenv"
    path.write_text(FAKE_SSOENV)
    path.chmod(0o755)
    return path


def _set(shell: str, **values) -> str:
    if shell == "fish":
        return "\n".join(f"set -gx {k} {_fish_quote(str(v))}" for k, v in values.items())
    return "\n".join(f"export {k}={_posix_quote(str(v))}" for k, v in values.items())


def _hook(shell: str) -> str:
    return {"bash": "__ssoenv_hook", "zsh": "__ssoenv_precmd", "fish": "__ssoenv_on_prompt"}[shell]


def _use_fake(shell: str, fake: Path) -> str:
    return f"set -g __ssoenv_bin {fake}" if shell == "fish" else f"__ssoenv_bin=({fake})"


@pytest.mark.parametrize("shell", SHELLS)
def test_hook_renews_credentials_near_expiry_in_place(shell, env, snippet_files, fake_ssoenv, tmp_path):
    now = int(time.time())
    log = tmp_path / "log"
    script = "\n".join([
        f"source {snippet_files[shell]}", _use_fake(shell, fake_ssoenv),
        _set(shell, FAKE_LOG=log, FAKE_NEW_EXPIRES=now + 3600, SSOENV_ACCOUNT_ID="1", SSOENV_ROLE="r",
             SSOENV_MODE="credentials", AWS_ACCESS_KEY_ID="k", SSOENV_EXPIRES=now + 1000),
        _hook(shell), "echo $SSOENV_EXPIRES",               # 16 min left: nothing to do
        _set(shell, SSOENV_EXPIRES=now + 200), _hook(shell), "echo $SSOENV_EXPIRES",  # under 5 min: renew
        _hook(shell), "echo $SSOENV_EXPIRES",
    ])
    out = sh(shell, script, env)
    assert out.stdout.split() == [str(now + 1000), str(now + 3600), str(now + 3600)], out.stderr
    assert log.read_text() == f"use --renew --shell {shell}\n"
    assert out.stderr == ""


@pytest.mark.parametrize("shell", SHELLS)
def test_hook_profile_mode_renews_only_in_the_last_minute(shell, env, snippet_files, fake_ssoenv, tmp_path):
    now = int(time.time())
    log = tmp_path / "log"
    script = "\n".join([
        f"source {snippet_files[shell]}", _use_fake(shell, fake_ssoenv),
        _set(shell, FAKE_LOG=log, FAKE_NEW_EXPIRES=now + 3600, SSOENV_ACCOUNT_ID="1", SSOENV_ROLE="r",
             SSOENV_MODE="profile", SSOENV_PROFILE="p", AWS_PROFILE="p", SSOENV_EXPIRES=now + 200),
        _hook(shell), "echo $SSOENV_EXPIRES",
        _set(shell, SSOENV_EXPIRES=now + 30), _hook(shell), "echo $SSOENV_EXPIRES",
    ])
    out = sh(shell, script, env)
    assert out.stdout.split() == [str(now + 200), str(now + 3600)], out.stderr
    assert log.read_text() == f"use --renew --shell {shell}\n"


@pytest.mark.parametrize("shell", SHELLS)
def test_hook_failure_warns_once_in_one_line_and_backs_off(shell, env, snippet_files, fake_ssoenv, tmp_path):
    now = int(time.time())
    log = tmp_path / "log"
    script = "\n".join([
        f"source {snippet_files[shell]}", _use_fake(shell, fake_ssoenv),
        _set(shell, FAKE_LOG=log, FAKE_MODE="fail", SSOENV_ACCOUNT_ID="1", SSOENV_ACCOUNT_NAME="Mem\x1b[2Jber",
             SSOENV_ROLE="r", SSOENV_MODE="credentials", AWS_ACCESS_KEY_ID="k", SSOENV_EXPIRES=now - 10,
             SSOENV_PROMPT_COLOR=0),
        # fish: the hook is a fish_prompt event handler; a handler defined after it
        # sees the $status that fish_prompt will see
        *(["function __probe --on-event fish_prompt; echo status $status; end", "false", "emit fish_prompt"]
          if shell == "fish" else ["false", _hook(shell), "echo status $?"]),
        _hook(shell), _hook(shell), "ssoenv_prompt",
    ])
    if shell != "fish":
        script = "set +e\n" + script if shell == "bash" else "setopt no_err_exit\n" + script
    out = sh(shell, script, env)
    assert out.stdout == "status 1\naws:Mem?[2Jber/r expired", out.stderr
    # one line, no noise from ssoenv, and a hostile name cannot drive the terminal
    assert out.stderr == "ssoenv: cannot renew Mem?[2Jber/r without a login; run: ssoenv login\n"
    assert log.read_text() == f"use --renew --shell {shell}\n"  # backed off: one attempt


# --- the wrapper protocol ---------------------------------------------------------

FAKE_TOOL = """#!/bin/sh
# fake-tool: counts its runs; fails with $FAKE_ERROR for the first $FAKE_FAILS runs.
n=$(( $(cat "$FAKE_COUNT" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$FAKE_COUNT"
echo "out-$n $*"
echo "err-$n" >&2
if [ "$n" -le "${FAKE_FAILS:-0}" ]; then
    echo "$FAKE_ERROR" >&2
    exit "${FAKE_EXIT:-255}"
fi
exit 0
"""

TOKEN_ERROR = "Error when retrieving token from sso: Token has expired and refresh failed"


@pytest.fixture
def tool_env(env, tmp_path, fake_ssoenv):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "fake-tool").write_text(FAKE_TOOL)
    (bin_dir / "fake-tool").chmod(0o755)
    return {**env, "PATH": f"{bin_dir}:{env['PATH']}", "SSOENV_WRAP": "fake-tool",
            "FAKE_COUNT": str(tmp_path / "count"), "FAKE_LOG": str(tmp_path / "log"), "FAKE_ERROR": TOKEN_ERROR}


def _wrapped(shell: str, snippet: Path, fake: Path, command: str, **values) -> str:
    status = "echo status=$status" if shell == "fish" else "echo status=$?"
    lines = [f"source {snippet}", _use_fake(shell, fake), _set(shell, **values) if values else "",
             command, status,
             'echo "recovered=$FAKE_RECOVERED"' if shell == "fish" else 'echo "recovered=${FAKE_RECOVERED-}"']
    if shell == "bash":
        lines.insert(0, "set +e")
    elif shell == "zsh":
        lines.insert(0, "setopt no_err_exit")
    return "\n".join(lines)


def _log(tmp_path) -> list[str]:
    path = tmp_path / "log"
    return path.read_text().splitlines() if path.exists() else []


def _runs(tmp_path) -> int:
    path = tmp_path / "count"
    return int(path.read_text()) if path.exists() else 0


@pytest.mark.parametrize("shell", SHELLS)
def test_wrapper_recovers_and_reruns_once(shell, tool_env, snippet_files, fake_ssoenv, tmp_path):
    out = sh(shell, _wrapped(shell, snippet_files[shell], fake_ssoenv, "fake-tool s3 'two words'"),
             {**tool_env, "FAKE_FAILS": "1"})
    # stdout and stderr each went where they belong, live, both runs
    assert out.stdout == "out-1 s3 two words\nout-2 s3 two words\nstatus=0\nrecovered=yes\n", out.stderr
    assert out.stderr == f"err-1\n{TOKEN_ERROR}\nerr-2\n"
    assert _log(tmp_path) == [f"recover --shell {shell} -- fake-tool s3 two words"]
    assert _runs(tmp_path) == 2


@pytest.mark.parametrize("shell", SHELLS)
def test_wrapper_never_loops_and_keeps_the_status(shell, tool_env, snippet_files, fake_ssoenv, tmp_path):
    out = sh(shell, _wrapped(shell, snippet_files[shell], fake_ssoenv, "fake-tool ls"),
             {**tool_env, "FAKE_FAILS": "99", "FAKE_EXIT": "254"})
    assert "status=254" in out.stdout
    assert _runs(tmp_path) == 2
    assert len(_log(tmp_path)) == 1


@pytest.mark.parametrize("shell", SHELLS)
def test_wrapper_gives_up_when_recover_fails(shell, tool_env, snippet_files, fake_ssoenv, tmp_path):
    out = sh(shell, _wrapped(shell, snippet_files[shell], fake_ssoenv, "fake-tool ls"),
             {**tool_env, "FAKE_FAILS": "1", "FAKE_RECOVER_STATUS": "3"})
    assert "status=255\nrecovered=\n" in out.stdout
    assert _runs(tmp_path) == 1


@pytest.mark.parametrize("shell", SHELLS)
def test_wrapper_leaves_other_failures_and_can_be_turned_off(shell, tool_env, snippet_files, fake_ssoenv, tmp_path):
    out = sh(shell, _wrapped(shell, snippet_files[shell], fake_ssoenv, "fake-tool ls"),
             {**tool_env, "FAKE_FAILS": "1", "FAKE_EXIT": "1", "FAKE_ERROR": "AccessDenied: no"})
    assert "status=1\n" in out.stdout and _log(tmp_path) == [] and _runs(tmp_path) == 1
    (tmp_path / "count").unlink()
    out = sh(shell, _wrapped(shell, snippet_files[shell], fake_ssoenv, "fake-tool ls"),
             {**tool_env, "FAKE_FAILS": "1", "SSOENV_AUTO_LOGIN": "0"})
    assert "status=255\n" in out.stdout and _log(tmp_path) == [] and _runs(tmp_path) == 1
    assert TOKEN_ERROR in out.stderr


@pytest.mark.parametrize("shell", SHELLS)
def test_wrapper_expired_credentials_only_count_in_credentials_mode(shell, tool_env, snippet_files, fake_ssoenv,
                                                                    tmp_path):
    expired = {**tool_env, "FAKE_FAILS": "1", "FAKE_ERROR": "An error occurred (ExpiredToken) when calling"}
    out = sh(shell, _wrapped(shell, snippet_files[shell], fake_ssoenv, "fake-tool ls", SSOENV_MODE="profile"),
             expired)
    assert "status=255\n" in out.stdout and _log(tmp_path) == []
    (tmp_path / "count").unlink()
    out = sh(shell, _wrapped(shell, snippet_files[shell], fake_ssoenv, "fake-tool ls", SSOENV_MODE="credentials"),
             expired)
    assert "status=0\nrecovered=yes\n" in out.stdout, out.stderr
    assert _log(tmp_path) == [f"recover --shell {shell} -- fake-tool ls"]


@pytest.mark.parametrize("shell", SHELLS)
def test_wrapper_renews_an_expired_shell_before_running(shell, tool_env, snippet_files, fake_ssoenv, tmp_path):
    now = int(time.time())
    out = sh(shell, _wrapped(shell, snippet_files[shell], fake_ssoenv, "fake-tool ls",
                             SSOENV_ACCOUNT_ID="1", SSOENV_ROLE="r", SSOENV_MODE="credentials",
                             AWS_ACCESS_KEY_ID="k", SSOENV_EXPIRES=now - 5), tool_env)
    assert "status=0\nrecovered=yes\n" in out.stdout, out.stderr
    assert _log(tmp_path) == [f"recover --shell {shell} --preflight -- fake-tool ls"]
    assert _runs(tmp_path) == 1


def test_zsh_psvar_for_prompts_without_prompt_subst(env):
    """SSOENV_PROMPT_PSVAR=N: psvar[N] holds the plain segment; %Nv shows it as is."""
    now = int(time.time())
    script = f"""
SSOENV_PROMPT_PSVAR=3
{SOURCE['zsh']}
export SSOENV_ACCOUNT_ID=1 SSOENV_ACCOUNT_NAME='100% $(x)' SSOENV_ROLE=r SSOENV_MODE=credentials
export AWS_ACCESS_KEY_ID=k SSOENV_EXPIRES={now + 7 * 60 + 30}
__ssoenv_precmd
print -r -- "${{(%):-[%3v]}}"
unset SSOENV_ACCOUNT_ID
__ssoenv_precmd
print -r -- "${{(%):-[%3v]}}"
"""
    out = sh("zsh", script, env)
    assert out.stdout == "[aws:100% $(x)/r 7m!]\n[]\n", out.stderr
