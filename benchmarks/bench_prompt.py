"""What ssoenv adds to each prompt, the whole cycle, in bash, zsh and fish.

Each shell runs interactively on a pty, the way a user has it: its rc file sets a prompt
and (or not) loads `ssoenv init SHELL`. The benchmark types a batch of Enters on an empty
line and waits until the prompt has been drawn once per Enter, so a figure holds all a
prompt costs: the dispatch (bash PROMPT_COMMAND, zsh precmd, fish's fish_prompt event),
ssoenv's hook, the prompt's expansion (bash PS1, zsh PROMPT) or fish_prompt with its
substitutions, the key bindings and the line editor. The same shell with no snippet is
the floor; one batch of `/bin/true` lines in it gives the cost of one process started by
that shell.

Batches are interleaved and paired per round: each round times every shell once, and
each shell's cost per prompt is taken against the floor of the same round; the figure is
the median over the rounds. The budget (DESIGN.md): ssoenv adds at most 1/10 of one
`/bin/true` started by that shell, with no process of its own. Figures, not pass/fail.

    .venv/bin/python benchmarks/bench_prompt.py [--quick] [--runs N] [--only bash,zsh,fish] [-n ENTERS]
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

ROOT = common.ROOT
BUDGET_SHARE = 0.1  # of one /bin/true started by the same shell
MARK = "@@prompt@@"

STATES = {
    "no account active": {},
    "switched, 42m left": {"SSOENV_ACCOUNT_ID": "222222222222", "SSOENV_ACCOUNT_NAME": "MemberAccount",
                           "SSOENV_ROLE": "ReadOnlyAccess", "SSOENV_SESSION": "demo",
                           "SSOENV_MODE": "credentials", "AWS_ACCESS_KEY_ID": "ASIAEXAMPLE",
                           "SSOENV_EXPIRES": "+2550"},
    "switched, 3h05m left": {"SSOENV_ACCOUNT_ID": "222222222222", "SSOENV_ACCOUNT_NAME": "MemberAccount",
                             "SSOENV_ROLE": "ReadOnlyAccess", "SSOENV_SESSION": "demo", "SSOENV_MODE": "profile",
                             "SSOENV_PROFILE": "member-ro", "AWS_PROFILE": "member-ro",
                             "SSOENV_EXPIRES": "+11130"},
}

# The user's own prompt in each shell (MARK counts the prompts drawn), and how the rc
# file loads the snippet. zsh: with prompt_subst, as most zsh setups have it.
RC = {
    "bash": "PS1='" + MARK + r" \W \$ '" + "\n{load}",
    "zsh": "setopt prompt_subst\nPROMPT='" + MARK + " %1~ %# '\n{load}",
    "fish": "set -g fish_greeting\nfunction fish_prompt\n    printf '%s %s> ' " + MARK + " (prompt_pwd)\nend\n{load}",
}
LOAD = {"bash": "source {path}\n", "zsh": "source {path}\n", "fish": "source {path}\n"}


def snippet(shell: str, directory: Path) -> Path:
    out = subprocess.run([sys.executable, "-m", "ssoenv", "init", shell], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    path = directory / f"ssoenv.{shell}"
    path.write_text(out.stdout)
    return path


class PtyShell:
    """One interactive shell on a pty; `type` sends keys and waits for `prompts` prompts."""

    def __init__(self, shell: str, home: Path, load: Path | None, state: dict, now: int):
        home.mkdir(parents=True)
        env = {k: v for k, v in common.clean_environ().items() if not k.startswith(("SSOENV_", "AWS_"))}
        env.update(HOME=str(home), TERM="xterm-256color", XDG_CONFIG_HOME=str(home / ".config"),
                   XDG_DATA_HOME=str(home / ".local/share"), XDG_CACHE_HOME=str(home / ".cache"),
                   XDG_STATE_HOME=str(home / ".local/state"), HISTFILE=str(home / "history"))
        for key, value in state.items():
            env[key] = str(now + int(value[1:])) if value.startswith("+") else value
        rc_text = RC[shell].format(load=LOAD[shell].format(path=load) if load else "")
        if shell == "bash":
            rc = home / ".bashrc"
            argv = ["bash", "--noprofile", "--rcfile", str(rc), "-i"]
        elif shell == "zsh":
            rc = home / ".zshrc"
            env["ZDOTDIR"] = str(home)
            argv = ["zsh", "-i"]
        else:
            rc = home / ".config" / "fish" / "config.fish"
            # Else fish's first start leaves a man-page parser running in the background.
            (home / ".local/share/fish/generated_completions").mkdir(parents=True)
            env["fish_history"] = ""  # no history file to write per line
            argv = ["fish", "-i"]
        rc.parent.mkdir(parents=True, exist_ok=True)
        rc.write_text(rc_text)
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the shell
            os.chdir(home)
            os.execvpe(argv[0], argv, env)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
        self.tail = b""
        self.wait(1, timeout=60)  # the first prompt
        self.type(b"\r" * 20, 20)  # warm: zsh's compinit at the first prompt, fish's autoloads

    def wait(self, prompts: int, timeout: float = 120) -> None:
        mark, seen, deadline = MARK.encode(), 0, time.monotonic() + timeout
        while seen < prompts:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                raise RuntimeError(f"{seen} of {prompts} prompts within {timeout} s; last output "
                                   f"{self.tail[-300:]!r}")
            data = self.tail + os.read(self.fd, 1 << 16)
            seen += data.count(mark)
            # Keep what could be the start of a mark cut in two.
            self.tail = data[-(len(mark) - 1):] if not data.endswith(mark) else b""

    def type(self, keys: bytes, prompts: int) -> float:
        started = time.perf_counter()
        for i in range(0, len(keys), 1024):  # the pty's input queue holds a few KiB
            os.write(self.fd, keys[i:i + 1024])
            if len(keys) > 1024:
                self.wait(keys[i:i + 1024].count(b"\r"))
        if len(keys) <= 1024:
            self.wait(prompts)
        return time.perf_counter() - started

    def close(self) -> None:
        try:
            os.write(self.fd, b"exit\r")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if os.waitpid(self.pid, os.WNOHANG)[0]:
                    break
                try:
                    if select.select([self.fd], [], [], 0.2)[0]:
                        os.read(self.fd, 1 << 16)
                except OSError:
                    pass
            else:
                os.kill(self.pid, 9)
                os.waitpid(self.pid, 0)
        finally:
            os.close(self.fd)


def measure(shell: str, tmp: Path, enters: int, rounds: int, now: int) -> list[list[str]]:
    path = snippet(shell, tmp)
    shells = {"floor": PtyShell(shell, tmp / f"{shell}-floor", None, {}, now)}
    for name, state in STATES.items():
        shells[name] = PtyShell(shell, tmp / f"{shell}-{len(shells)}", path, state, now)
    spawns = max(20, enters // 10)
    per: dict[str, list[float]] = {name: [] for name in [*shells, "/bin/true"]}
    try:
        for r in range(rounds + 1):  # the first round warms up and is dropped
            order = list(shells)
            order = order[r % len(order):] + order[:r % len(order)]  # no shell always first
            times = {name: shells[name].type(b"\r" * enters, enters) / enters for name in order}
            true = shells["floor"].type(b"/bin/true\r" * spawns, spawns) / spawns
            if r:
                for name in shells:
                    per[name].append(times[name])
                per["/bin/true"].append(true - times["floor"])
    finally:
        for sh in shells.values():
            sh.close()
    floor = per["floor"]
    spawn = statistics.median(per["/bin/true"])
    rows = [[shell, "without ssoenv (floor)", f"{statistics.median(floor) * 1e6:.1f} µs", "", "", ""]]
    for name in STATES:
        added = statistics.median(t - f for t, f in zip(per[name], floor, strict=True))
        share = statistics.median((t - f) / s for t, f, s in zip(per[name], floor, per["/bin/true"], strict=True))
        rows.append([shell, name, f"{statistics.median(per[name]) * 1e6:.1f} µs", f"{added * 1e6:+.1f} µs",
                     f"{share:.3f}x", "ok" if share <= BUDGET_SHARE else "OVER"])
    rows.append([shell, "one /bin/true started", f"{spawn * 1e6:.0f} µs", "", "", ""])
    return rows


def main() -> int:
    opts, runs = common.options(__doc__, runs=9, quick_runs=3, quick_help="3 rounds of 300 Enters",
                                only="shells, comma-separated (bash,zsh,fish)")
    enters = 300 if opts.quick else 1000
    shells = [s for s in (opts.only or "bash,zsh,fish").split(",") if s]
    now = int(time.time())
    print(common.machine_line())
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="ssoenv-bench-prompt-") as tmp:
        for shell in shells:
            if not shutil.which(shell):
                rows.append([shell, "(not installed)", "", "", "", ""])
                continue
            rows += measure(shell, Path(tmp), enters, runs, now)
    common.print_table(f"The prompt's whole cycle on a pty: {enters} Enters per batch, medians of {runs} "
                       f"interleaved rounds, each paired with the floor of its round; budget: ssoenv adds "
                       f"<= {BUDGET_SHARE:g} x one /bin/true started by the same shell",
                       ["shell", "state", "per prompt", "ssoenv adds", "x /bin/true", ""], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
