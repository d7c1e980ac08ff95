"""Loggers that import `logging` only when something is logged.

`logging` costs milliseconds at start-up; the hot paths (exec, list, pick) log
nothing in the common case, so they should not pay for it.
"""

from __future__ import annotations


class _LazyLogger:
    __slots__ = ("_name",)

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str):
        import logging

        return getattr(logging.getLogger(self._name), attr)


def get_logger(name: str) -> _LazyLogger:
    return _LazyLogger(name)
