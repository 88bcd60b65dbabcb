"""The point group of the triangular lattice (C6v, 12 elements) acting on CNN channels, and
convolutions whose weights are tied so that they commute with it exactly.

Elements are 2x2 integer matrices on grid offsets ``(dx, dy)``: the 60-degree rotation
``a1 -> a2, a2 -> a2 - a1`` (grid ``(x, y) -> (-y, x + y)``) and the mirror ``(x, y) -> (y, x)``
generate them. The s-d model has no spin-orbit coupling, so an operation ``g`` moves sites and
leaves spin components alone: ``(g S)(g x) = S(x)``.

A stack of feature channels carries a :class:`ChannelAction`: ``g`` moves channel ``c`` at site
``x`` to channel ``perm[g, c]`` at site ``g x``, times ``sign[g, c]`` (``-1`` for the scalar
chirality of a triangle under mirrors, which reverse its orientation). A convolution
``out_o(x) = sum_{c, d} W[o, c, d] in_c(x + d)`` commutes with the group exactly when

    ``W[perm_out[g, o], perm_in[g, c], g d] = sign_out[g, o] sign_in[g, c] W[o, c, d]``

for every ``g``. :class:`TiedConv2d` stores one free weight per orbit of ``(o, c, d)`` under
this action (zero where an orbit contradicts itself, and outside the hexagonal kernel
``max(|dx|, |dy|, |dx + dy|) <= (kernel - 1) / 2``, which is the largest kernel on the grid
that the rotation maps onto itself) and expands them into the dense ``Conv2d`` weight.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ROTATION_60 = np.array([[0, -1], [1, 1]])  # acts on (x, y)
MIRROR = np.array([[0, 1], [1, 0]])
#: The 12 elements: rotations by 0, 60, ..., 300 degrees, then each followed by the mirror.
ELEMENTS = tuple([np.linalg.matrix_power(ROTATION_60, n) for n in range(6)]
                 + [np.linalg.matrix_power(ROTATION_60, n) @ MIRROR for n in range(6)])
ORDER = len(ELEMENTS)


def element_index(matrix: np.ndarray) -> int:
    """Position of ``matrix`` in :data:`ELEMENTS`."""
    for index, element in enumerate(ELEMENTS):
        if np.array_equal(element, matrix):
            return index
    raise ValueError(f"{matrix.tolist()} is not in the triangular point group")


def hex_distance(dx, dy):
    """Lattice steps between sites ``(dx, dy)`` apart on the triangular lattice (integers or
    integer arrays)."""
    return np.maximum(np.maximum(np.abs(dx), np.abs(dy)), np.abs(dx + dy))


def hexagon(radius: int) -> list[tuple[int, int]]:
    """Offsets ``(dx, dy) != 0`` within ``radius`` lattice steps, shell by shell, each shell
    in counterclockwise order starting on the +a1 axis (the 6 nearest neighbours first)."""
    offsets = [(dx, dy) for dy in range(-radius, radius + 1) for dx in range(-radius, radius + 1)
               if 0 < hex_distance(dx, dy) <= radius]

    def angle(d):
        return math.atan2(d[1] * math.sqrt(3) / 2, d[0] + d[1] / 2) % (2 * math.pi)

    return sorted(offsets, key=lambda d: (hex_distance(*d), round(angle(d), 9)))


class ChannelAction:
    """How the group moves a stack of channels: ``perm`` and ``sign``, both ``(12, n)``."""

    def __init__(self, perm: np.ndarray, sign: np.ndarray):
        self.perm, self.sign = np.asarray(perm), np.asarray(sign)

    @property
    def size(self) -> int:
        return self.perm.shape[1]

    @classmethod
    def offsets(cls, offsets: list[tuple[int, int]], pseudo: bool = False) -> ChannelAction:
        """One channel per offset (e.g. ``S_i . S_{i+d}``), moved to the channel of ``g d``;
        ``pseudo``: times ``det g`` (oriented quantities such as the scalar chirality)."""
        where = {tuple(d): i for i, d in enumerate(offsets)}
        perm = np.array([[where[tuple(int(v) for v in g @ d)] for d in offsets]
                         for g in ELEMENTS])
        sign = np.array([[round(np.linalg.det(g)) if pseudo else 1] * len(offsets)
                         for g in ELEMENTS])
        return cls(perm, sign)

    @classmethod
    def regular(cls, fields: int) -> ChannelAction:
        """``fields`` copies of the regular representation: channel ``12 f + h`` goes to
        ``12 f + (g h)``."""
        product = np.array([[element_index(g @ h) for h in ELEMENTS] for g in ELEMENTS])
        perm = np.concatenate([f * ORDER + product for f in range(fields)], axis=1)
        return cls(perm, np.ones_like(perm))

    @classmethod
    def stack(cls, *actions: ChannelAction) -> ChannelAction:
        """The channels of ``actions`` one after the other."""
        perm, offset = [], 0
        for action in actions:
            perm.append(action.perm + offset)
            offset += action.size
        return cls(np.concatenate(perm, axis=1),
                   np.concatenate([a.sign for a in actions], axis=1))


def _tie(images: np.ndarray, signs: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Orbits of entries ``e`` with images ``images[g, e]`` (``-1``: forced to zero) and
    factors ``signs[g, e]``: ``(orbit id, sign, orbits)``, orbit id ``orbits`` for zeros."""
    representative = images.min(axis=0)
    first = images.argmin(axis=0)
    sign = signs[first, np.arange(images.shape[1])]
    reaches = images == representative
    contradicts = (reaches & (signs != sign)).any(axis=0)
    zero = (images < 0).any(axis=0) | contradicts
    # an orbit with one zero entry is zero throughout
    zero_representatives = np.unique(representative[zero])
    zero |= np.isin(representative, zero_representatives)
    unique, orbit = np.unique(np.where(zero, -1, representative), return_inverse=True)
    has_zero = unique[0] == -1 if unique.size else False
    count = unique.size - int(has_zero)
    orbit = np.where(zero, count, orbit - int(has_zero))
    return orbit.reshape(-1), np.where(zero, 0, sign), count


def orbits(action: ChannelAction) -> tuple[np.ndarray, np.ndarray, int]:
    """``(orbit id, sign, count)`` of the channels of ``action``: one free value per orbit
    makes a per-channel constant (a bias) invariant under the group."""
    return _tie(action.perm, action.sign)


def orbit_means(values: torch.Tensor, orbit: torch.Tensor, count: int) -> torch.Tensor:
    """Mean of ``values`` over each of ``count`` orbits (``orbit`` ids; id ``count`` and up:
    entries forced to zero, left out); zero for an orbit with no entries."""
    keep = orbit < count
    sums = values.new_zeros(count).index_add_(0, orbit[keep], values[keep])
    sizes = values.new_zeros(count).index_add_(0, orbit[keep], torch.ones_like(values[keep]))
    return sums / sizes.clamp(min=1)


def tied_weight_orbits(out: ChannelAction, inp: ChannelAction, kernel: int):
    """``(orbit, sign, count)`` of the entries of a ``(out, in, kernel, kernel)`` weight."""
    u = (kernel - 1) // 2
    o, c, ky, kx = np.meshgrid(np.arange(out.size), np.arange(inp.size), np.arange(kernel),
                               np.arange(kernel), indexing="ij")
    o, c, ky, kx = (a.ravel() for a in (o, c, ky, kx))
    images, signs = [], []
    for g, matrix in enumerate(ELEMENTS):
        dx, dy = np.tensordot(matrix, np.stack([kx - u, ky - u]), axes=1)
        inside = hex_distance(dx, dy) <= u
        flat = ((out.perm[g, o] * inp.size + inp.perm[g, c]) * kernel + dy + u) * kernel + dx + u
        images.append(np.where(inside, flat, -1))
        signs.append(out.sign[g, o] * inp.sign[g, c])
    return _tie(np.array(images), np.array(signs))


class TiedConv2d(nn.Module):
    """Unpadded ``kernel x kernel`` convolution from channels acted on by ``inp`` to channels
    acted on by ``out`` that commutes with the point group exactly (weights tied by orbit).

    The dense weight is cached while no gradient is recorded (inference calls the layer once
    per block of sites); any change of the free weights, dtype or device renews it.
    """

    def __init__(self, inp: ChannelAction, out: ChannelAction, kernel: int):
        super().__init__()
        orbit, sign, count = tied_weight_orbits(out, inp, kernel)
        bias_orbit, bias_sign, bias_count = orbits(out)
        self.shape = (out.size, inp.size, kernel, kernel)
        u = (kernel - 1) // 2
        bound = 1.0 / math.sqrt(inp.size * (1 + 3 * u * (u + 1)))
        self.weight_free = nn.Parameter(torch.empty(count).uniform_(-bound, bound))
        self.bias_free = nn.Parameter(torch.empty(bias_count).uniform_(-bound, bound))
        for name, array in (("weight_orbit", orbit), ("weight_sign", sign),
                            ("bias_orbit", bias_orbit), ("bias_sign", bias_sign)):
            self.register_buffer(name, torch.from_numpy(np.asarray(array, dtype=np.int64)),
                                 persistent=False)
        self._cache = None

    def dense(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The ``Conv2d`` weight ``(out, in, k, k)`` and bias ``(out,)`` of the free weights."""
        def expand(free, orbit, sign):
            padded = torch.cat([free, free.new_zeros(1)])
            return padded[orbit] * sign.to(free.dtype)

        return (expand(self.weight_free, self.weight_orbit, self.weight_sign).view(self.shape),
                expand(self.bias_free, self.bias_orbit, self.bias_sign))

    @torch.no_grad()
    def set_dense(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        """Set the free weights to the least-squares fit of a dense ``(out, in, k, k)``
        ``weight`` and ``(out,)`` ``bias`` (each free weight: the mean of its orbit's entries
        times their signs); exact when they commute with the group. Raises ``ValueError``
        when they do not (the fit would change what the layer computes)."""
        for free, orbit, sign, target in ((self.weight_free, self.weight_orbit,
                                           self.weight_sign, weight),
                                          (self.bias_free, self.bias_orbit, self.bias_sign,
                                           bias)):
            free.copy_(orbit_means(target.reshape(-1).to(free) * sign.to(free), orbit,
                                   free.numel()))
        for name, got, want in zip(("weight", "bias"), self.dense(), (weight, bias),
                                   strict=True):
            if not torch.allclose(got, want.to(got), rtol=1e-6, atol=1e-7):
                raise ValueError(f"the dense {name} does not commute with the point group "
                                 f"(largest change {float((got - want.to(got)).abs().max()):.3g})")

    @property
    def weight(self) -> torch.Tensor:
        """The dense ``(out, in, k, k)`` weight, as ``Conv2d.weight`` (what the layer computes
        with, kernel corners outside the hexagon included as zeros)."""
        return self.dense()[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled():
            weight, bias = self.dense()
        else:
            key = (self.weight_free._version, self.bias_free._version,
                   self.weight_free.data_ptr(), self.weight_free.dtype)
            if self._cache is None or self._cache[0] != key:
                self._cache = (key, self.dense())
            weight, bias = self._cache[1]
        return F.conv2d(x, weight, bias)

    def _apply(self, fn, *args, **kwargs):
        self._cache = None
        return super()._apply(fn, *args, **kwargs)
