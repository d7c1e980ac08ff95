"""The one error type ssoenv raises, and the exit statuses it maps to."""

from __future__ import annotations

import enum


class ExitStatus(enum.IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    LOGIN_REQUIRED = 3  # a login is needed but cannot happen here (no terminal)
    CANNOT_EXECUTE = 126  # `exec` of a command that cannot run (permissions, format), like a shell
    NOT_FOUND = 127  # `exec` of a command that does not exist, like a shell
    INTERRUPTED = 130


class SsoenvError(Exception):
    """A failure the user can act on: one clear line, one exit status.

    Never put a secret in `message`: it is printed as is.
    """

    def __init__(self, message: str, exit_status: int = ExitStatus.ERROR, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.exit_status = int(exit_status)
        self.hint = hint

    @property
    def line(self) -> str:
        """What the user sees after `ssoenv: `: one line, the hint (if any) on it too, so
        a log or a `2>&1 | tail -1` never keeps the message and loses the way out. A
        message that lists things (the candidates of an ambiguous TARGET) lists them on
        the lines after that one."""
        first, newline, listed = self.message.partition("\n")
        return (f"{first}; hint: {self.hint}" if self.hint else first) + newline + listed


class UsageError(SsoenvError):
    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message, ExitStatus.USAGE, hint)


class LoginRequired(SsoenvError):
    """The sso-session has no usable token and no login can run here."""

    def __init__(self, session: str, reason: str, command: str | None = None):
        self.session = session
        command = command or f"ssoenv login --sso-session {session}"
        super().__init__(f"{reason}; run: {command}", ExitStatus.LOGIN_REQUIRED)
