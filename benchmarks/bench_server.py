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
  * the same request while 2,000 idle or slow local connections are held open
    (`ssoenv serve` under `ulimit -n 1024`, as on a desktop); budget < 100 ms.
  * the same request while a renewal is under way and GetRoleCredentials takes
    1.5 s (emulator credentials of 30 s, so renewal starts at 15 s left): it must
    not wait for the renewal.

Nothing leaves the machine: a temporary HOME, the emulator on loopback.
"""

from __future__ import annotations

import http.client
import os
import re
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402
from common import PYTHON, SSOENV, ms  # noqa: E402

ACCOUNT_ID = "111111111111"
ROLE = "ReadOnlyAccess"
EXEC_BUDGET = 3.0
REQUEST_BUDGET = 0.005
FLOOD_BUDGET = 0.100
IDLE_CONNECTIONS = 2000
SLOW_RENEWAL = 1.5
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


def _port(url: str) -> int:
    return int(url.split(":")[2].split("/")[0])


def serve_with_few_descriptors(sandbox):
    """`ssoenv serve` started under `ulimit -n 1024` (this process keeps its own limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))
    try:
        return sandbox.serve(common.PROFILE, stderr=subprocess.DEVNULL)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def under_idle_connections(sandbox, runs: int) -> list[float]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < IDLE_CONNECTIONS + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, IDLE_CONNECTIONS + 200), hard))
    proc, exports = serve_with_few_descriptors(sandbox)
    held = []
    try:
        url, token = exports["AWS_CONTAINER_CREDENTIALS_FULL_URI"], exports["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
        for index in range(IDLE_CONNECTIONS):
            conn = socket.create_connection(("127.0.0.1", _port(url)), timeout=10)
            if index % 2:
                conn.sendall(b"GET /ssoenv/credentials HTTP/1.1\r\nHost: 127.0.0.1")
            held.append(conn)
        return request_times(url, token, max(50, runs * 5))
    finally:
        for conn in held:
            conn.close()
        proc.terminate()
        proc.wait(timeout=30)


def during_slow_renewal(emu, sandbox) -> tuple[list[float], int]:
    """Request times while GetRoleCredentials of the renewal takes SLOW_RENEWAL seconds."""
    from ssoenv import cache

    emu.update(credentials_ttl=30)
    sandbox.clear_cli_cache()
    proc, exports = sandbox.serve(common.PROFILE, stderr=subprocess.DEVNULL)
    try:
        url, token = exports["AWS_CONTAINER_CREDENTIALS_FULL_URI"], exports["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
        match = re.search(rb'"Expiration": "([^"]+)"', fetch(url, token))
        expires = cache.parse_time(match[1].decode()) if match else None
        while expires and (expires - cache.now()).total_seconds() > 13:
            time.sleep(0.1)
        renewing = threading.Event()

        def slow_renewal() -> None:
            renewing.set()
            time.sleep(SLOW_RENEWAL)

        emu.before_next("GetRoleCredentials", slow_renewal)
        before = emu.calls()["GetRoleCredentials"]
        times = request_times(url, token, 1)  # starts the renewal
        renewing.wait(30)
        ended = time.monotonic() + SLOW_RENEWAL * 0.8
        while time.monotonic() < ended:
            times += request_times(url, token, 1)
        return times, emu.calls()["GetRoleCredentials"] - before
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        emu.update(credentials_ttl=3600)
        sandbox.clear_cli_cache()


def fetch(url: str, token: str) -> bytes:
    conn = http.client.HTTPConnection("127.0.0.1", _port(url), timeout=10)
    conn.request("GET", _path_of(url), headers={"Authorization": token})
    body = conn.getresponse().read()
    conn.close()
    return body


def _path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


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

        flood = under_idle_connections(sandbox, runs)
        print(f"credential request under {IDLE_CONNECTIONS} idle/slow connections (ulimit -n 1024): "
              f"median {ms(statistics.median(flood))}, max {ms(max(flood))} over {len(flood)} requests "
              f"(budget < {ms(FLOOD_BUDGET)})")
        slow, renewals = during_slow_renewal(emu, sandbox)
        print(f"credential request while a {SLOW_RENEWAL} s renewal runs: median {ms(statistics.median(slow))}, "
              f"max {ms(max(slow))} over {len(slow)} requests; renewals fetched: {renewals} "
              f"(a request must not wait for the renewal)")
    finally:
        sandbox.close()
        emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
