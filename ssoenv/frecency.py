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


def order(entries: list, active: tuple | None = None, now: float | None = None) -> tuple[list, int]:
    """`entries` most valuable first (never-chosen ones after, in their given order),
    and the index of the most likely next choice: the most recently chosen entry
    that is not the active one (else the first that is not active)."""
    now = time.time() if now is None else now
    history = load()
    # Only the few chosen entries are sorted; the thousands of others keep their order.
    chosen_first = [e for e in entries if e.key in history]
    chosen_first.sort(key=lambda e: -score(*history[e.key], now))
    out = chosen_first + [e for e in entries if e.key not in history] if chosen_first else list(entries)
    candidates = [i for i, e in enumerate(out) if e.key != active]
    chosen = [i for i in candidates if out[i].key in history]
    if chosen:
        return out, max(chosen, key=lambda i: history[out[i].key][1])
    return out, candidates[0] if candidates else 0
