"""The starting spins of a run (``[initial]``), made tile by tile: no rank holds the lattice.

Every state is a pure function of the site, so a tile is made from its own sites and every
rank count starts from the same spins. ``random`` and the ``noise`` added to any state draw
their normal numbers counter-based, like the thermal noise
(:func:`distllg.counter_rng.site_normals`: Philox-4x64 with key ``(initial.seed, stream)``
and counter ``y Lx + x``), on streams of their own (:data:`RANDOM_STREAM`,
:data:`NOISE_STREAM`, far from the step numbers of the thermal noise).
``file`` reads the tile from a ``.npy`` file through a memory map.
"""

from __future__ import annotations

import numpy as np

from distllg import lattice
from distllg import spins as spinlib
from distllg.config import Config, ConfigError
from distllg.counter_rng import site_normals

RANDOM_STREAM = 2**64 - 1
NOISE_STREAM = 2**64 - 2


def spins(config: Config, region: tuple[slice, slice] | None = None) -> np.ndarray:
    """The initial spins ``(3, ny, nx)`` of the sites of ``region`` (slices of the lattice;
    default: all of it), the same for a site whatever region holds it."""
    init = config.initial
    shape = config.lattice.shape
    Ly, Lx = shape
    if init.state == "random":
        s = spinlib.normalize(site_normals(init.seed, RANDOM_STREAM, shape, region).numpy())
    elif init.state == "file":
        s = _from_file(init.file, shape, region)
    elif init.state == "uniform":
        y0, y1, x0, x1 = lattice.bounds(Ly, Lx, region)
        s = spinlib.uniform(y1 - y0, x1 - x0)
    elif init.state == "triple-q-cosine":
        s = spinlib.triple_q_cosine(Ly, Lx, region=region)
    else:
        s = spinlib.triple_q(Ly, Lx, region=region)
    if init.noise > 0:
        noise = site_normals(init.seed, NOISE_STREAM, shape, region).numpy()
        s = spinlib.normalize(s + init.noise * noise)
    return s


def _from_file(path: str, shape: tuple[int, int], region) -> np.ndarray:
    """The sites of ``region`` from a ``.npy`` file of spins (3, Ly, Lx), memory-mapped."""
    try:
        data = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as error:
        raise ConfigError(f"'initial.file' {path}: cannot be read as .npy ({error})") from None
    if data.ndim != 3 or data.shape[0] != 3 or data.shape[1:] != tuple(shape):
        raise ConfigError(f"'initial.file' {path} holds an array of shape {data.shape}; "
                          f"[lattice] asks for (3, {shape[0]}, {shape[1]})")
    rows, cols = region if region is not None else (slice(None), slice(None))
    where = f" (rows {rows.start}:{rows.stop}, columns {cols.start}:{cols.stop})" \
        if region is not None else ""
    return spinlib.validate(np.array(data[:, rows, cols]), name=f"spins in {path}{where}")
