"""Checks of a run's output directory before any work, and I/O errors that name their file.

:func:`check_directory` finds, before the first step, what would stop a run from writing:
a file where a directory must be, a read-only file system, missing permission, a read-only
``output.h5`` to continue, too little free space for the first frame and a checkpoint.
:func:`described` turns an ``OSError`` raised while writing (HDF5 reports a full disk as
"file write failed") into one that names the file and says "no space left on device" when
that is the cause.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

#: Bytes per site of one frame (float64 spins), a checkpoint (float64 spins) and the site
#: positions written once into output.h5; plus a margin for metadata and the XDMF file.
BYTES_PER_SITE = 24 + 24 + 16
MARGIN = 1 << 20
#: Free bytes below which a failed write is taken to be a full disk.
NEARLY_FULL = 1 << 20


class OutputDirectoryError(ValueError):
    """The output directory cannot take the run's files; says which path and why."""


def bytes_needed(config) -> int:
    """Disk space for the first frame and the first checkpoint of a run (bytes)."""
    Ly, Lx = config.lattice.shape
    return BYTES_PER_SITE * Ly * Lx + MARGIN


def _existing_ancestor(path: Path) -> Path:
    """``path`` or its nearest existing parent; raises if a file stands in the way."""
    for candidate in (path, *path.parents):
        if candidate.exists() or candidate.is_symlink():
            if not candidate.is_dir():
                raise OutputDirectoryError(
                    f"'output.directory' = {str(path)!r}: {candidate} is a file, not a "
                    f"directory")
            return candidate
    return Path(".")


def _writable(folder: Path, path: Path) -> None:
    if hasattr(os, "statvfs") and os.statvfs(folder).f_flag & os.ST_RDONLY:
        raise OutputDirectoryError(f"'output.directory' = {str(path)!r}: {folder} is on a "
                                   f"read-only file system")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputDirectoryError(f"'output.directory' = {str(path)!r}: no permission to "
                                   f"write in {folder}")


def check_directory(path, needed: int, fresh: bool) -> None:
    """Raise :class:`OutputDirectoryError` unless the run can write its files under
    ``path``: the directory (or the nearest existing parent) and ``checkpoints/`` writable,
    ``output.h5`` writable when a run continues into it (``fresh`` False), and ``needed``
    bytes free. Changes nothing on disk."""
    path = Path(path)
    folder = _existing_ancestor(path)
    _writable(folder, path)
    checkpoints = path / "checkpoints"
    if checkpoints.exists():
        if not checkpoints.is_dir():
            raise OutputDirectoryError(f"'output.directory' = {str(path)!r}: {checkpoints} "
                                       f"is a file, not a directory")
        _writable(checkpoints, path)
    output = path / "output.h5"
    if not fresh and output.exists() and not os.access(output, os.W_OK):
        raise OutputDirectoryError(f"'output.directory' = {str(path)!r}: {output} is "
                                   f"read-only; the run cannot continue into it")
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise OutputDirectoryError(
            f"'output.directory' = {str(path)!r}: {free / 2**20:.1f} MiB free on its file "
            f"system, the first frame and checkpoint need {needed / 2**20:.1f} MiB")


def described(error: OSError, path, action: str) -> OSError:
    """An ``OSError`` saying ``"<action> <path> failed: <cause>"``; the cause is "no space
    left on device" when the error or the file system says so."""
    path = Path(path)
    text = str(error)
    full = (getattr(error, "errno", None) == errno.ENOSPC or "No space left" in text
            or "errno = 28" in text)
    if not full:
        try:
            full = shutil.disk_usage(_existing_ancestor(path.parent)).free < NEARLY_FULL
        except (OSError, ValueError):
            full = False
    cause = "no space left on device" if full else text
    return OSError(f"{action} {path} failed: {cause}")
