"""Crash-safe file replacement: write to a temporary name, flush to disk, rename.

A reader (or a restart after a crash at any instant) sees either the previous complete file
or the new complete one, never a partial write.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO, Callable


def fsync_file(path) -> None:
    """Flush a closed file's data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_directory(path) -> None:
    """Make a rename or unlink in directory ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(handle)`` on ``<path>.tmp``, fsync it, then rename it over ``path``; a
    failed write removes ``<path>.tmp`` and leaves ``path`` as it was."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:  # a full disk, say: leave no partial temporary file behind
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    fsync_directory(path.parent)
    return path
