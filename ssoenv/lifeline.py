"""Children that do not outlive ssoenv: PR_SET_PDEATHSIG (Linux), set between fork and exec.

    subprocess.Popen(argv, preexec_fn=lifeline.preexec())

The kernel sends the signal when the *thread* that forked the child ends, so fork from a
thread that lives as long as the process (the main thread). Elsewhere than Linux, or where
libc cannot be loaded, preexec() is None: children are ended by ssoenv's own cleanup only.
"""

from __future__ import annotations

import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def preexec(sig: int = signal.SIGKILL):
    """A preexec_fn for subprocess: `sig` to the child when ssoenv dies; None if unsupported.
    libc is loaded here, in the parent: nothing is imported between fork and exec."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def arm() -> None:
        prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:  # ssoenv died between fork and prctl: follow it now
            os.kill(os.getpid(), sig)

    return arm
