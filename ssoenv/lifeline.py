"""Children that do not outlive ssoenv: PR_SET_PDEATHSIG (Linux), set between fork and exec.

    prefix, preexec = lifeline.launcher()
    subprocess.Popen(prefix + argv, preexec_fn=preexec)

The kernel sends the signal when the *thread* that forked the child ends, so fork from a
thread that lives as long as the process (the main thread). Two ways to set it:
util-linux's `setpriv --pdeathsig KILL --` in front of the command (it sets the flag and
execs the command in the same process), which lets subprocess use vfork; else a
preexec_fn calling prctl, which forces a full fork of ssoenv and a Python call in the
child (about 10 times the cost of a start: it matters for `exec --each` over 1,000
targets). Elsewhere than Linux, neither: children are ended by ssoenv's own cleanup only.
"""

from __future__ import annotations

import os
import signal
import sys

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


def launcher() -> tuple[list[str], object]:
    """(argv prefix, preexec_fn or None) that make a command die with ssoenv (SIGKILL)."""
    if not sys.platform.startswith("linux"):
        return [], None
    import shutil
    import subprocess

    setpriv = shutil.which("setpriv")
    if setpriv:
        prefix = [setpriv, "--pdeathsig", "KILL", "--"]
        try:  # util-linux before 2.33 has no --pdeathsig
            works = subprocess.run([*prefix, "true"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, timeout=30).returncode == 0
        except (OSError, subprocess.SubprocessError):
            works = False
        if works:
            return prefix, None
    return [], preexec()


def _prctl():
    """libc's prctl through ctypes; None off Linux."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (ImportError, OSError, AttributeError):
        return None


def become_subreaper() -> None:
    """Make ssoenv the reaper of its children's orphans (PR_SET_CHILD_SUBREAPER, Linux):
    what a command leaves running (`cmd &`) is then ssoenv's to end."""
    prctl = _prctl()
    if prctl is not None:
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def preexec(sig: int = signal.SIGKILL):
    """A preexec_fn for subprocess (or a forked child): `sig` to the child when ssoenv
    dies; None if unsupported. libc is loaded here, in the parent: nothing is imported
    between fork and exec."""
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()

    def arm() -> None:
        prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:  # ssoenv died between fork and prctl: follow it now
            os.kill(os.getpid(), sig)

    return arm
