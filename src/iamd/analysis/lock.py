"""The writer's lock on a store directory: one ``iamd mc`` writes a store at a time.

The lock is ``flock(2)`` on ``DIR/.lock``, taken without waiting. The kernel drops it when
its holder's file is closed, so a holder killed by any means (SIGKILL, power loss on a
local disk) leaves nothing to clean up: the next writer simply gets it. The file holds the
holder's command, pid, host and start time, only to name the holder in a refusal; the
lock itself is the flock, never the file's existence. The file is never removed
(removing it would let two writers lock two different files of the same name).

Readers (report, compare, query, the web view) never take or look at the lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from iamd.errors import IamdError

LOCK_FILE = ".lock"


class LockError(IamdError):
    """Another process is writing the directory."""


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds a lock, as recorded in the lock file."""

    command: str
    pid: int
    host: str
    since: str

    def __str__(self) -> str:
        return f"{self.command} (pid {self.pid} on {self.host}, since {self.since})"


def _holder_of(fd: int) -> Holder | None:
    try:
        data: Any = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
        return Holder(str(data["command"]), int(data["pid"]), str(data["host"]), str(data["since"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # the holder has not written its name yet


class DirLock:
    """An exclusive, non-blocking lock on a directory, held by this process.

    Parameters
    ----------
    root : the directory (it must exist).
    command : how a refused writer is told who holds it, e.g. ``"iamd mc"``.
    """

    def __init__(self, root: Path, command: str) -> None:
        self.root = Path(root)
        self.command = command
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock.

        Raises
        ------
        LockError
            When another process holds it (the message names the holder).
        OSError
            When the lock file cannot be created (an unwritable directory).
        """
        fd = os.open(self.root / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder_of(fd)
            os.close(fd)
            who = str(holder) if holder else "another iamd process (starting up)"
            raise LockError(
                f"{self.root} is in use by {who}; wait for it to finish or use another --out"
            ) from None
        except OSError:
            os.close(fd)
            raise
        since = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        me = {"command": self.command, "pid": os.getpid(), "host": socket.gethostname()}
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps({**me, "since": since}) + "\n").encode("utf-8"), 0)
        except OSError:
            os.close(fd)  # e.g. a full disk: give the lock back before reporting it
            raise
        self._fd = fd

    def release(self) -> None:
        """Drop the lock (and the holder's name); a no-op when not held."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        os.close(self._fd)  # closing the last descriptor releases the flock
        self._fd = None
