"""Atomic file writes and a run-folder lock (no JAX import: the CLI uses them early).

A file is written to a temporary name in the *same* folder, flushed to disk and renamed over
the target with :func:`os.replace` (atomic on POSIX and Windows): a reader sees the old file
or the new one, never a 0-byte or half-written one, and an interrupted write leaves no
broken file under the target's name (the temporary one is removed).

:class:`FolderLock` marks a folder as in use by one process: ``<folder>/.jaxnn.lock`` holds
JSON ``{pid, host, started}``, created atomically (a complete temporary file hard-linked to
the lock's name, which fails if a lock exists). A lock whose process is gone on this host is
stale and taken over; any other existing lock refuses.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed to ``path``.

    Args:
        path: the final file; its folder must exist.

    Yields:
        a fresh temporary file name in the same folder (same suffix), for the caller to write.
        If the body raises (``KeyboardInterrupt`` included) the temporary file is removed and
        ``path`` is left as it was.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{path.suffix}",
                               dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_path`)."""
    write_bytes(path, text.encode("utf-8"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return True
    return True


def _create_from(tmp: str, path: Path) -> None:
    """Give the complete file ``tmp`` the name ``path``; FileExistsError if ``path`` exists."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise
    except OSError:  # no hard links here: exclusive create, then write (briefly empty)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        with os.fdopen(fd, "wb") as f, open(tmp, "rb") as src:
            f.write(src.read())


class FolderInUse(Exception):
    """Raised by :meth:`FolderLock.acquire` when another live process holds the folder."""


class FolderLock:
    """An exclusive, stale-aware lock on a folder (``<folder>/.jaxnn.lock``).

    Args:
        folder: the folder (must exist).
    """

    NAME = ".jaxnn.lock"

    def __init__(self, folder: str | Path):
        self.path = Path(folder) / self.NAME
        self.held = False

    def holder(self) -> dict | None:
        """The lock's JSON ``{pid, host, started}`` (``{}`` if unreadable), or None if free."""
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}

    def stale(self, info: dict | None) -> bool:
        """Whether a lock held as ``info`` belongs to a process gone from this host."""
        return bool(info) and info.get("host") == socket.gethostname() \
            and isinstance(info.get("pid"), int) and not _alive(info["pid"])

    def acquire(self) -> None:
        """Take the lock; a stale one is taken over.

        Raises:
            FolderInUse: a live process (or one on another host, or an unreadable lock)
                holds it; the message names the pid, the host and the lock file.
        """
        info = {"pid": os.getpid(), "host": socket.gethostname(),
                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        fd, tmp = tempfile.mkstemp(prefix=".jaxnn.lock.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(info, f)
            for _ in range(2):
                try:
                    _create_from(tmp, self.path)
                    self.held = True
                    return
                except FileExistsError:
                    current = self.holder()
                    if not self.stale(current):
                        who = (f"process {current.get('pid')} on {current.get('host')} "
                               f"since {current.get('started')}" if current else
                               "an unreadable lock")
                        raise FolderInUse(
                            f"{self.path.parent} is in use by {who} (lock file {self.path}; "
                            "delete it only if no run is writing there)") from None
                    with contextlib.suppress(FileNotFoundError):
                        self.path.unlink()
            raise FolderInUse(f"{self.path.parent}: could not take the lock {self.path}")
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def release(self) -> None:
        """Remove the lock if this object holds it."""
        if self.held:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            self.held = False
