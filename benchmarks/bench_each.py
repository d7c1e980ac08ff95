"""`ssoenv exec --each` over many targets (issue 21's budgets), figures side by side.

    .venv/bin/python benchmarks/bench_each.py [--quick] [--targets N] [--only PARTS]

Parts (figures, not pass/fail):
  cached    N targets running `true`, role credentials cached: wall time against
            1.5 x (N x one `ssoenv exec -- true` / parallelism); ssoenv's own CPU per
            target (getrusage of the ssoenv process alone) against 1/4 of the CPU of
            one `ssoenv exec -- true`.
  throttled N targets, nothing cached, the emulator refusing GetRoleCredentials above
            20 calls/s: errors (must be 0) and wall time against 1.3 x the floor (N / 20 s).
  memory    N targets each writing 1 MB (1,000-byte lines) through ssoenv's prefixing
            writer: ssoenv's peak RSS against 120 MiB.
  compare   the same N targets (`true`) by a shell loop of `aws configure
            export-credentials --profile P` (AWS CLI v2; the emulator has no STS on this
            branch) on a sample of profiles, extrapolated to N; and GNU parallel over
            `ssoenv exec --account ID --role R -- true` (when `parallel` is installed).

Nothing leaves the machine: a temporary HOME, the emulator on loopback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402
from common import PYTHON, SSOENV, mib  # noqa: E402

from ssoenv import paths  # noqa: E402

ROLE = "AdministratorAccess"
PARALLEL = 8  # fanout.DEFAULT_PARALLEL
RATE = 20
AWS_SAMPLE = 20
MEMORY_BUDGET = 120 * common.MIB

# ssoenv in this process's child, its own CPU (threads included, children excluded) on stderr.
SELF_CPU = """
import resource, sys
from ssoenv.cli import main
status = main(sys.argv[1:])
r = resource.getrusage(resource.RUSAGE_SELF)
sys.stderr.write(f"\\nSELF_CPU {r.ru_utime + r.ru_stime}\\n")
sys.exit(status)
"""
ONE_MB = "head -c 1024000 /dev/zero | tr '\\0' x | fold -w 999"


def each_argv(*extra: str) -> list[str]:
    return ["exec", "--each", "account-*", "--yes", "--parallel", str(PARALLEL), *extra]


def run_each(box, argv: list[str]) -> tuple[float, float, str]:
    """(wall s, ssoenv's own CPU s, stderr) of `ssoenv ARGV`, output to /dev/null."""
    started = time.perf_counter()
    proc = subprocess.run([PYTHON, "-c", SELF_CPU, *argv], env=box.env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - started
    cpu = next((float(line.split()[1]) for line in proc.stderr.splitlines() if line.startswith("SELF_CPU ")), -1.0)
    if proc.returncode != 0:
        raise RuntimeError(f"exec --each exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return wall, cpu, proc.stdout


def one_exec(box, runs: int) -> tuple[float, float]:
    """Median wall time and mean CPU of one `ssoenv exec bench -- true` (cached)."""
    import resource

    box.ssoenv("exec", common.PROFILE, "--", "true")
    stats = common.time_commands({"exec": [SSOENV, "exec", common.PROFILE, "--", "true"]}, box.env, runs=runs,
                                 warmup=2)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(runs):
        subprocess.run([SSOENV, "exec", common.PROFILE, "--", "true"], env=box.env, check=True,
                       stdin=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / runs
    return stats["exec"].median, cpu


def main() -> int:
    opts, runs = common.options(__doc__, runs=20, quick_runs=5, quick_help="200 targets, fewer runs",
                                only="comma-separated: cached,throttled,memory,compare")
    n = 200 if opts.quick else 1000
    parts = set((opts.only or "cached,throttled,memory,compare").split(","))
    common.note(f"bench_each  {common.machine_line()}  targets={n}  parallel={PARALLEL}")
    emu = common.start_emulator(generate_accounts=n, roles_per_account=1)
    box = common.sandbox(emu, str(100000000000), ROLE)
    try:
        common.timed_login(box)
        box.ssoenv("sync")
        t_exec, cpu_exec = one_exec(box, runs)
        print(f"one `ssoenv exec bench -- true` (cached): {common.ms(t_exec)} wall, {common.ms(cpu_exec)} CPU")

        if "throttled" in parts:
            box.clear_cli_cache()
            emu.update(throttle_rps=RATE)
            emu.reset_calls()
            try:
                wall, cpu, out = run_each(box, each_argv("--json", "--", "true"))
            finally:
                emu.update(throttle_rps=0)
            doc = json.loads(out)
            errors = sum(v for k, v in doc["counts"].items() if k != "ok")
            floor = n / RATE
            calls = emu.calls()["GetRoleCredentials"]
            print(f"throttled ({RATE}/s), uncached: {wall:.1f} s for {n} targets = {wall / floor:.2f} x the floor "
                  f"({floor:.0f} s; budget <= 1.3 x); errors: {errors}; GetRoleCredentials calls: {calls} "
                  f"({calls - n} refused and retried)")
        else:
            run_each(box, each_argv("--", "true"))  # fill the role cache

        if "cached" in parts:
            emu.reset_calls()
            wall, cpu, _ = run_each(box, each_argv("--", "true"))
            budget = 1.5 * n * t_exec / PARALLEL
            print(f"cached: {wall:.2f} s for {n} x `true` (budget <= 1.5 x {n} x {common.ms(t_exec)} / {PARALLEL} "
                  f"= {budget:.2f} s: {wall / budget:.2f} of it); portal calls: {emu.calls()['GetRoleCredentials']}")
            print(f"ssoenv's own CPU: {cpu:.2f} s = {common.ms(cpu / n)} per target "
                  f"(budget <= 1/4 x {common.ms(cpu_exec)} = {common.ms(cpu_exec / 4)})")

        if "memory" in parts:
            run = common.run_measured([SSOENV, *each_argv("--", "sh", "-c", ONE_MB)], box.env, timeout=3600)
            if run.returncode != 0:
                raise RuntimeError(f"memory run exited {run.returncode}:\n{run.stderr[-3000:]}")
            print(f"memory: {n} x 1 MB of output: {run.seconds:.1f} s, peak RSS {mib(run.maxrss_bytes)} "
                  f"(budget <= {mib(MEMORY_BUDGET)}; {run.rss_tool})")

        if "compare" in parts:
            compare(box, n, t_exec)
    finally:
        box.close()
        emu.stop()
    return 0


def compare(box, n: int, t_exec: float) -> None:
    sample = min(AWS_SAMPLE, n)
    config = box.path(paths.aws_config_file)
    with open(config, "a", encoding="utf-8") as f:
        for i in range(sample):
            f.write(f"\n[profile each-{i}]\nsso_session = {common.SESSION}\nsso_account_id = {100000000000 + i}\n"
                    f"sso_role_name = {ROLE}\nregion = {common.REGION}\n")
    wall, _, _ = run_each(box, each_argv("--", "true"))
    rows = [["ssoenv exec --each (cached)", f"{wall:.2f} s", common.ms(wall / n)]]
    if os.access(common.AWS_V2, os.X_OK):
        loop = "; ".join(f"{common.AWS_V2} configure export-credentials --profile each-{i} >/dev/null"
                         for i in range(sample))
        subprocess.run(["sh", "-c", f"{common.AWS_V2} configure export-credentials --profile each-0 >/dev/null"],
                       env=box.env, check=True)  # its own role cache filled once
        started = time.perf_counter()
        subprocess.run(["sh", "-c", loop], env=box.env, check=True, stdin=subprocess.DEVNULL)
        per = (time.perf_counter() - started) / sample
        rows.append([f"shell loop: aws configure export-credentials ({sample} profiles, x {n // sample})",
                     f"{per * n:.2f} s", common.ms(per)])
    if shutil.which("parallel"):
        ids = "\n".join(str(100000000000 + i) for i in range(n))
        started = time.perf_counter()
        subprocess.run(["parallel", "-j", str(PARALLEL), SSOENV, "exec", "--account", "{}", "--role", ROLE, "--",
                        "true"], input=ids, text=True, env=box.env, check=True, stdout=subprocess.DEVNULL)
        took = time.perf_counter() - started
        rows.append([f"GNU parallel -j{PARALLEL} over ssoenv exec", f"{took:.2f} s", common.ms(took / n)])
    else:
        rows.append(["GNU parallel: not installed", "-", "-"])
    rows.append([f"(N x one exec / {PARALLEL})", f"{n * t_exec / PARALLEL:.2f} s", common.ms(t_exec / PARALLEL)])
    common.print_table(f"{n} targets running `true`", ["how", "total", "per target"], rows)


if __name__ == "__main__":
    sys.exit(main())
