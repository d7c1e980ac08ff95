"""Files ssoenv shares with the AWS CLI v2 and botocore, and its own.

All writes are atomic (a temp file in the same directory, then os.replace), 0600 in
0700 directories, and never through a symlink. Reads treat a missing or corrupt
file as absent: a broken cache must never crash a command or cost other files.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import os
import stat
import time
from pathlib import Path

from ssoenv.errors import SsoenvError
from ssoenv.log import get_logger

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hot paths
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from ssoenv.shapes import RoleCredentials

log = get_logger(__name__)

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def ensure_private_dir(path: Path) -> None:
    """Create `path` (and missing parents) 0700; tighten it if it exists and is ours."""
    missing = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            directory.mkdir(mode=0o700)
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise SsoenvError(f"refusing to use {path}: it is a symbolic link")
    if stat.S_IMODE(st.st_mode) & 0o077 and st.st_uid == os.getuid():
        os.chmod(path, 0o700)


def _create_temp(path: Path) -> tuple[int, str]:
    """A new file beside `path`, as tempfile.mkstemp makes it (O_EXCL, 0600, no
    symlink followed), without importing tempfile: ~5 ms that `exec` and the
    picker would pay for each write."""
    for _ in range(100):
        tmp = str(path.parent / f".{path.name}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no unused temporary file name", str(path.parent))


def atomic_write_bytes(path: Path, data: bytes, mode: int = 0o600, *, private: bool = True,
                       durable: bool = True) -> None:
    """Replace `path` atomically. `private` (caches, secrets): a 0700 directory, and
    never through a symlink. Otherwise (the user's config) the directory is left as is.
    `durable=False` skips the fsync, for files a crash may lose (never torn: the
    rename is still atomic) that a hot path writes."""
    if private:
        ensure_private_dir(path.parent)
        if path.is_symlink():
            raise SsoenvError(f"refusing to write {path}: it is a symbolic link")
    else:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd, tmp = _create_temp(path)
    except OSError as exc:
        raise _write_error(path, exc) from None
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            _write_data(fh, data, path)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _write_error(path, exc) from None
        raise


def _write_data(fh, data: bytes, path: Path) -> None:
    """fh.write(data); for the interruption tests, a pause half-way through.

    SSOENV_TEST_PAUSE_WRITE="TARGET<os.pathsep>FIFO" (both absolute paths; FIFO an
    existing named pipe): writing TARGET stops after half of the bytes, holding FIFO
    open for reading (the test's write-open of it succeeds only then: "we are inside
    the write"), until the test writes a byte to it. Tests signal or kill the process
    in between. Anything else is a plain write.
    """
    hook = os.environ.get("SSOENV_TEST_PAUSE_WRITE")
    if hook:
        target, _, fifo = hook.partition(os.pathsep)
        if target == str(path) and os.path.isabs(fifo) and _is_fifo(fifo):
            half = len(data) // 2
            fh.write(data[:half])
            fh.flush()
            _wait_for_go(fifo)
            data = data[half:]
    fh.write(data)


def _wait_for_go(fifo: str) -> None:
    """Poll (never block in a read) until a byte arrives: a signal sent at any moment
    is handled at once, not after a blocking read that began just after it landed."""
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        while True:
            try:
                if os.read(fd, 1):
                    return
            except BlockingIOError:
                pass  # the test holds the other end and has said nothing yet
            time.sleep(0.01)
    finally:
        os.close(fd)


def _is_fifo(path: str) -> bool:
    try:
        return stat.S_ISFIFO(os.stat(path).st_mode)
    except OSError:
        return False


class WriteError(SsoenvError):
    """A file could not be written; `strerror` is the system's reason, for callers
    (the AWS config editor) that phrase their own message."""

    def __init__(self, path: Path, strerror: str, hint: str | None):
        super().__init__(f"cannot write {path}: {strerror}", hint=hint)
        self.path, self.strerror = path, strerror


def _write_error(path: Path, exc: OSError) -> WriteError:
    """Name the file the user can fix, not our temp file (whose name means nothing)."""
    reason = exc.strerror or type(exc).__name__
    hint = None
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = f"check that the directory {path.parent} is writable by you"
    elif exc.errno in (errno.ENOSPC, errno.EDQUOT):
        hint = f"free some space on the file system of {path.parent}"
    return WriteError(path, reason, hint)


def atomic_write_json(path: Path, data: Any, *, compact: bool = False, durable: bool = True) -> None:
    if compact:
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    else:
        text = json.dumps(data, indent=2, ensure_ascii=False)
    atomic_write_bytes(path, text.encode("utf-8"), durable=durable)


def read_json(path: Path) -> Any:
    """The parsed file, or None if it is missing, unreadable or not JSON (callers check the shape)."""
    try:
        with open(path, "rb") as fh:
            return json.loads(fh.read())
    except FileNotFoundError:
        return None
    except (OSError, ValueError, RecursionError) as exc:
        # RecursionError: JSON nested deeper than the parser's stack (a corrupt or
        # hostile file) is as unreadable as any other.
        log.debug("ignoring unreadable cache file %s: %s", path, type(exc).__name__)
        return None


def read_head(path: Path, size: int) -> bytes | None:
    """The first `size` bytes of the file (fewer if it is shorter), or None if it
    is missing or unreadable."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            return os.read(fd, size)
        finally:
            os.close(fd)
    except OSError as exc:
        if not isinstance(exc, FileNotFoundError):
            log.debug("ignoring unreadable cache file %s: %s", path, type(exc).__name__)
        return None


def read_bytes(path: Path) -> bytes | None:
    """The file's bytes, or None if it is missing, unreadable or a symbolic link
    (what ssoenv keeps is never written through one, so one is not ssoenv's)."""
    try:
        with open(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC), "rb") as fh:
            return fh.read()
    except OSError as exc:
        if not isinstance(exc, FileNotFoundError):
            log.debug("ignoring unreadable cache file %s: %s", path, type(exc).__name__)
        return None


def remove(path: Path) -> bool:
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False


@contextlib.contextmanager
def file_lock(path: Path, timeout: float | None = None) -> Iterator[None]:
    """An exclusive advisory lock held for the block; waits for other processes."""
    ensure_private_dir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (fcntl.LOCK_NB if deadline else 0))
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES) or deadline is None:
                    raise
                if time.monotonic() > deadline:
                    raise SsoenvError(f"timed out waiting for another ssoenv process ({path.name})") from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def read_credentials(path: Path, provider: str, min_valid: float) -> RoleCredentials | None:
    """`Credentials` of a role-credential cache file (the AWS CLI v2's shape) written
    by `provider` ("sso", "assume-role"), if at least `min_valid` seconds remain."""
    data = read_json(path)
    if not isinstance(data, dict) or data.get("ProviderType") != provider:
        return None
    creds = data.get("Credentials")
    if not isinstance(creds, dict) or not all(isinstance(creds.get(k), str) and creds[k]
                                              for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")):
        return None
    expires = parse_time(creds.get("Expiration", ""))
    if not expires or (expires - now()).total_seconds() < min_valid:
        return None
    found: RoleCredentials = creds  # type: ignore[assignment]  # its shape checked above
    return found


# --- times, as the AWS CLI v2 writes and reads them -------------------------------

def format_time(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).strftime(TIME_FORMAT)


def parse_time(text: str) -> dt.datetime | None:
    """Parse the CLI v2 format, the old `...UTC` one and JS `toISOString()` forms."""
    if not isinstance(text, str):
        return None
    value = text.strip()
    if value.endswith("UTC"):
        value = value[:-3].strip()
    if value.endswith("Z") or value.endswith("z"):
        value = value[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def epoch(when: dt.datetime) -> int:
    return int(when.timestamp())
