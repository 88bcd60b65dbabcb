"""Parallel HDF5 under mpirun (1-4 ranks, uneven tiles): collective writes with empty
selections, the output file and checkpoints against the global arrays they should hold."""

import json
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import h5py
import numpy as np
import pytest

from distllg import lattice
from distllg import spins as spinlib
from distllg.io import checkpoint as ckpt
from distllg.io import output as outputlib
from distllg.io.parallel_h5 import open_file, write_slab
from distllg.parallel.decomposition import Decomposition


def shared_directory(comm) -> Path:
    """One temporary directory, the same on every rank."""
    name = tempfile.mkdtemp(prefix="distllg-io-") if comm.Get_rank() == 0 else None
    return Path(comm.bcast(name, root=0))


@pytest.mark.mpi
def test_collective_write_with_ranks_that_write_nothing():
    """Only even ranks hold data; odd ranks join with an empty selection (h5py #965)."""
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    folder = shared_directory(comm)
    with open_file(folder / "empty.h5", "w", comm) as f:
        data = f.create_dataset("x", (comm.size, 4), dtype="f8", fillvalue=-1.0)
        mine = comm.rank % 2 == 0
        write_slab(data, (comm.rank, slice(None)) if mine else None,
                   np.full(4, comm.rank, dtype=float))
        scalar = f.create_dataset("s", (3,), dtype="i8")
        write_slab(scalar, (slice(1, 2),) if comm.rank == 0 else None, 7)  # rank 0 alone
    comm.Barrier()
    with h5py.File(folder / "empty.h5", "r") as f:
        for rank in range(comm.size):
            expected = rank if rank % 2 == 0 else -1.0
            assert np.all(f["x"][rank] == expected)
        assert f["s"][1] == 7


@pytest.mark.mpi
@pytest.mark.parametrize("shape", [(9, 11), (12, 7)])
def test_output_file_holds_the_global_frames(shape):
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    deco = Decomposition(comm, shape, halo=1)
    rows, cols = deco.rows[0], deco.cols[0]
    chunk = (rows[1] - rows[0], cols[1] - cols[0])
    folder = shared_directory(comm)
    rng = np.random.default_rng(5)
    frames = [spinlib.random(*shape, rng) for _ in range(4)]  # same on every rank
    steps, every = 7, 3  # frames at 0, 3, 6 and 7
    attrs = {"config": "{}", "model": "{}", "run_hash": "abc"}
    out = outputlib.OutputFile(folder / "output.h5", deco.cart, shape, deco.tile, chunk,
                               steps, every, attrs)
    out.reserve(steps)
    for step, spins in zip((0, 3, 6, 7), frames, strict=True):
        values = {"energy_per_site": -0.5 * step, "skyrmion_number": float(step),
                  "magnetization": [0.0, 0.0, step / 10]}
        out.write_frame(step, 0.2 * step, 1.0, spins[(slice(None),) + deco.tile.slices],
                        values)
    out.close()
    comm.Barrier()
    with h5py.File(folder / "output.h5", "r") as f:
        assert f["tasks/spins"].shape == (4, 3) + shape
        assert f["tasks/spins"].chunks == (1, 3) + chunk
        np.testing.assert_array_equal(f["tasks/spins"][:], np.stack(frames))
        assert list(f["scales/iteration"][:]) == [0, 3, 6, 7]
        np.testing.assert_array_equal(f["tasks/skyrmion_number"][:], [0, 3, 6, 7])
        assert f["tasks/magnetization"].shape == (4, 3)
        assert json.loads(f.attrs["legs"])[0]["ranks"] == comm.size
        np.testing.assert_array_equal(f["geometry/xy"][:],  # written tile by tile
                                      np.moveaxis(lattice.positions(*shape), 0, -1))
    root = ET.parse(folder / "output.xdmf").getroot()
    assert len(root.findall(".//Grid[@GridType='Uniform']")) == 4


@pytest.mark.mpi
def test_checkpoint_round_trip_on_any_rank_count():
    """A checkpoint written by this rank count is read back tile by tile; keep = 2."""
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    shape = (10, 13)
    deco = Decomposition(comm, shape, halo=1)
    folder = shared_directory(comm)
    spins = spinlib.random(*shape, np.random.default_rng(3))
    for step in (10, 20, 30):
        state = {"step": step, "time": 0.1 * step, "wall_time": 1.0, "integrator": "rk4",
                 "dt": 0.1, "alpha": 0.2, "rng_state": "{}", "config": "{}",
                 "run_hash": "h", "model_hash": ""}
        ckpt.write(folder, deco.cart, deco.tile, spins[(slice(None),) + deco.tile.slices],
                   shape, (5, 5), state, keep=2)
    assert [p.name for p in ckpt.complete(folder)] == ["checkpoint_000000020.h5",
                                                       "checkpoint_000000030.h5"]
    state = ckpt.read_state(ckpt.latest(folder))
    assert state["step"] == 30 and state["ranks"] == comm.size
    tile = ckpt.read_tile(ckpt.latest(folder), deco.cart, deco.tile, state)
    np.testing.assert_array_equal(tile, spins[(slice(None),) + deco.tile.slices])
