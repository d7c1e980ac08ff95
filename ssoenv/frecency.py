"""How often and how recently each account/role was chosen: the picker's order.

One small JSON file in ssoenv's state directory, written atomically and bounded
in size. Choices come from the picker, `use` and `exec`. A missing or corrupt
file is an empty history, never an error: the order is a convenience.
"""

from __future__ import annotations

import time

from ssoenv import cache, paths

VERSION = 1
MAX_ENTRIES = 500  # the least valuable are dropped beyond this
_SEP = "\x1f"  # joins (sso_session, account id, role) into one JSON key


def _age_weight(age: float) -> float:
    # zoxide's weights: the last hour counts most, a month-old choice a little.
    if age < 3600:
        return 4.0
    if age < 86400:
        return 2.0
    if age < 7 * 86400:
        return 0.5
    return 0.25


def load() -> dict[tuple[str, str, str], tuple[int, float]]:
    """key -> (times chosen, last chosen at); {} when the file is missing or broken."""
    data = cache.read_json(paths.frecency_file())
    if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(data.get("entries"), dict):
        return {}
    out: dict[tuple[str, str, str], tuple[int, float]] = {}
    for key, value in data["entries"].items():
        parts = key.split(_SEP) if isinstance(key, str) else []
        if (len(parts) == 3 and isinstance(value, list) and len(value) == 2
                and isinstance(value[0], int) and isinstance(value[1], (int, float))):
            out[(parts[0], parts[1], parts[2])] = (value[0], float(value[1]))
    return out


def score(count: int, last: float, now: float) -> float:
    return count * _age_weight(now - last)


def record(key: tuple[str, str, str], now: float | None = None) -> None:
    """Count one choice of `key`. Never fails the command that made it."""
    now = time.time() if now is None else now
    try:
        history = load()
        count, _ = history.get(key, (0, now))
        history[key] = (count + 1, now)
        if len(history) > MAX_ENTRIES:
            # equal scores: the more recent stays (the choice just made always does)
            ranked = sorted(history, key=lambda k: (score(*history[k], now), history[k][1]), reverse=True)
            history = {k: history[k] for k in ranked[:MAX_ENTRIES]}
        doc = {"version": VERSION,
               "entries": {_SEP.join(k): [c, round(t, 3)] for k, (c, t) in history.items()}}
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
