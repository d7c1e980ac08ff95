"""`ssoenv exec --server` start-up and the credential endpoint's answer time.

    .venv/bin/python benchmarks/bench_server.py [--quick] [--runs N]

Measures (figures, not pass/fail):
  * `ssoenv exec --server bench -- true` with cached role credentials against
    `.venv/bin/python -c pass` and plain `ssoenv exec bench -- true`;
    budget <= 3 x `python -c pass`; which modules it imports (no boto3/botocore/
    prompt_toolkit when the cache is good).
  * a credential request answered from the endpoint's memory (`ssoenv serve`
    running; the client a fresh HTTP connection per request, as botocore's
    container provider makes): median and p90; budget <= 5 ms.

Nothing leaves the machine: a temporary HOME, the emulator on loopback.
"""

from __future__ import annotations

import http.client
import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402
from common import PYTHON, SSOENV, ms  # noqa: E402

ACCOUNT_ID = "111111111111"
ROLE = "ReadOnlyAccess"
EXEC_BUDGET = 3.0
REQUEST_BUDGET = 0.005
FORBIDDEN = ("boto3", "botocore", "prompt_toolkit")


def request_times(url: str, token: str, count: int) -> list[float]:
    match = re.match(r"http://([\d.]+):(\d+)(/.*)", url)
    if not match:
        raise ValueError(f"not a loopback endpoint URL: {url}")
    host, port, path = match[1], int(match[2]), match[3]
    times = []
    for _ in range(count):
        started = time.perf_counter()
        conn = http.client.HTTPConnection(host, port, timeout=10)
        conn.request("GET", path, headers={"Authorization": token, "Accept": "application/json"})
        response = conn.getresponse()
        body = response.read()
        conn.close()
        times.append(time.perf_counter() - started)
        if response.status != 200 or b"AccessKeyId" not in body:
            raise RuntimeError(f"the endpoint answered {response.status}")
    return times


def main() -> int:
    opts, runs = common.options(__doc__)
    common.note(f"bench_server  {common.machine_line()}  runs={runs}")
    emu = common.start_emulator()
    sandbox = common.sandbox(emu, ACCOUNT_ID, ROLE)
    try:
        common.timed_login(sandbox)
        sandbox.ssoenv("exec", common.PROFILE, "--", "true")  # warm the role cache
        before = emu.calls()["GetRoleCredentials"]
        commands = {
            "python -c pass": [PYTHON, "-c", "pass"],
            "ssoenv exec bench -- true": [SSOENV, "exec", common.PROFILE, "--", "true"],
            "ssoenv exec --server bench -- true": [SSOENV, "exec", "--server", common.PROFILE, "--", "true"],
        }
        stats = common.time_commands(commands, sandbox.env, runs=runs, warmup=2)
        base = stats["python -c pass"]
        rows = [[label, ms(s.median), ms(s.p90), f"{s.ratio_to(base):.2f} x"] for label, s in stats.items()]
        common.print_table("start-up (cached role credentials)", ["command", "median", "p90", "vs python"], rows)
        server = stats["ssoenv exec --server bench -- true"].ratio_to(base)
        print(f"exec --server: {server:.2f} x python -c pass (budget <= {EXEC_BUDGET} x); "
              f"portal calls during the runs: {emu.calls()['GetRoleCredentials'] - before}")
        modules, _ = common.imported_modules(["-m", "ssoenv", "exec", "--server", common.PROFILE, "--", "true"],
                                             sandbox.env)
        bad = common.forbidden_imports(modules, FORBIDDEN)
        print(f"forbidden imports under exec --server: {bad or 'none'}")

        proc, exports = sandbox.serve(common.PROFILE, stderr=subprocess.DEVNULL)
        try:
            url, token = exports["AWS_CONTAINER_CREDENTIALS_FULL_URI"], exports["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
            request_times(url, token, 20)  # warm-up
            times = request_times(url, token, max(200, runs * 10))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        median = statistics.median(times)
        p90 = statistics.quantiles(times, n=10, method="inclusive")[8]
        print(f"credential request from the endpoint's cache: median {ms(median)}, p90 {ms(p90)} "
              f"over {len(times)} requests (budget <= {ms(REQUEST_BUDGET)})")
    finally:
        sandbox.close()
        emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
