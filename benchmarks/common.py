"""Shared helpers for the ssoenv benchmarks (bench_cli.py, bench_sync.py).

Everything runs offline: a throwaway HOME per benchmark, the local Identity
Center emulator on loopback, and `HTTPS_PROXY=http://127.0.0.1:9` (a dead port)
as a safety net so nothing can reach real AWS. Figures are printed, never
asserted: the benchmarks report, the design's budgets judge. The sandbox itself is
`ssoenv.sandbox.Sandbox`, shared with `ssoenv demo` and the tests.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ssoenv import paths
from ssoenv.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python")
SSOENV = str(VENV_BIN / "ssoenv")
# Debian's AWS CLI v2 (2.9.x). `aws` on PATH may be a pyenv shim for the CLI v1.
AWS_V2 = "/usr/bin/aws"

SESSION = "corp"
START_URL = "https://d-0000000000.awsapps.com/start"
REGION = "us-east-1"
PROFILE = "bench"

MIB = 1024 * 1024

# What `ssoenv pick` does before fzf draws: commands/pick.py's prepare() (config,
# kept or rendered listing, active mark, frecency order) and the bytes fzf is fed,
# without the terminal check. The preview pane's file is written while fzf draws:
# not counted. Before prepare() existed (older checkouts): the same steps by hand.
PICKER_READY = """
try:
    from ssoenv.commands.pick import prepare
except ImportError:
    prepare = None
if prepare is not None:
    from ssoenv import picker
    shown = prepare().lines
    picker._fzf_executable()
    ("\\n".join(shown) + "\\n").encode()
else:
    from ssoenv import awsconfig, catalog, frecency, picker, sync, targets
    import iterfzf
    config = awsconfig.load()
    entries = catalog.entries(config, sync.load_fresh(config))
    entries.sort(key=lambda e: (e.account_name.lower(), e.account_id, e.role))
    active = targets.active()
    if hasattr(frecency, "order"):
        entries, cursor = frecency.order(entries, active)
    picker.labels(entries, active)
"""


# --------------------------------------------------------------------------- environment

def clean_environ() -> dict[str, str]:
    """The caller's environment without anything that could change what ssoenv,
    botocore or the AWS CLI do (AWS_*, SSOENV_*, XDG_*, proxies, browsers)."""
    env = {}
    for key, value in os.environ.items():
        if key.startswith(("AWS_", "SSOENV_", "XDG_", "BOTO_")):
            continue
        if key.upper() in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "BROWSER", "DISPLAY",
                           "WAYLAND_DISPLAY", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONPROFILEIMPORTTIME",
                           "PYTHONDONTWRITEBYTECODE", "VIRTUAL_ENV", "CURL_CA_BUNDLE",
                           "REQUESTS_CA_BUNDLE"):
            # PYTHONDONTWRITEBYTECODE: a user's install keeps its .pyc files; without
            # them every run would recompile ssoenv's sources and the timings would lie.
            continue
        env[key] = value
    env["HTTPS_PROXY"] = "http://127.0.0.1:9"  # dead port: never reach real AWS
    env["NO_PROXY"] = "127.0.0.1,localhost"
    env["LC_ALL"] = env.get("LC_ALL") or "C.UTF-8"
    return env


CONFIG = f"""\
[default]
region = {REGION}

[sso-session {SESSION}]
sso_start_url = {START_URL}
sso_region = {REGION}
sso_registration_scopes = sso:account:access

[profile {PROFILE}]
sso_session = {SESSION}
sso_account_id = {{account_id}}
sso_role_name = {{role}}
region = {REGION}
"""


def sandbox(emulator, account_id: str, role: str) -> Sandbox:
    """The shared sandbox (a temporary HOME with sso-session corp + profile bench, its
    environment pointing ssoenv and the AWS CLI v2 at `emulator`), not logged in yet.
    The caller closes it; the emulator stays the caller's."""
    return Sandbox({**clean_environ(), "AWS_PAGER": ""}, emulator=emulator, session=SESSION,
                   aws_config=CONFIG.format(account_id=account_id, role=role), prefix="ssoenv-bench-",
                   command=[SSOENV])


def timed_login(box: Sandbox) -> float:
    """`ssoenv login` (device code, auto-approved) in the sandbox; its wall time."""
    started = time.perf_counter()
    box.ssoenv(*box.login_command(), timeout=60)
    return time.perf_counter() - started


def catalog_file(box: Sandbox) -> Path:
    return box.path(paths.catalog_file)


def catalog_entries(box: Sandbox) -> int:
    data = json.loads(catalog_file(box).read_text())
    return sum(len(a.get("roles", [])) for s in data["sessions"].values() for a in s["accounts"])


def start_emulator(**fields):
    from ssoenv.emulator import Emulator, EmulatorConfig

    return Emulator(EmulatorConfig(**fields)).start()


def portal_calls(calls: dict) -> int:
    return sum(calls.get(op, 0) for op in ("ListAccounts", "ListAccountRoles", "GetRoleCredentials", "Logout"))


# --------------------------------------------------------------------------- measuring

@dataclasses.dataclass
class Stats:
    times: list[float]  # seconds
    tool: str

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def p90(self) -> float:
        if len(self.times) < 2:
            return self.times[0]
        return statistics.quantiles(self.times, n=10, method="inclusive")[8]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.times)

    @property
    def min(self) -> float:
        return min(self.times)

    def ratio_to(self, base: Stats) -> float:
        """The median of the per-round ratios to `base` (timed in the same rounds)."""
        return statistics.median(t / b for t, b in zip(self.times, base.times, strict=False))


def have_hyperfine() -> bool:
    return shutil.which("hyperfine") is not None


def time_commands(commands: dict[str, list[str]], env: dict[str, str], *, runs: int | dict[str, int],
                  warmup: int = 3, output: str = "null", outputs: dict[str, str] | None = None) -> dict[str, Stats]:
    """Wall time of each command (argv, no shell), `runs` times after `warmup` runs.

    Interleaved: each round runs every command once, in turn, so the floor (`python -c
    pass`) and the commands meet the same load on this shared machine (timed in separate
    blocks, a ratio drifted as the load did). Each Stats keeps its times in round order:
    two commands' times pair by index (Stats.ratio_to). subprocess + perf_counter (hyperfine
    times one command in a block, so it is not used).
    `output`: "null" (stdout to /dev/null) or "pipe" (stdout to a pipe that is read);
    `outputs`: the same per label, where it differs.
    A command that exits non-zero is an error: a benchmark must not time a failure.
    """
    per = runs if isinstance(runs, dict) else {label: runs for label in commands}
    outs = {label: (outputs or {}).get(label, output) for label in commands}
    times: dict[str, list[float]] = {label: [] for label in commands}
    for i in range(warmup + max(per.values(), default=0)):
        for label, argv in commands.items():
            if i >= warmup + per[label]:
                continue
            stdout = subprocess.DEVNULL if outs[label] == "null" else subprocess.PIPE
            started = time.perf_counter()
            run = subprocess.run(argv, env=env, stdout=stdout, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
            elapsed = time.perf_counter() - started
            if run.returncode != 0:
                raise RuntimeError(f"{label} exited {run.returncode}: {run.stderr.decode(errors='replace')}")
            if i >= warmup:
                times[label].append(elapsed)
    return {label: Stats(t, "subprocess+perf_counter, interleaved") for label, t in times.items()}


@dataclasses.dataclass
class ChildRun:
    returncode: int
    stderr: str
    seconds: float
    maxrss_bytes: int  # peak resident set size of the measured command alone
    rss_tool: str


# Peak RSS must come from a process started by a *small* parent: Linux keeps a
# process's ru_maxrss across execve, and subprocess starts children with vfork, so
# a child exec'd straight from this benchmark (which hosts the emulator) would
# report this process's high-water mark (a bare `python -c pass` read 28 MiB
# instead of 11). /usr/bin/time forks the command from its own ~1 MiB image and
# reports the grandchild alone; the fallback does the same from `python -I -S`
# (whose own ~8 MiB is then the floor of what can be reported).
_RSS_LAUNCHER = """\
import os, sys
out = sys.argv[1]
pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
with open(out, "w") as fh:
    fh.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status) & 0xFF)
"""


def run_measured(argv: list[str], env: dict[str, str], *, timeout: float = 300, stdout=subprocess.DEVNULL) -> ChildRun:
    """Run one command; its wall time, exit status, stderr and its own peak RSS."""
    with tempfile.TemporaryDirectory(prefix="ssoenv-bench-rss-") as tmp:
        rss_file = os.path.join(tmp, "maxrss")
        if os.access("/usr/bin/time", os.X_OK):
            wrapped, tool = ["/usr/bin/time", "-q", "-f", "%M", "-o", rss_file, *argv], "/usr/bin/time"
        else:
            wrapped, tool = [PYTHON, "-I", "-S", "-c", _RSS_LAUNCHER, rss_file, *argv], "python wait4 launcher"
        with tempfile.TemporaryFile() as err:
            started = time.perf_counter()
            proc = subprocess.run(wrapped, env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=err,
                                  timeout=timeout)
            elapsed = time.perf_counter() - started
            err.seek(0)
            text = err.read().decode(errors="replace")
        with open(rss_file) as fh:
            lines = [line for line in fh.read().split() if line.isdigit()]
    return ChildRun(proc.returncode, text, elapsed, int(lines[-1]) * 1024 if lines else 0, tool)


def imported_modules(argv_after_python: list[str], env: dict[str, str]) -> tuple[list[tuple[str, int, int, int]], str]:
    """`python -X importtime ARGV`: [(module, depth, self µs, cumulative µs)] in the order
    importtime prints them (children before their parent), and the rest of stderr."""
    proc = subprocess.run([PYTHON, "-X", "importtime", *argv_after_python], env=env, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=60)
    modules, other = [], []
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            parts = line[len("import time:"):].split("|")
            if parts[0].strip().isdigit():
                raw = parts[2].rstrip()
                depth = (len(raw) - len(raw.lstrip()) - 1) // 2
                modules.append((raw.strip(), depth, int(parts[0]), int(parts[1])))
        else:
            other.append(line)
    if proc.returncode != 0:
        raise RuntimeError(f"python -X importtime {' '.join(argv_after_python)} exited {proc.returncode}:\n"
                           + "\n".join(other))
    return modules, "\n".join(other)


def import_breakdown(modules: list[tuple[str, int, int, int]], skip: set[str], top: int = 6) -> list[str]:
    """The heaviest top-level imports (cumulative), each with its heaviest child:
    `ssoenv.login 15.5 ms (http.server 9.8)`. Modules in `skip` are left out."""
    out, children = [], []
    for name, depth, _self, cum in modules:
        if depth > 0:
            children.append((name, depth, cum))
            continue
        if name not in skip:
            kids = [c for c in children if c[1] == 1]
            heaviest = max(kids, key=lambda c: c[2], default=None)
            out.append((cum, f"{name} {cum / 1000:.1f} ms"
                        + (f" ({heaviest[0]} {heaviest[2] / 1000:.1f})" if heaviest else "")))
        children = []
    return [text for _, text in sorted(out, key=lambda t: -t[0])[:top]]


def forbidden_imports(modules: list[tuple[str, int, int, int]],
                      roots=("boto3", "botocore", "prompt_toolkit")) -> list[str]:
    names = {m[0] for m in modules}
    return sorted(r for r in roots if r in names or any(n.startswith(r + ".") for n in names))


# --------------------------------------------------------------------------- printing

def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def mib(nbytes: float) -> str:
    return f"{nbytes / MIB:.1f} MiB"


def print_table(title: str, headers: list[str], rows: list[list[str]]) -> None:
    cells = [headers] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False)).rstrip())
    print("  ".join("-" * w for w in widths))
    for r in cells[1:]:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip())
    sys.stdout.flush()


def machine_line() -> str:
    load = os.getloadavg()
    return (f"{time.strftime('%Y-%m-%d %H:%M %Z')}  {os.cpu_count()} CPUs  load {load[0]:.2f} {load[1]:.2f} "
            f"{load[2]:.2f}  Python {sys.version.split()[0]}  "
            "timer: subprocess+perf_counter, commands interleaved per round")


def options(doc: str, *, runs: int = 30, quick_runs: int = 8, quick_help: str = "fewer runs",
            only: str | None = None) -> tuple[argparse.Namespace, int]:
    """The benchmarks' shared command line: --quick, --runs N (and --only PARTS when
    `only` describes them); (the options, the number of timed runs)."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help=quick_help)
    ap.add_argument("--runs", type=int, help=f"timed runs per command (default {runs}, --quick {quick_runs})")
    if only:
        ap.add_argument("--only", help=only)
    opts = ap.parse_args()
    return opts, opts.runs or (quick_runs if opts.quick else runs)


def note(text: str) -> None:
    print(text, flush=True)
