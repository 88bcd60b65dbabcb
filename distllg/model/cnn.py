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


#: Nearest-neighbour offsets ``(dx, dy)`` of the triangular lattice (design, section 1).
NEAREST = ((1, 0), (0, 1), (-1, 1), (-1, 0), (0, -1), (1, -1))


def _shifted(x: torch.Tensor, dx: int, dy: int, margin: int) -> torch.Tensor:
    """``x`` at sites ``i + (dx, dy)`` for the sites ``i`` at least ``margin`` from the edge."""
    H, W = x.shape[-2:]
    return x[..., margin + dy:H - margin + dy, margin + dx:W - margin + dx]


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a * b).sum(dim=-3)


class EquivariantSpinCNN(nn.Module):
    """Torque model that is exactly equivariant under global spin rotations (SO(3)).

    1. Rotation-invariant features of every site: ``S_i . S_j`` for its 6 nearest
       neighbours and the scalar chirality ``S_a . (S_b x S_c)`` of its up and down triangles
       (8 channels, reach 1).
    2. A CNN of ``layers`` ``kernel x kernel`` convolutions on the features gives, per site,
       2 invariant coefficients for every offset ``d`` of a ``(2w + 1)^2`` window (w =
       ``window``): ``c_d(i)`` and ``e_d(i)``.
    3. The torque ``T_i = sum_d c_d(i) S_i x S_{i+d} + e_d(i) S_i x (S_i x S_{i+d})``.

    Invariant coefficients times vectors that rotate with the spins make ``T`` rotate with
    them exactly, and ``T_i`` is perpendicular to ``S_i`` by construction. Receptive radius
    ``r = max(1 + layers (kernel - 1) / 2, window)``. Periodic and tiled modes share
    :meth:`forward_tile`: periodic = circular padding by ``r``, then the tiled computation.
    """

    def __init__(self, channels: int = 32, layers: int = 4, kernel: int = 3, window: int = 3,
                 activation: str = "gelu", predicts: str = "torque"):
        super().__init__()
        if kernel < 1 or kernel % 2 == 0:
            raise ValueError(f"kernel must be a positive odd integer, got {kernel}")
        if layers < 1 or channels < 1 or window < 1:
            raise ValueError(f"layers, channels and window must be >= 1, got {layers}, "
                             f"{channels}, {window}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation {activation!r} unknown; choose from "
                             f"{sorted(ACTIVATIONS)}")
        if predicts != "torque":
            raise ValueError("EquivariantSpinCNN predicts torques only")
        self.architecture = {"kind": "equivariant", "channels": channels, "layers": layers,
                             "kernel": kernel, "window": window, "activation": activation,
                             "predicts": predicts}
        self.offsets = [(dx, dy) for dy in range(-window, window + 1)
                        for dx in range(-window, window + 1) if (dx, dy) != (0, 0)]
        widths = [len(NEAREST) + 2] + [channels] * (layers - 1) + [2 * len(self.offsets)]
        self.convs = nn.ModuleList(
            nn.Conv2d(widths[i], widths[i + 1], kernel, padding=0) for i in range(layers))
        self.activation = ACTIVATIONS[activation]()
        self.register_buffer("output_scale", torch.ones((), dtype=torch.float64))

    @property
    def receptive_radius(self) -> int:
        """``max(1 + n (k - 1) / 2, window)`` sites along each grid axis."""
        a = self.architecture
        return max(1 + a["layers"] * (a["kernel"] - 1) // 2, a["window"])

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Invariant features ``(B, 8, H - 2, W - 2)`` of the sites one away from the edge."""
        centre = _shifted(x, 0, 0, 1)
        dots = [_dot(centre, _shifted(x, dx, dy, 1)) for dx, dy in NEAREST]
        right, above = _shifted(x, 1, 0, 1), _shifted(x, 0, 1, 1)
        above_right = _shifted(x, 1, 1, 1)
        up = _dot(centre, torch.linalg.cross(right, above, dim=-3))
        down = _dot(right, torch.linalg.cross(above_right, above, dim=-3))
        return torch.stack(dots + [up, down], dim=-3)

    def forward_tile(self, padded: torch.Tensor) -> torch.Tensor:
        """Tiled mode: ``(B, 3, ny + 2r, nx + 2r) -> (B, 3, ny, nx)``, no padding."""
        r = self.receptive_radius
        if min(padded.shape[-2:]) <= 2 * r:
            raise ValueError(f"tile with halo {tuple(padded.shape[-2:])} leaves no sites "
                             f"inside a halo of width {r}")
        h = self.features(padded)
        last = len(self.convs) - 1
        for index, conv in enumerate(self.convs):
            h = conv(h)
            if index < last:
                h = self.activation(h)
        reach = 1 + self.architecture["layers"] * (self.architecture["kernel"] - 1) // 2
        trim = r - reach  # coefficients exist at margin `reach`; the output sits at margin r
        if trim:
            h = h[..., trim:h.shape[-2] - trim, trim:h.shape[-1] - trim]
        n = len(self.offsets)
        centre = _shifted(padded, 0, 0, r)
        torque = torch.zeros_like(centre)
        for index, (dx, dy) in enumerate(self.offsets):
            pair = torch.linalg.cross(centre, _shifted(padded, dx, dy, r), dim=-3)
            torque = torque + h[:, index:index + 1] * pair + h[:, n + index:n + index + 1] * \
                torch.linalg.cross(centre, pair, dim=-3)
        return torque * self.output_scale

    def forward(self, spins: torch.Tensor) -> torch.Tensor:
        """Periodic mode: ``(B, 3, Ly, Lx) -> (B, 3, Ly, Lx)``."""
        r = self.receptive_radius
        if min(spins.shape[-2:]) < r:
            raise ValueError(f"lattice {tuple(spins.shape[-2:])} is smaller than the "
                             f"receptive radius {r}")
        return self.forward_tile(F.pad(spins, (r, r, r, r), mode="circular"))


ARCHITECTURES = {"cnn": SpinCNN, "equivariant": EquivariantSpinCNN}


def build(architecture: dict) -> nn.Module:
    """A model from its ``architecture`` dict (``kind`` picks the class; default "cnn")."""
    arguments = dict(architecture)
    kind = arguments.pop("kind", "cnn")
    if kind not in ARCHITECTURES:
        raise ValueError(f"unknown model kind {kind!r}; choose from {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[kind](**arguments)
