"""Triangular-lattice geometry on the skewed grid.

Site ``(x, y)`` (``0 <= x < Lx``, ``0 <= y < Ly``) sits at ``r = x a1 + y a2`` with
``a1 = (1, 0)`` and ``a2 = (1/2, sqrt(3)/2)`` (lattice constant 1). Arrays over sites are stored
``(Ly, Lx)``, so the flat site index is ``i = y * Lx + x``. Boundaries are periodic.

Offsets are ``(dx, dy)`` in grid steps. Wave vectors are given either in Cartesian units
(1 / lattice constant) or as grid fractions ``(m / Lx, n / Ly)``; the phase of ``k`` over an
offset is ``k . (dx a1 + dy a2) = 2 pi (kx_frac dx + ky_frac dy)``.
"""

from __future__ import annotations

import numpy as np

A1 = np.array([1.0, 0.0])
A2 = np.array([0.5, np.sqrt(3.0) / 2.0])
#: Reciprocal vectors, ``b_i . a_j = 2 pi delta_ij`` (rows).
B1 = 2.0 * np.pi * np.array([1.0, -1.0 / np.sqrt(3.0)])
B2 = 2.0 * np.pi * np.array([0.0, 2.0 / np.sqrt(3.0)])

#: Neighbour offsets ``(dx, dy)`` by shell: 1 = nearest (distance 1), 2 = second (sqrt 3),
#: 3 = third (distance 2, twice the nearest offsets). Each shell lists its six offsets.
NEIGHBOUR_OFFSETS = {
    1: np.array([(1, 0), (0, 1), (-1, 1), (-1, 0), (0, -1), (1, -1)]),
    2: np.array([(1, 1), (-1, 2), (-2, 1), (-1, -1), (1, -2), (2, -1)]),
    3: np.array([(2, 0), (0, 2), (-2, 2), (-2, 0), (0, -2), (2, -2)]),
}


def cartesian(dx, dy) -> np.ndarray:
    """Cartesian vector(s) of grid offset(s) ``(dx, dy)``; shape ``(..., 2)``."""
    dx = np.asarray(dx, dtype=float)
    dy = np.asarray(dy, dtype=float)
    return dx[..., None] * A1 + dy[..., None] * A2


def bounds(Ly: int, Lx: int, region: tuple[slice, slice] | None = None
           ) -> tuple[int, int, int, int]:
    """``(y0, y1, x0, x1)`` of ``region`` (slices of an ``Ly x Lx`` lattice, step 1; default
    all of it)."""
    rows, cols = region if region is not None else (slice(0, Ly), slice(0, Lx))
    y0, y1, _ = rows.indices(Ly)
    x0, x1, _ = cols.indices(Lx)
    return y0, y1, x0, x1


def positions(Ly: int, Lx: int, region: tuple[slice, slice] | None = None) -> np.ndarray:
    """Cartesian site positions, shape ``(2, Ly, Lx)`` (x then y component); of the sites
    of ``region`` (slices of the lattice, step 1) only, ``(2, ny, nx)``, when given."""
    y0, y1, x0, x1 = bounds(Ly, Lx, region)
    y, x = np.mgrid[y0:y1, x0:x1]
    return np.moveaxis(cartesian(x, y), -1, 0)


def shell_extent(shell: int) -> int:
    """Largest ``|dx|`` or ``|dy|`` over the offsets of a neighbour shell (grid steps)."""
    return int(np.abs(NEIGHBOUR_OFFSETS[shell]).max())


def check_size(Ly: int, Lx: int, shells=(1, 2, 3)) -> None:
    """Raise ValueError unless a periodic ``Ly x Lx`` lattice keeps the given shells distinct.

    A shell reaching ``e`` grid steps needs ``L >= 2 e + 1``; otherwise a bond and its
    reverse (or bonds of different shells) wrap onto the same pair of sites.
    """
    for name, size in (("Lx", Lx), ("Ly", Ly)):
        if not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueError(f"lattice size {name} = {size!r} must be a positive integer")
    reach = max((shell_extent(s) for s in shells), default=0)
    need = 2 * reach + 1
    if min(Lx, Ly) < need:
        raise ValueError(
            f"lattice {Ly} x {Lx} (Ly x Lx) is too small for neighbour shells {tuple(shells)}: "
            f"their offsets reach {reach} sites, so periodic images would coincide; "
            f"use Lx, Ly >= {need}"
        )


def neighbour_table(Ly: int, Lx: int, shell: int) -> np.ndarray:
    """Flat indices of the six neighbours of every site in one shell, shape ``(N, 6)``.

    Column ``c`` is the neighbour at ``NEIGHBOUR_OFFSETS[shell][c]``.
    """
    y, x = np.divmod(np.arange(Ly * Lx), Lx)
    offsets = NEIGHBOUR_OFFSETS[shell]
    nx = (x[:, None] + offsets[None, :, 0]) % Lx
    ny = (y[:, None] + offsets[None, :, 1]) % Ly
    return ny * Lx + nx


def triangles(Ly: int, Lx: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat site indices of the elementary triangles, counter-clockwise.

    Returns ``(up, down)``, each ``(N, 3)``: for site ``(x, y)`` the up triangle is
    ``(x, y), (x+1, y), (x, y+1)`` and the down triangle ``(x+1, y), (x+1, y+1), (x, y+1)``.
    Together they tile the torus: ``2 N`` triangles of area ``sqrt(3) / 4``.
    """
    y, x = np.mgrid[0:Ly, 0:Lx]
    x = x.ravel()
    y = y.ravel()

    def idx(dx, dy):
        return ((y + dy) % Ly) * Lx + (x + dx) % Lx

    up = np.stack([idx(0, 0), idx(1, 0), idx(0, 1)], axis=1)
    down = np.stack([idx(1, 0), idx(1, 1), idx(0, 1)], axis=1)
    return up, down


def k_fractions(Ly: int, Lx: int) -> np.ndarray:
    """Allowed wave vectors of the periodic lattice as grid fractions, shape ``(Ly, Lx, 2)``.

    Entry ``[n, m]`` is ``(m / Lx, n / Ly)``; the Cartesian vector is
    ``(m / Lx) B1 + (n / Ly) B2``.
    """
    n, m = np.mgrid[0:Ly, 0:Lx]
    return np.stack([m / Lx, n / Ly], axis=-1)


def k_cartesian(k_frac) -> np.ndarray:
    """Cartesian wave vector(s) of grid fraction(s) ``(..., 2)``; shape ``(..., 2)``."""
    k_frac = np.asarray(k_frac, dtype=float)
    return k_frac[..., 0, None] * B1 + k_frac[..., 1, None] * B2


def k_fraction_of(k_cart) -> np.ndarray:
    """Inverse of :func:`k_cartesian`: grid fractions ``(k.a1, k.a2) / 2 pi``."""
    k_cart = np.asarray(k_cart, dtype=float)
    return np.stack([k_cart @ A1, k_cart @ A2], axis=-1) / (2.0 * np.pi)


def fold_to_brillouin_zone(k_cart) -> np.ndarray:
    """Shortest Cartesian representative of ``k`` modulo reciprocal lattice vectors."""
    k_cart = np.asarray(k_cart, dtype=float)
    shifts = np.array([(i, j) for i in (-1, 0, 1) for j in (-1, 0, 1)], dtype=float)
    frac = k_fraction_of(k_cart)
    base = k_cartesian(frac - np.round(frac))
    candidates = base[..., None, :] + k_cartesian(shifts)
    best = np.argmin(np.sum(candidates**2, axis=-1), axis=-1)
    return np.take_along_axis(candidates, best[..., None, None], axis=-2)[..., 0, :]


def k_peaks(values: np.ndarray, k_frac: np.ndarray, count: int = 6,
            relative: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Strongest local maxima of a function on a periodic k-grid.

    ``values`` ``(Nky, Nkx)`` sampled at grid fractions ``k_frac`` ``(Nky, Nkx, 2)``. A point
    is a local maximum when no nearest neighbour on the (periodic) grid is larger by more
    than round-off (1e-12 of the largest value: symmetry-equal neighbours, as the six pi/3
    maxima of chi0 on a 12 x 12 grid, are all peaks on any BLAS). Returns at most ``count``
    peaks with value ``>= relative * max``, strongest first, as
    ``(values (P,), Cartesian k folded into the first Brillouin zone (P, 2))``.
    """
    is_peak = np.ones(values.shape, dtype=bool)
    tolerance = 1e-12 * np.abs(values).max()
    for dx, dy in NEIGHBOUR_OFFSETS[1]:
        is_peak &= values >= np.roll(values, (-dy, -dx), axis=(0, 1)) - tolerance
    index = np.flatnonzero(is_peak & (values >= relative * values.max()))
    index = index[np.argsort(values.ravel()[index])[::-1]][:count]
    k_cart = fold_to_brillouin_zone(k_cartesian(k_frac.reshape(-1, 2)[index]))
    return values.ravel()[index], k_cart
