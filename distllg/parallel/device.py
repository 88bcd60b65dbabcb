"""Which device a rank computes on (one GPU per node-local rank, CPU when there is none), and
in which precision the network runs there.

Ranks on one node are found with an ``MPI.COMM_TYPE_SHARED`` split of the communicator; the
node-local rank ``k`` takes GPU ``k mod n_gpus`` (SLURM and mpirun both start ranks in
order on a node; with ``CUDA_VISIBLE_DEVICES`` narrowed to one GPU per rank, that one).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import torch

from distllg.parallel import DEVICES, HALO_PLACES

CPUINFO = Path("/proc/cpuinfo")


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
    if preference not in DEVICES:
        raise ValueError(f"device preference {preference!r}; choose one of {DEVICES}")
    local_rank, _ = node_local_rank(comm)
    if preference == "cpu" or (preference == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise RuntimeError(f"rank {comm.Get_rank()}: a CUDA device was asked for, but this "
                           f"process sees none")
    return torch.device("cuda", local_rank % torch.cuda.device_count())


def native_bfloat16(device: torch.device) -> bool:
    """Whether ``device`` computes bfloat16 natively: a CUDA GPU that supports it, or a CPU
    with AVX512-BF16 or AMX-BF16 (Linux ``/proc/cpuinfo``); elsewhere bfloat16 is emulated
    and slower than float32."""
    if device.type == "cuda":  # is_bf16_supported() also counts emulation (Volta, Turing)
        return torch.cuda.get_device_capability(device)[0] >= 8
    try:
        flags = CPUINFO.read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def precision(name: str, device: torch.device) -> torch.dtype:
    """The torch dtype of ``engine.precision`` on ``device``: ``auto`` is bfloat16 where the
    device computes it natively, else float32 (both within a tenth of the shipped models'
    own torque error, bench/precision.py); float64, float32 and bfloat16 as named."""
    if name == "auto":
        return torch.bfloat16 if native_bfloat16(device) else torch.float32
    return getattr(torch, name)


def dtype_name(dtype: torch.dtype) -> str:
    """``"bfloat16"`` for ``torch.bfloat16``: the name ``engine.precision`` uses."""
    return str(dtype).removeprefix("torch.")


def cuda_aware_mpi() -> bool | None:
    """Whether the MPI library reads and writes GPU memory itself: True or False where it
    says so (mpi4py 4's ``MPI.Query_cuda_support``, else whether Open MPI was built with CUDA
    support, from ``ompi_info``; a build with it can still have it switched off at run time),
    None where it cannot tell."""
    from mpi4py import MPI

    query = getattr(MPI, "Query_cuda_support", None)
    if query is not None:
        try:
            return bool(query())
        except (NotImplementedError, MPI.Exception):
            pass
    if "Open MPI" not in MPI.Get_library_version():
        return None
    try:
        info = subprocess.run(["ompi_info", "--parsable", "--all"], capture_output=True,
                              text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in info.splitlines():  # mca:opal:base:param:opal_built_with_cuda_support:value:
        if "_built_with_cuda_support:value:" in line:  # (Open MPI 4; mpi_... in Open MPI 5)
            return line.rsplit(":", 1)[1].strip() == "true"
    return None


def halo_place(preference: str, device: torch.device
               ) -> tuple[torch.device | None, bool, str]:
    """Where the halo of ``engine.halo`` is exchanged on ``device``: ``(place, staged,
    why)``. ``place`` None: numpy arrays in host memory (CPU engines); a device: the padded
    tile in torch tensors there, with the strips that travel ``staged`` through pinned host
    memory or (not staged) handed to MPI on the device. On a GPU, ``auto`` and ``device``
    hand them over when the MPI library is CUDA-aware, else (or with ``host``) stage them,
    saying why."""
    if preference not in HALO_PLACES:
        raise ValueError(f"halo place {preference!r}; choose one of {HALO_PLACES}")
    if device.type != "cuda":
        if preference == "device":
            return device, False, "halo in torch tensors on the cpu"
        return None, False, "halo in host memory"
    if preference == "host":
        return device, True, "halo strips staged through pinned host memory"
    aware = cuda_aware_mpi()
    if aware:
        return device, False, "halo exchanged GPU to GPU (CUDA-aware MPI)"
    why = "is not CUDA-aware" if aware is False else "does not say whether it is CUDA-aware"
    return device, True, f"halo strips staged through pinned host memory: the MPI library {why}"
