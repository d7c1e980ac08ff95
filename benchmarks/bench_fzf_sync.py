"""What `--sync` costs the picker: fzf (the one iterfzf ships) on a pseudo-terminal,
fed N picker-like lines in one write, until the list is loaded and the cursor placed
(then it accepts and exits), with the picker's old binds (`load:pos(N)`) and its
new ones (`--sync`, `load:pos(N)`, `change:first`). Figures, not pass/fail: the picker
budget in DESIGN.md stops before fzf starts; this is fzf's own part.

    .venv/bin/python benchmarks/bench_fzf_sync.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

import pexpect

from ssoenv import picker

SIZES = (5_000, 30_000)
BINDS = {
    "old: --bind=load:pos(3)": ["--bind=load:pos(3)+accept"],
    "new: --sync --bind=load:pos(3) --bind=change:first": ["--sync", "--bind=load:pos(3)+accept",
                                                            "--bind=change:first"],
}


def one_run(fzf: str, lines_file: str, binds: list[str]) -> float:
    command = " ".join(map(shlex.quote, [fzf, "--reverse", "--tiebreak=index", "--delimiter=\t", "--with-nth=2..",
                                         *binds]))
    started = time.perf_counter()
    child = pexpect.spawn("sh", ["-c", f"{command} < {lines_file} > /dev/null"], dimensions=(40, 160),
                          env={**os.environ, "TERM": "xterm-256color"}, timeout=60)
    child.expect(pexpect.EOF)
    child.close()
    elapsed = time.perf_counter() - started
    if child.exitstatus != 0:
        raise SystemExit(f"fzf ended with {child.exitstatus}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    fzf = picker._fzf_executable()
    print(f"bench_fzf_sync  {subprocess.run([fzf, '--version'], capture_output=True, text=True).stdout.strip()}"
          f"  runs={runs}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in SIZES:
            path = os.path.join(tmp, f"{size}.txt")
            with open(path, "w") as fh:
                fh.write("".join(f"{n}\t  account-{n:06d}  {100000000000 + n}  ReadOnlyAccess  [corp]\n"
                                 for n in range(size)))
            for label, binds in BINDS.items():
                one_run(fzf, path, binds)  # warm-up
                times = [one_run(fzf, path, binds) for _ in range(runs)]
                print(f"  {size:>6} lines  {label:<52} median {statistics.median(times) * 1000:6.1f} ms  "
                      f"max {max(times) * 1000:6.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
