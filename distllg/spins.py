"""Classical spin configurations: validation and standard states.

A configuration is a float64 array ``(3, Ly, Lx)`` of unit vectors (component, y, x) on the
skewed triangular grid of :mod:`distllg.lattice`.
"""

from __future__ import annotations

import numpy as np

from distllg import lattice

#: Largest tolerated deviation of ``|S_i|`` from 1.
NORM_TOLERANCE = 1e-8


def validate(spins, name: str = "spins") -> np.ndarray:
    """Return ``spins`` as a float64 ``(3, Ly, Lx)`` array, or raise ValueError saying why."""
    arr = np.asarray(spins)
    if arr.ndim != 3 or arr.shape[0] != 3:
        raise ValueError(
            f"{name} must have shape (3, Ly, Lx) (component, y, x); got shape {arr.shape}"
        )
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise ValueError(f"{name} must be a real float array; got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    bad = ~np.isfinite(arr).all(axis=0)
    if bad.any():
        y, x = np.argwhere(bad)[0]
        raise ValueError(
            f"{name} contain NaN or inf at {int(bad.sum())} site(s), first at (x={x}, y={y})"
        )
    norm_error = np.abs(np.sqrt(np.sum(arr**2, axis=0)) - 1.0)
    if norm_error.max() > NORM_TOLERANCE:
        y, x = np.unravel_index(np.argmax(norm_error), norm_error.shape)
        raise ValueError(
            f"{name} must be unit vectors: |S| - 1 = {norm_error[y, x]:.3g} at (x={x}, y={y}) "
            f"exceeds {NORM_TOLERANCE:g}; normalise them first"
        )
    return arr


def cross(a, b):
    """Cross product of vector fields ``(3, ...)``: numpy arrays, or torch tensors on any
    device (faster than ``np.cross(axis=0)`` and ``torch.linalg.cross``)."""
    if not isinstance(a, np.ndarray):
        return _torch_cross(a, b)
    return np.stack([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2],
                     a[0] * b[1] - a[1] * b[0]])


def _torch_cross(a, b):
    """Written into one new tensor with no temporaries (half the time of the numpy form's
    on torch tensors)."""
    import torch

    out = torch.empty(torch.broadcast_shapes(a.shape, b.shape), dtype=a.dtype,
                      device=a.device)
    for i, j, k in ((0, 1, 2), (1, 2, 0), (2, 0, 1)):
        torch.mul(a[j], b[k], out=out[i])
        out[i].addcmul_(a[k], b[j], value=-1.0)
    return out


def dot(a, b):
    """Site-wise scalar product of vector fields ``(3, ...)``, shape ``(...)`` (numpy or
    torch)."""
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def normalize(vectors):
    """Vectors ``(3, ...)`` scaled to unit length (numpy or torch)."""
    return vectors / dot(vectors, vectors) ** 0.5


def random(Ly: int, Lx: int, rng: np.random.Generator) -> np.ndarray:
    """Independent spins uniform on the sphere, ``(3, Ly, Lx)``."""
    return normalize(rng.standard_normal((3, Ly, Lx)))


def uniform(Ly: int, Lx: int, direction=(0.0, 0.0, 1.0)) -> np.ndarray:
    """All spins along ``direction`` (normalised), ``(3, Ly, Lx)``."""
    d = np.asarray(direction, dtype=float)
    d = d / np.linalg.norm(d)
    return np.broadcast_to(d[:, None, None], (3, Ly, Lx)).copy()


def spiral(Ly: int, Lx: int, q_cart, axis: str = "z") -> np.ndarray:
    """Planar spiral ``S = (cos q.r, sin q.r, 0)`` rotating in the plane normal to z.

    ``q_cart`` is the Cartesian wave vector (1 / lattice constant).
    """
    if axis != "z":
        raise ValueError(f"spiral axis {axis!r} not supported; only 'z'")
    phase = np.tensordot(np.asarray(q_cart, float), lattice.positions(Ly, Lx), axes=(0, 0))
    return np.stack([np.cos(phase), np.sin(phase), np.zeros_like(phase)])


def bond_waves(Ly: int, Lx: int, q: float, region=None) -> np.ndarray:
    """Phases ``Q_v . r`` of the three bond-direction wave vectors ``|Q_v| = q`` (angles 0,
    120 and 240 degrees), ``(3, Ly, Lx)`` (rad), or ``(3, ny, nx)`` on the sites of
    ``region`` (slices). ``q = 4 pi / P`` fits a P x P supercell, which then holds three
    magnetic unit cells of P^2 / 3 sites each."""
    angles = np.array([0.0, 2.0, 4.0]) * np.pi / 3.0
    directions = np.stack([np.cos(angles), np.sin(angles)])  # (2, 3)
    return q * np.tensordot(directions.T, lattice.positions(Ly, Lx, region), axes=(1, 0))


def triple_q_cosine(Ly: int, Lx: int, q: float = np.pi / 3.0, region=None) -> np.ndarray:
    """The Ozawa-Hayami-Motome skyrmion crystal ``S ~ (cos Q_1.r, cos Q_2.r, cos Q_3.r)``,
    ``|Q_v| = q`` (1 / lattice constant) along the three bond directions, normalised per
    site: two skyrmions per magnetic unit cell (48 sites at the default pi / 3,
    commensurate for Lx, Ly multiples of 12; at ``q = 4 pi / P`` it fits a P x P
    supercell). ``region``: the sites of these slices only."""
    return normalize(np.cos(bond_waves(Ly, Lx, q, region)))


def triple_q(Ly: int, Lx: int, phase: float = 0.0, q: float = np.pi / 3.0,
             inplane: float = 1.0, offset: float = 0.0, region=None) -> np.ndarray:
    """Triple-Q skyrmion-crystal ansatz: a superposition of three helices along the bond
    directions, one skyrmion per magnetic unit cell.

    ``S ~ sum_v [inplane e_v sin(Q_v.r + phase), cos(Q_v.r + phase)] + offset z`` with
    ``e_v = Q_v / |Q_v|``, normalised per site; ``offset`` adds a uniform moment along z.
    At the default ``q = pi / 3`` (48-site magnetic cell) commensurate for Lx, Ly multiples
    of 12; ``q = 4 pi / P`` fits a P x P supercell. ``region``: the sites of these slices
    only.
    """
    waves = bond_waves(Ly, Lx, q, region) + phase
    s = np.zeros((3,) + waves.shape[1:])
    for angle, q_r in zip((0.0, 2.0 * np.pi / 3.0, 4.0 * np.pi / 3.0), waves, strict=True):
        s[0] += inplane * np.cos(angle) * np.sin(q_r)
        s[1] += inplane * np.sin(angle) * np.sin(q_r)
        s[2] += np.cos(q_r)
    s[2] += offset
    return normalize(s)


def double_q(Ly: int, Lx: int, q: float = np.pi / 3.0, modulation: float = 0.5) -> np.ndarray:
    """Double-Q chiral stripe: the planar spiral along ``Q_1`` modulated out of its plane
    along ``Q_2`` (120 degrees from ``Q_1``), ``S ~ (cos Q_1.r, sin Q_1.r,
    modulation cos Q_2.r)``, normalised per site. Its scalar chirality alternates in stripes
    (no net skyrmion number). ``q = 4 pi / P`` fits a P x P supercell."""
    waves = bond_waves(Ly, Lx, q)
    return normalize(np.stack([np.cos(waves[0]), np.sin(waves[0]),
                               modulation * np.cos(waves[1])]))


def torques(spins: np.ndarray, fields: np.ndarray) -> np.ndarray:
    """``T = S x H`` for ``(..., 3, Ly, Lx)`` arrays (component axis -3)."""
    s = np.moveaxis(spins, -3, 0)
    h = np.moveaxis(fields, -3, 0)
    return np.moveaxis(cross(s, h), 0, -3)


def electronic_torques(spins: np.ndarray, fields: np.ndarray, h: float) -> np.ndarray:
    """``S x (H - h z)``: the torques of the electrons alone, ``(..., 3, Ly, Lx)`` arrays of
    spins and exact fields at Zeeman field ``h`` (t1)."""
    zeeman = np.zeros(3)
    zeeman[2] = h
    return torques(spins, fields - zeeman[:, None, None])
