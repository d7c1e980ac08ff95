"""Choose one entry: fzf (through iterfzf, which ships it), else a prompt_toolkit
prompt with fuzzy completion. Esc and Ctrl-C raise KeyboardInterrupt.

Both rank the way fzf does (best match first), with the list in frecency order
so equal matches go to the entry chosen most often and most recently; "(none)"
comes last, and with no query the cursor starts on the most likely entry; once
anything is typed it is on the best match (the first line), however early or late
the typing starts.
"""

from __future__ import annotations

import os

from ssoenv.log import get_logger

log = get_logger(__name__)

NONE_LABEL = "(none: clear the AWS identity of this shell)"
SWITCH, CONSOLE = "switch", "console"
CONSOLE_KEY, COPY_KEY, PREVIEW_KEY = "ctrl-o", "ctrl-y", "ctrl-/"
# Two short lines (^Y is Ctrl-Y): beside the open preview the list is ~40 columns wide
# on an 80-column terminal.
HEADER = "Enter: switch   Esc: cancel\n^Y: copy id  ^O: console  ^/: preview"


def pick(lines: list[str], *, query: str = "", cursor: int = 0, preview: list[str] | None = None,
         copy: list[str] | None = None, while_fzf_draws=None) -> tuple[str, int]:
    """(action, number): SWITCH or CONSOLE, and the number the chosen line carries.

    `lines` (ssoenv.listing.picker_rows) come in the order
    to show them: "NUMBER<tab>LABEL". `cursor` is where the cursor starts when there is
    no query. `preview` and `copy` are argvs that fzf runs with the line's number
    appended (the preview pane, the copy key). `while_fzf_draws` is called once fzf
    has every line (work fzf need not wait for).
    """
    try:
        key, line = _pick_fzf(lines, query, cursor, preview, copy, while_fzf_draws)
    except OSError as exc:  # fzf missing or cannot run here
        log.info("fzf cannot run (%s); using the built-in picker", exc)
        index = _pick_prompt_toolkit([line.partition("\t")[2] for line in lines], query, cursor)
        key, line = "", None if index is None else lines[index]
    if line is None:
        raise KeyboardInterrupt
    return (CONSOLE if key == CONSOLE_KEY else SWITCH), int(line.partition("\t")[0])


def _fzf_command(argv: list[str]) -> str:
    from ssoenv.shellout import quote_argv

    return quote_argv(argv, "sh") + " {1}"


def _fzf_executable() -> str:
    """The fzf that iterfzf ships (found without importing iterfzf: it imports typing,
    ~6 ms), else fzf on PATH."""
    import importlib.util

    spec = importlib.util.find_spec("iterfzf")
    bundled = os.path.join(os.path.dirname(spec.origin), "fzf") if spec and spec.origin else ""
    return bundled if os.access(bundled, os.X_OK) else "fzf"


def _pick_fzf(lines: list[str], query: str, cursor: int, preview: list[str] | None,
              copy: list[str] | None, while_fzf_draws=None) -> tuple[str, str | None]:
    """(the --expect key pressed, or ""; the chosen line, None: cancelled)."""
    if os.environ.get("SSOENV_PICKER") == "builtin":
        raise OSError("SSOENV_PICKER=builtin")
    import subprocess

    argv = [_fzf_executable(), "--prompt=aws> ", "--delimiter=\t", "--with-nth=2..", "--height=40%",
            "--reverse", "--no-multi", f"--header={HEADER}", "--tiebreak=index", f"--expect={CONSOLE_KEY}",
            "--with-shell=/bin/sh -c", f"--bind={PREVIEW_KEY}:toggle-preview"]
    if query:
        argv.append(f"--query={query}")
    if not query and cursor:
        # --sync: fzf reads the keyboard only once every line is in and the cursor is placed,
        # so typing, however early, comes after it; change:first then puts the cursor on
        # the best match (without it the cursor keeps its place in the filtered list).
        argv += ["--sync", f"--bind=load:pos({cursor + 1})"]
    argv.append("--bind=change:first")
    if preview:
        argv += [f"--preview={_fzf_command(preview)}", "--preview-window=right,45%,wrap"]
    if copy:
        argv.append(f"--bind={COPY_KEY}:execute-silent({_fzf_command(copy)})")
    # Every line in one write (30,000 of them: not a write and a flush each).
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        with proc.stdin:
            proc.stdin.write(("\n".join(lines) + "\n").encode())
    except BrokenPipeError:  # fzf ended before reading it all (Esc at once)
        pass
    if while_fzf_draws is not None:
        while_fzf_draws()
    out = proc.stdout.read().decode().split("\n")
    status = proc.wait()
    if status == 130:  # Esc, Ctrl-C
        raise KeyboardInterrupt
    if status != 0 or len(out) < 2 or not out[1]:  # 1: no match
        return "", None
    return out[0], out[1]


def _pick_prompt_toolkit(lines: list[str], query: str, cursor: int) -> int | None:
    """The same list, ranking and default as fzf: the best match of the typed
    text (ties in list order), or with nothing typed the most likely entry."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.completion import FuzzyCompleter, WordCompleter
    from prompt_toolkit.output import create_output

    stripped = [line.strip() for line in lines]
    completer = FuzzyCompleter(WordCompleter(stripped, sentence=True))
    likely = cursor if 0 <= cursor < len(stripped) else 0
    try:
        # stdout is what the shell evals (Ctrl-A's widget captures it): draw on the terminal
        session: PromptSession[str] = PromptSession(output=create_output(always_prefer_tty=True))
        answer = session.prompt("aws> ", default=query, completer=completer, complete_while_typing=True,
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
