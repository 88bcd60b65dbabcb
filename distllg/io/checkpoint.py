"""Crash-safe checkpoints, written collectively by every rank, readable on any rank count,
verified before use.

``<output.directory>/checkpoints/checkpoint_<step>.h5`` (format ``FORMAT``) holds

    spins   (3, Ly, Lx) float64, each rank writes its tile (parallel HDF5)

and root attributes: ``format``, ``step``, ``time``, ``wall_time`` (s since the run first
started), ``integrator``, ``dt``, ``alpha``, ``config`` (JSON), ``run_hash``, ``model_hash``
(weights sha256, empty for ED), ``lattice`` (Ly, Lx), ``ranks``, ``date``, ``versions``,
``spin_sums`` (the sum of each spin component), ``spins_checksum`` (:func:`spins_checksum`,
16 hex digits) and ``state_sha256`` (sha256 of every other attribute, :func:`state_digest`).

Writing: to ``<name>.tmp``, closed, fsynced, renamed over its final name and the directory
fsynced; only then are the oldest beyond the last ``keep`` deleted. A crash at any instant
leaves every complete checkpoint intact and at most a stale ``.tmp``, which is ignored (and
replaced by the next write). The LLG integrators are one-step methods, so the spins, step
and time are the whole integrator state.

Reading: :func:`read_state` reads the attributes and verifies their checksum, walks the
index of the spins' chunks and checks they lie inside the file (and, unless
``verify_spins=False``, the spins' checksum, streaming through them in row blocks) in a
child process, so that a damaged file that crashes HDF5 costs a message, not the run. A
restart and the completeness check of a job chain read the attributes only
(:func:`newest_verified`): the spins of the chosen checkpoint are verified once, by all
ranks together, as :func:`read_tile` reads them, so that a lattice of 10^8 spins is not
streamed through one process first. A single flipped bit anywhere in the spins or the
attributes fails verification. Files of format ``distllg-checkpoint-1`` (no
checksums) are still read, with the older checks only (unit spins, spin sums).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
from pathlib import Path

import h5py
import numpy as np

from distllg import spins as spinlib
from distllg.io import isolated
from distllg.io.atomic import fsync_directory, fsync_file
from distllg.io.output import versions
from distllg.io.parallel_h5 import open_file, write_slab

FORMAT = "distllg-checkpoint-2"
UNVERIFIED_FORMAT = "distllg-checkpoint-1"  # no checksums: still read
PATTERN = re.compile(r"checkpoint_(\d+)\.h5$")
DAMAGED_SUFFIX = ".damaged"
#: Attributes a restart needs, and their types after reading.
REQUIRED = {"step": int, "time": float, "wall_time": float, "integrator": str, "dt": float,
            "alpha": float, "config": str, "run_hash": str, "model_hash": str,
            "lattice": tuple, "spin_sums": list}
#: Sites per block when a checksum streams through a file (24 MB of float64 spins).
BLOCK_SITES = 1 << 20


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable, corrupted or from another run; names the file."""


class CheckpointReadError(OSError):
    """The ranks could not read a checkpoint's spins (an I/O failure, not a damage found by
    verification): nothing is set aside; names the file and the rank."""


def directory(output_directory) -> Path:
    """Where the checkpoints of a run with ``output.directory = output_directory`` live."""
    return Path(output_directory) / "checkpoints"


def path_for(output_directory, step: int) -> Path:
    return directory(output_directory) / f"checkpoint_{step:09d}.h5"


def complete(output_directory) -> list[Path]:
    """The complete checkpoints of a run, oldest first (``.tmp`` and ``.damaged`` files are
    not)."""
    folder = directory(output_directory)
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if PATTERN.search(p.name)]
    return sorted(found, key=lambda p: int(PATTERN.search(p.name).group(1)))


def latest(output_directory) -> Path | None:
    """The newest complete checkpoint, or None (not verified: see :func:`newest_verified`)."""
    found = complete(output_directory)
    return found[-1] if found else None


# ---------------------------------------------------------------------------------------
# Checksums


_MIX = (np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser, element-wise on uint64 (a bijection that spreads every
    input bit over all output bits)."""
    x = x ^ (x >> np.uint64(30))
    x = x * _MIX[0]
    x = x ^ (x >> np.uint64(27))
    x = x * _MIX[1]
    return x ^ (x >> np.uint64(31))


def spins_checksum(spins: np.ndarray, y0: int, x0: int, Lx: int) -> int:
    """Checksum of the spins ``(3, ny, nx)`` of the block whose first site is ``(y0, x0)`` of
    a lattice ``Lx`` wide: the sum modulo 2^64 over its sites of a 64-bit mix of the site
    index and the bits of its three float64 components. Sums of blocks add up to the sum of
    the lattice, so it does not depend on how the lattice is cut into tiles or rank
    counts; any change of one bit of one site changes it."""
    _, ny, nx = spins.shape
    index = ((np.arange(y0, y0 + ny, dtype=np.uint64) * np.uint64(Lx))[:, None]
             + np.arange(x0, x0 + nx, dtype=np.uint64)[None, :]).ravel()
    bits = np.ascontiguousarray(spins, dtype="<f8").view(np.uint64).reshape(3, -1)
    with np.errstate(over="ignore"):
        h = _mix64(index * _GOLDEN + np.uint64(1))
        for component in bits:
            h = _mix64(h ^ component)
        return int(h.sum(dtype=np.uint64))


def _hex64(value: int) -> str:
    return f"{value % (1 << 64):016x}"


def _plain(value):
    """An attribute value as JSON-able Python (arrays as lists, numpy scalars as Python)."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def state_digest(attributes: dict) -> str:
    """sha256 of the attributes other than ``state_sha256``, as canonical JSON."""
    plain = {k: _plain(v) for k, v in attributes.items() if k != "state_sha256"}
    return hashlib.sha256(json.dumps(plain, sort_keys=True).encode()).hexdigest()


# ---------------------------------------------------------------------------------------
# Writing


def write(output_directory, comm, tile, spins: np.ndarray, shape: tuple[int, int],
          chunk: tuple[int, int], state: dict, keep: int) -> Path:
    """Write this rank's tile ``spins`` (3, ny, nx) and ``state`` (the attributes above,
    without ``format``, ``ranks``, ``date``, ``versions``, ``spin_sums`` and the checksums)
    as the checkpoint of ``state["step"]``; collective. Keeps the newest ``keep``
    checkpoints."""
    from mpi4py import MPI

    path = path_for(output_directory, int(state["step"]))
    tmp = path.with_name(path.name + ".tmp")
    if comm.Get_rank() == 0:
        path.parent.mkdir(parents=True, exist_ok=True)
    sums = np.empty(3)
    comm.Allreduce(spins.reshape(3, -1).sum(axis=1), sums, op=MPI.SUM)
    checksum = sum(comm.allgather(spins_checksum(spins, tile.y0, tile.x0, shape[1])))
    f = open_file(tmp, "w", comm)
    try:
        attrs = {**state, "format": FORMAT, "ranks": comm.Get_size(),
                 "date": datetime.datetime.now().isoformat(timespec="seconds"),
                 "versions": json.dumps(versions()), "spin_sums": sums,
                 "lattice": np.asarray(shape), "spins_checksum": _hex64(checksum)}
        attrs["state_sha256"] = state_digest(attrs)
        attrs = comm.bcast(attrs, root=0)  # attribute values must agree on every rank
        for key, value in attrs.items():
            f.attrs[key] = value
        data = f.create_dataset("spins", (3,) + tuple(shape), dtype="f8",
                                chunks=(3,) + tuple(chunk))
        write_slab(data, (slice(None), slice(tile.y0, tile.y1), slice(tile.x0, tile.x1)), spins)
    finally:
        f.close()
    comm.Barrier()
    if comm.Get_rank() == 0:
        fsync_file(tmp)
        os.replace(tmp, path)
        fsync_directory(path.parent)
        for old in complete(output_directory)[:-keep]:
            old.unlink()
    comm.Barrier()
    return path


# ---------------------------------------------------------------------------------------
# Reading


def read_header(path, verify_spins: bool = True) -> dict:
    """The attributes of checkpoint ``path``, typed, with both checksums verified (the spins
    streamed in blocks of rows when ``verify_spins``); raises :class:`CheckpointError`
    naming the file and what is wrong. In-process: a file damaged in the wrong place can
    crash HDF5 here; :func:`read_state` runs this in a child process."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")

    def damaged(what: str) -> CheckpointError:
        return CheckpointError(f"checkpoint {path} is damaged: {what}")

    try:
        f = h5py.File(path, "r")
    except OSError as error:
        raise damaged(f"HDF5 cannot open it ({error})") from None
    with f:
        raw = {}
        try:
            names = list(f.attrs)
        except (OSError, RuntimeError, KeyError, ValueError) as error:
            raise damaged(f"its attributes cannot be listed ({error})") from None
        for name in names:
            try:
                raw[name] = f.attrs[name]
            except (OSError, RuntimeError, KeyError, ValueError, TypeError) as error:
                raise damaged(f"attribute {name!r} cannot be read ({error})") from None
        form = _plain(raw.get("format"))
        if form not in (FORMAT, UNVERIFIED_FORMAT):
            raise CheckpointError(f"{path} is not a distllg checkpoint (format {form!r}, "
                                  f"expected {FORMAT!r})")
        missing = sorted(set(REQUIRED) - set(raw))
        if missing:
            raise damaged(f"attribute(s) {', '.join(missing)} missing")
        if form == FORMAT:
            for name in ("spins_checksum", "state_sha256"):
                if name not in raw:
                    raise damaged(f"attribute {name!r} missing")
            if _plain(raw["state_sha256"]) != state_digest(raw):
                raise damaged("its attributes do not match their checksum (state_sha256)")
        state = _typed(raw, damaged)
        try:
            dataset = f["spins"]
            shape = dataset.shape
        except (OSError, RuntimeError, KeyError, ValueError) as error:
            raise damaged(f"the spins cannot be read ({error})") from None
        if shape != (3,) + state["lattice"]:
            raise damaged(f"spins {shape} but lattice {state['lattice']}")
        _check_storage(dataset, damaged)
        if verify_spins and form == FORMAT:
            found = _hex64(_stream_checksum(dataset, damaged))
            if found != state["spins_checksum"]:
                raise damaged(f"the spins do not match their checksum ({found} != "
                              f"{state['spins_checksum']})")
    return state


def _typed(raw: dict, damaged) -> dict:
    """The attributes as Python values of the types in :data:`REQUIRED`."""
    state = {k: _plain(v) for k, v in raw.items()}
    try:
        for name, kind in REQUIRED.items():
            state[name] = (tuple(int(n) for n in state[name]) if kind is tuple
                           else [float(x) for x in state[name]] if kind is list
                           else kind(state[name]))
        json.loads(state["config"])
    except (TypeError, ValueError) as error:
        raise damaged(f"an attribute has a wrong value ({type(error).__name__}: {error})"
                      ) from None
    if len(state["lattice"]) != 2 or len(state["spin_sums"]) != 3:
        raise damaged(f"lattice {state['lattice']} or spin_sums {state['spin_sums']} malformed")
    return state


def _check_storage(dataset, damaged) -> None:
    """The index of the spins' chunks read (where a damaged file crashes HDF5, in the child
    process) and every chunk inside the file (a truncated file), without reading the
    spins."""
    size = os.path.getsize(dataset.file.filename)
    try:
        if dataset.chunks is None:
            offset = dataset.id.get_offset()
            extents = [] if offset is None else [(offset, dataset.id.get_storage_size())]
            expected = 1
        else:
            count = dataset.id.get_num_chunks()
            extents = [(info.byte_offset, info.size) for info in
                       (dataset.id.get_chunk_info(i) for i in range(count))]
            expected = int(np.prod([-(-n // c) for n, c in
                                    zip(dataset.shape, dataset.chunks, strict=True)]))
    except (OSError, RuntimeError, ValueError, KeyError) as error:
        raise damaged(f"the index of the spins cannot be read ({error})") from None
    if len(extents) < expected:
        raise damaged(f"{expected - len(extents)} of the spins' {expected} chunks are missing")
    if any(offset + length > size for offset, length in extents):
        raise damaged("the spins reach beyond the end of the file (truncated)")


def _stream_checksum(dataset, damaged) -> int:
    """:func:`spins_checksum` of a whole (3, Ly, Lx) dataset, read in blocks of rows."""
    _, Ly, Lx = dataset.shape
    rows = max(1, BLOCK_SITES // max(Lx, 1))
    total = 0
    for y0 in range(0, Ly, rows):
        try:
            block = dataset[:, y0:y0 + rows, :]
        except (OSError, RuntimeError, ValueError) as error:
            raise damaged(f"rows {y0}.. of the spins cannot be read ({error})") from None
        total += spins_checksum(block, y0, 0, Lx)
    return total


def read_state(path, verify_spins: bool = True) -> dict:
    """:func:`read_header` of ``path`` run in a child process (:mod:`distllg.io.isolated`:
    a damaged file that crashes HDF5 there is reported as a :class:`CheckpointError`, the
    caller lives on)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        state = isolated.call(__name__, "read_header", str(path), verify_spins,
                              what=f"checkpoint {path}")
    except isolated.ReadError as error:
        raise CheckpointError(str(error)) from None
    state["lattice"] = tuple(state["lattice"])
    return state


def newest_verified(output_directory, rejected=(), verify_spins: bool = False
                    ) -> tuple[Path | None, dict | None, list]:
    """The newest checkpoint of a run whose attributes verify (and its spins, with
    ``verify_spins``), leaving out the ``(path, reason)`` pairs of ``rejected`` (checkpoints
    whose spins failed :func:`read_tile`): ``(path, state, skipped)``, where ``skipped``
    lists ``(path, reason)`` of the newer ones that do not verify or were rejected, newest
    first; ``(None, None, skipped)`` when none is left."""
    reasons = {Path(path): reason for path, reason in rejected}
    skipped = []
    for path in reversed(complete(output_directory)):
        if path in reasons:
            skipped.append((path, reasons[path]))
            continue
        try:
            return path, read_state(path, verify_spins), skipped
        except CheckpointError as error:
            skipped.append((path, str(error)))
    return None, None, skipped


def set_aside(path) -> Path:
    """Rename a damaged checkpoint to ``<name>.damaged`` (kept, never deleted; no longer a
    restart candidate nor counted by ``output.checkpoint_keep``)."""
    path = Path(path)
    target = path.with_name(path.name + DAMAGED_SUFFIX)
    os.replace(path, target)
    fsync_directory(path.parent)
    return target


def read_tile(path, comm, tile, state: dict) -> np.ndarray:
    """This rank's tile (3, ny, nx) of checkpoint ``path``; collective. The checksum of the
    spins (the spin sums for format 1) and unit norms are checked on every rank and a
    failure is raised on all of them: :class:`CheckpointError` when the spins are damaged,
    :class:`CheckpointReadError` when a rank could not read them."""
    from mpi4py import MPI

    problem, invalid = "", ""
    Lx = state["lattice"][1]
    try:
        with open_file(path, "r", comm) as f:
            spins = f["spins"][:, tile.y0:tile.y1, tile.x0:tile.x1]
        local = spins.reshape(3, -1).sum(axis=1)
        checksum = spins_checksum(spins, tile.y0, tile.x0, Lx)
    except Exception as error:  # noqa: BLE001 - every rank must reach the gather below
        problem, local, checksum = f"{type(error).__name__}: {error}", np.zeros(3), 0
    if not problem:
        try:
            spinlib.validate(spins, name=f"spins of tile y {tile.y0}:{tile.y1}, "
                                         f"x {tile.x0}:{tile.x1}")
        except ValueError as error:
            invalid = str(error)
    flags = comm.allgather((problem, invalid))
    sums = np.empty(3)
    comm.Allreduce(local, sums, op=MPI.SUM)
    total = _hex64(sum(comm.allgather(checksum)))

    def first(kind: int) -> str:
        bad = [(rank, flag[kind]) for rank, flag in enumerate(flags) if flag[kind]]
        return f"checkpoint {path} is damaged (rank {bad[0][0]}: {bad[0][1]})" if bad else ""

    mismatch = "" if "spins_checksum" not in state or total == state["spins_checksum"] else (
        f"checkpoint {path} is damaged: the spins read by the ranks do not match their "
        f"checksum ({total} != {state['spins_checksum']})")
    if first(0):
        raise CheckpointReadError(first(0).replace(" is damaged (", " could not be read ("))
    failure = mismatch or first(1)  # the checksum, then |S| = 1
    if failure:
        raise CheckpointError(failure)
    stored = np.asarray(state["spin_sums"], dtype=float)
    n_sites = state["lattice"][0] * state["lattice"][1]
    if np.abs(sums - stored).max() > 1e-9 * n_sites:
        raise CheckpointError(f"checkpoint {path} is damaged: the spins sum to {sums}, "
                              f"the file recorded {stored}")
    return np.ascontiguousarray(spins)
