"""Leave at once after a command whose work is all done and written.

Tearing down an interpreter that has loaded botocore (its clients, their connection
pools, thousands of objects) costs 55-90 ms at exit. `exec` never pays it (it
replaces the process); `credential-process` and `env`, which the SDKs run at every
refresh, would. A command that has written everything marks its args with `request`;
the process entry point (never an in-process caller) then flushes stdout and stderr
and ends with os._exit, skipping only the teardown.
"""

from __future__ import annotations

import os
import sys


def request(args) -> None:
    """Called by a command once its output is written and no file is left open:
    worth it only when botocore was loaded (the warm path exits fast anyway)."""
    if "botocore" in sys.modules:
        args._exit_at_once = True


def requested(args) -> bool:
    return bool(getattr(args, "_exit_at_once", False))


def leave(status: int) -> None:
    """Flush what the caller reads (a flush error propagates: the normal exit reports
    it), then end the process without the interpreter's teardown."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
