"""ssoenv init [bash|zsh|fish]: print the shell integration.

The snippets live in shell/ssoenv.<shell> (shipped as ssoenv/shell/ in the wheel).
Two placeholders are filled in, each quoted for that shell: the ssoenv executable
(so the hooks never depend on PATH or on an alias) and the messages the wrapped
commands print when the SSO token has expired (one list, kept in shells.py).
"""

from __future__ import annotations

import sys

from ssoenv.errors import UsageError
from ssoenv.shells import SHELLS, detect_shell, normalise, render

SETTINGS_HELP = """\
settings (environment variables; set them before the init line):
  SSOENV_PICK_KEY       key for the picker: ctrl-X, alt-X, or the shell's own
                        syntax (bash \\C-a, zsh ^A, fish \\ca); default ctrl-a;
                        empty: no key binding
  SSOENV_WRAP           commands to re-run once after a renewal or login when
                        they fail on an expired SSO token; default "aws"
  SSOENV_WRAP_SERVER    wrapped commands that run under `ssoenv exec --server`
                        while the shell is switched, so their credentials renew
                        as long as they run, e.g. "terraform k9s" (read when the
                        command runs)
  SSOENV_AUTO_LOGIN     0: never renew or log in for a wrapped command (default 1)
  SSOENV_PROMPT         0: leave the prompt alone (by default the segment is put
                        in front of PS1 / PROMPT / fish_prompt)
  SSOENV_PROMPT_COLOR   0: no colour in the prompt segment (default 1)
  SSOENV_PROMPT_PSVAR   zsh: also put the plain segment in psvar[N] (for %Nv)
  SSOENV_PICKER         builtin: the prompt_toolkit picker instead of fzf

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


def run(args) -> int:
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
