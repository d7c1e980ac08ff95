"""Start-up cost of what the shell runs on a keystroke: Tab completion of a
TARGET (the program alone) and the picker (Ctrl-A) up to fzf, against the
interpreter they run on.

    .venv/bin/python benchmarks/bench_shell.py [--quick] [--runs N]

With 5,001 cached entries (1,667 accounts x 3 roles), measures (wall time, median
and p90; hyperfine -N when installed):
  * `ssoenv __complete bash 'ssoenv use acc' acc`: what bash's Tab runs (matching,
    quoted candidates); budget <= 2 x `python -c pass`.
  * `ssoenv __complete zsh use ''` and `... fish use ''`: the TARGET candidates
    (the 1,667 accounts by name and the profiles), for zsh's and fish's own
    matching; same budget. The program alone: bench_tab.py times Tab end to end
    in each shell.
  * picker ready: what `ssoenv pick` does before fzf draws (config, catalog,
    entries, frecency order, labels, importing iterfzf; the preview pane's file
    is written while fzf draws and is not counted); budget
    <= 3 x `python -c pass`. fzf's own start is not included.
  * the preview pane: `python -m ssoenv.preview FILE 42`, run by fzf at each
    cursor move.
  * which modules completion imports: no boto3, botocore, prompt_toolkit, iterfzf.

Figures are printed, not asserted. Nothing leaves the machine.
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402
from common import PICKER_READY, PYTHON, SSOENV, ms  # noqa: E402

ACCOUNTS = 1667
ROLES_PER_ACCOUNT = 3
COMPLETE_BUDGET = 2.0
PICKER_BUDGET = 3.0
FORBIDDEN = ("boto3", "botocore", "prompt_toolkit", "iterfzf")

# A preview file as a picker leaves it, for the preview timing.
WRITE_PREVIEW = """
import sys
from ssoenv import awsconfig, catalog, preview
config = awsconfig.load()
entries = catalog.entries(config, catalog.load())
import pathlib; preview.write(pathlib.Path(sys.argv[1]), config, entries, {})
"""


def main() -> int:
    opts, runs = common.options(__doc__)
    warmup = 2 if opts.quick else 3
    started = time.perf_counter()
    common.note(f"bench_shell  {common.machine_line()}  runs={runs}{'  (quick)' if opts.quick else ''}")
    emu = common.start_emulator(generate_accounts=ACCOUNTS, roles_per_account=ROLES_PER_ACCOUNT, latency_ms=0)
    sandbox = common.sandbox(emu, "100000000042", "ReadOnlyAccess")
    try:
        common.timed_login(sandbox)
        sandbox.ssoenv("sync")
        entries = common.catalog_entries(sandbox)
        sandbox.ssoenv("exec", "bench", "--", "true")  # one frecency record, cached credentials
        env = sandbox.env
        preview_file = str(sandbox.home / "preview.json")
        import subprocess
        subprocess.run([PYTHON, "-c", WRITE_PREVIEW, preview_file], env=env, check=True, timeout=60)
        common.note(f"setup: {entries} catalog entries ({time.perf_counter() - started:.1f} s)")
        calls_before = common.portal_calls(emu.calls())

        piped = {
            "Tab, bash: __complete bash 'ssoenv use acc' acc": [SSOENV, "__complete", "bash", "ssoenv use acc", "acc"],
            "Tab, zsh: __complete zsh use '' (all targets)": [SSOENV, "__complete", "zsh", "use", ""],
            "Tab, fish: __complete fish use '' (all targets)": [SSOENV, "__complete", "fish", "use", ""],
        }
        # one interleaved run: the floor and every command in each round
        stats = common.time_commands({
            "python -c pass": [PYTHON, "-c", "pass"],
            **piped,
            "picker ready (python -c ..., no fzf)": [PYTHON, "-c", PICKER_READY],
            "preview pane: python -m ssoenv.preview FILE 42": [PYTHON, "-m", "ssoenv.preview", preview_file, "42"],
        }, env, runs=runs, warmup=warmup, outputs={label: "pipe" for label in piped})
        portal_during = common.portal_calls(emu.calls()) - calls_before

        base = stats["python -c pass"]
        rows = []
        for label, s in stats.items():
            budget = (COMPLETE_BUDGET if label.startswith("Tab") else PICKER_BUDGET if label.startswith("picker")
                      else None)
            ratio = s.ratio_to(base)
            rows.append([label, ms(s.median), ms(s.p90), f"{ratio:.2f}x",
                         f"<= {budget:g}x ({ms(budget * base.median)})" if budget else "",
                         ("ok" if ratio <= budget else "OVER") if budget else ""])
        common.print_table(f"Wall time ({stats['python -c pass'].tool}; {entries} cached entries; "
                           "ratio = median of the per-round ratios to `python -c pass`, timed interleaved)",
                           ["command", "median", "p90", "ratio", "budget", ""], rows)
        common.note(f"  portal calls during the timed runs: {portal_during} (0 expected)")

        mods, _ = common.imported_modules(["-m", "ssoenv", "__complete", "zsh", "use", ""], env)
        bad = common.forbidden_imports(mods, FORBIDDEN)
        common.note(f"  __complete imports {len(mods)} modules; boto3/botocore/prompt_toolkit/iterfzf: "
                    f"{', '.join(bad) if bad else 'none'}")
    finally:
        sandbox.close()
        emu.stop()
    common.note(f"\nbench_shell finished in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
