"""Start-up cost of the everyday commands, against the interpreter they run on.

    .venv/bin/python benchmarks/bench_cli.py [--quick] [--runs N]

Measures (wall time, median and p90; hyperfine -N when installed):
  * `ssoenv exec --account ID --role ROLE -- true` and `ssoenv exec bench -- true`
    with cached role credentials, against `.venv/bin/python -c pass` and
    `python -I -S -c pass`; budget <= 2.5 x `python -c pass`.
  * which modules that run imports (`python -X importtime`): boto3, botocore and
    prompt_toolkit must not be among them.
  * `/usr/bin/aws configure export-credentials --profile bench` (AWS CLI v2) on the
    same login and the same warm role cache; goal: ssoenv exec >= 10 x faster.
  * `ssoenv list` (TSV to a pipe) and `ssoenv list --json` with 5,001 cached
    entries (1,667 accounts x 3 roles); budget <= 3 x `python -c pass`.
  * the picker's data preparation for those entries (config, catalog, entries,
    sort, labels, importing iterfzf), in-process phases and process wall time;
    budget <= 3 x `python -c pass` (fzf's own start is not included).

Figures are printed, not asserted. Nothing leaves the machine: a temporary HOME,
the emulator on loopback, HTTPS_PROXY pointing at a dead local port.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402
from common import AWS_V2, PICKER_READY, PYTHON, SSOENV, ms  # noqa: E402

ACCOUNTS = 1667          # x 3 roles = 5,001 catalog entries
ROLES_PER_ACCOUNT = 3
ACCOUNT_ID = "100000000042"  # generated account #42 of the emulator
ROLE = "ReadOnlyAccess"

EXEC_BUDGET = 2.5        # x python -c pass
LIST_BUDGET = 3.0        # x python -c pass
AWS_GOAL = 10.0          # aws configure export-credentials / ssoenv exec
FORBIDDEN = ("boto3", "botocore", "prompt_toolkit")

# The picker's preparation (commands/pick.py's prepare) timed phase by phase in one
# process; prints JSON (milliseconds).
PICKER_PHASES = r"""
import json, sys, time
t0 = time.perf_counter()
from ssoenv import awsconfig, frecency, listing, picker, targets
from ssoenv.commands import pick
t1 = time.perf_counter()
config = awsconfig.load()
t2 = time.perf_counter()
kept = listing.read(listing.PICKER, config)
t3 = time.perf_counter()
prepared = pick.prepare()  # reads the kept listing again: the phases above, plus the order
t4 = time.perf_counter()
blob = ("\n".join(prepared.lines) + "\n").encode()
t5 = time.perf_counter()
ms = lambda a, b: round((b - a) * 1000, 2)
json.dump({"entries": len(prepared.lines) - 1, "listing kept": kept is not None,
           "import ssoenv modules": ms(t0, t1), "awsconfig.load": ms(t1, t2), "listing.read": ms(t2, t3),
           "pick.prepare (all of it)": ms(t3, t4), "fzf's input": ms(t4, t5)}, sys.stdout)
"""


def main() -> int:
    opts, runs = common.options(__doc__, quick_help="fewer runs (< 30 s)")
    aws_runs = min(runs, 5 if opts.quick else 30)
    warmup = 2 if opts.quick else 3
    started = time.perf_counter()

    common.note(f"bench_cli  {common.machine_line()}  runs={runs}{'  (quick)' if opts.quick else ''}")
    emu = common.start_emulator(generate_accounts=ACCOUNTS, roles_per_account=ROLES_PER_ACCOUNT, latency_ms=0)
    sandbox = common.sandbox(emu, ACCOUNT_ID, ROLE)
    try:
        return run(emu, sandbox, runs, aws_runs, warmup, started)
    finally:
        sandbox.close()
        emu.stop()


def run(emu, sandbox: common.Sandbox, runs: int, aws_runs: int, warmup: int, started: float) -> int:
    env = sandbox.env
    # --- setup: login, sync 5,001 entries, warm the shared role cache ---------------
    common.timed_login(sandbox)
    sandbox.ssoenv("sync")
    entries = common.catalog_entries(sandbox)
    sandbox.ssoenv("exec", "bench", "--", "true")  # fetches the role credentials once
    have_aws = os.path.exists(AWS_V2)
    aws_note = ""
    if have_aws:
        before = emu.calls()["GetRoleCredentials"]
        proc = subprocess.run([AWS_V2, "configure", "export-credentials", "--profile", common.PROFILE],
                              env=env, capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            have_aws = False
            aws_note = f"/usr/bin/aws configure export-credentials failed ({proc.returncode}): " \
                       f"{proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ''}"
        else:
            fetched = emu.calls()["GetRoleCredentials"] - before
            aws_note = ("AWS CLI v2 used ssoenv's cached role credentials (no portal call)" if fetched == 0
                        else f"AWS CLI v2 did NOT reuse ssoenv's role cache: {fetched} GetRoleCredentials call(s)")
    else:
        aws_note = "/usr/bin/aws (AWS CLI v2) is not installed: skipped"
    common.note(f"setup: {entries} catalog entries, credentials cached ({time.perf_counter() - started:.1f} s)")
    calls_before = emu.calls()

    # --- wall times ----------------------------------------------------------------
    exec_account = [SSOENV, "exec", "--account", ACCOUNT_ID, "--role", ROLE, "--", "true"]
    exec_profile = [SSOENV, "exec", common.PROFILE, "--", "true"]
    commands = {
        "python -c pass": [PYTHON, "-c", "pass"],
        "python -I -S -c pass": [PYTHON, "-I", "-S", "-c", "pass"],
        "ssoenv exec --account ID --role ROLE -- true": exec_account,
        "ssoenv exec bench -- true": exec_profile,
    }
    per_runs = {label: runs for label in commands}
    if have_aws:
        label = "aws configure export-credentials --profile bench"
        commands[label] = [AWS_V2, "configure", "export-credentials", "--profile", common.PROFILE]
        per_runs[label] = aws_runs
    piped = {"ssoenv list  (TSV to a pipe)": [SSOENV, "list"],
             "ssoenv list --json  (to a pipe)": [SSOENV, "list", "--json"]}
    commands.update(piped)
    commands["picker data ready (python -c ..., no fzf)"] = [PYTHON, "-c", PICKER_READY]
    per_runs.update({label: runs for label in commands if label not in per_runs})
    # one interleaved run: the floor and every command in each round
    stats = common.time_commands(commands, env, runs=per_runs, warmup=warmup,
                                 outputs={label: "pipe" for label in piped})
    calls_after = emu.calls()
    portal_during = common.portal_calls(calls_after) - common.portal_calls(calls_before)

    base = stats["python -c pass"]
    budgets = {
        "ssoenv exec --account ID --role ROLE -- true": EXEC_BUDGET,
        "ssoenv exec bench -- true": EXEC_BUDGET,
        "ssoenv list  (TSV to a pipe)": LIST_BUDGET,
        "ssoenv list --json  (to a pipe)": LIST_BUDGET,
        "picker data ready (python -c ..., no fzf)": LIST_BUDGET,
    }
    rows = []
    for label, s in stats.items():
        ratio = s.ratio_to(base)
        budget = budgets.get(label)
        if budget:
            verdict = "ok" if ratio <= budget else "OVER"
            budget_text = f"<= {budget:g}x ({ms(budget * base.median)})"
        else:
            verdict, budget_text = "", ""
        rows.append([label, ms(s.median), ms(s.p90), str(len(s.times)), f"{ratio:.2f}x", budget_text, verdict])
    common.print_table(f"Wall time ({stats['python -c pass'].tool}; {entries} cached entries; "
                       f"ratio = median of the per-round ratios to `python -c pass`, timed interleaved)",
                       ["command", "median", "p90", "runs", "ratio", "budget", ""], rows)

    if have_aws:
        aws = stats["aws configure export-credentials --profile bench"].median
        arows = []
        for label in ("ssoenv exec --account ID --role ROLE -- true", "ssoenv exec bench -- true"):
            speedup = aws / stats[label].median
            arows.append([label, ms(stats[label].median), ms(aws), f"{speedup:.1f}x",
                          f">= {AWS_GOAL:g}x", "ok" if speedup >= AWS_GOAL else "UNDER GOAL"])
        common.print_table("ssoenv exec vs AWS CLI v2 `aws configure export-credentials` (same login, warm role cache)",
                           ["ssoenv command", "ssoenv median", "aws median", "aws / ssoenv", "goal", ""], arows)
    common.note(f"  {aws_note}")
    common.note(f"  portal calls during the timed runs: {portal_during} "
                f"(0 expected: credentials and catalog served from cache)")

    # --- what the fast paths import --------------------------------------------------
    base_mods, _ = common.imported_modules(["-c", "pass"], env)
    base_names = {m[0] for m in base_mods}
    irows, details = [], []
    for label, argv in (
        ("exec --account ID --role ROLE -- true", ["-m", "ssoenv", *exec_account[1:]]),
        ("exec bench -- true", ["-m", "ssoenv", *exec_profile[1:]]),
        ("list", ["-m", "ssoenv", "list"]),
    ):
        mods, _ = common.imported_modules(argv, env)
        bad = common.forbidden_imports(mods, FORBIDDEN)
        extra = [m for m in mods if m[0] not in base_names]
        total_us = sum(m[2] for m in extra)
        irows.append([f"ssoenv {label}", str(len(mods)), str(len(extra)), ms(total_us / 1e6),
                      ", ".join(bad) if bad else "none", "OVER" if bad else "ok"])
        details.append(f"  {label}: " + "; ".join(common.import_breakdown(mods, base_names)))
    common.print_table("Imports (python -X importtime -m ssoenv ...; self time summed over modules "
                       "not imported by `python -c pass`)",
                       ["command", "modules", "beyond python -c pass", "their import time",
                        "boto3/botocore/prompt_toolkit imported", ""], irows)
    common.note("  heaviest imports, cumulative ms:")
    for line in details:
        common.note(line)

    # --- the picker's data preparation, phase by phase --------------------------------
    samples = []
    for _ in range(3 if runs < 20 else 7):
        proc = subprocess.run([PYTHON, "-c", PICKER_PHASES], env=env, capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            raise RuntimeError(f"picker phases failed:\n{proc.stderr}")
        samples.append(json.loads(proc.stdout))
    phases = [k for k in samples[0] if k not in ("entries", "listing kept")]
    prow = [[k, f"{statistics.median(s[k] for s in samples):.1f} ms"] for k in phases]
    common.print_table(f"Picker data preparation in-process ({samples[0]['entries']} labels, listing kept: "
                       f"{samples[0]['listing kept']}; median of "
                       f"{len(samples)} processes; the interpreter's own start not included)",
                       ["phase", "median"], prow)

    common.note(f"\nbench_cli finished in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
