"""`ssoenv exec --each PATTERN -- CMD`: one command in many accounts/roles at once.

The order of a run: select targets from the catalog's entries (globs, exclusions),
ask once (or --yes), get every target's role credentials before the first command
starts (the shared cache where valid, else one paced portal client per login: one
login at most, 429s slow it down and never fail it), then run up to --parallel
commands. One thread (the main one) starts the children, reads their pipes and
writes every output line whole with its target's prefix: no two writers, so no
line is ever cut by another. Children run in their own process groups (Ctrl-C
reaches ssoenv only, which forwards SIGINT, then SIGKILL on a second Ctrl-C) and
die with ssoenv (ssoenv.lifeline).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import time

from ssoenv.catalog import ChainedEntry, Entry
from ssoenv.errors import ExitStatus, LoginRequired, SsoenvError, UsageError
from ssoenv.shellout import printable

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    import subprocess

    from ssoenv.shapes import RoleCredentials

DEFAULT_PARALLEL = 8
SHOWN_IN_CONSENT = 5
READ_SIZE = 65536
STATUS_EVERY = 0.1  # s between redraws of the status line
SEPARATOR = " \u2502 "  # ' │ '
COLOURS = (31, 32, 33, 34, 35, 36, 91, 92, 93, 94, 95, 96)

# run states, as the summary and --json name them
OK, FAILED, SKIPPED, INTERRUPTED, NOT_STARTED = "ok", "failed", "skipped", "interrupted", "not started"


class Job:
    """One command: a target in one region."""

    __slots__ = ("entry", "region", "label", "creds", "error", "proc", "pidfd", "started", "ended", "state",
                 "exit_status", "last_err", "files", "partial", "pipes", "spool", "token")

    def __init__(self, entry: Entry, region: str | None, label: str):
        self.entry, self.region, self.label = entry, region, label
        self.creds: RoleCredentials | None = None
        self.error: str | None = None
        self.proc: subprocess.Popen | None = None
        self.pidfd = -1
        self.started = self.ended = 0.0
        self.state = NOT_STARTED
        self.exit_status: int | None = None
        self.last_err = b""
        self.files: tuple[str, str] | None = None  # --output-dir: (stdout path, stderr path)
        self.partial: dict[int, bytearray] = {}  # stream (1, 2) -> an unfinished line
        self.pipes: dict[int, int] = {}  # pipe fd -> stream (1, 2)
        self.spool: dict[int, object] = {}  # --group: stream -> a spooled file of prefixed lines
        self.token: str | None = None


# --- arguments --------------------------------------------------------------------

def add_arguments(p) -> None:
    g = p.add_argument_group("many targets (exec --each)")
    g.add_argument("--each", metavar="PATTERN", action="append",
                   help="run the command in every account/role matching PATTERN (a shell glob on "
                        "ACCOUNT/ROLE, account id, account name or profile); repeatable")
    g.add_argument("--exclude", metavar="PATTERN", action="append", default=[],
                   help="leave out the targets matching PATTERN; repeatable")
    g.add_argument("--parallel", metavar="N", type=int,
                   help=f"commands at once (default: {DEFAULT_PARALLEL})")
    g.add_argument("--region", metavar="R1,R2", help="AWS_REGION of the commands; several: each target once per region")
    g.add_argument("--yes", action="store_true", help="run in more than one target without asking "
                   "(required without a terminal)")
    g.add_argument("--dry-run", "--list", dest="dry_run", action="store_true",
                   help="print the selected targets and exit")
    g.add_argument("--group", action="store_true", help="print each command's output in one piece when it ends")
    g.add_argument("--output-dir", metavar="DIR", help="write DIR/ACCOUNT_ROLE[_REGION].out and .err instead")
    g.add_argument("--json", action="store_true", help="the summary as JSON on stdout (command output "
                   "then goes to stderr, unless --output-dir)")
    g.add_argument("--fail-fast", action="store_true", help="start no more commands after the first failure")


# --- selection --------------------------------------------------------------------

def _names(entry: Entry) -> tuple:
    """What a PATTERN is matched against."""
    names = (f"{entry.account_name}/{entry.role}", f"{entry.account_id}/{entry.role}", entry.account_id,
             entry.account_name)
    return names + (entry.profile,) if entry.profile else names


def _matches(entry: Entry, pattern: str) -> bool:
    from fnmatch import fnmatchcase

    return any(fnmatchcase(name, pattern) for name in _names(entry) if name)


def all_entries(config, sso_session: str | None) -> list[Entry]:
    """Every entry of the catalog (and the config's profiles): the list the picker shows;
    the lists of logins never fetched are fetched first (a login only at a terminal)."""
    from ssoenv import catalog, sync

    data = sync.load_fresh(config)
    pending = [s for s in catalog.unlisted(config, data)
               if not sso_session or catalog.login_key(s) == sso_session]
    if pending:
        failed = sync.fetch_lists(config, pending, interactive=None)
        logins = [exc for exc in failed.values() if isinstance(exc, LoginRequired)]
        data = catalog.load()
        if logins and not data["sessions"]:
            raise logins[0]
    entries = catalog.entries(config, data)
    if sso_session:
        entries = [e for e in entries if e.sso_session == sso_session]
    return entries


def select(entries: list[Entry], patterns: list[str], excludes: list[str]) -> list[Entry]:
    """The entries any of `patterns` matches and none of `excludes` does, sorted, once each;
    UsageError naming the closest names when none is left."""
    for pattern in patterns + excludes:
        if not pattern.strip():
            raise UsageError("an empty PATTERN matches nothing")
    chosen = {e.key: e for e in entries if any(_matches(e, p) for p in patterns)}
    if not chosen:
        raise UsageError(f"no account/role matches {', '.join(repr(printable(p)) for p in patterns)}"
                         + _closest(entries, patterns), hint="see `ssoenv list`; run `ssoenv sync` if it is new")
    kept = [e for e in chosen.values() if not any(_matches(e, p) for p in excludes)]
    if not kept:
        raise UsageError(f"every target matching {', '.join(repr(printable(p)) for p in patterns)} is excluded")
    kept.sort(key=lambda e: ((e.account_name or "").lower(), e.account_id, e.role))
    return kept


def _closest(entries: list[Entry], patterns: list[str]) -> str:
    import difflib

    names = sorted({n for e in entries for n in (f"{e.account_name}/{e.role}", e.account_name, e.profile) if n})
    close: list[str] = []
    for pattern in patterns:
        plain = pattern.replace("*", "").replace("?", "")
        close += [n for n in difflib.get_close_matches(pattern, names, n=5, cutoff=0.5)
                  + difflib.get_close_matches(plain, names, n=5, cutoff=0.5) if n not in close]
    return f"; closest: {', '.join(printable(n) for n in close[:5])}" if close else ""


# --- labels, file names -----------------------------------------------------------

def _label(entry: Entry, region: str | None) -> str:
    text = f"{printable(entry.account_name or entry.account_id)}/{printable(entry.role)}"
    return f"{text} {printable(region)}" if region else text


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str, fallback: str) -> str:
    """A file name part from a name the network gave: letters, digits, `._-`, no leading dot."""
    name = _UNSAFE.sub("_", text).lstrip(".")[:80]
    return name if name.strip("_") else fallback


def output_names(jobs: list[Job], with_region: bool) -> list[str]:
    """`ACCOUNT_ROLE[_REGION]` per job, distinct (a clash gets the account id)."""
    used: set[str] = set()
    out = []
    for job in jobs:
        e = job.entry
        base = f"{safe_name(e.account_name, e.account_id)}_{safe_name(e.role, 'role')}"
        suffix = f"_{safe_name(job.region or '', 'region')}" if with_region else ""
        name = base + suffix
        if name in used:
            name = f"{base}-{e.account_id}{suffix}"
        n = 2
        while name in used:
            name, n = f"{base}-{e.account_id}-{n}{suffix}", n + 1
        used.add(name)
        out.append(name)
    return out


# --- consent ----------------------------------------------------------------------

def consent(jobs: list[Job], argv: list[str], yes: bool) -> None:
    from ssoenv import terminal

    targets = list({j.entry.key: _label(j.entry, None) for j in jobs}.values())  # regions aside
    if len(targets) <= 1 or yes:
        return
    if not terminal.is_interactive():
        raise UsageError(f"{len(targets)} targets selected: without a terminal, say --yes to run in all of them",
                         hint="check the selection first with --dry-run")
    shown = ", ".join(targets[:SHOWN_IN_CONSENT])
    more = f" and {len(targets) - SHOWN_IN_CONSENT} more" if len(targets) > SHOWN_IN_CONSENT else ""
    sys.stderr.write(f"ssoenv: run `{printable(' '.join(argv))}` in {len(targets)} targets: {shown}{more}?"
                     " [y/N] ")
    sys.stderr.flush()
    try:
        answer = sys.stdin.readline()
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        raise
    if answer.strip().lower() not in ("y", "yes"):
        raise SsoenvError("nothing run")


# --- credentials ------------------------------------------------------------------

def fetch_credentials(config, jobs: list[Job], min_valid: float) -> None:
    """Role credentials for every job (job.creds), or the reason why not (job.error).

    Cached ones where valid; the rest through one paced portal client per login,
    after at most one login (or silent renewal) for it."""
    from ssoenv import creds

    by_target: dict[tuple, list[Job]] = {}
    for job in jobs:
        by_target.setdefault(job.entry.key, []).append(job)
    by_login: dict[str, tuple] = {}
    chained: list[list[Job]] = []
    for group in by_target.values():
        entry = group[0].entry
        if isinstance(entry, ChainedEntry):  # assumed from its SSO role: creds.get walks the chain
            chained.append(group)
            continue
        try:
            session = creds.session_of(config, entry)
        except SsoenvError as exc:
            for job in group:
                job.error = exc.message
            continue
        found = creds.cached(session, entry, min_valid)
        if found:
            for job in group:
                job.creds = found
        else:
            by_login.setdefault(session.label, (session, []))[1].append(group)
    for session, groups in by_login.values():
        _fetch_paced(session, groups)
    for n, group in enumerate(chained):  # few (one per chained profile); the first may log in
        try:
            found, error = creds.get(config, group[0].entry, interactive=None if n == 0 else False,
                                     min_valid=min_valid), None
        except LoginRequired:
            raise
        except SsoenvError as exc:
            found, error = None, exc.message
        for job in group:
            job.creds, job.error = found, error


def _fetch_paced(session, groups: list[list[Job]]) -> None:
    import concurrent.futures

    from ssoenv import creds, identity, login, pacing, settings

    login.ensure_token(session)  # the one login (or renewal) this run may need: before the threads
    workers = max(1, min(len(groups), settings.get_int("sync_concurrency") or 8))
    pacer = pacing.Pacer()
    client = identity.paced_portal(session.region, pacer, max_pool=workers)

    def one(group: list[Job], interactive: bool | None = False) -> None:
        entry = group[0].entry
        try:
            found, error = creds.fetch(session, entry, interactive=interactive, client=client), None
        except LoginRequired:
            raise  # no target of this login can run: say so once, run nothing
        except SsoenvError as exc:
            found, error = None, exc.message
        for job in group:
            job.creds, job.error = found, error

    # alone first (a login at a terminal if needed): a token the portal refuses is renewed
    # once, not by every thread
    one(groups[0], None)
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(one, g) for g in groups[1:]]
        try:
            for future in futures:
                future.result()
        except BaseException:  # Ctrl-C, a login needed: the calls not sent yet are not sent
            for future in futures:
                future.cancel()
            raise
    from ssoenv.log import get_logger

    get_logger(__name__).info("%s: role credentials for %d targets in %.1f s (%d calls, %d throttled, paced at %s/s)",
                              session.label, len(groups), time.monotonic() - started, pacer.calls,
                              pacer.throttles, f"{pacer.rate:.1f}" if pacer.rate else "no limit")


# --- the run ----------------------------------------------------------------------

def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:  # a non-blocking terminal: wait for room
            import select

            select.select([], [fd], [])


class Runner:
    """Starts the jobs, up to `parallel` at once, and writes their output: the only writer."""

    def __init__(self, jobs: list[Job], argv: list[str], env_for, *, parallel: int, group: bool,
                 out_fd: int, fail_fast: bool, status_line: bool, colour: bool):
        self.jobs, self.argv, self.env_for = jobs, argv, env_for
        self.parallel, self.group, self.out_fd, self.fail_fast = parallel, group, out_fd, fail_fast
        self.status_line, self.interrupts, self.failed = status_line, 0, False
        self.running: dict[int, Job] = {}  # pidfd -> job
        self.by_pipe: dict[int, Job] = {}
        self.started_at = time.monotonic()
        self.status_shown = False
        self.last_status = 0.0
        width = max((len(j.label) for j in jobs), default=0)
        self.prefix: dict[int, bytes] = {}
        for i, job in enumerate(jobs):
            text = job.label.ljust(width)
            if colour:
                import zlib

                text = f"\033[{COLOURS[zlib.crc32(job.label.encode()) % len(COLOURS)]}m{text}\033[0m"
            self.prefix[i] = (text + SEPARATOR).encode("utf-8", "replace")
        self.index = {id(j): i for i, j in enumerate(jobs)}
        self.clear_before = {1: status_line and os.isatty(1), 2: status_line}

    # -- output --

    def _emit(self, job: Job, stream: int, data: bytes, final: bool = False) -> None:
        """Complete lines of `data` (after what was held back) go out whole, prefixed."""
        held = job.partial.get(stream)
        cut = len(data) if final else data.rfind(b"\n") + 1
        if not cut and not final:  # still no end of line: keep it (appended, never copied whole again)
            if held is None:
                held = job.partial[stream] = bytearray()
            held += data
            return
        if held:
            data = bytes(held) + data
            cut += len(held)
            held.clear()
        if cut < len(data):
            job.partial[stream] = bytearray(data[cut:])
            data = data[:cut]
        if not data:
            return
        lines = (data[:-1] if data.endswith(b"\n") else data).split(b"\n")  # only \n ends a line
        if stream == 2:
            last = next((ln for ln in reversed(lines) if ln.strip()), b"")
            if last:
                job.last_err = last[-400:]
        prefix = self.prefix[self.index[id(job)]]
        out = prefix + (b"\n" + prefix).join(lines) + b"\n"
        if self.group:
            spool = job.spool.get(stream)
            if spool is None:
                import tempfile

                spool = job.spool[stream] = tempfile.SpooledTemporaryFile(max_size=256 * 1024)
            spool.write(out)  # type: ignore[attr-defined]
            return
        self._out(self.out_fd if stream == 1 else 2, out)

    def _out(self, fd: int, data: bytes) -> None:
        if self.status_shown and self.clear_before.get(fd):
            _write(2, b"\r\033[K")
            self.status_shown = False
        _write(fd, data)

    def _flush_group(self, job: Job) -> None:
        for stream in (1, 2):
            spool = job.spool.pop(stream, None)
            if spool is None:
                continue
            spool.seek(0)  # type: ignore[attr-defined]
            fd = self.out_fd if stream == 1 else 2
            while True:
                chunk = spool.read(READ_SIZE)  # type: ignore[attr-defined]
                if not chunk:
                    break
                self._out(fd, chunk)
            spool.close()  # type: ignore[attr-defined]

    def _status(self, force: bool = False) -> None:
        if not self.status_line:
            return
        now = time.monotonic()
        if not force and now - self.last_status < STATUS_EVERY:
            return
        self.last_status = now
        done = sum(1 for j in self.jobs if j.state in (OK, FAILED) and j.ended)
        failed = sum(1 for j in self.jobs if j.state in (FAILED, SKIPPED))
        left = sum(1 for j in self.jobs if j.state == NOT_STARTED and not j.error)
        text = (f"ssoenv: {done} done, {len(self.running)} running, {failed} failed, {left} left, "
                f"{now - self.started_at:.0f}s")
        try:
            width = os.get_terminal_size(2).columns
        except OSError:
            width = 80
        _write(2, ("\r\033[K" + text[:max(width - 1, 10)]).encode())
        self.status_shown = True

    # -- children --

    def _start(self, job: Job, selector) -> None:
        import selectors
        import subprocess

        job.started = time.monotonic()
        files = None
        try:
            out: object = subprocess.PIPE
            err: object = subprocess.PIPE
            if job.files:
                files = [open(p + ".partial", "wb", opener=_private_opener) for p in job.files]
                out, err = files
            job.proc = proc = subprocess.Popen(self.launch, stdin=subprocess.DEVNULL, stdout=out, stderr=err,  # type: ignore[call-overload]
                                               env=self.env_for(job), **self.popen_options)
        except OSError as exc:
            for path in job.files or ():  # nothing ran: no file to leave behind
                with contextlib.suppress(OSError):
                    os.unlink(path + ".partial")
            job.files = None
            job.state, job.ended, job.exit_status = FAILED, time.monotonic(), 127
            job.last_err = f"cannot run {self.argv[0]}: {exc.strerror}".encode()
            self.failed = True
            return
        finally:
            for f in files or ():
                f.close()
        job.state = "running"
        job.pidfd = os.pidfd_open(proc.pid)
        self.running[job.pidfd] = job
        selector.register(job.pidfd, selectors.EVENT_READ, None)
        for stream, pipe in ((1, proc.stdout), (2, proc.stderr)):
            if pipe is not None:
                fd = pipe.fileno()
                os.set_blocking(fd, False)
                job.pipes[fd] = stream
                self.by_pipe[fd] = job
                selector.register(fd, selectors.EVENT_READ, None)

    def _read(self, fd: int, selector) -> None:
        job = self.by_pipe[fd]
        try:
            data = os.read(fd, READ_SIZE)
        except BlockingIOError:
            return
        if data:
            self._emit(job, job.pipes[fd], data)
        else:
            self._close_pipe(job, fd, selector)

    def _close_pipe(self, job: Job, fd: int, selector) -> None:
        selector.unregister(fd)
        stream = job.pipes.pop(fd)
        del self.by_pipe[fd]
        if job.partial.get(stream):
            self._emit(job, stream, b"", final=True)

    def _finish(self, job: Job, selector) -> None:
        """The child exited: what it left in its pipes, then its status."""
        assert job.proc is not None
        for fd in list(job.pipes):
            while True:
                try:
                    data = os.read(fd, READ_SIZE)
                except BlockingIOError:
                    data = b""
                if not data:
                    break
                self._emit(job, job.pipes[fd], data)
            self._close_pipe(job, fd, selector)
        for pipe in (job.proc.stdout, job.proc.stderr):
            if pipe is not None:
                pipe.close()
        code = job.proc.wait()
        selector.unregister(job.pidfd)
        del self.running[job.pidfd]
        os.close(job.pidfd)
        job.ended = time.monotonic()
        job.exit_status = 128 - code if code < 0 else code
        if self.interrupts:
            job.state = INTERRUPTED
        else:
            job.state = OK if code == 0 else FAILED
        if job.files:
            if job.state == INTERRUPTED:
                job.files = (job.files[0] + ".partial", job.files[1] + ".partial")
            else:
                for path in job.files:
                    os.replace(path + ".partial", path)
            if job.state != OK:
                job.last_err = _last_line(job.files[1])
        if self.group:
            self._flush_group(job)
        if job.state == FAILED:
            self.failed = True

    def _signal_all(self, sig: int) -> None:
        for job in self.running.values():
            try:
                os.killpg(job.proc.pid, sig)  # type: ignore[union-attr]  # running: started
            except (ProcessLookupError, PermissionError):
                pass

    def run(self) -> None:
        import selectors

        from ssoenv import lifeline

        prefix, die_with_us = lifeline.launcher()
        self.launch = prefix + self.argv
        # Each command in its own process group: Ctrl-C at the terminal reaches ssoenv only.
        if die_with_us is None and sys.version_info >= (3, 11):
            self.popen_options: dict = {"process_group": 0}  # set by subprocess itself: vfork stays possible
        else:
            def child_setup() -> None:
                os.setpgid(0, 0)
                if callable(die_with_us):
                    die_with_us()

            self.popen_options = {"preexec_fn": child_setup}
        queue = [j for j in self.jobs if j.error is None]
        queue.reverse()
        for job in self.jobs:
            if job.error is not None:
                job.state = SKIPPED
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)

        def interrupted(signum, _frame):  # the loop forwards it (the wakeup fd ends its wait)
            self.interrupts += 1

        selector = selectors.DefaultSelector()
        selector.register(wake_r, selectors.EVENT_READ, None)
        previous_wakeup = signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
        previous = {sig: signal.signal(sig, interrupted) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        sent = 0  # interrupts forwarded to the children
        try:
            while True:
                if self.interrupts > sent:  # Ctrl-C once: SIGINT to every command; again: SIGKILL
                    sent = self.interrupts
                    self._signal_all(signal.SIGINT if sent == 1 else signal.SIGKILL)
                while queue and len(self.running) < self.parallel and not self.interrupts \
                        and not (self.fail_fast and self.failed):
                    self._start(queue.pop(), selector)
                if not self.running:
                    break
                self._status()
                exited = []
                for key, _ in selector.select(STATUS_EVERY if self.status_line else None):
                    fd = key.fd
                    if fd == wake_r:
                        try:
                            os.read(wake_r, 512)
                        except BlockingIOError:
                            pass
                    elif fd in self.by_pipe:
                        self._read(fd, selector)
                    elif fd in self.running:
                        exited.append(self.running[fd])
                for job in exited:  # after the reads: _finish drains what is left
                    self._finish(job, selector)
        finally:
            if self.running:  # an error of ours: no child outlives the run
                self._signal_all(signal.SIGKILL)
                for job in self.running.values():
                    job.proc.wait()  # type: ignore[union-attr]
                    job.state = INTERRUPTED
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            signal.set_wakeup_fd(previous_wakeup)
            selector.close()
            os.close(wake_r)
            os.close(wake_w)
            if self.status_shown:
                _write(2, b"\r\033[K")


def _private_opener(path: str, flags: int) -> int:
    """Output files: never through a symlink (a planted one would redirect the output)."""
    return os.open(path, flags | os.O_NOFOLLOW, 0o600)


def _last_line(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4096))
            tail = f.read()
    except OSError:
        return b""
    return next((ln for ln in reversed(tail.splitlines()) if ln.strip()), b"")[-400:]


# --- summary ----------------------------------------------------------------------

def _row_status(job: Job) -> str:
    if job.state == SKIPPED:
        return "skipped"
    if job.state == OK:
        return "ok"
    if job.state == FAILED:
        return f"exit {job.exit_status}" if job.exit_status is not None and job.exit_status < 128 \
            else f"signal {job.exit_status - 128}" if job.exit_status else "failed"
    return job.state


def summary_table(jobs: list[Job]) -> str:
    from ssoenv import text

    rows = [["TARGET", "REGION", "STATUS", "TIME", "LAST STDERR LINE"]]
    for job in jobs:
        took = f"{job.ended - job.started:.1f}s" if job.ended else "-"
        why = job.error or ""
        if job.state != OK and job.last_err:
            why = job.last_err.decode("utf-8", "replace").strip()
        if job.files and job.state == INTERRUPTED:
            why = f"output incomplete: {job.files[0]}, {job.files[1]}" + (f"; {why}" if why else "")
        rows.append([job.label, job.region or "-", _row_status(job), took, printable(why)[:200]])
    counts: dict[str, int] = {}
    for job in jobs:
        counts[job.state] = counts.get(job.state, 0) + 1
    total = ", ".join(f"{n} {state}" for state, n in counts.items())
    return text.table(rows) + f"ssoenv: {len(jobs)} runs: {total}\n"


def summary_json(jobs: list[Job], status: int, interrupted: bool) -> str:
    import json

    runs = []
    for job in jobs:
        e = job.entry
        runs.append({"target": job.label, "account_id": e.account_id, "account_name": e.account_name,
                     "role": e.role, "sso_session": e.sso_session, "profile": e.profile, "region": job.region,
                     "status": job.state, "exit_status": job.exit_status,
                     "duration": round(job.ended - job.started, 3) if job.ended else None,
                     "stdout": job.files[0] if job.files else None, "stderr": job.files[1] if job.files else None,
                     "output_complete": job.state != INTERRUPTED if job.files else None,
                     "error": job.error or (job.last_err.decode("utf-8", "replace").strip()
                                            if job.state != OK and job.last_err else None)})
    counts: dict[str, int] = {}
    for job in jobs:
        counts[job.state] = counts.get(job.state, 0) + 1
    return json.dumps({"exit_status": status, "interrupted": interrupted, "counts": counts, "runs": runs},
                      indent=2) + "\n"


# --- the command ------------------------------------------------------------------

def run(args) -> int:
    from ssoenv import awsconfig, switch

    if args.target and not getattr(args, "_after_dashes", False):
        raise UsageError("with --each, the command goes after --: ssoenv exec --each PATTERN -- CMD ARGS...")
    if args.target or args.account or args.role:
        raise UsageError("give either TARGET (or --account/--role) or --each, not both")
    if args.parallel is None:
        args.parallel = DEFAULT_PARALLEL
    if args.parallel < 1:
        raise UsageError("--parallel must be at least 1")
    argv = args.command_argv
    if not argv and not args.dry_run:
        raise UsageError("nothing to run: ssoenv exec --each PATTERN -- CMD ARGS...")
    regions: list[str | None] = [None]
    if args.region is not None:
        regions = list(dict.fromkeys(r.strip() for r in args.region.split(",") if r.strip()))
        if not regions or not all(re.fullmatch(r"[a-z0-9-]+", r) for r in regions):  # type: ignore[arg-type]
            raise UsageError(f"--region: not a list of regions: {printable(args.region)!r}")
    if argv and not args.dry_run:
        _check_command(argv[0])
    config = awsconfig.load()
    entries = select(all_entries(config, args.sso_session), args.each, args.exclude)
    jobs = [Job(e, r, _label(e, r if len(regions) > 1 else None)) for e in entries for r in regions]
    if args.dry_run:
        return _print_selection(jobs, args.json)
    consent(jobs, argv, args.yes)
    if args.output_dir:
        os.makedirs(args.output_dir, exist_ok=True)
        for job, name in zip(jobs, output_names(jobs, args.region is not None), strict=True):
            base = os.path.join(args.output_dir, name)
            job.files = (base + ".out", base + ".err")
    server = args.server if args.server is not None else _server_by_default()
    endpoint = None
    if server:
        from ssoenv import credserver

        fetch_credentials(config, jobs, credserver.REFRESH_AHEAD)
        endpoint = _ManyEndpoint().start()
        sources: dict[tuple, object] = {}
        for job in jobs:
            if job.creds is not None:
                source = sources.get(job.entry.key)
                if source is None:
                    source = sources[job.entry.key] = credserver.RoleCredentials(config, job.entry, job.creds)
                job.token = endpoint.add(source)
        inherited = dict(os.environ)

        def env_for(job: Job) -> dict[str, str]:
            facts = credserver._prompt_facts(job.entry)  # SSOENV_*, the region
            if job.region:
                facts += [(name, job.region) for name in switch.REGION_VARS]
            env = credserver.child_environment(inherited, endpoint, facts)
            env[credserver.TOKEN_VAR] = job.token or ""
            return env
    else:
        from ssoenv import creds

        fetch_credentials(config, jobs, creds.MIN_VALID)

        def env_for(job: Job) -> dict[str, str]:
            region = job.region or switch.region_for(job.entry) or switch.inherited_region()
            assert job.creds is not None  # jobs without credentials are skipped
            return switch.child_environment(job.entry, job.creds, region, creds.expiry_epoch(job.creds))

    out_fd = 2 if args.json else 1
    colour = not os.environ.get("NO_COLOR") and os.isatty(out_fd) and os.isatty(2) and not args.output_dir
    runner = Runner(jobs, argv, env_for, parallel=args.parallel, group=args.group, out_fd=out_fd,
                    fail_fast=args.fail_fast, status_line=os.isatty(2), colour=colour)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        runner.run()
    finally:
        if endpoint is not None:
            endpoint.close()
    interrupted = runner.interrupts > 0
    if interrupted:
        status = ExitStatus.INTERRUPTED
    elif all(j.state == OK for j in jobs):
        status = ExitStatus.OK
    else:
        status = ExitStatus.ERROR
    table = summary_table(jobs)
    sys.stderr.write(table.rsplit("\n", 2)[-2] + "\n" if args.json else table)  # --json: its totals line only
    sys.stderr.flush()
    if args.json:
        sys.stdout.write(summary_json(jobs, int(status), interrupted))
        sys.stdout.flush()
    return int(status)


def _check_command(command: str) -> None:
    """Say once that the command cannot run, rather than once per target."""
    import shutil

    if os.sep in command:
        found = os.path.isfile(command) and os.access(command, os.X_OK)
    else:
        found = shutil.which(command) is not None
    if not found:
        raise SsoenvError(f"command not found: {printable(command)}", ExitStatus.NOT_FOUND)


def _print_selection(jobs: list[Job], as_json: bool) -> int:
    if as_json:
        import json

        sys.stdout.write(json.dumps([{**j.entry.as_json(), "region": j.region} for j in jobs], indent=2) + "\n")
    else:
        from ssoenv import text

        sys.stdout.write(text.table([[j.entry.account_id, j.label, printable(j.entry.sso_session)] for j in jobs]))
    sys.stderr.write(f"ssoenv: {len(jobs)} target{'s' if len(jobs) != 1 else ''} selected\n")
    return 0


def _server_by_default() -> bool:
    from ssoenv import settings

    return settings.get_bool("exec_server")


def _many_endpoint_class():
    from ssoenv import credserver

    class ManyEndpoint(credserver.Endpoint):
        """One endpoint, one token per target: a child reads only its own target's credentials."""

        def __init__(self):
            super().__init__(None)  # sources come per token (source_for)
            self.sources: dict[str, credserver.RoleCredentials] = {}

        def add(self, source) -> str:
            token = credserver._random_token()
            self.sources[token] = source
            return token

        def source_for(self, given: str):
            given_bytes = given.encode("utf-8", "replace")
            found = None
            for token, source in self.sources.items():  # each compared in constant time, as Endpoint does
                if credserver.compare_digest(given_bytes, token.encode()):
                    found = source
            return found

    return ManyEndpoint


def _ManyEndpoint():  # noqa: N802 - a class made on first use (credserver is imported only with --server)
    return _many_endpoint_class()()
