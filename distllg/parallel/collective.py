"""Work that every rank does and all must agree on: a failure on any rank is raised on all
of them, never a hang."""

from __future__ import annotations


class CollectiveError(RuntimeError):
    """A step failed on some rank; raised on every rank with the first failure's message."""


def collectively(comm, function, *args):
    """Run ``function(*args)`` on every rank of ``comm``; if it fails on any rank, raise
    :class:`CollectiveError` on all of them with the first failing rank's message (naming
    the rank when only some failed)."""
    try:
        result, message = function(*args), None
    except (ValueError, OSError, RuntimeError) as error:  # config, model, checkpoint, files
        result, message = None, str(error)
    except Exception as error:  # noqa: BLE001 - a rank that fails alone must not hang the rest
        result, message = None, f"{type(error).__name__}: {error}"
    messages = comm.allgather(message)
    failed = [(rank, m) for rank, m in enumerate(messages) if m is not None]
    if failed:
        rank, message = failed[0]
        where = f" (rank {rank})" if comm.Get_size() > 1 and len(failed) < len(messages) else ""
        raise CollectiveError(message + where)
    return result
