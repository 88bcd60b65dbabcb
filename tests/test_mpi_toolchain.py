"""The MPI stack that the distributed parts build on works under mpirun.

Run as ``mpirun -n N python -m pytest --with-mpi -m mpi``. These check what `make test`
installed (OpenMPI + mpi4py, parallel HDF5 through h5py's mpio driver, PETSc through
petsc4py) with real ranks, and that the exact solver is deterministic across ranks, which
distributed data generation and the multi-rank parity tests rely on.
"""

import numpy as np
import pytest

from distllg import spins as spinlib
from distllg.electrons import SDModel
from distllg.electrons.exact import ExactSolver

pytestmark = pytest.mark.mpi


def test_allreduce_sums_over_ranks():
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    value = np.array([comm.rank + 1.0])
    total = np.empty(1)
    comm.Allreduce(value, total, op=MPI.SUM)
    assert total[0] == comm.size * (comm.size + 1) / 2


def test_collective_parallel_hdf5_write(mpi_tmp_path):
    import h5py
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    assert h5py.get_config().mpi, "h5py was built without MPI: install python3-h5py-mpi"
    path = mpi_tmp_path / "collective.h5"
    rows = 7  # uneven: rank r writes rows [start, stop)
    start = comm.rank * rows // comm.size
    stop = (comm.rank + 1) * rows // comm.size
    with h5py.File(path, "w", driver="mpio", comm=comm) as f:
        dset = f.create_dataset("data", shape=(rows, 5), dtype="f8")
        with dset.collective:
            dset[start:stop] = np.arange(start * 5, stop * 5, dtype=float).reshape(-1, 5)
    comm.Barrier()
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(f["data"][...], np.arange(35.0).reshape(7, 5))


def test_petsc_distributed_vector_norm():
    from mpi4py import MPI
    from petsc4py import PETSc

    n = 101
    vec = PETSc.Vec().createMPI(n, comm=PETSc.COMM_WORLD)
    lo, hi = vec.getOwnershipRange()
    vec.setValues(np.arange(lo, hi, dtype=np.int32), np.arange(lo, hi, dtype=float))
    vec.assemble()
    assert vec.norm() == pytest.approx(np.linalg.norm(np.arange(n, dtype=float)))
    assert MPI.COMM_WORLD.allreduce(hi - lo) == n
    vec.destroy()


def test_exact_solver_is_identical_on_every_rank():
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    s = spinlib.random(12, 12, np.random.default_rng(7))
    energy, fields = ExactSolver(SDModel(kT=0.01)).energy_and_fields(s)
    energies = comm.allgather(energy)
    all_fields = comm.gather(fields, root=0)
    assert len(set(energies)) == 1
    if comm.rank == 0:
        for other in all_fields[1:]:
            np.testing.assert_array_equal(other, fields)
