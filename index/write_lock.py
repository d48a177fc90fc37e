"""One writer per DOSSIER_HOME: an ingest or an upload holds this lock while it writes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.errors import IndexBusyError
from core.settings import Settings

if TYPE_CHECKING:
    from filelock import BaseFileLock


def lock_home(settings: Settings) -> BaseFileLock:
    """An exclusive lock on DOSSIER_HOME for writers; a second writer gets a clear error."""
    from filelock import FileLock, Timeout

    settings.home.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(settings.home / "write.lock"), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise IndexBusyError(
            f"another process is writing to {settings.home} (ingest or upload in progress); "
            "wait for it to finish and run the command again"
        ) from None
    return lock
