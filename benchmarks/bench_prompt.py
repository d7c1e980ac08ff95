"""What the ssoenv prompt segment costs per prompt, in each shell.

bash and zsh: N renders in a loop inside one shell, timed with the shell's own clock
($EPOCHREALTIME), minus the same loop doing nothing. What is timed is what runs
before each prompt: the hook (bash PROMPT_COMMAND `__ssoenv_hook`, zsh precmd
`__ssoenv_precmd`; both compute SSOENV_PROMPT_SEGMENT) and, separately, the
`ssoenv_prompt` function. fish has no sub-second clock variable: the whole fish
process is timed for N renders and for none, and the difference divided by N.
For scale: a process per prompt (`python -I -c pass`, and starship if installed).

Each bash/zsh figure is the median of 5 runs. Figures, not pass/fail. The budget (DESIGN.md):
a render costs at most 1/10 of starting one process (`/bin/true`) in the same shell, measured
in the same run (the last column; the loop's own cost subtracted as for the renders).

    .venv/bin/python benchmarks/bench_prompt.py [-n 2000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET_SHARE = 0.1  # of one /bin/true started by the same shell

STATES = {
    "no switch": {},
    "switched, 42m left": {"SSOENV_ACCOUNT_ID": "222222222222", "SSOENV_ACCOUNT_NAME": "MemberAccount",
                           "SSOENV_ROLE": "ReadOnlyAccess", "SSOENV_SESSION": "demo",
                           "SSOENV_MODE": "credentials", "AWS_ACCESS_KEY_ID": "ASIAEXAMPLE",
                           "SSOENV_EXPIRES": "+2550"},
    "switched, 3h05m left": {"SSOENV_ACCOUNT_ID": "222222222222", "SSOENV_ACCOUNT_NAME": "MemberAccount",
                             "SSOENV_ROLE": "ReadOnlyAccess", "SSOENV_SESSION": "demo", "SSOENV_MODE": "profile",
                             "SSOENV_PROFILE": "member-ro", "AWS_PROFILE": "member-ro",
                             "SSOENV_EXPIRES": "+11130"},
}


def snippet(shell: str, directory: Path) -> Path:
    out = subprocess.run([sys.executable, "-m", "ssoenv", "init", shell], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    path = directory / f"ssoenv.{shell}"
    path.write_text(out.stdout)
    return path


def _env(state: dict, now: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SSOENV_", "AWS_"))}
    for key, value in state.items():
        env[key] = str(now + int(value[1:])) if value.startswith("+") else value
    env["SSOENV_PROMPT_COLOR"] = "1"
    return env


POSIX_LOOP = """
source {snippet}
n={n}
t0=$EPOCHREALTIME; for ((i = 0; i < n; i++)); do :; done; t1=$EPOCHREALTIME
for ((i = 0; i < n; i++)); do {hook}; done; t2=$EPOCHREALTIME
for ((i = 0; i < n; i++)); do ssoenv_prompt >/dev/null; done; t3=$EPOCHREALTIME
for ((i = 0; i < {spawns}; i++)); do /bin/true; done; t4=$EPOCHREALTIME
echo "$t0 $t1 $t2 $t3 $t4"
"""


def bench_posix(shell: str, path: Path, n: int, env: dict, repeats: int = 5) -> tuple[float, float, float]:
    """(hook, ssoenv_prompt, one /bin/true) in µs: medians of `repeats` runs (this machine
    has 2 cores and neighbours)."""
    runs = [_bench_posix_once(shell, path, n, env) for _ in range(repeats)]
    return tuple(statistics.median(r[i] for r in runs) for i in range(3))  # type: ignore[return-value]


def _bench_posix_once(shell: str, path: Path, n: int, env: dict) -> tuple[float, float, float]:
    hook = "__ssoenv_hook" if shell == "bash" else "__ssoenv_precmd"
    spawns = max(50, n // 20)
    script = POSIX_LOOP.format(snippet=path, n=n, hook=hook, spawns=spawns)
    if shell == "zsh":
        script = "zmodload zsh/datetime\n" + script
        argv = ["zsh", "-f", "-c", script]
    else:
        argv = ["bash", "--noprofile", "--norc", "-c", script]
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout.split()
    t0, t1, t2, t3, t4 = (float(x.replace(",", ".")) for x in out)
    empty = (t1 - t0) / n
    return ((t2 - t1) / n - empty) * 1e6, ((t3 - t2) / n - empty) * 1e6, ((t4 - t3) / spawns - empty) * 1e6


FISH_LOOP = """
source {snippet}
for i in (string split ' ' -- (string repeat -n {n} 'x '))
    {body}
end
"""


def bench_fish(path: Path, n: int, env: dict) -> float:
    def run(body: str, count: int) -> float:
        script = FISH_LOOP.format(snippet=path, n=count, body=body)
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            subprocess.run(["fish", "--no-config", "-c", script], env=env, check=True,
                           stdout=subprocess.DEVNULL)
            best = min(best, time.perf_counter() - started)
        return best

    render = "__ssoenv_on_prompt; ssoenv_prompt >/dev/null"
    return (run(render, n) - run(":", n)) / n * 1e6


def bench_fish_spawn(path: Path, n: int, env: dict) -> float:
    """One /bin/true started by fish, in µs (the same whole-process difference)."""
    def run(body: str, count: int) -> float:
        script = FISH_LOOP.format(snippet=path, n=count, body=body)
        started = time.perf_counter()
        subprocess.run(["fish", "--no-config", "-c", script], env=env, check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - started

    spawns = max(50, n // 20)
    return statistics.median((run("/bin/true", spawns) - run(":", spawns)) / spawns * 1e6 for _ in range(3))


def bench_process(argv: list[str], runs: int = 40) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=2000, help="renders per measurement (default 2000)")
    args = parser.parse_args()
    now = int(time.time())
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        print(f"ssoenv prompt segment, {args.n} renders per figure, µs per render; budget: "
              f"{BUDGET_SHARE:g} x one /bin/true started by the same shell (no process either way)\n")
        print(f"{'shell':<6} {'state':<22} {'hook (per prompt)':>18} {'ssoenv_prompt':>14} {'/bin/true':>10}")
        for shell in ("bash", "zsh", "fish"):
            if not shutil.which(shell):
                print(f"{shell:<6} (not installed)")
                continue
            path = snippet(shell, tmp_path)
            for state_name, state in STATES.items():
                env = _env(state, now)
                if shell == "fish":
                    both, spawn = bench_fish(path, args.n, env), bench_fish_spawn(path, args.n, env)
                    flag = "ok" if both <= BUDGET_SHARE * spawn else "over budget"
                    print(f"{shell:<6} {state_name:<22} {both:>15.1f} µs  (hook + function) {spawn:>7.0f} µs"
                          f"  {both / spawn:.3f} x  {flag}")
                else:
                    hook, function, spawn = bench_posix(shell, path, args.n, env)
                    flag = "ok" if hook <= BUDGET_SHARE * spawn else "over budget"
                    print(f"{shell:<6} {state_name:<22} {hook:>15.1f} µs {function:>11.1f} µs {spawn:>7.0f} µs"
                          f"  {hook / spawn:.3f} x  {flag}")
        print("\nFor scale, a process per prompt (median of 40 runs):")
        print(f"  python -I -c pass        {bench_process([sys.executable, '-I', '-c', 'pass']):>10.0f} µs")
        starship = shutil.which("starship")
        if starship:
            print(f"  starship prompt          {bench_process([starship, 'prompt']):>10.0f} µs")
        else:
            print("  starship                 (not installed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
