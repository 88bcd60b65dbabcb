"""Periodic 2-D Cartesian process grid and the tiles it cuts a ``Ly x Lx`` lattice into.

Ranks form a ``Py x Px`` grid (``MPI.Compute_dims``, or given), periodic along both axes.
Grid coordinate ``(py, px)`` owns global rows ``y0 <= y < y1`` and columns
``x0 <= x < x1``. Splits may be uneven: the first ``L mod P`` tiles along an axis get one
extra site. Every tile must be at least ``halo`` sites wide on each axis, so that one
exchange with the nearest neighbours fills a halo of that width.
"""

from __future__ import annotations

import dataclasses

import numpy as np


class TileError(ValueError):
    """The tiles of a decomposition are narrower than its halo: ``smallest`` ``(ny, nx)``
    tile on the ``dims`` process grid."""

    def __init__(self, message: str, smallest: tuple[int, int], dims: tuple[int, int]):
        super().__init__(message)
        self.smallest, self.dims = smallest, dims


def split(length: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous ranges ``[start, stop)`` covering ``range(length)``, sizes differing
    by at most one (the larger ones first)."""
    base, extra = divmod(length, parts)
    bounds = np.cumsum([0] + [base + (i < extra) for i in range(parts)])
    return [(int(bounds[i]), int(bounds[i + 1])) for i in range(parts)]


def grid_dims(size: int, shape: tuple[int, int], dims=None) -> tuple[int, int]:
    """Process grid ``(Py, Px)`` for ``size`` ranks on a ``(Ly, Lx)`` lattice.

    ``dims`` fixes it (0 entries are filled in, as ``MPI.Compute_dims`` does); otherwise the
    balanced factorisation is used with the larger factor on the longer lattice axis.
    """
    from mpi4py import MPI

    given = [0, 0] if dims is None else [int(d) for d in dims]
    if len(given) != 2 or min(given) < 0:
        raise ValueError(f"process grid dims must be two non-negative integers, got {dims!r}")
    fixed = int(np.prod([d for d in given if d > 0]))
    if size % fixed or (min(given) > 0 and fixed != size):
        raise ValueError(f"process grid {given[0]} x {given[1]} does not match {size} ranks")
    filled = MPI.Compute_dims(size, given)
    if dims is None and (shape[1] > shape[0]) == (filled[0] > filled[1]):
        filled = filled[::-1]
    return int(filled[0]), int(filled[1])


@dataclasses.dataclass(frozen=True)
class Tile:
    """The part of the global lattice one rank owns (global index ranges, half-open)."""

    rank: int
    coords: tuple[int, int]  # (py, px)
    y0: int
    y1: int
    x0: int
    x1: int

    @property
    def shape(self) -> tuple[int, int]:
        """``(ny, nx)`` owned sites."""
        return (self.y1 - self.y0, self.x1 - self.x0)

    @property
    def slices(self) -> tuple[slice, slice]:
        """Slices of the global ``(Ly, Lx)`` array that this tile owns."""
        return (slice(self.y0, self.y1), slice(self.x0, self.x1))


class Decomposition:
    """Tiles of a periodic ``(Ly, Lx)`` lattice over a Cartesian communicator.

    Parameters
    ----------
    comm : mpi4py communicator (``MPI.COMM_WORLD`` or a sub-communicator)
    shape : ``(Ly, Lx)`` global lattice
    halo : halo width in sites (the model's receptive radius); every tile must be at
        least this wide on each axis
    dims : optional ``(Py, Px)`` process grid
    """

    def __init__(self, comm, shape: tuple[int, int], halo: int, dims=None):
        self.shape = (int(shape[0]), int(shape[1]))
        self.halo = int(halo)
        self.dims = grid_dims(comm.Get_size(), self.shape, dims)
        self.cart = comm.Create_cart(self.dims, periods=[True, True], reorder=False)
        self.rows = split(self.shape[0], self.dims[0])
        self.cols = split(self.shape[1], self.dims[1])
        smallest = (min(b - a for a, b in self.rows), min(b - a for a, b in self.cols))
        if min(smallest) < self.halo:  # the one check of tile sizes
            raise TileError(
                f"lattice {self.shape[0]} x {self.shape[1]} on a {self.dims[0]} x "
                f"{self.dims[1]} process grid gives tiles as small as {smallest[0]} x "
                f"{smallest[1]}, smaller than the halo width {self.halo}; use fewer ranks or "
                f"a larger lattice", smallest, self.dims)
        self.tile = self.tile_of(self.cart.Get_rank())

    def tile_of(self, rank: int) -> Tile:
        """The tile of ``rank`` in the Cartesian communicator."""
        py, px = self.cart.Get_coords(rank)
        (y0, y1), (x0, x1) = self.rows[py], self.cols[px]
        return Tile(rank=rank, coords=(py, px), y0=y0, y1=y1, x0=x0, x1=x1)

    def halo_exchange(self, width: int | None = None, components: int = 3, dtype=np.float64,
                      device=None, staged: bool = False):
        """A :class:`distllg.parallel.halo.HaloExchange` of this rank's tile, ``width`` sites
        wide (default: the decomposition's halo, which bounds it), on ``device`` (None: numpy
        in host memory), its buffers ``staged`` through host memory."""
        from distllg.parallel.halo import HaloExchange

        width = self.halo if width is None else int(width)
        if not 0 <= width <= self.halo:
            raise ValueError(f"halo width {width} outside 0..{self.halo}, the width the tiles "
                             f"were checked for")
        return HaloExchange(self.cart, self.tile.shape, width, components, dtype, device,
                            staged)

    @property
    def tiles(self) -> list[Tile]:
        """Every rank's tile, by rank."""
        return [self.tile_of(r) for r in range(self.cart.Get_size())]

    def padded_indices(self) -> tuple[np.ndarray, np.ndarray]:
        """Global ``(y, x)`` indices of this rank's tile plus halo, periodic; 1-D each."""
        h, t = self.halo, self.tile
        ys = np.arange(t.y0 - h, t.y1 + h) % self.shape[0]
        xs = np.arange(t.x0 - h, t.x1 + h) % self.shape[1]
        return ys, xs

    def scatter(self, global_array: np.ndarray | None, root: int = 0) -> np.ndarray:
        """This rank's tile ``(C, ny, nx)`` of a global ``(C, Ly, Lx)`` array held on ``root``."""
        parts = None
        if self.cart.Get_rank() == root:
            parts = [np.ascontiguousarray(global_array[(slice(None),) + t.slices])
                     for t in self.tiles]
        return self.cart.scatter(parts, root=root)

    def gather(self, local: np.ndarray, root: int = 0) -> np.ndarray | None:
        """The global ``(C, Ly, Lx)`` array on ``root`` from every rank's tile; None elsewhere."""
        parts = self.cart.gather(local, root=root)
        if self.cart.Get_rank() != root:
            return None
        out = np.empty(local.shape[:-2] + self.shape, dtype=local.dtype)
        for tile, part in zip(self.tiles, parts, strict=True):
            out[(Ellipsis,) + tile.slices] = part
        return out
