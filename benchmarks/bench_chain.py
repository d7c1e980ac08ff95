"""Role chaining: `ssoenv exec CHAINED -- true`, cached and cold, against its budgets.

    .venv/bin/python benchmarks/bench_chain.py [--quick] [--runs N]

Measures (wall time, median and p90):
  * `ssoenv exec prod-deploy -- true` with cached chained credentials, against
    `.venv/bin/python -c pass`; budget <= 2.5 x, and boto3/botocore not imported.
  * cold: the SSO role's credentials cached, the chained ones not (each run removes
    them first, so every run calls STS AssumeRole on the emulator), against a cold
    `ssoenv exec bench -- true` of a direct SSO target (each run removes its role
    credentials, so every run calls GetRoleCredentials); budget <= 1.2 x.
  * `/usr/bin/aws configure export-credentials --profile lprod` (AWS CLI v2, a chain
    from a legacy SSO profile: the Debian CLI 2.9 cannot chain from an sso-session
    profile) with its own assume-role cache warm; goal: ssoenv >= 10 x faster.

Figures are printed, not asserted. Nothing leaves the machine: a temporary HOME,
the emulator on loopback, HTTPS_PROXY pointing at a dead local port.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402
from common import AWS_V2, PYTHON, SSOENV, ms  # noqa: E402

from ssoenv import paths  # noqa: E402

EXEC_BUDGET = 2.5   # x python -c pass
COLD_BUDGET = 1.2   # x a cold direct exec
AWS_GOAL = 10.0
FORBIDDEN = ("boto3", "botocore", "prompt_toolkit")

CHAINED = f"""
[profile hub]
sso_session = {common.SESSION}
sso_account_id = 111111111111
sso_role_name = AdministratorAccess

[profile prod-deploy]
role_arn = arn:aws:iam::999999999999:role/Deploy
source_profile = hub

[profile lhub]
sso_start_url = {common.START_URL}
sso_region = {common.REGION}
sso_account_id = 111111111111
sso_role_name = AdministratorAccess

[profile lprod]
role_arn = arn:aws:iam::999999999999:role/Deploy
source_profile = lhub
"""

# Remove the given cache files, then run ssoenv (a cold run: one STS or portal call).
COLD = r"""
import os, sys
for path in sys.argv[1].split(os.pathsep):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
os.execv(sys.argv[2], sys.argv[2:])
"""


def cache_files(box, provider: str) -> list[str]:
    out = []
    for path in Path(box.path(paths.cli_cache_dir)).glob("*.json"):
        try:
            if json.loads(path.read_text()).get("ProviderType") == provider:
                out.append(str(path))
        except (OSError, ValueError):
            pass
    return out


def interleaved(commands: dict[str, list[str]], env: dict[str, str], runs: int, warmup: int) -> dict:
    """Wall times of `commands` run in turn (one of each per round): a ratio between them
    is then not skewed by the machine's load drifting between one command's runs and the next's."""
    times: dict[str, list[float]] = {label: [] for label in commands}
    for i in range(warmup + runs):
        for label, argv in commands.items():
            started = time.perf_counter()
            proc = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  stdin=subprocess.DEVNULL)
            elapsed = time.perf_counter() - started
            if proc.returncode != 0:
                raise RuntimeError(f"{label} exited {proc.returncode}: {proc.stderr.decode(errors='replace')}")
            if i >= warmup:
                times[label].append(elapsed)
    return {label: common.Stats(t, "interleaved subprocess+perf_counter") for label, t in times.items()}


def main() -> int:
    opts, runs = common.options(__doc__, quick_help="fewer runs (< 30 s)")
    warmup = 2 if opts.quick else 3
    common.note(f"bench_chain  {common.machine_line()}  runs={runs}{'  (quick)' if opts.quick else ''}")
    emu = common.start_emulator(latency_ms=0)
    box = common.sandbox(emu, "222222222222", "ReadOnlyAccess")
    try:
        config = Path(box.env["AWS_CONFIG_FILE"])
        config.write_text(config.read_text() + CHAINED)
        return run(emu, box, runs, warmup)
    finally:
        box.close()
        emu.stop()


def run(emu, box, runs: int, warmup: int) -> int:
    env = box.env
    common.timed_login(box)
    box.ssoenv("exec", "prod-deploy", "--", "true")  # the hub's role credentials, the user's name, Deploy's
    box.ssoenv("exec", "bench", "--", "true")
    chained_files = cache_files(box, "assume-role")
    sso_files = cache_files(box, "sso")
    bench_file = str(box.path(lambda: paths.role_cache_file("222222222222", "ReadOnlyAccess",
                                                             session_name=common.SESSION)))
    assert len(chained_files) == 1 and bench_file in sso_files, (chained_files, sso_files)

    commands = {
        "python -c pass": [PYTHON, "-c", "pass"],
        "ssoenv exec prod-deploy -- true  (cached)": [SSOENV, "exec", "prod-deploy", "--", "true"],
        "ssoenv exec bench -- true  (cached, direct)": [SSOENV, "exec", "bench", "--", "true"],
        "python -c COLD (the cold runs' own overhead)": [PYTHON, "-c", COLD, "/nonexistent", "/bin/true"],
    }
    cold = {
        "cold: ssoenv exec prod-deploy -- true  (source cached)":
            [PYTHON, "-c", COLD, os.pathsep.join(chained_files), SSOENV, "exec", "prod-deploy", "--", "true"],
        "cold: ssoenv exec bench -- true  (direct)":
            [PYTHON, "-c", COLD, bench_file, SSOENV, "exec", "bench", "--", "true"],
    }
    aws_note = ""
    have_aws = os.path.exists(AWS_V2)
    if have_aws:
        box.ssoenv("login", "--profile", "lhub", "--device-code", "--no-browser")
        proc = subprocess.run([AWS_V2, "configure", "export-credentials", "--profile", "lprod"], env=env,
                              capture_output=True, text=True, timeout=120)
        if proc.returncode == 0:
            commands["aws configure export-credentials --profile lprod"] = [
                AWS_V2, "configure", "export-credentials", "--profile", "lprod"]
        else:
            have_aws = False
            aws_note = f"aws configure export-credentials failed: {proc.stderr.strip()[-200:]}"
    else:
        aws_note = "/usr/bin/aws (AWS CLI v2) is not installed: skipped"
    before = emu.calls()
    per = {"aws configure export-credentials --profile lprod": min(runs, 10)}
    aws_label = "aws configure export-credentials --profile lprod"
    stats = interleaved({**{k: v for k, v in commands.items() if k != aws_label}, **cold}, env, runs, warmup)
    if have_aws:
        stats.update(common.time_commands({aws_label: commands[aws_label]}, env, runs=per, warmup=warmup))
    after = emu.calls()

    base = stats["python -c pass"].median
    overhead = stats["python -c COLD (the cold runs' own overhead)"].median
    rows = []
    for label, s in stats.items():
        rows.append([label, ms(s.median), ms(s.p90), str(len(s.times)), f"{s.median / base:.2f}x"])
    common.print_table("Wall time (ssoenv's runs interleaved, one of each per round; ratio = median / "
                       "`python -c pass`)",
                       ["command", "median", "p90", "runs", "ratio"], rows)
    cached = stats["ssoenv exec prod-deploy -- true  (cached)"].median
    cold_chain = stats["cold: ssoenv exec prod-deploy -- true  (source cached)"].median - overhead
    cold_direct = stats["cold: ssoenv exec bench -- true  (direct)"].median - overhead
    brows = [["exec prod-deploy, cached", f"{cached / base:.2f}x python -c pass", f"<= {EXEC_BUDGET:g}x",
              "ok" if cached / base <= EXEC_BUDGET else "OVER"],
             ["exec prod-deploy, cold (source cached)", f"{cold_chain / cold_direct:.2f}x a cold direct exec",
              f"<= {COLD_BUDGET:g}x", "ok" if cold_chain / cold_direct <= COLD_BUDGET else "OVER"]]
    if have_aws:
        aws = stats["aws configure export-credentials --profile lprod"].median
        brows.append(["vs aws configure export-credentials (chained)", f"{aws / cached:.1f}x faster",
                      f">= {AWS_GOAL:g}x", "ok" if aws / cached >= AWS_GOAL else "UNDER GOAL"])
    common.print_table("Budgets (cold figures less the cold runs' own file removal and exec)",
                       ["what", "figure", "budget", ""], brows)
    common.note(f"  AssumeRole calls during the runs: {after['AssumeRole'] - before['AssumeRole']}, "
                f"GetRoleCredentials: {after['GetRoleCredentials'] - before['GetRoleCredentials']}, "
                f"GetCallerIdentity: {after['GetCallerIdentity'] - before['GetCallerIdentity']}")
    if aws_note:
        common.note(f"  {aws_note}")

    mods, _ = common.imported_modules(["-m", "ssoenv", "exec", "prod-deploy", "--", "true"], env)
    bad = common.forbidden_imports(mods, FORBIDDEN)
    common.note(f"  cached `exec prod-deploy` imports: {len(mods)} modules; "
                f"boto3/botocore/prompt_toolkit: {', '.join(bad) if bad else 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
