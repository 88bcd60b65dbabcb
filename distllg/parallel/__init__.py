"""The parallel layer: process grid, tiles and halo exchange. It moves arrays and never
imports physics or the config.

The choices it offers (torch-free, so that the config can check them):
"""

#: Where a rank computes: ``auto`` takes this rank's GPU when there is one.
DEVICES = ("auto", "cpu", "cuda")
#: Where the halo is exchanged: host memory, device memory (a CUDA-aware MPI), or ``auto``.
HALO_PLACES = ("auto", "host", "device")
