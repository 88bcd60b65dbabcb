"""Observables of a spin configuration ``(3, Ly, Lx)`` on the triangular lattice.

Skyrmion number by the Berg-Luscher solid-angle sum, magnetisation, spin structure factor
and chirality density. Plain functions on arrays; energies come from the field provider.
"""

from __future__ import annotations

import numpy as np

from distllg import lattice
from distllg.spins import cross, dot


def triangle_solid_angles(extended: np.ndarray) -> np.ndarray:
    """Solid angles of the up and down triangles of the sites of a patch, ``(2, ny, nx)``.

    ``extended`` ``(3, ny + 1, nx + 1)`` holds the patch plus one more row and column (the
    neighbours at ``y + 1`` and ``x + 1``), so this works on a whole periodic lattice
    (wrapped) and on one rank's tile (from its halo) alike. Berg-Luscher: for spins
    ``(a, b, c)`` counter-clockwise, ``Omega = 2 atan2(a.(b x c), 1 + a.b + b.c + c.a)``.
    """
    here, right = extended[:, :-1, :-1], extended[:, :-1, 1:]
    above, above_right = extended[:, 1:, :-1], extended[:, 1:, 1:]
    out = np.empty((2,) + here.shape[1:])
    for index, (a, b, c) in enumerate(((here, right, above), (right, above_right, above))):
        numerator = dot(a, cross(b, c))
        denominator = 1.0 + dot(a, b) + dot(b, c) + dot(c, a)
        out[index] = 2.0 * np.arctan2(numerator, denominator)
    return out


def solid_angles(spins: np.ndarray) -> np.ndarray:
    """Signed solid angle of every elementary triangle, ``(2, Ly, Lx)`` (up, down), radians.

    Triangles of site (x, y): up = (x,y), (x+1,y), (x,y+1); down = (x+1,y), (x+1,y+1),
    (x,y+1), periodic. Under periodic boundaries the sum is ``4 pi`` times an integer for
    any configuration without degenerate triangles (numerator and denominator both zero).
    """
    return triangle_solid_angles(np.pad(spins, ((0, 0), (0, 1), (0, 1)), mode="wrap"))


def chirality_density(spins: np.ndarray) -> np.ndarray:
    """Skyrmion density per unit cell (up + down triangle of each site) / 4 pi, ``(Ly, Lx)``.

    Sums to the skyrmion number.
    """
    return solid_angles(spins).sum(axis=0) / (4.0 * np.pi)


def skyrmion_number(spins: np.ndarray) -> float:
    """Topological charge ``Q = sum of triangle solid angles / 4 pi`` (integer under PBC)."""
    return float(solid_angles(spins).sum() / (4.0 * np.pi))


def crystal_blocks(spins: np.ndarray, q: float, skyrmions_per_cell: int = 2):
    """Local block topological charge relative to a skyrmion crystal's, per block.

    A triple-Q crystal of wave number ``q`` (1 / lattice constant) with ``skyrmions_per_cell``
    skyrmions per magnetic unit cell has ``n_sk 3 q^2 / (16 pi^2)`` skyrmions per site. The
    lattice is cut into near-square blocks about ``4 pi / q`` sites on a side (three
    magnetic cells, 12 x 12 at pi / 3); each block's charge divided by the crystal's charge
    on that area, clipped to [-1, 1], is its signed crystal score (the sign is the
    chirality; stripes of alternating chirality and isolated skyrmions score near 0).
    Smooth textures only: independent random spins score about 0.4 from the noise of their
    solid angles.

    Returns ``(scores (by, bx), y_edges (by + 1,), x_edges (bx + 1,))``.
    """
    ratio, y_edges, x_edges = _block_charge(spins, q, skyrmions_per_cell)
    return np.clip(ratio, -1.0, 1.0), y_edges, x_edges


def _block_charge(spins: np.ndarray, q: float, skyrmions_per_cell: int):
    """The unclipped block charges of :func:`crystal_blocks` and the block edges."""
    _, Ly, Lx = spins.shape
    density = chirality_density(spins)
    side = 4.0 * np.pi / q
    y_edges = np.linspace(0, Ly, max(1, round(Ly / side)) + 1).round().astype(int)
    x_edges = np.linspace(0, Lx, max(1, round(Lx / side)) + 1).round().astype(int)
    charge = np.add.reduceat(np.add.reduceat(density, y_edges[:-1], axis=0), x_edges[:-1],
                             axis=1)
    sites = np.outer(np.diff(y_edges), np.diff(x_edges))
    ideal = skyrmions_per_cell * 3.0 * q**2 / (16.0 * np.pi**2) * sites
    return charge / ideal, y_edges, x_edges


def crystal_skyrmions_per_cell(spins: np.ndarray, q: float) -> int:
    """Which triple-Q crystal the texture holds: 1 or 2 skyrmions per magnetic cell (the
    n_sk = 1 crystal of a moderate field, or the n_sk = 2 crystal of zero field). It is 1
    when the share measured against the n_sk = 1 crystal is at least 0.85 and the one
    against the n_sk = 2 crystal at most 0.6 (the n_sk = 1 crystal scores 1 and 1/2), else
    2: disordered textures, whose noisy block charges score about 0.4 against n_sk = 2 and
    0.6-0.7 against n_sk = 1, stay measured against the zero-field crystal."""
    one, two = (_share(spins, q, n) for n in (1, 2))
    return 1 if one >= 0.85 and two <= 0.6 else 2


def crystal_share(spins: np.ndarray, q: float, skyrmions_per_cell: int | None = None
                  ) -> float:
    """Share of the area covered by the skyrmion crystal (0..1), both chiralities: the
    area-weighted mean of the |block scores| of :func:`crystal_blocks`, against the crystal
    with ``skyrmions_per_cell`` (default: the one the texture holds,
    :func:`crystal_skyrmions_per_cell`)."""
    if skyrmions_per_cell is None:
        skyrmions_per_cell = crystal_skyrmions_per_cell(spins, q)
    return _share(spins, q, skyrmions_per_cell)


def _share(spins: np.ndarray, q: float, skyrmions_per_cell: int) -> float:
    scores, y_edges, x_edges = crystal_blocks(spins, q, skyrmions_per_cell)
    sites = np.outer(np.diff(y_edges), np.diff(x_edges))
    return float((np.abs(scores) * sites).sum() / sites.sum())


def chirality_domain_length(spins: np.ndarray, q: float) -> float:
    """Size of the chirality domains of a crystal (lattice constants): twice the first zero
    of the correlation ``C(d) = <s(x) s(x + d)> / <s^2>`` of the signed block scores ``s``
    of :func:`crystal_blocks` (blocks of about ``4 pi / q`` sites a side, 12 at pi/3), along
    each grid axis, interpolated between blocks, then averaged over the two axes. A
    correlation that never crosses zero (one domain) gives the lattice size, also the cap.
    Across stripes w wide it is w, along them the lattice size L: (w + L) / 2 in all. The
    resolution is one block: meaningful for periodic lattices many blocks wide."""
    scores, y_edges, x_edges = crystal_blocks(spins, q, crystal_skyrmions_per_cell(spins, q))
    lengths = []
    for axis, edges in ((0, y_edges), (1, x_edges)):
        n = scores.shape[axis]
        variance = float((scores ** 2).mean())
        size = float(edges[-1])
        if variance == 0.0 or n < 2:
            lengths.append(size)
            continue
        correlation = [float((scores * np.roll(scores, d, axis=axis)).mean()) / variance
                       for d in range(n // 2 + 1)]
        block = size / n
        crossing = next((d for d in range(1, len(correlation)) if correlation[d] <= 0), None)
        if crossing is None:
            lengths.append(size)
            continue
        before, after = correlation[crossing - 1], correlation[crossing]
        zero = crossing - 1 + before / (before - after)
        lengths.append(min(2.0 * zero * block, size))
    return float(np.mean(lengths))


def wall_density(spins: np.ndarray, q: float) -> float:
    """Share of neighbouring block pairs (along both grid axes, periodic) whose crystal
    scores have opposite signs, both at least 0.5 in size: the length of walls between the
    two chiralities per area, in units of the block side (0 in one domain, 1/2 for blocks
    of alternating chirality along one axis)."""
    scores, _, _ = crystal_blocks(spins, q, crystal_skyrmions_per_cell(spins, q))
    strong = np.where(np.abs(scores) >= 0.5, np.sign(scores), 0.0)
    pairs = [strong * np.roll(strong, 1, axis=axis) for axis in (0, 1)
             if strong.shape[axis] > 1]
    if not pairs:
        return 0.0
    return float(np.mean([(p < 0).mean() for p in pairs]))


def peak_width_length(spins: np.ndarray, count: int = 3) -> float:
    """Domain size of the modulation from the width of its S(q) peaks (lattice constants,
    periodic lattices): ``2 pi / dq``, with ``dq`` the S(q)-weighted root-mean-square distance of
    the wave vectors from the nearest of the ``count`` strongest peaks and their opposites,
    over the wave vectors within half a peak's |q| of one. A sharp peak (one ordered domain)
    gives a length beyond the lattice: capped at its size."""
    _, Ly, Lx = spins.shape
    values = structure_factor(spins)
    values[0, 0] = 0.0
    _, peaks = structure_factor_peaks(spins, count)
    if not len(peaks):
        return 0.0
    peaks = np.concatenate([peaks, -peaks])
    k = lattice.k_cartesian(lattice.k_fractions(Ly, Lx)).reshape(-1, 2)
    shifts = lattice.k_cartesian(np.array([[i, j] for i in (-1, 0, 1) for j in (-1, 0, 1)]))
    images = (k[:, None, :] + shifts[None, :, :]).reshape(-1, 1, 2)  # every periodic image
    distance = np.linalg.norm(images - peaks[None], axis=-1).min(axis=1).reshape(len(k), -1)
    distance = distance.min(axis=1)
    near = distance < 0.5 * np.linalg.norm(peaks, axis=1).min()
    weight = values.reshape(-1)[near]
    width = np.sqrt((weight * distance[near] ** 2).sum() / weight.sum())
    size = float(max(Ly, Lx))
    return size if width == 0 else float(min(2.0 * np.pi / width, size))


def magnetization(spins: np.ndarray) -> np.ndarray:
    """Mean spin ``(3,)``."""
    return spins.reshape(3, -1).mean(axis=1)


def tiled(domain, spins: np.ndarray, energy: float) -> dict:
    """E/N, Q and the magnetisation of the whole lattice from this rank's tile ``spins``
    ``(3, ny, nx)`` of a :class:`distllg.parallel.domain.Domain` (collective); ``energy`` is
    the total energy."""
    local = np.empty(4)
    local[0] = triangle_solid_angles(domain.with_unit_halo(spins)[:, 1:, 1:]).sum() / (4 * np.pi)
    local[1:] = spins.reshape(3, -1).sum(axis=1)
    total = domain.sum(local)
    n_sites = domain.shape[0] * domain.shape[1]
    return {"energy_per_site": float(energy) / n_sites, "skyrmion_number": float(total[0]),
            "magnetization": total[1:] / n_sites}


def energy_per_site(energy: float, spins: np.ndarray) -> float:
    """Total energy divided by the number of sites (units of t1)."""
    return float(energy) / (spins.shape[1] * spins.shape[2])


def energy_text(energy: float, end: str = ", ") -> str:
    """``"E/N = -0.385753<end>"``, or nothing when the energy is not known (CNN runs: the
    model predicts torques, not energies; the files hold NaN)."""
    return f"E/N = {energy:.6f}{end}" if np.isfinite(energy) else ""


def structure_factor(spins: np.ndarray) -> np.ndarray:
    """Spin structure factor ``S(q) = (1/N) sum_a |sum_i S_i^a exp(-i q.r_i)|^2``, ``(Ly, Lx)``.

    Entry ``[n, m]`` is at the allowed wave vector with grid fractions ``(m/Lx, n/Ly)``
    (:func:`distllg.lattice.k_fractions`). ``sum_q S(q) = N`` for unit spins.
    """
    n_sites = spins.shape[1] * spins.shape[2]
    amplitude = np.fft.fft2(spins, axes=(1, 2))
    return np.sum(np.abs(amplitude) ** 2, axis=0) / n_sites


def radial_structure_factor(spins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Circular average of :func:`structure_factor` over ``|q|`` (q folded into the first
    Brillouin zone), in shells of width ``2 pi / L`` (``L = max(Ly, Lx)``); ``q = 0``
    excluded. Returns ``(shell centres (1 / lattice constant), mean S per shell)``, empty
    shells dropped; ``S`` in the units of :func:`structure_factor` (per site)."""
    _, Ly, Lx = spins.shape
    values = structure_factor(spins).reshape(-1)
    q = np.linalg.norm(lattice.fold_to_brillouin_zone(
        lattice.k_cartesian(lattice.k_fractions(Ly, Lx)).reshape(-1, 2)), axis=-1)
    width = 2.0 * np.pi / max(Ly, Lx)
    shell = np.rint(q / width).astype(int)
    keep = shell > 0
    counts = np.bincount(shell[keep])
    sums = np.bincount(shell[keep], weights=values[keep])
    filled = np.flatnonzero(counts)
    return filled * width, sums[filled] / counts[filled]


def structure_factor_peaks(spins: np.ndarray, count: int = 3):
    """The ``count`` strongest peaks of ``S(q)`` at ``q != 0``, one of each ``+-q`` pair.

    Local maxima below ``1e-9`` of the strongest are round-off, not peaks.

    Returns ``(values (P,), Cartesian q folded into the first Brillouin zone (P, 2))``.
    """
    _, Ly, Lx = spins.shape
    values = structure_factor(spins)
    values[0, 0] = 0.0  # the uniform magnetisation is no modulation
    peak_values, q = lattice.k_peaks(values, lattice.k_fractions(Ly, Lx),
                                        count=2 * count + 2, relative=1e-9)
    keep = []
    for index in range(len(q)):
        opposite = [np.allclose(q[index], -q[j], atol=1e-9) or
                    np.allclose(lattice.fold_to_brillouin_zone(-q[index]), q[j], atol=1e-9)
                    for j in keep]
        if not any(opposite):
            keep.append(index)
    keep = keep[:count]
    return peak_values[keep], q[keep]


def structure_factor_summary(spins: np.ndarray, count: int = 3) -> list[dict]:
    """The strongest S(q) peaks as JSON-ready dicts ``{"S", "q" (Cartesian), "abs_q"}``."""
    values, q = structure_factor_peaks(spins, count=count)
    return [{"S": float(v), "q": qq.tolist(), "abs_q": float(np.linalg.norm(qq))}
            for v, qq in zip(values, q, strict=True)]
