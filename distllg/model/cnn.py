"""Translation-equivariant CNN on the skewed triangular grid.

Every layer is a ``k x k`` convolution over the ``(y, x)`` grid, so a lattice translation of
the input translates the output. With ``n`` layers of odd kernel ``k`` the output at a site
depends on inputs at most ``r = n (k - 1) / 2`` grid steps away along each axis: the
receptive radius, derived here from the architecture and never typed by hand.

Two ways to run the same weights (design, section 2), equal to round-off:

* periodic (:meth:`SpinCNN.forward`): circular padding before each layer, output on the
  whole periodic lattice ``(B, 3, Ly, Lx) -> (B, 3, Ly, Lx)``;
* tiled (:meth:`SpinCNN.forward_tile`): no padding, the input is a tile plus a halo of width
  ``r``, ``(B, 3, ny + 2r, nx + 2r) -> (B, 3, ny, nx)``, the output exactly the tile.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS = {"gelu": nn.GELU, "tanh": nn.Tanh, "silu": nn.SiLU}


class SpinCNN(nn.Module):
    """Stack of ``layers`` convolutions (``kernel x kernel``, ``channels`` wide) from 3 input
    spin components to 3 output components (fields or torques, see ``predicts``).

    Parameters
    ----------
    channels : hidden width
    layers : number of convolutions (>= 1)
    kernel : odd kernel size
    activation : one of ``ACTIVATIONS``, between layers (none after the last)
    predicts : ``"field"`` or ``"torque"``: what the three output channels mean

    The last layer's output is multiplied by the buffer ``output_scale`` (units of t1): the
    network works in normalised units, training sets the scale from the data.
    """

    def __init__(self, channels: int = 32, layers: int = 6, kernel: int = 3,
                 activation: str = "gelu", predicts: str = "field"):
        super().__init__()
        if kernel < 1 or kernel % 2 == 0:
            raise ValueError(f"kernel must be a positive odd integer, got {kernel}")
        if layers < 1 or channels < 1:
            raise ValueError(f"layers and channels must be >= 1, got {layers}, {channels}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation {activation!r} unknown; choose from "
                             f"{sorted(ACTIVATIONS)}")
        if predicts not in ("field", "torque"):
            raise ValueError(f"predicts must be 'field' or 'torque', got {predicts!r}")
        self.architecture = {"channels": channels, "layers": layers, "kernel": kernel,
                             "activation": activation, "predicts": predicts}
        widths = [3] + [channels] * (layers - 1) + [3]
        self.convs = nn.ModuleList(
            nn.Conv2d(widths[i], widths[i + 1], kernel, padding=0) for i in range(layers))
        self.activation = ACTIVATIONS[activation]()
        self.register_buffer("output_scale", torch.ones((), dtype=torch.float64))

    @property
    def receptive_radius(self) -> int:
        """Sites along each grid axis that one output depends on: ``n (k - 1) / 2``."""
        a = self.architecture
        return a["layers"] * (a["kernel"] - 1) // 2

    def _run(self, x: torch.Tensor, periodic: bool) -> torch.Tensor:
        pad = self.architecture["kernel"] // 2
        last = len(self.convs) - 1
        for index, conv in enumerate(self.convs):
            if periodic and pad:
                x = F.pad(x, (pad, pad, pad, pad), mode="circular")
            x = conv(x)
            if index < last:
                x = self.activation(x)
        return x * self.output_scale

    def forward(self, spins: torch.Tensor) -> torch.Tensor:
        """Periodic mode: ``(B, 3, Ly, Lx) -> (B, 3, Ly, Lx)`` with circular padding."""
        Ly, Lx = spins.shape[-2:]
        pad = self.architecture["kernel"] // 2
        if min(Ly, Lx) < pad:
            raise ValueError(f"lattice {Ly} x {Lx} is smaller than the kernel's reach {pad}")
        return self._run(spins, periodic=True)

    def forward_tile(self, padded: torch.Tensor) -> torch.Tensor:
        """Tiled mode: ``(B, 3, ny + 2r, nx + 2r) -> (B, 3, ny, nx)``, no padding."""
        r = self.receptive_radius
        if min(padded.shape[-2:]) <= 2 * r:
            raise ValueError(f"tile with halo {tuple(padded.shape[-2:])} leaves no sites "
                             f"inside a halo of width {r}")
        return self._run(padded, periodic=False)
