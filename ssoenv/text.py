"""How ssoenv writes facts for people: account ids, durations, instants, tables.

One home for each, so `status`, `list`, the picker's preview and the prompt agree.
(Terminal-safe text from the network: shellout.printable.) Light: hot paths use it.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing on the hot paths
if TYPE_CHECKING:
    from collections.abc import Sequence

ACCOUNT_ID = re.compile(r"\d{12}\Z")  # an AWS account id: exactly 12 digits


def is_account_id(text: str | None) -> bool:
    return ACCOUNT_ID.match(text or "") is not None


def duration(seconds: float) -> str:
    """Time left, as the prompt shows it: `1h05m`, `45m` (negative counts as 0)."""
    hours, rest = divmod(max(int(seconds), 0), 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m"


def table(rows: Sequence[Sequence[str]], *, width: int | None = None) -> str:
    """Columns padded to their widest cell, two spaces apart, lines cut at `width`.
    Cells must already be printable (shellout.printable)."""
    if not rows:
        return ""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip() for r in rows]
    return "".join((line[:width] if width else line) + "\n" for line in lines)
