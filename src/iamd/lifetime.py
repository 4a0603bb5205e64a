"""Child processes that end when their parent does.

A process killed with SIGKILL cannot stop its children, and a child would otherwise go on
computing (a Monte Carlo batch, a run started from the browser) for nobody. Call
:func:`exit_with_parent` first thing in the child.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
"""``prctl`` option: the signal a Linux process receives when its parent dies."""
PARENT_POLL_S = 0.5
"""How often a child checks that the process that started it is alive."""


def _kill_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (elsewhere: nothing)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _watch_parent(parent_pid: int) -> None:
    while True:
        if os.getppid() != parent_pid:  # re-parented: the parent is gone
            os._exit(1)
        time.sleep(PARENT_POLL_S)


def exit_with_parent(parent_pid: int) -> None:
    """End this process when the process ``parent_pid`` dies, however it dies.

    On Linux the kernel kills the child (``PR_SET_PDEATHSIG``: it fires when the *thread*
    that spawned the child ends, so spawn from a thread that lives as long as the parent);
    everywhere a daemon thread also watches ``getppid()``.

    Parameters
    ----------
    parent_pid : int
        The pid of the process that started this one (``os.getpid()`` in the parent).
    """
    _kill_with_parent()
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
