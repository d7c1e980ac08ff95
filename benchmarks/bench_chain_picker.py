"""The picker and `exec` with a chained role in the history and active (branch chain2).

    .venv/bin/python benchmarks/bench_chain_picker.py [--quick] [--runs N]

Measures (wall time, median and p90, interleaved rounds):
  * everything `ssoenv pick` does before fzf starts (`pick.prepare()`: the config, the
    kept listing, the history with a chained key, the active chained role's key), in a
    shell switched to `prod-deploy`, against the same in a shell switched to a direct
    role: the chained active key costs one look at the config;
  * `ssoenv exec prod-deploy -- true` with cached chained credentials (it records the
    chained choice in the history), against `.venv/bin/python -c pass`; budget <= 2.5 x.

Figures are printed, not asserted. A temporary HOME, the emulator on loopback.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402
from bench_chain import CHAINED, interleaved  # noqa: E402
from common import PYTHON, SSOENV, ms  # noqa: E402

PREPARE = [str(PYTHON), "-c", "from ssoenv.commands import pick; pick.prepare()"]


def exports(text: str) -> dict[str, str]:
    return {k: v for k, v in re.findall(r"^export (\w+)='([^']*)';$", text, re.M) if v}


def pairs(env: dict[str, str]) -> list[str]:
    return [f"{k}={v}" for k, v in env.items()]


def main() -> int:
    opts, runs = common.options(__doc__, quick_help="fewer runs (< 30 s)")
    warmup = 2 if opts.quick else 3
    common.note(f"bench_chain_picker  {common.machine_line()}  runs={runs}{'  (quick)' if opts.quick else ''}")
    emu = common.start_emulator(latency_ms=0)
    box = common.sandbox(emu, "222222222222", "ReadOnlyAccess")
    try:
        config = Path(box.env["AWS_CONFIG_FILE"])
        config.write_text(config.read_text() + CHAINED)
        common.timed_login(box)
        box.ssoenv("sync")
        box.ssoenv("exec", "hub", "--", "true")
        box.ssoenv("exec", "prod-deploy", "--", "true")  # cached from now on; both in the history
        chained = {**box.env, **exports(box.ssoenv("use", "prod-deploy", "--shell", "bash").stdout)}
        direct = {**box.env, **exports(box.ssoenv("use", "hub", "--shell", "bash").stdout)}
        # the two shells differ only in their environment: `env` picks the active role per command
        pick_times = interleaved({"prepare, chained active": ["env", *pairs(chained), *PREPARE],
                                  "prepare, direct active": ["env", *pairs(direct), *PREPARE]},
                                 box.env, runs, warmup)
        exec_times = interleaved({"python -c pass": [str(PYTHON), "-c", "pass"],
                                  "exec prod-deploy -- true": [str(SSOENV), "exec", "prod-deploy", "--", "true"]},
                                 box.env, runs, warmup)
    finally:
        box.close()
        emu.stop()
    rows = [[label, ms(s.median), ms(s.p90)] for label, s in {**pick_times, **exec_times}.items()]
    common.print_table("chained role: picker preparation and cached exec", ["what", "median", "p90"], rows)
    ratio = exec_times["exec prod-deploy -- true"].median / exec_times["python -c pass"].median
    print(f"exec prod-deploy / python -c pass: {ratio:.2f} x (budget 2.5 x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
