"""This rank's part of the lattice: its tile, a one-site halo for observables that couple
neighbours, and global sums. Knows no physics: what is summed is the caller's."""

from __future__ import annotations

import numpy as np

from distllg.parallel.decomposition import Decomposition


class Domain:
    """The tile of this rank of ``comm`` on a periodic ``shape = (Ly, Lx)`` lattice.

    ``halo``: the widest halo any exchange on it will need (a CNN's receptive radius; at
    least 1, the halo of :meth:`with_unit_halo`); ``dims``: the ``(Py, Px)`` process grid, or
    None for the balanced one. Tiles narrower than ``halo`` raise
    :class:`distllg.parallel.decomposition.TileError`."""

    def __init__(self, comm, shape: tuple[int, int], halo: int = 1, dims=None):
        self.shape = (int(shape[0]), int(shape[1]))
        self.decomposition = Decomposition(comm, self.shape, halo=max(int(halo), 1), dims=dims)
        self.cart = self.decomposition.cart
        self.tile = self.decomposition.tile
        self.rank = self.cart.Get_rank()
        rows, cols = self.decomposition.rows[0], self.decomposition.cols[0]
        self.chunk = (rows[1] - rows[0], cols[1] - cols[0])  # the largest tile (HDF5 chunk)
        self._unit_halo = self.decomposition.halo_exchange(1)
        self._padded = self._unit_halo.empty()

    def with_unit_halo(self, tile: np.ndarray) -> np.ndarray:
        """``tile`` ``(3, ny, nx)`` with a one-site halo from the neighbouring tiles,
        ``(3, ny + 2, nx + 2)`` (a buffer reused by the next call)."""
        self._unit_halo.interior(self._padded)[...] = tile
        return self._unit_halo.exchange(self._padded)

    def sum(self, values: np.ndarray) -> np.ndarray:
        """The sum over all ranks of ``values`` (float64, any shape)."""
        from mpi4py import MPI

        local = np.ascontiguousarray(values, dtype=np.float64)
        total = np.empty_like(local)
        self.cart.Allreduce(local, total, op=MPI.SUM)
        return total
