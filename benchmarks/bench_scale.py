"""Issue 12 side by side: each scale goal against its floor, measured in one run.

    .venv/bin/python benchmarks/bench_scale.py [--quick] [--runs N]

  1. throttled sync: the emulator throttling at 5, 20, 50 and 200 requests/s (40 ms per
     call, 2 roles per account, accounts = 6 x the limit so each floor is ~6 s);
     wall / floor (floor = successful calls / limit), 429s, errors. Then two `ssoenv sync`
     at once at 50 rps: calls and 429s against one sync's. Goal: <= 1.3 x the floor,
     zero errors, the pair not doubling the calls or the 429s.
  2. large catalog: 10,000 accounts x 3 roles (30,000 entries) cached; `ssoenv list`
     (TSV to a pipe), `list --json` and the picker's data ready (what `ssoenv pick` does
     before fzf) against `python -c pass`, runs interleaved, medians; peak RSS. Each path:
     the kept view; no kept view (made from the rows: plain, --sso-session, a config with a
     chained role, one with a profile the catalog lacks); no view and no rows (a full
     render). Goal: <= 3 x, < 120 MiB.
  3. cold path: role credentials not cached (the cache file removed before each run);
     `ssoenv credential-process` and `ssoenv env` against `ssoenv exec -- true`,
     interleaved, medians. Goal: <= 1.1 x the cold exec.
  4. sync CPU: 3,000 accounts x 2 roles with the emulator answering at once, and 1,000
     (--quick: 300) accounts at 40 ms per call; `ssoenv sync` against the same with
     SSOENV_SYNC_CONCURRENCY=1 (sequential) and, when installed, the sequential peer
     `aws-sso-util roles` ($BENCH_AWS_SSO_UTIL or PATH), interleaved; wall and CPU
     (user+sys). Goal: never slower than the peer at 0 ms; ~12x faster at 40 ms.

Sizes are modest on purpose (2 shared cores). --quick: fewer runs, limits 5 and 50 only.
Works on older checkouts too (for before/after figures): it only drives the CLI.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402
from common import PICKER_READY, PYTHON, SSOENV, mib, ms  # noqa: E402

LATENCY_MS = 40
RENDERING = "no kept view: "
NOTHING = "no view, no rows: "
# Configs that make the view differ from the rows (each in a config file of its own;
# the run's view is removed before it and the plain config's put back after it).
VARIANTS = {
    "chained role": "\n[profile bench-chained]\nrole_arn = arn:aws:iam::100000000007:role/Deploy\n"
                    "source_profile = bench\n",
    "profile the catalog lacks": "\n[profile bench-unknown]\nsso_session = corp\nsso_account_id = 999999999999\n"
                                 "sso_role_name = Gone\n",
}
ROLES = 2
ACCOUNT_ID = "100000000042"
ROLE = "ReadOnlyAccess"



class Box:
    """The benchmark sandbox through whichever helpers benchmarks/common.py has (its
    `Sandbox` class, or the `sandbox()` function over ssoenv.sandbox after issue 11),
    so this script runs unchanged on both sides of that change."""

    def __init__(self, emu):
        if hasattr(common, "sandbox"):
            self.box = common.sandbox(emu, ACCOUNT_ID, ROLE)
        else:
            self.box = common.Sandbox(emu.url, ACCOUNT_ID, ROLE)
        self.env, self.home = self.box.env, Path(self.box.home)

    @property
    def catalog_file(self) -> Path:
        return self.box.catalog_file if hasattr(self.box, "catalog_file") else common.catalog_file(self.box)

    def login(self) -> None:
        self.box.login() if hasattr(self.box, "login") else common.timed_login(self.box)

    def catalog_entries(self) -> int:
        return self.box.catalog_entries() if hasattr(self.box, "catalog_entries") else common.catalog_entries(self.box)

    def close(self) -> None:
        (getattr(self.box, "cleanup", None) or self.box.close)()


class Timed:
    def __init__(self, seconds: float, cpu: float, status: int, stderr: str):
        self.seconds, self.cpu, self.status, self.stderr = seconds, cpu, status, stderr


def run_timed(argv: list[str], env: dict, *, stdout=subprocess.DEVNULL, timeout: float = 600) -> Timed:
    """Wall time and CPU (user + sys, from wait4) of one child."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.PIPE)
    if proc.stdout is not None:
        proc.stdout.read()
    assert proc.stderr is not None  # stderr=PIPE
    err = proc.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Timed(time.perf_counter() - started, usage.ru_utime + usage.ru_stime, proc.returncode, err)


def errors_of(t: Timed) -> str:
    lines = [line for line in t.stderr.splitlines() if line.strip() and not line.startswith("ssoenv: synced ")]
    return "0" if t.status == 0 and not lines else f"exit {t.status}: {' | '.join(lines)[:80]}"


def portal(calls: dict) -> int:
    return calls.get("ListAccounts", 0) + calls.get("ListAccountRoles", 0)


def fresh_sync(emu, sandbox, env=None) -> tuple[Timed, int]:
    sandbox.catalog_file.unlink(missing_ok=True)
    emu.reset_calls()
    t = run_timed([SSOENV, "sync"], env or sandbox.env)
    return t, portal(emu.calls())


# --------------------------------------------------------------------------- 1. throttled

def throttled(emu, sandbox, limits) -> None:
    rows = []
    for rps in limits:
        accounts = int(6 * rps)
        emu.update(generate_accounts=accounts, roles_per_account=ROLES, latency_ms=LATENCY_MS, throttle_rps=0)
        ok_calls = accounts // 100 + 1 + accounts  # ListAccounts pages + one ListAccountRoles each
        emu.update(throttle_rps=rps)
        t, calls = fresh_sync(emu, sandbox)
        emu.update(throttle_rps=0)
        floor = ok_calls / rps
        rows.append([f"{rps:g} rps, {accounts} accts x {ROLES}", f"{t.seconds:.2f} s", f"{floor:.2f} s",
                     f"{t.seconds / floor:.2f}x", "ok" if t.seconds <= 1.3 * floor else "OVER",
                     str(calls - ok_calls), errors_of(t)])
    common.print_table(f"1. Throttled sync ({LATENCY_MS} ms per call; floor = successful calls / limit; "
                       "goal <= 1.3x, zero errors)",
                       ["limit, org", "wall", "floor", "ratio", "", "429s", "errors"], rows)

    # Two syncs of one start URL at once, at 50 rps.
    rps, accounts = 50, 300
    emu.update(generate_accounts=accounts, throttle_rps=rps)
    single, single_calls = fresh_sync(emu, sandbox)
    sandbox.catalog_file.unlink(missing_ok=True)
    emu.reset_calls()
    started = time.perf_counter()
    procs = [subprocess.Popen([SSOENV, "sync"], env=sandbox.env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(2)]
    errs = [p.communicate()[1].decode(errors="replace") for p in procs]
    pair_s = time.perf_counter() - started
    pair_calls = portal(emu.calls())
    emu.update(throttle_rps=0)
    ok_calls = accounts // 100 + 1 + accounts
    bad = [e for e, p in zip(errs, procs, strict=True) if p.returncode != 0 or any(
        line and not line.startswith("ssoenv: synced ") for line in e.splitlines())]
    common.print_table(f"   Two `ssoenv sync` of one start URL at once ({rps} rps, {accounts} accts)",
                       ["run", "wall", "calls", "429s", "errors"],
                       [["one sync", f"{single.seconds:.2f} s", str(single_calls), str(single_calls - ok_calls),
                         errors_of(single)],
                        ["two at once", f"{pair_s:.2f} s", str(pair_calls), str(pair_calls - ok_calls),
                         "0" if not bad else " | ".join(bad)[:80]]])


# --------------------------------------------------------------------------- 2. large catalog

def large_catalog(emu, sandbox, runs: int) -> None:
    emu.update(generate_accounts=10_000, roles_per_account=3, latency_ms=0, throttle_rps=0)
    t, _ = fresh_sync(emu, sandbox)
    entries = sandbox.catalog_entries()
    commands = {
        "python -c pass": [PYTHON, "-c", "pass"],
        "ssoenv list (TSV to a pipe)": [SSOENV, "list"],
        "ssoenv list --json (to a pipe)": [SSOENV, "list", "--json"],
        "picker data ready (no fzf)": [PYTHON, "-c", PICKER_READY],
        # No kept view (its first use, or the config's profiles changed since): made from
        # the rows the sync kept for every view. A goal too.
        RENDERING + "ssoenv list": [SSOENV, "list"],
        RENDERING + "picker data ready": [PYTHON, "-c", PICKER_READY],
        # The rare case, for the record (not the goal): no rows either (a catalog that no
        # sync of this version wrote, or other logins), so this run renders in full.
        NOTHING + "ssoenv list": [SSOENV, "list"],
        NOTHING + "picker data ready": [PYTHON, "-c", PICKER_READY],
        # No kept view, and the view is not the rows with a few profiles patched in: a filter
        # on the login (one login here: nothing cut), a chained role, a profile the catalog
        # does not have. Before the rows held every login's entries, each rendered in full.
        RENDERING + "ssoenv list --sso-session corp": [SSOENV, "list", "--sso-session", common.SESSION],
    }
    envs: dict[str, dict] = {}
    for variant, text in VARIANTS.items():
        config = sandbox.home / ".aws" / ("config-" + variant.replace(" ", "-"))
        config.write_text(common.CONFIG.format(account_id=ACCOUNT_ID, role=ROLE) + text)
        for label, argv in ((f"{RENDERING}{variant}: ssoenv list", [SSOENV, "list"]),
                            (f"{RENDERING}{variant}: picker data ready", [PYTHON, "-c", PICKER_READY])):
            commands[label] = argv
            envs[label] = dict(sandbox.env, AWS_CONFIG_FILE=str(config))
    listings = sandbox.home / ".cache" / "ssoenv" / "listings"  # ssoenv.paths.listing_file's directory
    stash: dict = {}

    def drop_kept(label):  # the one view that run would read (and its rows)
        if label.startswith((RENDERING, NOTHING)):
            view = "picker" if "picker" in label else "list.tsv"
            if (label in envs or "--sso-session" in label) and (listings / view).exists():
                stash[view] = (listings / view).read_bytes()
            (listings / view).unlink(missing_ok=True)
            if label.startswith(NOTHING):
                (listings / (view + ".rows")).unlink(missing_ok=True)

    def put_back(label):  # the plain, unfiltered view, for the next round's kept-view runs
        for view, content in stash.items():
            (listings / view).write_bytes(content)
        stash.clear()

    times = interleaved(commands, sandbox.env, runs, stdout=subprocess.PIPE, before=drop_kept, after=put_back,
                        envs=envs)
    base = statistics.median(times["python -c pass"])
    rows = []
    for label, argv in commands.items():
        med = statistics.median(times[label])
        drop_kept(label)
        rss = common.run_measured(argv, envs.get(label, sandbox.env)).maxrss_bytes
        put_back(label)
        ratio = med / base
        goal = label != "python -c pass" and not label.startswith(NOTHING)
        rows.append([label, ms(med), f"{ratio:.2f}x", ("ok" if ratio <= 3 else "OVER") if goal else "",
                     mib(rss), ("ok" if rss < 120 * common.MIB else "OVER") if label != "python -c pass" else ""])
    common.print_table(f"2. {entries} cached entries (sync of 10,000 accts took {t.seconds:.1f} s); "
                       f"medians of {runs} interleaved runs; goal <= 3x python -c pass, < 120 MiB",
                       ["command", "median", "ratio", "", "peak RSS", ""], rows)


def interleaved(commands: dict, env: dict, runs: int, *, stdout=subprocess.DEVNULL, before=None, after=None,
                envs: dict | None = None) -> dict:
    """Wall times of `commands` run in turn, round after round (`envs`: label -> its own environment)."""
    times: dict[str, list[float]] = {label: [] for label in commands}
    for i in range(runs + 1):  # the first round warms the caches and is dropped
        for label, argv in commands.items():
            if before:
                before(label)
            t = run_timed(argv, (envs or {}).get(label, env), stdout=stdout)
            if after:
                after(label)
            if t.status != 0:
                raise RuntimeError(f"{label} exited {t.status}: {t.stderr[-300:]}")
            if i:
                times[label].append(t.seconds)
    return times


# --------------------------------------------------------------------------- 3. cold path

def cold_path(emu, sandbox, runs: int) -> None:
    emu.update(generate_accounts=100, roles_per_account=3, latency_ms=0, throttle_rps=0)
    fresh_sync(emu, sandbox)
    role_cache = sandbox.home / ".aws" / "cli" / "cache"
    target = ["--account", ACCOUNT_ID, "--role", ROLE]
    commands = {
        "ssoenv exec --account ID --role R -- true (cold)": [SSOENV, "exec", *target, "--", "true"],
        "ssoenv credential-process --account ID --role R (cold)": [SSOENV, "credential-process", *target],
        "ssoenv env --account ID --role R (cold)": [SSOENV, "env", *target],
    }

    def drop_cache(_label):
        for f in role_cache.glob("*.json") if role_cache.exists() else []:
            f.unlink()

    emu.reset_calls()
    times = interleaved(commands, sandbox.env, runs, stdout=subprocess.PIPE, before=drop_cache)
    fetched = emu.calls().get("GetRoleCredentials", 0)
    base = statistics.median(times[next(iter(commands))])
    rows = [[label, ms(statistics.median(t)), f"{statistics.median(t) / base:.2f}x",
             "" if i == 0 else ("ok" if statistics.median(t) <= 1.1 * base else "OVER")]
            for i, (label, t) in enumerate(times.items())]
    common.print_table(f"3. Cold path (role cache removed before each run; {fetched} GetRoleCredentials "
                       f"for {len(commands) * (runs + 1)} runs); medians of {runs} interleaved runs; "
                       "goal <= 1.1x cold exec", ["command", "median", "ratio", ""], rows)


# --------------------------------------------------------------------------- 4. sync CPU

def aws_sso_util() -> str | None:
    """The peer, if installed: $BENCH_AWS_SSO_UTIL, else aws-sso-util on PATH."""
    import shutil

    return os.environ.get("BENCH_AWS_SSO_UTIL") or shutil.which("aws-sso-util")


def peer_token(sandbox) -> None:
    """aws-sso-util reads the token under the legacy key (sha1 of the start URL): a
    copy of the sandbox's sso-session token there (the same login)."""
    import hashlib

    cache_dir = sandbox.home / ".aws" / "sso" / "cache"
    token = cache_dir / (hashlib.sha1(common.SESSION.encode()).hexdigest() + ".json")
    legacy = cache_dir / (hashlib.sha1(common.START_URL.encode()).hexdigest() + ".json")
    legacy.write_bytes(token.read_bytes())
    legacy.chmod(0o600)


def sync_cpu(emu, sandbox, runs: int, slow_accounts: int) -> None:
    sequential = dict(sandbox.env, SSOENV_SYNC_CONCURRENCY="1")
    peer = aws_sso_util()
    if peer:
        peer_token(sandbox)
    rows = []
    for accounts, latency, n in ((3000, 0, runs), (slow_accounts, LATENCY_MS, 1)):
        emu.update(generate_accounts=accounts, roles_per_account=ROLES, latency_ms=latency, throttle_rps=0)
        got: dict[str, list[Timed]] = {"ssoenv, sequential": [], "ssoenv": []}
        if peer:
            got["aws-sso-util roles (sequential peer)"] = []
        for _ in range(n):
            for label in got:
                if peer and label.startswith("aws-sso-util"):
                    t = run_timed([peer, "roles", "--sso-start-url", common.START_URL,
                                   "--sso-region", common.REGION], sandbox.env)
                else:
                    t, _ = fresh_sync(emu, sandbox, sequential if "sequential" in label else sandbox.env)
                if t.status != 0:
                    raise RuntimeError(f"{label} exited {t.status}: {t.stderr[-300:]}")
                got[label].append(t)
        walls = {label: statistics.median(t.seconds for t in ts) for label, ts in got.items()}
        for label, ts in got.items():
            cpu = statistics.median(t.cpu for t in ts)
            rows.append([f"{accounts} accts, {latency} ms/call", label, f"{walls[label]:.2f} s", f"{cpu:.2f} s",
                         f"{walls['ssoenv, sequential'] / walls[label]:.2f}x",
                         f"{walls[label] / walls['ssoenv']:.2f}x" if label != "ssoenv" else ""])
    common.print_table(f"4. Sync CPU (wall and user+sys CPU of the process; medians of {runs} interleaved "
                       "runs at 0 ms, 1 at 40 ms); speed-up = ssoenv sequential wall / wall; "
                       "last column: that wall / ssoenv's (the peer's ratio is the goal: >= 1 at 0 ms, "
                       "~12 at 40 ms)" + ("" if peer else "; aws-sso-util not installed: no peer row"),
                       ["org", "run", "wall", "CPU", "speed-up", "÷ ssoenv"], rows)


def main() -> int:
    opts, runs = common.options(__doc__, runs=11, quick_runs=5,
                                only="comma-separated parts to run: throttle,catalog,cold,cpu")
    limits = (5, 50) if opts.quick else (5, 20, 50, 200)
    parts = set((opts.only or "throttle,catalog,cold,cpu").split(","))
    started = time.perf_counter()
    common.note(f"bench_scale  {common.machine_line()}  checkout {common.ROOT}")
    emu = common.start_emulator(generate_accounts=100, roles_per_account=3, latency_ms=0)
    sandbox = Box(emu)
    try:
        sandbox.login()
        if "throttle" in parts:
            throttled(emu, sandbox, limits)
        if "cold" in parts:
            cold_path(emu, sandbox, runs)
        if "cpu" in parts:
            sync_cpu(emu, sandbox, max(3, runs // 3), 300 if opts.quick else 1000)
        if "catalog" in parts:
            large_catalog(emu, sandbox, runs)
    finally:
        sandbox.close()
        emu.stop()
    common.note(f"\nbench_scale finished in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
