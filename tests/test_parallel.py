"""Tiles and halo exchange under mpirun (1, 2, 3, 4 ranks), uneven tiles included."""

import math

import numpy as np
import pytest

from distllg.parallel.decomposition import Decomposition, grid_dims, split
from distllg.parallel.halo import HaloExchange


def test_split_covers_evenly():
    assert split(10, 3) == [(0, 4), (4, 7), (7, 10)]
    assert split(6, 6) == [(i, i + 1) for i in range(6)]
    sizes = [b - a for a, b in split(101, 7)]
    assert sum(sizes) == 101 and max(sizes) - min(sizes) <= 1


def global_labels(shape):
    """Three channels that identify a site: flat index, y, x."""
    y, x = np.mgrid[0:shape[0], 0:shape[1]]
    return np.stack([y * shape[1] + x, y, x]).astype(float)


CASES = [((7, 10), 2, None), ((12, 12), 3, None), ((9, 5), 1, None), ((13, 8), 2, (0, 1)),
         ((11, 9), 1, (1, 0)), ((8, 8), 0, None)]


@pytest.mark.mpi
@pytest.mark.parametrize("shape, width, dims", CASES)
@pytest.mark.parametrize("on_device", [False, True])
def test_halo_holds_the_periodic_global_neighbours(shape, width, dims, on_device):
    """numpy buffers, or torch tensors (``on_device``: the device path, here on the CPU)."""
    import torch
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    if dims is not None:
        dims = tuple(comm.size if d == 0 else d for d in dims)
    deco = Decomposition(comm, shape, halo=width, dims=dims)
    labels = global_labels(shape)
    halo = HaloExchange(deco.cart, deco.tile.shape, width,
                        device=torch.device("cpu") if on_device else None)
    padded = halo.empty()
    padded[...] = np.nan
    halo.interior(padded)[...] = torch.from_numpy(labels[(slice(None),) + deco.tile.slices]) \
        if on_device else labels[(slice(None),) + deco.tile.slices]
    halo.exchange(padded)
    ys, xs = deco.padded_indices()
    np.testing.assert_array_equal(np.asarray(padded), labels[:, ys][:, :, xs])
    ring = math.prod(padded.shape) - math.prod(halo.interior(padded).shape)
    assert halo.bytes_sent == ring * 8  # what arrives is what was sent


@pytest.mark.mpi
def test_tiles_cover_the_lattice_once_and_gather_scatter_round_trip():
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    shape = (10, 7)
    deco = Decomposition(comm, shape, halo=1)
    count = np.zeros(shape, dtype=int)
    for tile in deco.tiles:
        count[tile.slices] += 1
    assert np.all(count == 1)
    labels = global_labels(shape) if comm.rank == 0 else None
    local = deco.scatter(labels)
    assert local.shape == (3,) + deco.tile.shape
    back = deco.gather(local)
    if comm.rank == 0:
        np.testing.assert_array_equal(back, labels)
    else:
        assert back is None


@pytest.mark.mpi
def test_tile_smaller_than_halo_is_refused_on_every_rank():
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    with pytest.raises(ValueError, match="smaller than the halo width 3"):
        Decomposition(comm, (2 * comm.size, 2), halo=3, dims=(comm.size, 1))


@pytest.mark.mpi
def test_grid_dims_follow_the_lattice_shape():
    from mpi4py import MPI

    size = MPI.COMM_WORLD.size
    py, px = grid_dims(size, (16, 64))
    assert py * px == size and px >= py
    assert grid_dims(size, (64, 16))[0] >= grid_dims(size, (64, 16))[1]
    with pytest.raises(ValueError, match="does not match"):
        grid_dims(size, (8, 8), dims=(size + 1, 1))
