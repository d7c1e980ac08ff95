"""How often and how recently each account/role was chosen: the picker's order.

One small JSON file in ssoenv's state directory, written atomically (a new file
renamed over the old: a reader keeps complete bytes) and bounded in size. Choices
come from the picker, `use` and `exec`. It is read only as a regular file of at
most MAX_BYTES, opened without following a symlink and without blocking (a FIFO,
/dev/zero, a huge file); that, a missing or corrupt file, or one with a wrong
type anywhere is an empty history with one debug line, never an error: the order
is a convenience.
"""

from __future__ import annotations

import json
import os
import stat
import time

from ssoenv import cache, paths

VERSION = 1
MAX_ENTRIES = 500  # the least valuable are dropped beyond this
MAX_BYTES = 256 * 1024  # 500 entries take ~60 KB
MAX_COUNT = 10**9  # a count beyond this is not one ssoenv wrote (and could overflow a float)
_SEP = "\x1f"  # joins (sso_session, account id, role) into one JSON key
# A chained role's key names its profile too (catalog.ChainedEntry). It rides on the
# role, "Role\x1eprofile", so the key keeps its three \x1f-parts: a version that knows
# no chains reads such a file (the entry matches nothing there) rather than dropping it.
_PROFILE_SEP = "\x1e"


def _age_weight(age: float) -> float:
    # zoxide's weights: the last hour counts most, a month-old choice a little.
    if age < 3600:
        return 4.0
    if age < 86400:
        return 2.0
    if age < 7 * 86400:
        return 0.5
    return 0.25


def _debug(message: str, *args) -> None:
    from ssoenv.log import get_logger

    get_logger(__name__).debug("frecency: " + message, *args)


def _read(path) -> bytes | None:
    """The file's bytes if it is a regular file of at most MAX_BYTES; else None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:  # ELOOP: a symbolic link
        _debug("ignoring %s: %s", path, exc.strerror)
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_BYTES:
            _debug("ignoring %s: not a regular file of at most %d bytes", path, MAX_BYTES)
            return None
        data = b""
        while len(data) <= MAX_BYTES and (chunk := os.read(fd, MAX_BYTES + 1 - len(data))):
            data += chunk
        if len(data) > MAX_BYTES:  # grew while read
            _debug("ignoring %s: more than %d bytes", path, MAX_BYTES)
            return None
        return data
    except OSError as exc:
        _debug("ignoring %s: %s", path, exc.strerror)
        return None
    finally:
        os.close(fd)


def _valid(key, value) -> bool:
    return (isinstance(key, str) and key.count(_SEP) == 2 and type(value) is list and len(value) == 2
            and type(value[0]) is int and 0 < value[0] <= MAX_COUNT
            and type(value[1]) in (int, float) and 0 <= value[1] < 1e11)


def _key_text(key: tuple) -> str:
    return _SEP.join(key[:3]) + "".join(_PROFILE_SEP + part for part in key[3:])


def _key(text: str) -> tuple:
    a, b, c = text.split(_SEP)
    role, _, profile = c.partition(_PROFILE_SEP)
    return (a, b, role, profile) if profile else (a, b, c)


def load() -> dict[tuple, tuple[int, float]]:
    """key -> (times chosen, last chosen at); {} when the file is missing, not a
    small regular file, not JSON, or has anything of another shape (a count as a
    string, a list for the entries, an unknown key): a history ssoenv did not write."""
    path = paths.frecency_file()
    raw = _read(path)
    if raw is None:
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        _debug("ignoring %s: %s", path, type(exc).__name__)
        return {}
    if not (type(data) is dict and set(data) == {"version", "entries"} and type(data["version"]) is int
            and data["version"] == VERSION and type(data["entries"]) is dict
            and all(_valid(key, value) for key, value in data["entries"].items())):
        _debug("ignoring %s: not a version %d history", path, VERSION)
        return {}
    entries = data["entries"]
    return {_key(key): (count, float(last)) for key, (count, last) in entries.items()}


def score(count: int, last: float, now: float) -> float:
    return count * _age_weight(now - last)


def record(key: tuple, now: float | None = None) -> None:
    """Count one choice of `key` (an entry's: 3 parts, a chained role's 4). Never fails
    the command that made it."""
    now = time.time() if now is None else now
    if any(_SEP in part or _PROFILE_SEP in part for part in key):
        return  # a name no history could give back (never in practice)
    try:
        history = load()
        count, _ = history.get(key, (0, now))
        history[key] = (count + 1, now)
        if len(history) > MAX_ENTRIES:
            # equal scores: the more recent stays (the choice just made always does)
            ranked = sorted(history, key=lambda k: (score(*history[k], now), history[k][1]), reverse=True)
            history = {k: history[k] for k in ranked[:MAX_ENTRIES]}
        doc = {"version": VERSION,
               "entries": {_key_text(k): [c, round(t, 3)] for k, (c, t) in history.items()}}
        # no fsync: `exec` writes this on its way to the command; a crash costs one choice
        cache.atomic_write_json(paths.frecency_file(), doc, compact=True, durable=False)
    except Exception as exc:  # a read-only or full state dir must not stop a switch
        from ssoenv.log import get_logger
        get_logger(__name__).info("cannot record the choice: %s", exc)


def arrange(place, count: int, active: tuple | None = None, now: float | None = None) -> tuple[list[int], int]:
    """The picker's order over `count` entries: (the places of the entries chosen
    before, most valuable first: they go ahead of the others, which keep their
    order; where the cursor starts: the most recently chosen entry that is not the
    active one, else the first that is not active). `place(key)` is an entry's place
    in the list (None: not in it); only the few chosen keys are looked up."""
    now = time.time() if now is None else now
    history = load()
    found = [(where, key) for key in history if (where := place(key)) is not None]
    found.sort(key=lambda f: f[0])  # equal scores keep the list's order
    found.sort(key=lambda f: -score(*history[f[1]], now))
    first = [where for where, _ in found]
    others = [n for n, (_, key) in enumerate(found) if key != active]
    if others:
        return first, max(others, key=lambda n: history[found[n][1]][1])
    top = first[0] if first else 0  # what is shown first; the cursor skips it if active
    return first, 1 if count > 1 and active is not None and place(active) == top else 0


def in_order(items: list, first: list[int]) -> list:
    """`items` with those at the places `first` (arrange's) ahead, the rest as they were."""
    rest, start = [], 0
    for where in sorted(first):  # the others are slices between them: no per-item loop
        rest += items[start:where]
        start = where + 1
    return [items[where] for where in first] + rest + items[start:]
