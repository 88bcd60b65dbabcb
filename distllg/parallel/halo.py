"""Halo exchange of width ``r`` on the periodic Cartesian process grid.

A rank holds a padded array ``(C, ny + 2r, nx + 2r)``: its tile in the middle and a halo of
width ``r`` around it. :meth:`HaloExchange.exchange` fills the halo from the neighbouring
tiles: first along x (the interior rows), then along y over the full padded width, so the
corners arrive with the second pass. Buffers are preallocated and contiguous, and the
uppercase (buffer) mpi4py calls move them, with no pickling.

Where the halo lives: numpy arrays in host memory (``device=None``: CPU engines), or torch
tensors on a torch device (``device=...``). On a device the padded tile stays there; the
four strips that travel go to MPI either directly (mpi4py hands device tensors to MPI
through DLPack, so with a CUDA-aware MPI the halo moves from GPU to GPU) or, with
``staged=True``, through send and receive buffers in pinned host memory: only the strips,
never the whole tile, cross to the host.
"""

from __future__ import annotations

import math

import numpy as np


class HaloExchange:
    """Fills the halo of a padded tile array from the neighbouring ranks.

    Parameters
    ----------
    cart : periodic 2-D Cartesian communicator, dims ``(Py, Px)``
    tile_shape : ``(ny, nx)`` sites owned by this rank, each ``>= width`` (made by
        :meth:`distllg.parallel.decomposition.Decomposition.halo_exchange`, which checks it)
    width : halo width ``r`` (sites)
    components : leading array dimension ``C`` (3 for spins)
    dtype : array dtype (float64 by default)
    device : None for numpy arrays in host memory, or the torch device of torch tensors
    staged : with a device: the send and receive buffers in host memory (pinned for a GPU),
        for an MPI library that does not read device memory
    """

    def __init__(self, cart, tile_shape: tuple[int, int], width: int, components: int = 3,
                 dtype=np.float64, device=None, staged: bool = False):
        ny, nx = tile_shape
        r = int(width)
        self.cart = cart
        self.width = r
        self.tile_shape = (ny, nx)
        self.padded_shape = (components, ny + 2 * r, nx + 2 * r)
        # (source, destination) ranks for a shift of +1 along each grid axis.
        self.y_down, self.y_up = cart.Shift(0, 1)
        self.x_left, self.x_right = cart.Shift(1, 1)
        self.device = device
        self.staged = bool(staged and device is not None)
        self.dtype = np.dtype(dtype)
        self._send_x, self._recv_x = (self._buffer((2, components, ny, r), self.staged)
                                      for _ in range(2))
        self._send_y, self._recv_y = (self._buffer((2, components, r, nx + 2 * r), self.staged)
                                      for _ in range(2))

    def _buffer(self, shape, host: bool = False):
        """An array for the padded tile or a buffer: numpy without a device; a torch tensor
        on the device, or in (pinned, for a GPU) host memory when ``host``."""
        if self.device is None:
            return np.empty(shape, dtype=self.dtype)
        import torch

        dtype = getattr(torch, self.dtype.name)
        if host:
            return torch.empty(shape, dtype=dtype, pin_memory=self.device.type == "cuda")
        return torch.empty(shape, dtype=dtype, device=self.device)

    def _ready(self) -> None:
        """Wait for the GPU copies into device send buffers (the CUDA stream that filled
        them, not the whole device): MPI reads GPU memory outside that stream. Copies into
        host buffers are synchronous."""
        if self.device is not None and self.device.type == "cuda" and not self.staged:
            import torch

            torch.cuda.current_stream(self.device).synchronize()

    @property
    def bytes_sent(self) -> int:
        """Bytes this rank sends (and receives) per exchange: 4 messages of the two passes."""
        if self.width == 0:
            return 0
        return (math.prod(self._send_x.shape) + math.prod(self._send_y.shape)) \
            * self.dtype.itemsize

    def empty(self):
        """A new padded array ``(C, ny + 2r, nx + 2r)``: numpy, or a torch tensor on
        ``device``."""
        return self._buffer(self.padded_shape)

    def interior(self, padded: np.ndarray) -> np.ndarray:
        """View of the owned tile inside a padded array."""
        r = self.width
        return padded[:, r:padded.shape[1] - r, r:padded.shape[2] - r]

    def exchange(self, padded: np.ndarray) -> np.ndarray:
        """Fill the halo of ``padded`` in place from the neighbours' tiles; returns it."""
        r = self.width
        if r == 0:
            return padded
        if padded.shape != self.padded_shape:
            raise ValueError(f"padded array has shape {padded.shape}, expected "
                             f"{self.padded_shape}")
        ny, nx = self.tile_shape
        rows = slice(r, r + ny)
        # Along x: my leftmost r columns go left (arriving as their right halo), and back.
        self._send_x[0] = padded[:, rows, r:2 * r]
        self._send_x[1] = padded[:, rows, nx:nx + r]
        self._ready()
        self.cart.Sendrecv(self._send_x[0], dest=self.x_left, sendtag=0,
                           recvbuf=self._recv_x[0], source=self.x_right, recvtag=0)
        self.cart.Sendrecv(self._send_x[1], dest=self.x_right, sendtag=1,
                           recvbuf=self._recv_x[1], source=self.x_left, recvtag=1)
        padded[:, rows, nx + r:] = self._recv_x[0]
        padded[:, rows, :r] = self._recv_x[1]
        # Along y, full padded width: the x-halos travel too, which fills the corners.
        self._send_y[0] = padded[:, r:2 * r, :]
        self._send_y[1] = padded[:, ny:ny + r, :]
        self._ready()
        self.cart.Sendrecv(self._send_y[0], dest=self.y_down, sendtag=2,
                           recvbuf=self._recv_y[0], source=self.y_up, recvtag=2)
        self.cart.Sendrecv(self._send_y[1], dest=self.y_up, sendtag=3,
                           recvbuf=self._recv_y[1], source=self.y_down, recvtag=3)
        padded[:, ny + r:, :] = self._recv_y[0]
        padded[:, :r, :] = self._recv_y[1]
        return padded
