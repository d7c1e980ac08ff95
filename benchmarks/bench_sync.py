"""`ssoenv sync` against a large organisation on the local emulator, and peak memory.

    .venv/bin/python benchmarks/bench_sync.py [--quick]

Measures:
  * first sync of 1,000 accounts x 3 roles with the emulator answering each call
    after 40 ms: wall time (budget <= 6 s), calls made, errors (exit status and
    stderr; zero expected), entries in the catalog afterwards.
  * the same with the emulator throttling at 100 and at 40 requests per second:
    wall time, how many calls the emulator refused with 429 (calls counted minus
    the calls of the unthrottled run, which had none refused), errors (zero expected).
  * peak RSS (ru_maxrss via /usr/bin/time, see common.run_measured) of `ssoenv sync` and `ssoenv list --json`
    with 10,000 accounts x 3 roles, emulator latency 0 (budget <= 120 MiB).

Each sync starts without a catalog (a "first sync"); one login serves them all.
--quick: one throttled run (100 rps) on 300 accounts, memory with 3,000 accounts.
Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common
from common import PYTHON, SSOENV, mib  # noqa: E402

from ssoenv import settings  # noqa: E402

ROLES_PER_ACCOUNT = 3
SYNC_ACCOUNTS = 1000
LATENCY_MS = 40
SYNC_BUDGET_S = 6.0
MEMORY_ACCOUNTS = 10_000
MEMORY_BUDGET = 120 * common.MIB
PORTAL_LISTING = ("ListAccounts", "ListAccountRoles")


def first_sync(emu, sandbox: common.Sandbox) -> dict:
    """One `ssoenv sync` from an empty catalog; what it cost and what it left."""
    common.catalog_file(sandbox).unlink(missing_ok=True)
    emu.reset_calls()
    run = common.run_measured([SSOENV, "sync"], sandbox.env, timeout=600)
    calls = emu.calls()
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if not line.startswith("ssoenv: synced ")]
    try:
        entries = common.catalog_entries(sandbox)
    except (OSError, ValueError, KeyError):
        entries = 0
    return {"seconds": run.seconds, "status": run.returncode, "errors": errors, "stderr": lines,
            "calls": {op: calls.get(op, 0) for op in PORTAL_LISTING},
            "token_calls": calls.get("CreateToken", 0), "entries": entries, "rss": run.maxrss_bytes,
            "rss_tool": run.rss_tool}


def error_text(result: dict) -> str:
    if result["status"] == 0 and not result["errors"]:
        return "0"
    first = result["errors"][0][:70] if result["errors"] else ""
    return f"exit {result['status']}, {len(result['errors'])} stderr line(s): {first}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller throttled and memory runs (< 30 s)")
    opts = ap.parse_args()
    throttles = [(100, 300)] if opts.quick else [(100, SYNC_ACCOUNTS), (40, SYNC_ACCOUNTS)]
    memory_accounts = 3000 if opts.quick else MEMORY_ACCOUNTS
    started = time.perf_counter()
    common.note(f"bench_sync  {common.machine_line()}{'  (quick)' if opts.quick else ''}")

    emu = common.start_emulator(generate_accounts=SYNC_ACCOUNTS, roles_per_account=ROLES_PER_ACCOUNT,
                                latency_ms=LATENCY_MS)
    sandbox = common.sandbox(emu, "100000000042", "ReadOnlyAccess")
    try:
        login_s = common.timed_login(sandbox)
        concurrency = os.environ.get("SSOENV_SYNC_CONCURRENCY") or f"{settings.DEFAULTS['sync_concurrency']} (default)"
        common.note(f"setup: logged in ({login_s:.1f} s at {LATENCY_MS} ms per call); "
                    f"sync_concurrency {concurrency}")

        # --- first sync, 40 ms per call, no throttling ------------------------------------
        base = first_sync(emu, sandbox)
        clean = dict(base["calls"])  # no refusals without throttling: the successful calls
        rows = [[f"{SYNC_ACCOUNTS} accts x {ROLES_PER_ACCOUNT}, {LATENCY_MS} ms/call", f"{base['seconds']:.2f} s",
                 f"<= {SYNC_BUDGET_S:g} s", "ok" if base["seconds"] <= SYNC_BUDGET_S else "OVER",
                 str(sum(base["calls"].values())), "0", str(base["entries"]), error_text(base), mib(base["rss"])]]

        # --- throttled ---------------------------------------------------------------------
        results = []
        for rps, accounts in throttles:
            if accounts != SYNC_ACCOUNTS:
                emu.update(generate_accounts=accounts)
                emu.update(throttle_rps=0, latency_ms=0)
                clean_run = first_sync(emu, sandbox)  # the successful calls for this size
                ok_calls = dict(clean_run["calls"])
                emu.update(latency_ms=LATENCY_MS)
            else:
                ok_calls = clean
            emu.update(throttle_rps=rps)
            result = first_sync(emu, sandbox)
            emu.update(throttle_rps=0)
            refused = sum(result["calls"].values()) - sum(ok_calls.values())
            floor = sum(ok_calls.values()) / rps
            results.append(result)
            rows.append([f"{accounts} accts x {ROLES_PER_ACCOUNT}, {LATENCY_MS} ms/call, throttle {rps} rps",
                         f"{result['seconds']:.2f} s", f"(floor {floor:.1f} s)", "",
                         str(sum(result["calls"].values())), str(refused), str(result["entries"]),
                         error_text(result), mib(result["rss"])])
        common.print_table("First sync (wall time of `ssoenv sync` from an empty catalog; calls = "
                           "ListAccounts + ListAccountRoles answered by the emulator, 429s included)",
                           ["run", "wall", "budget", "", "calls", "429s", "entries", "errors", "peak RSS"], rows)
        common.note(f"  successful calls per {SYNC_ACCOUNTS}-account sync: "
                    + ", ".join(f"{op} {n}" for op, n in clean.items())
                    + f"; CreateToken during syncs: {base['token_calls'] + sum(r['token_calls'] for r in results)}")
        for r in [base, *results]:
            if r["status"] != 0 or r["errors"]:
                common.note("  stderr: " + " | ".join(r["stderr"])[:600])

        # --- peak memory, 10,000 accounts ---------------------------------------------------
        emu.update(generate_accounts=memory_accounts, latency_ms=0, throttle_rps=0)
        big = first_sync(emu, sandbox)
        measured = [(f"ssoenv sync ({memory_accounts} accts x {ROLES_PER_ACCOUNT})", big["rss"], big["seconds"],
                     error_text(big), True)]
        for label, argv, budgeted in (("ssoenv list --json", [SSOENV, "list", "--json"], True),
                                      ("ssoenv list (TSV)", [SSOENV, "list"], True),
                                      ("python -c pass (for scale)", [PYTHON, "-c", "pass"], False)):
            run = common.run_measured(argv, sandbox.env, timeout=120)
            measured.append((label, run.maxrss_bytes, run.seconds,
                             "0" if run.returncode == 0 else f"exit {run.returncode}: {run.stderr[:70]}", budgeted))
        mem_rows = [[label, mib(rss), f"<= {mib(MEMORY_BUDGET)}" if budgeted else "",
                     ("ok" if rss <= MEMORY_BUDGET else "OVER") if budgeted else "", f"{seconds:.2f} s", errors]
                    for label, rss, seconds, errors, budgeted in measured]
        common.print_table(f"Peak memory (ru_maxrss of the command alone, via {big['rss_tool']}; "
                           f"{big['entries']} catalog entries, emulator latency 0)",
                           ["command", "peak RSS", "budget", "", "wall", "errors"], mem_rows)
    finally:
        sandbox.close()
        emu.stop()
    common.note(f"\nbench_sync finished in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
