"""Counter-based normal numbers of lattice sites: a pure function of ``(seed, stream, site)``,
so that a tile draws exactly what a serial run draws at its sites, and nothing needs a
generator state to continue.

The numbers of site ``(y, x)`` on stream ``n``: the Philox-4x64 block with key ``(seed, n)``
and counter ``y Lx + x`` gives four uniform numbers, and Box-Muller turns them into three
standard normal components (the fourth normal is unused). The thermal noise uses the step
number as its stream (:mod:`distllg.dynamics.thermal`), the initial spins streams of their
own near 2^64 (:mod:`distllg.initial`).
"""

from __future__ import annotations

import numpy as np

from distllg import lattice


def site_normals(seed: int, stream: int, shape: tuple[int, int],
                 region: tuple[slice, slice] | None = None) -> np.ndarray:
    """Standard normal numbers ``(3, ny, nx)`` for the sites of ``region`` (slices of the
    global ``shape = (Ly, Lx)`` lattice; default all of it) on ``stream`` (a step of the
    thermal noise), the same for a site whatever region holds it."""
    Ly, Lx = shape
    y0, y1, x0, x1 = lattice.bounds(Ly, Lx, region)
    nx = x1 - x0
    key = np.array([seed, stream], dtype=np.uint64)  # a list would go through float64 >= 2^63
    raw = np.empty((y1 - y0, nx, 4), dtype=np.uint64)
    for row, y in enumerate(range(y0, y1)):
        philox = np.random.Philox(counter=[y * Lx + x0, 0, 0, 0], key=key)
        raw[row] = philox.random_raw(4 * nx).reshape(nx, 4)
    # 53-bit uniforms in (0, 1]: 1 - u avoids log(0)
    uniform = 1.0 - (raw >> np.uint64(11)).astype(np.float64) * 2.0**-53
    radius = np.sqrt(-2.0 * np.log(uniform[..., 0::2]))  # (ny, nx, 2)
    angle = 2.0 * np.pi * uniform[..., 1::2]
    return np.stack([radius[..., 0] * np.cos(angle[..., 0]),
                     radius[..., 0] * np.sin(angle[..., 0]),
                     radius[..., 1] * np.cos(angle[..., 1])])
