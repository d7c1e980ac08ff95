"""Choose one entry: fzf (through iterfzf, which ships it), else a prompt_toolkit
prompt with fuzzy completion. Esc and Ctrl-C raise KeyboardInterrupt."""

from __future__ import annotations

import os

from ssoenv.catalog import Entry
from ssoenv.log import get_logger

log = get_logger(__name__)

NONE_LABEL = "(none: clear the AWS identity of this shell)"


from ssoenv.shellout import printable as _clean  # one entry per line, nothing drives the terminal


def labels(entries: list[Entry], current: tuple | None) -> list[str]:
    width = min(max((len(e.account_name) for e in entries), default=0), 40)
    out = []
    for e in entries:
        mark = "*" if current == e.key else " "
        profile = f"  profile:{_clean(e.profile)}" if e.profile else ""
        out.append(f"{mark} {_clean(e.account_name).ljust(width)}  {e.account_id}  {_clean(e.role)}"
                   f"{profile}  [{_clean(e.sso_session)}]")
    return out


def pick(entries: list[Entry], *, query: str = "", current: tuple | None = None,
         offer_none: bool = True) -> Entry | None:
    """The chosen entry; None when the user chose "none"."""
    lines = labels(entries, current)
    if offer_none:
        lines.insert(0, "  " + NONE_LABEL)
    try:
        index = _pick_fzf(lines, query)
    except OSError as exc:  # fzf missing or cannot run here
        log.info("fzf cannot run (%s); using the built-in picker", exc)
        index = _pick_prompt_toolkit(lines, query)
    if index is None:
        raise KeyboardInterrupt
    if offer_none:
        if index == 0:
            return None
        index -= 1
    return entries[index]


def _pick_fzf(lines: list[str], query: str) -> int | None:
    if os.environ.get("SSOENV_PICKER") == "builtin":
        raise OSError("SSOENV_PICKER=builtin")
    from iterfzf import iterfzf

    numbered = (f"{i}\t{line}" for i, line in enumerate(lines))
    chosen = iterfzf(numbered, query=query, prompt="aws> ", __extra__=[
        "--delimiter=\t", "--with-nth=2..", "--height=40%", "--reverse", "--no-multi",
        "--header=Enter: switch   Esc: cancel", "--tiebreak=begin,index"])
    if chosen is None:
        return None
    return int(chosen.split("\t", 1)[0])


def _pick_prompt_toolkit(lines: list[str], query: str) -> int | None:
    from prompt_toolkit import prompt
    from prompt_toolkit.completion import FuzzyCompleter, WordCompleter

    stripped = [line.strip() for line in lines]
    completer = FuzzyCompleter(WordCompleter(stripped, sentence=True))
    try:
        answer = prompt("aws> ", default=query, completer=completer, complete_while_typing=True)
    except EOFError:
        return None
    answer = answer.strip()
    if answer in stripped:
        return stripped.index(answer)
    matches = [i for i, line in enumerate(stripped) if all(w in line.lower() for w in answer.lower().split())]
    return matches[0] if len(matches) == 1 else None
