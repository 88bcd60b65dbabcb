"""Parallel HDF5 access shared by the run output and the checkpoints.

Files are opened by every rank of a communicator with h5py's ``mpio`` driver. One rank may
also use an h5py built without MPI (Debian's h5py picks its MPI build only under mpirun or
with ``H5PY_ALWAYS_USE_MPI=1``): the file is then a plain one, with the same layout.

Collective writes go through the low-level ``H5Dwrite`` so that a rank with nothing to
write still takes part: h5py's high-level ``dset[...] = x`` skips the call for an empty
selection, and the other ranks then wait forever (h5py issue #965).
"""

from __future__ import annotations

import h5py
import numpy as np


def has_mpi() -> bool:
    """Whether this h5py was built with parallel HDF5."""
    return bool(h5py.get_config().mpi)


def open_file(path, mode: str, comm) -> h5py.File:
    """Open ``path`` on every rank of ``comm`` (collective); see the module docstring."""
    if has_mpi():
        return h5py.File(path, mode, driver="mpio", comm=comm)
    if comm.Get_size() > 1:
        raise RuntimeError(f"{comm.Get_size()} ranks need parallel HDF5, but this h5py has no "
                           f"MPI support (Debian: python3-h5py-mpi; run under mpirun or set "
                           f"H5PY_ALWAYS_USE_MPI=1)")
    return h5py.File(path, mode)


def write_slab(dataset: h5py.Dataset, where: tuple | None, data: np.ndarray | None,
               collective: bool = True) -> None:
    """Write ``data`` into ``dataset[where]`` (``where``: a tuple of slices and ints, one per
    dataset axis); ``where=None`` joins the collective call with an empty selection.

    Every rank must call this the same number of times when ``collective`` is True and the
    file is parallel.
    """
    file_space = dataset.id.get_space()
    if where is None:
        file_space.select_none()
        memory = np.zeros(1, dtype=dataset.dtype)
        memory_space = h5py.h5s.create_simple((1,))
        memory_space.select_none()
    else:
        start, count = _box(where, dataset.shape)
        memory = np.ascontiguousarray(np.broadcast_to(data, count), dtype=dataset.dtype)
        file_space.select_hyperslab(start, count)
        memory_space = h5py.h5s.create_simple(memory.shape if memory.ndim else (1,))
        memory = memory.reshape(memory_space.shape)
    transfer = h5py.h5p.create(h5py.h5p.DATASET_XFER)
    if collective and has_mpi() and dataset.file.driver == "mpio":
        transfer.set_dxpl_mpio(h5py.h5fd.MPIO_COLLECTIVE)
    dataset.id.write(memory_space, file_space, memory, dxpl=transfer)


def _box(where: tuple, shape: tuple) -> tuple[tuple, tuple]:
    """``(start, count)`` of an index made of ints and step-1 slices."""
    if len(where) != len(shape):
        raise ValueError(f"index {where} needs one entry per axis of {shape}")
    start, count = [], []
    for item, n in zip(where, shape, strict=True):
        if isinstance(item, slice):
            a, b, step = item.indices(n)
            if step != 1:
                raise ValueError("only step-1 slices can be written")
            start.append(a)
            count.append(max(b - a, 0))
        else:
            start.append(int(item))
            count.append(1)
    return tuple(start), tuple(count)
