"""One evaluation per output folder at a time: a lock file that says who holds it.

Two runs appending to the same ``parts/rank0.jsonl`` would both do all the work and interleave their lines. Rank 0
of a run creates ``<output_dir>/.lock`` (atomically: ``O_CREAT | O_EXCL``) holding its pid, host and start time, and
removes it when the run ends. A second run is refused with those three facts. A lock left by a process that no
longer exists on this host (a killed run) is taken over with a warning; one from another host cannot be checked and
is refused, naming the file to delete once that run is known to be gone.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from pathlib import Path
from typing import Any

from vidllm.errors import UserError

logger = logging.getLogger(__name__)

LOCK_FILE = ".lock"
UNREADABLE_GRACE_S = 10.0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


class OutputLock:
    """The lock of an output folder (a context manager; :meth:`acquire` / :meth:`release` by hand also work).

    Args:
        folder: The evaluation's output folder (created if missing).
    """

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_FILE
        self.held = False

    def __enter__(self) -> OutputLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _holder(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def acquire(self) -> None:
        """Take the lock, or take over a stale one.

        Raises:
            UserError: Another live run holds it (the message names its pid, host and start time).
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = self._holder()
                if not self._stale(holder):
                    raise UserError(
                        f"{self.folder} is in use by another evaluation (pid {holder.get('pid')} on "
                        f"{holder.get('host')}, started {holder.get('started')}); wait for it, use another "
                        f"--output_dir, or delete {self.path} if that run is gone"
                    ) from None
                logger.warning("taking over the lock of %s left by pid %s on %s (started %s), which is no longer "
                               "running", self.folder, holder.get("pid"), holder.get("host"),
                               holder.get("started"))  # fmt: skip
                self.path.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(me, f)
            self.held = True
            return
        raise UserError(f"could not take the lock {self.path}; another evaluation is starting in {self.folder}")

    def _stale(self, holder: dict[str, Any]) -> bool:
        """A lock whose process is gone: same host and no such pid; or a lock file without a pid that is older
        than :data:`UNREADABLE_GRACE_S` (younger, it may be one being written right now)."""
        pid = holder.get("pid")
        if not isinstance(pid, int):
            try:
                return time.time() - self.path.stat().st_mtime > UNREADABLE_GRACE_S
            except FileNotFoundError:
                return True
        return holder.get("host") == socket.gethostname() and not _pid_alive(pid)

    def release(self) -> None:
        """Remove the lock if this object holds it."""
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False
