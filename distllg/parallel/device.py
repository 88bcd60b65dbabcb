"""Which device a rank computes on: one GPU per node-local rank, CPU when there is none.

Ranks on one node are found with an ``MPI.COMM_TYPE_SHARED`` split of the communicator; the
node-local rank ``k`` takes GPU ``k mod n_gpus`` (SLURM and mpirun both start ranks in
order on a node; with ``CUDA_VISIBLE_DEVICES`` narrowed to one GPU per rank, that one).
"""

from __future__ import annotations

import torch

PREFERENCES = ("auto", "cpu", "cuda")


def node_local_rank(comm) -> tuple[int, int]:
    """``(rank, size)`` of this process among the ranks sharing its node."""
    from mpi4py import MPI

    local = comm.Split_type(MPI.COMM_TYPE_SHARED, key=comm.Get_rank())
    try:
        return local.Get_rank(), local.Get_size()
    finally:
        local.Free()


def choose(comm, preference: str = "auto") -> torch.device:
    """The torch device of this rank for ``preference`` (``auto``, ``cpu`` or ``cuda``).

    ``auto`` takes a GPU when CUDA is available, else the CPU; ``cuda`` without a GPU is a
    RuntimeError naming the rank.
    """
    if preference not in PREFERENCES:
        raise ValueError(f"device preference {preference!r}; choose one of {PREFERENCES}")
    local_rank, _ = node_local_rank(comm)
    if preference == "cpu" or (preference == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise RuntimeError(f"rank {comm.Get_rank()}: 'engine.device' = \"cuda\" but this "
                           f"process sees no CUDA device")
    return torch.device("cuda", local_rank % torch.cuda.device_count())
