"""ssoenv init [bash|zsh|fish]: print the shell integration.

The snippets live in shell/ssoenv.<shell> (shipped as ssoenv/shell/ in the wheel).
Two placeholders are filled in, each quoted for that shell: the ssoenv executable
(so the hooks never depend on PATH or on an alias) and the messages the wrapped
commands print when the SSO token has expired (one list, kept in recover.py).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

SHELLS = ("bash", "zsh", "fish")

SETTINGS_HELP = """\
settings (environment variables; set them before the init line):
  SSOENV_PICK_KEY       key for the picker: ctrl-X, alt-X, or the shell's own
                        syntax (bash \\C-a, zsh ^A, fish \\ca); default ctrl-a;
                        empty: no key binding
  SSOENV_WRAP           commands to re-run once after a renewal or login when
                        they fail on an expired SSO token; default "aws"
  SSOENV_AUTO_LOGIN     0: never renew or log in for a wrapped command (default 1)
  SSOENV_PROMPT         0: leave the prompt alone (by default the segment is put
                        in front of PS1 / PROMPT / fish_prompt)
  SSOENV_PROMPT_COLOR   0: no colour in the prompt segment (default 1)
  SSOENV_PROMPT_PSVAR   zsh: also put the plain segment in psvar[N] (for %Nv)

usage:
  bash  ~/.bashrc:               eval "$(ssoenv init bash)"
  zsh   ~/.zshrc:                eval "$(ssoenv init zsh)"
  fish  ~/.config/fish/config.fish:  ssoenv init fish | source
"""


def configure_parser(p) -> None:
    import argparse

    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("shell", nargs="?", metavar="SHELL",
                   help="bash, zsh or fish (default: the shell this runs in)")
    p.epilog = SETTINGS_HELP


def snippet_path(shell: str) -> Path:
    """The snippet file: ssoenv/shell/ in a wheel, shell/ in a source checkout."""
    import ssoenv

    package = Path(ssoenv.__file__).resolve().parent
    for base in (package / "shell", package.parent / "shell"):
        candidate = base / f"ssoenv.{shell}"
        if candidate.is_file():
            return candidate
    from ssoenv.errors import SsoenvError

    raise SsoenvError(f"the {shell} integration is missing from this installation "
                      f"(looked in {package / 'shell'} and {package.parent / 'shell'})",
                      hint="reinstall ssoenv")


def executable_argv() -> list[str]:
    """How the hooks run ssoenv: this very installation, by absolute path.

    The console script that is running (sys.argv[0]) when it is one; made absolute
    but not resolved, so a pipx or Homebrew symlink keeps working across upgrades.
    Otherwise (`python -m ssoenv`, tests) this interpreter with -m: always the same
    package, never whatever `ssoenv` PATH happens to find first.
    """
    argv0 = sys.argv[0] if sys.argv else ""
    name = os.path.basename(argv0).lower()
    if (name.startswith("ssoenv") and not name.endswith((".py", ".pyc"))
            and os.path.isfile(argv0) and os.access(argv0, os.X_OK)):
        return [os.path.abspath(argv0)]
    return [sys.executable or "python3", "-m", "ssoenv"]


def render(shell: str, argv: list[str] | None = None) -> str:
    from ssoenv import shellout
    from ssoenv.commands import recover

    text = snippet_path(shell).read_text(encoding="utf-8")
    values = {
        "__SSOENV_BIN__": argv or executable_argv(),
        "__SSOENV_TOKEN_ERRORS__": _grep_args(recover.TOKEN_ERRORS),
        "__SSOENV_CREDENTIAL_ERRORS__": _grep_args(recover.CREDENTIAL_ERRORS),
    }
    for placeholder, words in values.items():
        if placeholder not in text:
            raise AssertionError(f"{placeholder} missing from {shell} snippet")
        text = text.replace(placeholder, shellout.quote_argv(words, shell))
    return text


def _grep_args(patterns: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for pattern in patterns:
        out += ["-e", pattern]
    return out


def detect_shell() -> str:
    """The shell this runs in: shellingham, then $SHELL."""
    name = ""
    try:
        import shellingham

        name = shellingham.detect_shell()[0]
    except Exception:  # shellingham.ShellDetectionFailure, or no /proc
        name = os.environ.get("SHELL", "")
    return normalise(name)


def normalise(name: str) -> str:
    name = os.path.basename(name.strip()).lower().lstrip("-")
    for suffix in (".exe",):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name


def run(args) -> int:
    from ssoenv.errors import UsageError

    if args.shell:
        shell = normalise(args.shell)
    else:
        shell = detect_shell()
        if not shell:
            raise UsageError("cannot tell which shell this is; say it: ssoenv init bash|zsh|fish")
    if shell not in SHELLS:
        raise UsageError(f"unsupported shell {shell!r}: ssoenv init knows bash, zsh and fish",
                         hint="say which: ssoenv init bash|zsh|fish")
    sys.stdout.write(render(shell))
    return 0
