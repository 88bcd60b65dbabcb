"""Crash-safe checkpoints, written collectively by every rank, readable on any rank count.

``<output.directory>/checkpoints/checkpoint_<step>.h5`` (format ``FORMAT``) holds

    spins   (3, Ly, Lx) float64, each rank writes its tile (parallel HDF5)

and root attributes: ``format``, ``step``, ``time``, ``wall_time`` (s since the run first
started), ``integrator``, ``dt``, ``alpha``, ``rng_state`` (JSON of the run generator's
bit-generator state), ``config`` (JSON), ``run_hash``, ``model_hash`` (weights sha256, empty
for ED), ``lattice`` (Ly, Lx), ``ranks``, ``date``, ``versions``, ``spin_sums`` (the sum of
each spin component; checked on reading, with ``|S| = 1`` at every site).

A checkpoint is written to ``<name>.tmp``, closed, fsynced, renamed over its final name and
the directory fsynced; only then are the oldest beyond the last ``keep`` deleted. A crash at
any instant leaves every complete checkpoint intact and at most a stale ``.tmp``, which is
ignored (and replaced by the next write). The LLG integrators are one-step methods, so the
spins, step and time are the whole integrator state.
"""

from __future__ import annotations

import datetime
import json
import os
import re
from pathlib import Path

import h5py
import numpy as np

from distllg import spins as spinlib
from distllg.io.atomic import fsync_directory, fsync_file
from distllg.io.output import versions
from distllg.io.parallel_h5 import open_file, write_slab

FORMAT = "distllg-checkpoint-1"
PATTERN = re.compile(r"checkpoint_(\d+)\.h5$")


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable, corrupted or from another run; names the file."""


def directory(output_directory) -> Path:
    """Where the checkpoints of a run with ``output.directory = output_directory`` live."""
    return Path(output_directory) / "checkpoints"


def path_for(output_directory, step: int) -> Path:
    return directory(output_directory) / f"checkpoint_{step:09d}.h5"


def complete(output_directory) -> list[Path]:
    """The complete checkpoints of a run, oldest first (``.tmp`` files are not)."""
    folder = directory(output_directory)
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if PATTERN.search(p.name)]
    return sorted(found, key=lambda p: int(PATTERN.search(p.name).group(1)))


def latest(output_directory) -> Path | None:
    """The newest complete checkpoint, or None."""
    found = complete(output_directory)
    return found[-1] if found else None


def write(output_directory, comm, tile, spins: np.ndarray, shape: tuple[int, int],
          chunk: tuple[int, int], state: dict, keep: int, hook=None) -> Path:
    """Write this rank's tile ``spins`` (3, ny, nx) and ``state`` (the attributes above,
    without ``format``, ``ranks``, ``date``, ``versions``, ``spin_sums``) as the checkpoint
    of ``state["step"]``; collective. Keeps the newest ``keep`` checkpoints. ``hook``, if
    given, is called on every rank after the spins are written, before the file is closed
    (tests kill the run there)."""
    from mpi4py import MPI

    path = path_for(output_directory, int(state["step"]))
    tmp = path.with_name(path.name + ".tmp")
    if comm.Get_rank() == 0:
        path.parent.mkdir(parents=True, exist_ok=True)
    sums = np.empty(3)
    comm.Allreduce(spins.reshape(3, -1).sum(axis=1), sums, op=MPI.SUM)
    f = open_file(tmp, "w", comm)
    try:
        attrs = {**state, "format": FORMAT, "ranks": comm.Get_size(),
                 "date": datetime.datetime.now().isoformat(timespec="seconds"),
                 "versions": json.dumps(versions()), "spin_sums": sums,
                 "lattice": np.asarray(shape)}
        attrs = comm.bcast(attrs, root=0)  # attribute values must agree on every rank
        for key, value in attrs.items():
            f.attrs[key] = value
        data = f.create_dataset("spins", (3,) + tuple(shape), dtype="f8",
                                chunks=(3,) + tuple(chunk))
        write_slab(data, (slice(None), slice(tile.y0, tile.y1), slice(tile.x0, tile.x1)), spins)
        if hook is not None:
            hook()
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


def read_state(path) -> dict:
    """The attributes of checkpoint ``path`` (plain h5py; any rank, no communication)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        with h5py.File(path, "r") as f:
            state = {k: f.attrs[k] for k in f.attrs}
            shape = f["spins"].shape
    except (OSError, KeyError, ValueError) as error:
        raise CheckpointError(f"checkpoint {path} is unreadable or corrupted "
                              f"({type(error).__name__}: {error})") from None
    if state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a distllg checkpoint (format "
                              f"{state.get('format')!r}, expected {FORMAT!r})")
    state["lattice"] = tuple(int(n) for n in state["lattice"])
    if shape != (3,) + state["lattice"]:
        raise CheckpointError(f"checkpoint {path} is corrupted: spins {shape} but lattice "
                              f"{state['lattice']}")
    for key in ("step",):
        state[key] = int(state[key])
    for key in ("time", "wall_time", "dt", "alpha"):
        state[key] = float(state[key])
    return state


def read_tile(path, comm, tile, state: dict) -> np.ndarray:
    """This rank's tile (3, ny, nx) of checkpoint ``path``; collective. The spin sums and
    unit norms are checked on every rank and a failure is raised on all of them."""
    from mpi4py import MPI

    problem = ""
    try:
        with open_file(path, "r", comm) as f:
            spins = f["spins"][:, tile.y0:tile.y1, tile.x0:tile.x1]
        spinlib.validate(spins, name=f"spins of tile y {tile.y0}:{tile.y1}, "
                                     f"x {tile.x0}:{tile.x1}")
        local = spins.reshape(3, -1).sum(axis=1)
    except (OSError, ValueError, KeyError) as error:
        problem, local = f"{type(error).__name__}: {error}", np.zeros(3)
    flags = comm.allgather(problem)
    sums = np.empty(3)
    comm.Allreduce(local, sums, op=MPI.SUM)
    bad = [(rank, p) for rank, p in enumerate(flags) if p]
    if bad:
        rank, problem = bad[0]
        raise CheckpointError(f"checkpoint {path} is corrupted (rank {rank}: {problem})")
    stored = np.asarray(state["spin_sums"], dtype=float)
    n_sites = state["lattice"][0] * state["lattice"][1]
    if np.abs(sums - stored).max() > 1e-9 * n_sites:
        raise CheckpointError(f"checkpoint {path} is corrupted: the spins sum to {sums}, "
                              f"the file recorded {stored}")
    return np.ascontiguousarray(spins)
