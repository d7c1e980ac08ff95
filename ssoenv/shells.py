"""What ssoenv knows about shells: which it supports, which one it runs in, the
snippets `ssoenv init` prints, and the error strings the wrapped commands are
matched against. (Quoting for a shell lives in shellout.py.)

Light on purpose: Tab completion and the picker import it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ssoenv.errors import SsoenvError, UsageError

SHELLS = ("bash", "zsh", "fish")

# What tools print when the SSO token has expired or is invalid (INTEROP.md).
# The snippets grep a failed command's stderr for these (fixed strings).
TOKEN_ERRORS = (
    # botocore / AWS CLI v1 and v2
    "Token has expired and refresh failed",
    "The SSO session associated with this profile has expired",
    "The SSO session associated with this profile is invalid",  # also the JS SDK v3
    "Error loading SSO Token",
    # the portal refusing the token (CLI: "(UnauthorizedException) when calling the
    # GetRoleCredentials operation: Session token not found or invalid"; Go the same)
    "Session token not found or invalid",
    # Go SDK / Terraform
    "the SSO session has expired or is invalid",
    "refresh cached SSO token failed",
    "cached SSO token is expired, or not present",
    "InvalidGrantException",
    # JS SDK v3
    "The SSO session token associated with profile",
    # ssoenv itself where it may not log in: `exec --server` under the wrapper (its
    # stderr is the wrapper's pipe), the credential endpoint, credential-process
    # (which the tools quote); errors.LoginRequired ends with it
    "; run: ssoenv login",
)

# Exported credentials (credentials mode) past their expiry: the tools never
# mention SSO then. Matched only while the shell is switched in credentials mode.
CREDENTIAL_ERRORS = (
    "ExpiredToken",
    "The security token included in the request is expired",
)


def snippet_path(shell: str) -> Path:
    """The snippet file of `shell` (see paths.snippet_files)."""
    from ssoenv import paths

    candidates = paths.snippet_files(shell)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise SsoenvError(f"the {shell} integration is missing from this installation "
                      f"(looked in {candidates[0].parent} and {candidates[1].parent})",
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

    text = snippet_path(shell).read_text(encoding="utf-8")
    values = {
        "__SSOENV_BIN__": argv or executable_argv(),
        "__SSOENV_TOKEN_ERRORS__": _grep_args(TOKEN_ERRORS),
        "__SSOENV_CREDENTIAL_ERRORS__": _grep_args(CREDENTIAL_ERRORS),
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


def add_shell_arguments(p) -> None:
    """--shell and --mode, for the commands that print a switch (use, pick)."""
    p.add_argument("--shell", choices=SHELLS, default=None,
                   help="the shell that will eval the output (default: the shell this runs in)")
    p.add_argument("--mode", choices=("profile", "credentials"), default=None,
                   help="force AWS_PROFILE (profile) or exported keys (credentials); "
                        "default: profile when one exists")


def output_shell(requested: str | None, command: str, words: list[str] | None = None) -> str:
    """The shell to print for: `requested` (--shell), else the one this runs in.

    Refuses to write shell code (which may hold secret keys) to a terminal: there
    it would switch nothing and leave the secret on the screen. `words`: what the
    user typed after `ssoenv use`, for the hint.
    """
    shell = requested or detect_shell()
    if sys.stdout.isatty():
        words_text = " ".join(words or ["TARGET"]) if command == "use" else ""
        shown = shell if shell in SHELLS else "bash"
        line = ("ssoenv init fish | source" if shown == "fish" else f'eval "$(ssoenv init {shown})"')
        run = (f"ssoenv {command} {words_text} | source" if shown == "fish"
               else f'eval "$(ssoenv {command} {words_text})"').replace("  ", " ").replace(" )", ")")
        raise UsageError(f"`ssoenv {command}` switches a shell only through the shell integration, "
                         f"and this shell has not loaded it: nothing changed",
                         hint=f"load it (add  {line}  to your shell's rc file, then open a new shell), "
                              f"or run: {run}")
    if shell not in SHELLS:
        raise UsageError(f"cannot tell which shell will read this (found {shell or 'none'!r})",
                         hint="say it: --shell bash|zsh|fish")
    return shell
