"""Which files an ingest covers: the given files and folders walked, each file's id, and its bytes
read with the checks that keep a FIFO, a device or an oversized file from stalling the run."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from core.errors import LoadError

from .loaders import supported
from .models import IngestReport


@dataclass(frozen=True, slots=True)
class FileTask:
    path: Path
    source: str
    root: str


def doc_id_for(path: Path) -> str:
    return hashlib.sha1(str(path).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def discover(paths: Sequence[Path], report: IngestReport) -> tuple[list[FileTask], set[str]]:
    """Expand the given files and folders; returns the files and the folder roots walked."""
    tasks: list[FileTask] = []
    roots: set[str] = set()
    for given in paths:
        path = Path(os.path.abspath(given.expanduser()))
        if path.is_symlink() and not path.exists():
            report.failed.append({"path": str(given), "error": "broken symbolic link"})
        elif path.is_file():
            tasks.append(FileTask(path, path.name, str(path)))
        elif path.is_dir():
            roots.add(str(path))
            tasks.extend(_walk(path, report))
        else:
            report.failed.append({"path": str(given), "error": "no such file or folder"})
    return tasks, roots


def _walk(root: Path, report: IngestReport) -> Iterator[FileTask]:
    seen_dirs: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=None):
        real = os.path.realpath(dirpath)
        if real in seen_dirs:
            report.failed.append(
                {"path": dirpath, "error": f"symlink loop: this folder is {real} again; skipped"}
            )
            dirnames[:] = []
            continue
        seen_dirs.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = Path(dirpath) / name
            if not supported(path):
                continue
            if path.is_symlink() and not path.exists():
                report.failed.append({"path": str(path), "error": "broken symbolic link"})
                continue
            yield FileTask(path, str(path.relative_to(root)), str(root))


def read_file(path: Path, max_file_mb: float) -> bytes:
    """The file's bytes, or a LoadError saying why it is not read."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            # Reading a FIFO (or a device) would block or never end.
            raise LoadError("not a regular file (a FIFO, socket or device): skipped")
        size = info.st_size
        if size > int(max_file_mb * 1024 * 1024):
            raise LoadError(
                f"file is {size / 1e6:.1f} MB, over the {max_file_mb:g} MB limit "
                "(raise DOSSIER_MAX_FILE_MB to index it)"
            )
        return path.read_bytes()
    except PermissionError:
        raise LoadError("permission denied: cannot read the file") from None
    except OSError as exc:
        raise LoadError(
            f"cannot read the file ({exc.strerror or exc.__class__.__name__})"
        ) from None
