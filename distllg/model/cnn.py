"""Translation-equivariant CNN on the skewed triangular grid.

Every layer is a ``k x k`` convolution over the ``(y, x)`` grid, so a lattice translation of
the input translates the output. With ``n`` layers of odd kernel ``k`` the output at a site
depends on inputs at most ``r = n (k - 1) / 2`` grid steps away along each axis: the
receptive radius, derived here from the architecture and never typed by hand.

Two ways to run the same weights (design, section 2), equal to round-off:

* periodic (:meth:`ConvStack.forward`): the whole lattice padded circularly by ``r`` once,
  then the tiled computation, ``(B, 3, Ly, Lx) -> (B, 3, Ly, Lx)``;
* tiled (:meth:`SpinCNN.forward_tile`): no padding, the input is a tile plus a halo of width
  ``r``, ``(B, 3, ny + 2r, nx + 2r) -> (B, 3, ny, nx)``, the output exactly the tile.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from distllg.model import architecture
from distllg.model.point_group import (
    ORDER,
    ChannelAction,
    TiedConv2d,
    hex_distance,
    hexagon,
    orbit_means,
    orbits,
)

ACTIVATIONS = {"gelu": nn.GELU, "tanh": nn.Tanh, "silu": nn.SiLU}  # architecture.ACTIVATIONS


class ConvStack(nn.Module):
    """Unpadded convolutions ``inputs -> channels -> ... -> outputs``, one per entry of
    ``kernels``, with ``activation`` between them; the shared core of the models below.

    Each model computes in the tiled mode (:meth:`forward_tile`: tile plus a halo of width r
    in, tile out, no padding); the periodic mode pads the whole lattice circularly by r and
    runs the same computation, so the two agree by construction. ``output_scale`` (a buffer,
    units of t1) multiplies the output: the network works in normalised units and training
    sets the scale from the data.
    """

    def __init__(self, inputs: int, outputs: int, channels: int, kernels: list[int],
                 activation: str, actions: tuple[ChannelAction, ChannelAction] | None = None):
        """``kernels``: the odd kernel size of each convolution, first to last.
        ``actions``: how the point group moves the input and the output channels; then
        every convolution commutes with it (:class:`TiedConv2d`, hexagonal kernels) and the
        hidden channels are ``channels / 12`` copies of its regular representation."""
        super().__init__()  # the settings were checked by architecture.check
        layers = len(kernels)
        widths = [inputs] + [channels] * (layers - 1) + [outputs]
        if actions is None:
            self.convs = nn.ModuleList(
                nn.Conv2d(widths[i], widths[i + 1], k, padding=0) for i, k in enumerate(kernels))
        else:
            chain = ([actions[0]] + [ChannelAction.regular(channels // ORDER)] * (layers - 1)
                     + [actions[1]])
            self.convs = nn.ModuleList(TiedConv2d(chain[i], chain[i + 1], k)
                                       for i, k in enumerate(kernels))
        self.activation = ACTIVATIONS[activation]()
        self.register_buffer("output_scale", torch.ones((), dtype=torch.float64))

    def stack(self, x: torch.Tensor) -> torch.Tensor:
        """The convolutions without padding: each shrinks the grid by ``kernel - 1``. They
        compute in the dtype of their parameters (bfloat16 after :meth:`convolve_in`) and
        return the input's dtype."""
        dtype, last = x.dtype, len(self.convs) - 1
        x = x.to(next(self.convs.parameters()).dtype)
        for index, conv in enumerate(self.convs):
            x = conv(x)
            if index < last:
                x = self.activation(x)
        return x.to(dtype)

    def convolve_in(self, dtype: torch.dtype) -> ConvStack:
        """Let the convolutions (weights, activations between them) compute in ``dtype``, the
        features, torque sums and output keep the model's dtype; returns the model. With
        bfloat16 (8-bit mantissa; oneDNN and cuDNN accumulate in float32) the convolutions
        run about 1.7 x faster than float32 on CPUs with AVX512-BF16."""
        self.convs.to(dtype)
        return self

    def _check_padded(self, padded: torch.Tensor) -> None:
        r = self.receptive_radius
        if min(padded.shape[-2:]) <= 2 * r:
            raise ValueError(f"tile with halo {tuple(padded.shape[-2:])} leaves no sites "
                             f"inside a halo of width {r}")

    def forward(self, spins: torch.Tensor) -> torch.Tensor:
        """Periodic mode: ``(B, 3, Ly, Lx) -> (B, 3, Ly, Lx)``."""
        r = self.receptive_radius
        if min(spins.shape[-2:]) < r:
            raise ValueError(f"lattice {tuple(spins.shape[-2:])} is smaller than the "
                             f"receptive radius {r}")
        return self.forward_tile(F.pad(spins, (r, r, r, r), mode="circular") if r else spins)


class SpinCNN(ConvStack):
    """Stack of ``layers`` convolutions (``kernel x kernel``, ``channels`` wide) from 3 input
    spin components to 3 output components (fields or torques, see ``predicts``).

    Parameters
    ----------
    channels : hidden width
    layers : number of convolutions (>= 1)
    kernel : odd kernel size
    activation : one of ``ACTIVATIONS``, between layers (none after the last)
    predicts : ``"field"`` or ``"torque"``: what the three output channels mean
    """

    def __init__(self, channels: int = 32, layers: int = 6, kernel: int = 3,
                 activation: str = "gelu", predicts: str = "field"):
        architecture.check("cnn", channels, layers, kernel, activation=activation,
                           predicts=predicts)
        super().__init__(3, 3, channels, [kernel] * layers, activation)
        self.architecture = {"channels": channels, "layers": layers, "kernel": kernel,
                             "activation": activation, "predicts": predicts}

    @property
    def receptive_radius(self) -> int:
        """Sites along each grid axis that one output depends on: ``n (k - 1) / 2``."""
        a = self.architecture
        return a["layers"] * (a["kernel"] - 1) // 2

    def forward_tile(self, padded: torch.Tensor) -> torch.Tensor:
        """Tiled mode: ``(B, 3, ny + 2r, nx + 2r) -> (B, 3, ny, nx)``, no padding."""
        self._check_padded(padded)
        return self.stack(padded) * self.output_scale


#: Nearest-neighbour offsets ``(dx, dy)`` of the triangular lattice (design, section 1).
NEAREST = ((1, 0), (0, 1), (-1, 1), (-1, 0), (0, -1), (1, -1))


def _shifted(x: torch.Tensor, dx: int, dy: int, margin: int) -> torch.Tensor:
    """``x`` at sites ``i + (dx, dy)`` for the sites ``i`` at least ``margin`` from the edge."""
    H, W = x.shape[-2:]
    return x[..., margin + dy:H - margin + dy, margin + dx:W - margin + dx]


def _window(w: int) -> list[tuple[int, int]]:
    """Offsets ``(dx, dy) != (0, 0)`` with ``|dx|, |dy| <= w``."""
    return [(dx, dy) for dy in range(-w, w + 1) for dx in range(-w, w + 1) if (dx, dy) != (0, 0)]


def _hexagon(u: int) -> list[tuple[int, int]]:
    """Offsets within ``u`` lattice steps (``max(|dx|, |dy|, |dx + dy|) <= u``): the 6
    nearest neighbours first (in ``NEAREST`` order), then the farther ones."""
    farther = [(dx, dy) for dx, dy in _window(u) if 1 < hex_distance(dx, dy) <= u]
    return list(NEAREST) + farther


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a * b).sum(dim=-3)


def _dots(x: torch.Tensor, offsets: list[tuple[int, int]], margin: int) -> list[torch.Tensor]:
    """``S_i . S_{i+d}`` for each offset ``d`` (a set closed under ``d -> -d``, every
    ``|dx|, |dy| <= margin``) at the sites ``margin`` from the edge. The pair ``+-d`` shares
    one product field ``P(j) = S_j . S_{j+d}``: ``S_i . S_{i-d} = P(i - d)``."""
    H, W = x.shape[-2:]
    out: dict[tuple[int, int], torch.Tensor] = {}
    for dx, dy in offsets:
        if (dx, dy) in out:
            continue
        y0, x0 = max(0, -dy), max(0, -dx)  # P[p] belongs to the site j = p + (y0, x0)
        y1, x1 = H - max(0, dy), W - max(0, dx)
        product = _dot(x[..., y0:y1, x0:x1], x[..., y0 + dy:y1 + dy, x0 + dx:x1 + dx])
        for sign in (1, -1):  # site i reads P at j = i (for +d) or j = i - d (for -d)
            ty, tx = margin - y0 - (dy if sign < 0 else 0), margin - x0 - (dx if sign < 0 else 0)
            out[(sign * dx, sign * dy)] = product[..., ty:ty + H - 2 * margin,
                                                  tx:tx + W - 2 * margin]
    return [out[d] for d in offsets]


def layer_kernels(layers: int, kernel: int, end_kernel: int | None) -> list[int]:
    """Kernel size of each of ``layers`` convolutions: ``end_kernel`` for the first and the
    last (``None``: ``kernel``), ``kernel`` between. ``end_kernel = 1`` makes the two ends
    pointwise: they mix channels only, where the channel counts are largest."""
    end = kernel if end_kernel is None else end_kernel
    return [end] if layers == 1 else [end] + [kernel] * (layers - 2) + [end]


class EquivariantSpinCNN(ConvStack):
    """Torque model that is exactly equivariant under global spin rotations (SO(3)).

    1. Rotation-invariant features of every site: ``S_i . S_{i+d}`` for the offsets of a
       hexagon of ``u = dots`` lattice steps (the 6 nearest neighbours for u = 1, 18 sites for
       u = 2) and the scalar chirality ``S_a . (S_b x S_c)`` of its up and down triangles
       (``3 u (u + 1) + 2`` channels, reach u).
    2. A CNN of ``layers`` ``kernel x kernel`` convolutions (the first and the last
       ``end_kernel x end_kernel``, default ``kernel``) on the features gives, per site,
       2 invariant coefficients for every offset ``d`` of a ``(2w + 1)^2`` window (w =
       ``window``): ``c_d(i)`` and ``e_d(i)``.
    3. The torque ``T_i = sum_d c_d(i) S_i x S_{i+d} + e_d(i) S_i x (S_i x S_{i+d})``.

    Invariant coefficients times vectors that rotate with the spins make ``T`` rotate with
    them exactly, and ``T_i`` is perpendicular to ``S_i`` by construction. Receptive radius
    ``r = max(dots + sum over layers of (k - 1) / 2, window)``. Periodic and tiled modes share
    :meth:`forward_tile`: periodic = circular padding by ``r``, then the tiled computation.
    """

    KIND = "equivariant"

    def __init__(self, channels: int = 32, layers: int = 4, kernel: int = 3, window: int = 3,
                 activation: str = "gelu", predicts: str = "torque", dots: int = 1,
                 end_kernel: int | None = None):
        architecture.check(self.KIND, channels, layers, kernel, end_kernel or 0, window, dots,
                           activation=activation, predicts=predicts)
        offsets, dot_offsets = _window(window), _hexagon(dots)
        kernels = layer_kernels(layers, kernel, end_kernel)
        super().__init__(len(dot_offsets) + 2, 2 * len(offsets), channels, kernels, activation)
        self._record(offsets, dot_offsets, channels=channels, layers=layers, kernel=kernel,
                     end_kernel=kernels[0], window=window, dots=dots, activation=activation,
                     predicts=predicts)

    def _record(self, offsets, dot_offsets, **architecture) -> None:
        """Keep the offsets and the ``architecture`` dict (with ``kind``) of the model."""
        self.offsets, self.dot_offsets = offsets, dot_offsets
        self.architecture = {"kind": self.KIND, **architecture}

    @property
    def kernels(self) -> list[int]:
        """Kernel size of each convolution, first to last."""
        a = self.architecture
        return layer_kernels(a["layers"], a["kernel"], a["end_kernel"])

    @property
    def reach(self) -> int:
        """How far the invariant coefficients see: ``dots + sum_layers (k - 1) / 2``."""
        return self.architecture["dots"] + sum((k - 1) // 2 for k in self.kernels)

    @property
    def receptive_radius(self) -> int:
        """``max(reach, window)`` sites along each grid axis."""
        return max(self.reach, self.architecture["window"])

    def sums(self, padded: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``A_i = sum_d c_d(i) S_{i+d}`` and ``B_i = sum_d e_d(i) S_{i+d}``, each
        ``(B, 3, ny, nx)``, from the tile plus halo and the CNN's coefficients ``h``
        (``(B, 2 n, ny, nx)``: the ``c`` channels, then the ``e`` channels)."""
        r, n = self.receptive_radius, len(self.offsets)
        a = torch.zeros_like(_shifted(padded, 0, 0, r))
        b = torch.zeros_like(a)
        for k, (dx, dy) in enumerate(self.offsets):
            neighbour = _shifted(padded, dx, dy, r)
            a = a.addcmul_(h[:, k:k + 1], neighbour)
            b = b.addcmul_(h[:, n + k:n + k + 1], neighbour)
        return a, b

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Invariant features ``(B, F, H - 2u, W - 2u)`` of the sites ``u = dots`` away from
        the edge."""
        u = self.architecture["dots"]
        centre = _shifted(x, 0, 0, u)
        dots = _dots(x, self.dot_offsets, u)
        right, above = _shifted(x, 1, 0, u), _shifted(x, 0, 1, u)
        above_right = _shifted(x, 1, 1, u)
        up = _dot(centre, torch.linalg.cross(right, above, dim=-3))
        down = _dot(right, torch.linalg.cross(above_right, above, dim=-3))
        return torch.stack(dots + [up, down], dim=-3)

    def forward_tile(self, padded: torch.Tensor) -> torch.Tensor:
        """Tiled mode: ``(B, 3, ny + 2r, nx + 2r) -> (B, 3, ny, nx)``, no padding."""
        self._check_padded(padded)
        r = self.receptive_radius
        # the coefficients need a margin `reach` around the output only
        h = self.stack(self.features(_shifted(padded, 0, 0, r - self.reach)))
        # The cross products are linear in S_{i+d}: T_i = S_i x A_i + S_i x (S_i x B_i) with
        # A_i = sum_d c_d(i) S_{i+d}, B_i = sum_d e_d(i) S_{i+d} (two cross products per site
        # instead of two per offset).
        centre = _shifted(padded, 0, 0, r)
        a, b = self.sums(padded, h)
        pair = torch.linalg.cross(centre, a, dim=-3)
        twice = torch.linalg.cross(centre, torch.linalg.cross(centre, b, dim=-3), dim=-3)
        return (pair + twice) * self.output_scale



class SymmetricSpinCNN(EquivariantSpinCNN):
    """:class:`EquivariantSpinCNN` that is also exactly equivariant under the 12 point-group
    operations of the triangular lattice (:mod:`distllg.model.point_group`).

    The same three steps with every piece closed under the group: features ``S_i . S_{i+d}``
    for the offsets within ``dots`` lattice steps and the scalar chiralities of the 6
    triangles around site i (counterclockwise; mirrors flip their sign); convolutions with
    weights tied over the group on hexagonal kernels, hidden channels ``channels / 12``
    copies of the regular representation; torque offsets ``d`` within ``window`` lattice
    steps (a hexagon, not a square), coefficients ``c_d, e_d`` that move with ``d``.

    ``tail > window`` adds constant couplings for the offsets ``window < |d| <= tail``: the
    same two terms with learned texture-independent ``c_d, e_d`` (one pair per orbit of ``d``
    under the group), the long-range RKKY-like part of the exact field, at the cost of one
    FFT correlation per block instead of two more CNN output channels per offset. The
    receptive radius is ``max(reach, window, tail)``.
    """

    KIND = "symmetric"

    def __init__(self, channels: int = 48, layers: int = 4, kernel: int = 3, window: int = 3,
                 activation: str = "gelu", predicts: str = "torque", dots: int = 1,
                 tail: int = 0, end_kernel: int | None = None):
        architecture.check(self.KIND, channels, layers, kernel, end_kernel or 0, window, dots,
                           tail, activation, predicts)
        offsets, dot_offsets = hexagon(window), hexagon(dots)
        coefficients = ChannelAction.offsets(offsets)
        # triangle k is labelled by the direction n_k + n_{k+1} of its centre
        triangles = [(a[0] + b[0], a[1] + b[1])
                     for a, b in zip(NEAREST, NEAREST[1:] + NEAREST[:1], strict=True)]
        features = ChannelAction.stack(ChannelAction.offsets(dot_offsets),
                                       ChannelAction.offsets(triangles, pseudo=True))
        kernels = layer_kernels(layers, kernel, end_kernel)
        ConvStack.__init__(self, features.size, 2 * len(offsets), channels, kernels,
                           activation, (features, ChannelAction.stack(coefficients,
                                                                      coefficients)))
        self._record(offsets, dot_offsets, channels=channels, layers=layers, kernel=kernel,
                     end_kernel=kernels[0], window=window, dots=dots, activation=activation,
                     predicts=predicts, tail=tail)
        self.tail_offsets = [d for d in hexagon(tail) if hex_distance(*d) > window]
        self.register_parameter("tail_couplings", None)  # none in the files of tail = 0
        if tail:
            orbit, _, count = orbits(ChannelAction.offsets(self.tail_offsets))
            self.tail_couplings = nn.Parameter(torch.zeros(2, count))  # (c, e) per orbit
            self.register_buffer("tail_orbit", torch.as_tensor(orbit), persistent=False)
            where = [(tail + dy) * (2 * tail + 1) + tail + dx for dx, dy in self.tail_offsets]
            self.register_buffer("tail_index", torch.tensor(where), persistent=False)

    @property
    def receptive_radius(self) -> int:
        """``max(dots + n (k - 1) / 2, window, tail)`` sites along each grid axis."""
        return max(super().receptive_radius, self.architecture["tail"])

    def tail_kernel(self) -> torch.Tensor:
        """The constant couplings as a ``(2, 2 t + 1, 2 t + 1)`` correlation kernel (``c``
        then ``e``; entry ``(t + dy, t + dx)`` multiplies ``S_{i+d}``), zero inside the
        window."""
        t = self.architecture["tail"]
        kernel = self.tail_couplings.new_zeros(2, (2 * t + 1) ** 2)
        kernel = kernel.index_copy(1, self.tail_index, self.tail_couplings[:, self.tail_orbit])
        return kernel.view(2, 2 * t + 1, 2 * t + 1)

    def sums(self, padded: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`EquivariantSpinCNN.sums` plus the constant tail: the correlation of every
        spin component with :meth:`tail_kernel`, by FFT (a direct ``conv2d`` with a
        ``(2 t + 1)^2`` kernel on one input channel runs 30-50 x slower on CPUs in float64).
        The block is cropped to the output plus a margin ``t``, so the circular correlation
        of the FFT never wraps onto the output sites."""
        a, b = super().sums(padded, h)
        if self.tail_couplings is None:
            return a, b
        t = self.architecture["tail"]
        inner = _shifted(padded, 0, 0, self.receptive_radius - t)
        height, width = inner.shape[-2:]
        kernel = inner.new_zeros(2, height, width)
        kernel[:, :2 * t + 1, :2 * t + 1] = self.tail_kernel().to(inner.dtype)
        # correlation: out[y, x] = sum_{j, k} kernel[j, k] inner[y + j, x + k]
        spectrum = torch.fft.rfft2(inner)[:, :, None] * torch.fft.rfft2(kernel).conj()
        tail = torch.fft.irfft2(spectrum, s=(height, width))[..., :a.shape[-2], :a.shape[-1]]
        return a + tail[:, :, 0], b + tail[:, :, 1]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Invariant features ``(B, F, H - 2u, W - 2u)``: the dots, then the chirality of
        the triangle ``(i, i + n_k, i + n_{k+1})`` for the nearest neighbours ``n_k``."""
        u = self.architecture["dots"]
        centre = _shifted(x, 0, 0, u)
        dots = _dots(x, self.dot_offsets, u)
        ring = [_shifted(x, dx, dy, u) for dx, dy in NEAREST]
        chiralities = [_dot(centre, torch.linalg.cross(ring[k], ring[(k + 1) % 6], dim=-3))
                       for k in range(6)]
        return torch.stack(dots + chiralities, dim=-3)


def _names(model: SymmetricSpinCNN) -> tuple[list, list]:
    """What each input channel (feature) and output channel (coefficient) of ``model``'s
    convolution stack stands for."""
    features = [("dot", d) for d in model.dot_offsets] + [("chirality", k) for k in range(6)]
    return features, [("c", d) for d in model.offsets] + [("e", d) for d in model.offsets]


def _pairs(new: list, old: list) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices ``(into new, into old)`` of the names that ``old`` shares with ``new``."""
    where = {name: i for i, name in enumerate(old)}
    shared = [(i, where[name]) for i, name in enumerate(new) if name in where]
    return torch.tensor([i for i, _ in shared]), torch.tensor([j for _, j in shared])


GROWABLE = ("channels", "dots", "window", "tail")


@torch.no_grad()
def grow(old: SymmetricSpinCNN, new: SymmetricSpinCNN) -> None:
    """Embed the weights of ``old`` in ``new``, a symmetric model with the same layers,
    kernels and activation, ``channels``, ``dots`` and ``window`` at least ``old``'s and a
    window or tail that covers ``old``'s tail, so that ``new`` computes ``old``'s torques
    (round-off): its extra dot features get zero weights; an offset that joins the window
    gets zero weights and, as the bias of its ``c_d, e_d``, ``old``'s constant tail coupling
    there (the same term); an offset that joins the tail gets zero couplings; extra hidden
    channels (whole copies of the regular representation) keep ``new``'s own random input
    weights and get zero weights into the channels ``old`` had and into the output, so they
    start silent but trainable. Training goes on from there."""
    a, b = old.architecture, new.architecture
    fixed = {key: value for key, value in a.items() if key not in GROWABLE}
    if (a.get("kind"), b.get("kind")) != ("symmetric", "symmetric") or any(
            b.get(key) != value for key, value in fixed.items()) or b["dots"] < a["dots"] or (
            b["window"] < a["window"] or max(b["window"], b["tail"]) < a["tail"]) or (
            b["channels"] < a["channels"]):
        raise ValueError(f"a model {b} cannot grow from {a}: both must be symmetric and equal "
                         f"but for {', '.join(GROWABLE)}; channels, dots and window may only "
                         f"grow, and the new window or tail must cover the old tail")
    new.output_scale.copy_(old.output_scale)
    t = a["tail"]
    old_kernel = old.tail_kernel().double() if t else None

    def constant(d):  # old's texture-independent (c, e) coupling at offset d
        if t and hex_distance(*d) <= t:
            return old_kernel[:, t + d[1], t + d[0]]
        return torch.zeros(2, dtype=torch.float64)

    (new_in, new_out), (old_in, old_out) = _names(new), _names(old)
    last = len(new.convs) - 1
    for index, (source, target) in enumerate(zip(old.convs, new.convs, strict=True)):
        weight, bias = (v.double() for v in source.dense())
        hidden = torch.arange(weight.shape[0])
        o_new, o_old = _pairs(new_out, old_out) if index == last else (hidden, hidden)
        c_new, c_old = (_pairs(new_in, old_in) if index == 0
                        else (torch.arange(weight.shape[1]),) * 2)
        if index == last:  # every output counts: what old lacks starts at zero
            dense, into = weight.new_zeros(target.shape), bias.new_zeros(target.shape[0])
        else:  # extra hidden channels keep their random weights; old's rows are old's
            dense, into = (v.double() for v in target.dense())
            dense[o_new], into[o_new] = 0.0, 0.0
        dense[o_new[:, None], c_new[None, :]] = weight[o_old[:, None], c_old[None, :]]
        into[o_new] = bias[o_old]
        if index == last:
            for k, (term, d) in enumerate(new_out):
                if d not in old.offsets:
                    into[k] = constant(d)[0 if term == "c" else 1]
        target.set_dense(dense, into)
    if b["tail"]:
        wanted = torch.stack([constant(d) for d in new.tail_offsets], dim=1)
        count = new.tail_couplings.shape[1]
        new.tail_couplings.copy_(torch.stack([orbit_means(row, new.tail_orbit, count)
                                              for row in wanted]))


ARCHITECTURES = {"cnn": SpinCNN, "equivariant": EquivariantSpinCNN,
                 "symmetric": SymmetricSpinCNN}


def build(architecture: dict) -> nn.Module:
    """A model from its ``architecture`` dict (``kind`` picks the class; default "cnn")."""
    arguments = dict(architecture)
    kind = arguments.pop("kind", "cnn")
    if kind not in ARCHITECTURES:
        raise ValueError(f"unknown model kind {kind!r}; choose from {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[kind](**arguments)
