"""Tab completion of a TARGET as each shell runs it, end to end, against the floor.

    .venv/bin/python benchmarks/bench_tab.py [--quick] [--runs N] [--only 5000,30000]

With 5,001 cached entries (1,667 accounts x 3 roles) and with 30,000 (10,000 x 3),
synced from the local emulator, each shell times, with its own clock, in rounds
that alternate the floor and the Tab (paired per round, so a machine that slows
down between rounds moves both):
  * the floor: `python -c pass` of ssoenv's virtualenv, started by that shell;
  * bash: the completion function itself (`__ssoenv_complete` with COMP_LINE etc.
    set as readline sets them), for `ssoenv use ` and `ssoenv use acc`;
  * zsh: the completion widget (`zle complete-word` on `ssoenv use ` and on
    `ssoenv use acc`, listing off), in an interactive zsh under tmux, timed
    with $EPOCHREALTIME around the widget;
  * fish: `complete -C 'ssoenv exec '` and `complete -C 'ssoenv exec acc'`, timed
    with fish's `time` (fish 3.6 has no clock variable).
Budget (DESIGN.md): <= 2 x the floor at 5,000 entries. The ratio is the median of
the per-round ratios. Figures are printed, not asserted. Nothing leaves the machine.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402
from common import PYTHON, SSOENV  # noqa: E402

BUDGET = 2.0
SIZES = {"5000": 1667, "30000": 10_000}  # accounts, 3 roles each
LINES = ("ssoenv use ", "ssoenv use acc")

BASH = r"""
source "$INIT"
py=$PY
for ((round = 0; round <= RUNS; round++)); do
  for line in "ssoenv use " "ssoenv use acc"; do
    COMP_LINE=$line COMP_POINT=${#line}
    read -r -a COMP_WORDS <<<"$line"
    [[ $line == *' ' ]] && COMP_WORDS+=('')
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    t0=$EPOCHREALTIME; "$py" -c pass; t1=$EPOCHREALTIME
    COMPREPLY=(); __ssoenv_complete; t2=$EPOCHREALTIME
    ((round)) && printf '%s\t%s\t%s\t%s\n' "$line" "${#COMPREPLY[@]}" \
      "$(( ${t1/./} - ${t0/./} ))" "$(( ${t2/./} - ${t1/./} ))"
  done
done
"""

# fish's `time` reports on fish's own stderr (not redirectable inside fish): each round
# prints a marker, then the two reports follow in the same stream.
FISH = r"""
source $INIT
for round in (seq 0 $RUNS)
    for line in 'ssoenv exec ' 'ssoenv exec acc'
        set -l n (count (complete -C $line))
        printf 'ROUND\t%s\t%s\t%s\n' $round $line $n
        time $PY -c pass
        time complete -C $line >/dev/null
    end
end
"""

ZSH_RC = r"""
eval "$(SSOENV_INIT)"
autoload -Uz compinit && compinit -i -d "$HOME/.zcompdump"
compdef __ssoenv_complete ssoenv
zmodload zsh/datetime
unsetopt auto_list list_ambiguous
PROMPT='ready%# '
__bench_widget() {
    local t0=$EPOCHREALTIME
    "$BENCH_PY" -c pass
    local t1=$EPOCHREALTIME
    zle complete-word
    local t2=$EPOCHREALTIME
    print -r -- "$BUFFER"$'\t'"$(( (t1 - t0) * 1e6 ))"$'\t'"$(( (t2 - t1) * 1e6 ))" >> "$BENCH_OUT"
    BUFFER=''
}
zle -N __bench_widget
bindkey '^T' __bench_widget
"""


def rows_from(text: str) -> dict[str, list[tuple[float, float, int]]]:
    """line -> [(floor µs, tab µs, candidates)] from `line<TAB>n<TAB>floor<TAB>tab` rows."""
    out: dict[str, list[tuple[float, float, int]]] = {}
    for row in text.splitlines():
        parts = row.split("\t")
        if len(parts) == 4:
            out.setdefault(parts[0], []).append((float(parts[2]), float(parts[3]), int(parts[1] or 0)))
    return out


def run_bash(env: dict, runs: int) -> dict:
    init = subprocess.run([SSOENV, "init", "bash"], env=env, capture_output=True, text=True, check=True).stdout
    path = os.path.join(env["HOME"], "bench-init.bash")
    with open(path, "w") as fh:
        fh.write(init)
    out = subprocess.run(["bash", "--noprofile", "--norc", "-c", BASH], capture_output=True, text=True,
                         env={**env, "INIT": path, "PY": PYTHON, "RUNS": str(runs)}, timeout=1800)
    if out.returncode:
        raise RuntimeError(out.stderr[-500:])
    return rows_from(out.stdout)


def run_fish(env: dict, runs: int) -> dict:
    init = subprocess.run([SSOENV, "init", "fish"], env=env, capture_output=True, text=True, check=True).stdout
    path = os.path.join(env["HOME"], "bench-init.fish")
    with open(path, "w") as fh:
        fh.write(init)
    out = subprocess.run(["fish", "--no-config", "-c", FISH], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, env={**env, "INIT": path, "PY": PYTHON, "RUNS": str(runs)}, timeout=1800)
    if out.returncode:
        raise RuntimeError(out.stdout[-500:])
    units = {"micros": 1.0, "millis": 1e3, "secs": 1e6}
    rows: dict[str, list[tuple[float, float, int]]] = {}
    current: list = []
    for text in out.stdout.splitlines():
        if text.startswith("ROUND\t"):
            _, round_, line, n = text.split("\t")
            current = [round_ != "0", line.replace("exec", "use"), int(n), []]
        elif text.startswith("Executed in") and current:
            value, unit = text.split()[2:4]
            current[3].append(float(value) * units[unit])
            if len(current[3]) == 2 and current[0]:
                rows.setdefault(current[1], []).append((current[3][0], current[3][1], current[2]))
    return rows


def run_zsh(env: dict, runs: int) -> dict:
    home = env["HOME"]
    results = os.path.join(home, "bench-zsh.tsv")
    with open(os.path.join(home, ".zshrc"), "w") as fh:
        fh.write(ZSH_RC.replace("SSOENV_INIT", f"'{SSOENV}' init zsh"))
    if os.path.exists(results):
        os.unlink(results)
    socket = f"ssoenv-bench-{uuid.uuid4().hex[:8]}"
    tmux = ["tmux", "-L", socket, "-f", "/dev/null"]
    zenv = {**env, "ZDOTDIR": home, "BENCH_OUT": results, "BENCH_PY": PYTHON}
    subprocess.run([*tmux, "new-session", "-d", "-x", "200", "-y", "50", "--", "zsh", "-d", "-i"], env=zenv,
                   check=True)
    try:
        def screen() -> str:
            return subprocess.run([*tmux, "capture-pane", "-p"], capture_output=True, text=True).stdout

        def wait_for(check, what: str) -> None:
            deadline = time.monotonic() + 300
            while not check():
                if time.monotonic() > deadline:
                    raise RuntimeError(f"zsh under tmux: no {what}; screen:\n{screen()}")
                time.sleep(0.05)

        def done() -> int:
            try:
                with open(results) as fh:
                    return len(fh.read().splitlines())
            except FileNotFoundError:
                return 0

        wait_for(lambda: "ready" in screen(), "prompt")
        for i in range((runs + 1) * len(LINES)):
            subprocess.run([*tmux, "send-keys", "-l", LINES[i % len(LINES)]], check=True)
            subprocess.run([*tmux, "send-keys", "C-t"], check=True)
            wait_for(lambda n=i: done() > n, "timing")
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
    rows: dict[str, list[tuple[float, float, int]]] = {}
    with open(results) as fh:
        lines = fh.read().splitlines()
    for i, row in enumerate(lines[len(LINES):]):  # the first round warms up
        _completed, floor, tab = row.split("\t")
        rows.setdefault(LINES[i % len(LINES)], []).append((float(floor), float(tab), 0))
    return rows


def report(title: str, results: dict[str, dict]) -> None:
    table = []
    for shell, by_line in results.items():
        for line, rounds in by_line.items():
            floor = statistics.median(r[0] for r in rounds) / 1e3
            tab = statistics.median(r[1] for r in rounds) / 1e3
            ratio = statistics.median(r[1] / r[0] for r in rounds)
            count = rounds[0][2]
            table.append([shell, repr(line), str(count) if count else "", f"{floor:.1f} ms", f"{tab:.1f} ms",
                          f"{ratio:.2f}x", "ok" if ratio <= BUDGET else "OVER"])
    common.print_table(title, ["shell", "line", "candidates", "floor", "Tab", "ratio", f"<= {BUDGET:g}x"], table)


def main() -> int:
    opts, runs = common.options(__doc__, runs=20, quick_runs=6, only="comma-separated sizes: 5000,30000")
    sizes = (opts.only or ("5000" if opts.quick else "5000,30000")).split(",")
    started = time.perf_counter()
    common.note(f"bench_tab  {common.machine_line()}  runs={runs}{'  (quick)' if opts.quick else ''}")
    emu = common.start_emulator(generate_accounts=SIZES[sizes[0]], roles_per_account=3, latency_ms=0)
    sandbox = common.sandbox(emu, "100000000042", "ReadOnlyAccess")
    try:
        common.timed_login(sandbox)
        for size in sizes:
            emu.update(generate_accounts=SIZES[size], roles_per_account=3, latency_ms=0, throttle_rps=0)
            sandbox.ssoenv("sync", timeout=600)
            entries = common.catalog_entries(sandbox)
            env = dict(sandbox.env)
            subprocess.run([SSOENV, "__complete", "bash", "ssoenv use ", ""], env=env, capture_output=True)
            results: dict[str, dict] = {}
            for shell, run in (("bash", run_bash), ("zsh", run_zsh), ("fish", run_fish)):
                if shutil.which(shell) and (shell != "zsh" or shutil.which("tmux")):
                    results[shell] = run(env, runs)
            report(f"Tab end to end, {entries} cached entries; medians of {runs} rounds, floor and Tab "
                   "alternating, ratio = median of the per-round Tab / floor", results)
    finally:
        sandbox.close()
        emu.stop()
    common.note(f"\nbench_tab finished in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
