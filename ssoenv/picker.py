"""Choose one entry: fzf (through iterfzf, which ships it), else a prompt_toolkit
prompt with fuzzy completion. Esc and Ctrl-C raise KeyboardInterrupt.

Both rank the way fzf does (best match first), with the list in frecency order
so equal matches go to the entry chosen most often and most recently; "(none)"
comes last, and with no query the cursor starts on the most likely entry.
"""

from __future__ import annotations

import os

from ssoenv.catalog import Entry
from ssoenv.log import get_logger
from ssoenv.shellout import printable as _clean  # one entry per line, nothing drives the terminal

log = get_logger(__name__)

NONE_LABEL = "(none: clear the AWS identity of this shell)"
SWITCH, CONSOLE = "switch", "console"
CONSOLE_KEY, COPY_KEY, PREVIEW_KEY = "ctrl-o", "ctrl-y", "ctrl-/"
HEADER = ("Enter: switch   Esc: cancel   Ctrl-Y: copy account id   Ctrl-O: console   "
          "Ctrl-/: preview")


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
         offer_none: bool = True, cursor: int = 0, preview: list[str] | None = None,
         copy: list[str] | None = None, while_fzf_draws=None) -> tuple[str, Entry | None]:
    """(action, entry): SWITCH or CONSOLE, and the chosen entry (None: "none").

    `entries` come in the order to show them (frecency first); `cursor` is where
    the cursor starts when there is no query. `preview` and `copy` are argvs that
    fzf runs with the entry's index appended (the preview pane, the copy key).
    `while_fzf_draws` is called once fzf has every line (work fzf need not wait for).
    """
    lines = labels(entries, current)
    if offer_none:
        lines.append("  " + NONE_LABEL)
    try:
        key, index = _pick_fzf(lines, query, cursor, preview, copy, while_fzf_draws)
    except OSError as exc:  # fzf missing or cannot run here
        log.info("fzf cannot run (%s); using the built-in picker", exc)
        key, index = "", _pick_prompt_toolkit(lines, query, cursor)
    if index is None:
        raise KeyboardInterrupt
    entry = entries[index] if index < len(entries) else None
    return (CONSOLE if key == CONSOLE_KEY else SWITCH), entry


def _fzf_command(argv: list[str]) -> str:
    from ssoenv.shellout import quote_argv

    return quote_argv(argv, "sh") + " {1}"


def _pick_fzf(lines: list[str], query: str, cursor: int, preview: list[str] | None,
              copy: list[str] | None, while_fzf_draws=None) -> tuple[str, int | None]:
    if os.environ.get("SSOENV_PICKER") == "builtin":
        raise OSError("SSOENV_PICKER=builtin")
    from iterfzf import iterfzf

    extra = ["--delimiter=\t", "--with-nth=2..", "--height=40%", "--reverse", "--no-multi",
             f"--header={HEADER}", "--tiebreak=index", f"--expect={CONSOLE_KEY}",
             "--with-shell=/bin/sh -c", f"--bind={PREVIEW_KEY}:toggle-preview"]
    if not query and cursor:
        extra.append(f"--bind=load:pos({cursor + 1})")
    if preview:
        extra += [f"--preview={_fzf_command(preview)}", "--preview-window=right,45%,wrap"]
    if copy:
        extra.append(f"--bind={COPY_KEY}:execute-silent({_fzf_command(copy)})")
    def numbered():
        for i, line in enumerate(lines):
            yield f"{i}\t{line}"
        if while_fzf_draws is not None:
            while_fzf_draws()


    # multi=True only so that iterfzf returns every output line (the --expect key,
    # then the selection); --no-multi above keeps one selection.
    out = iterfzf(numbered(), query=query, prompt="aws> ", sort=True, multi=True, __extra__=extra)
    if not out or len(out) < 2:
        return "", None
    return out[0], int(out[1].split("\t", 1)[0])


def _pick_prompt_toolkit(lines: list[str], query: str, cursor: int) -> int | None:
    """The same list, ranking and default as fzf: the best match of the typed
    text (ties in list order), or with nothing typed the most likely entry."""
    from prompt_toolkit import prompt
    from prompt_toolkit.completion import FuzzyCompleter, WordCompleter

    stripped = [line.strip() for line in lines]
    completer = FuzzyCompleter(WordCompleter(stripped, sentence=True))
    likely = cursor if 0 <= cursor < len(stripped) else 0
    try:
        answer = prompt("aws> ", default=query, completer=completer, complete_while_typing=True,
                        placeholder=f"Enter: {stripped[likely]}")
    except EOFError:
        return None
    answer = answer.strip()
    if not answer:
        return likely
    if answer in stripped:
        return stripped.index(answer)
    return best_match(stripped, answer)


def _word_score(word: str, line: str) -> int | None:
    """fzf's idea in small: a word found whole beats one spread out, and one that
    starts a word beats one inside it. None: no match."""
    at = line.find(word)
    if at >= 0:
        return 3 * len(word) + (2 if at == 0 or not line[at - 1].isalnum() else 0)
    i = 0
    for ch in word:  # spread out, in order
        i = line.find(ch, i) + 1
        if not i:
            return None
    return len(word)


def best_match(lines: list[str], text: str) -> int | None:
    """The index of the best match of `text`'s words; ties go to the earlier line."""
    words = text.lower().split()
    best, best_score = None, -1
    for index, line in enumerate(lines):
        total = 0
        low = line.lower()
        for word in words:
            score = _word_score(word, low)
            if score is None:
                break
            total += score
        else:
            if total > best_score:
                best, best_score = index, total
    return best
