"""Spin textures by family: the states a large run meets, made from a seed.

Each family is a function ``(Ly, Lx, rng) -> spins (3, Ly, Lx)`` (unit vectors, float64)
that draws a random member of the family; every draw of a family differs in its random
parameters (phases, directions, noise, wall width, radii), never in kind:

* ``random``: independent spins uniform on the sphere (a quench's first frame);
* ``labyrinth``: band-limited random states, each component a Gaussian random field whose
  Fourier weight sits on a ring ``|q| = pi/3 +- width`` (the labyrinths and stripes a quench
  passes through);
* ``quench``: random spins smoothed by a Gaussian low-pass of random correlation length
  (1.5-4 sites): coarsening states without a preferred wave vector;
* ``spiral``: a planar spiral along a random bond direction, ``|q| = pi/3``, with random
  phase and spin-plane orientation and a little noise;
* ``crystal``: the n_sk = 2 triple-Q crystal (:func:`distllg.spins.triple_q_cosine`) at a
  random translation with Gaussian noise of width 0.05-0.5;
* ``domain_wall``: the crystal with one chirality in one half of the lattice and the other
  chirality (``S_y -> -S_y``) in the other, joined by two walls of random width (periodic);
* ``field``: one to four isolated skyrmions of random radius (3-6 sites) in a background
  polarised along +z, the states a field ramp produces.

At h = 0 the s-d model is invariant under global spin rotations, so every family but
``field`` is turned by a random global rotation. Used by the learning loop's validation
set (one seed per family and member, never trained on) and its exploration.
"""

from __future__ import annotations

import numpy as np

from distllg import lattice
from distllg import spins as spinlib
from distllg.training.data import random_rotation, rotate_spins

#: |q| of the crystal's and the spirals' wave vectors (1 / lattice constant).
Q = np.pi / 3.0


def _rotated(spins: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return rotate_spins(random_rotation(rng), spins)


def _noisy(spins: np.ndarray, width: float, rng: np.random.Generator) -> np.ndarray:
    return spinlib.normalize(spins + width * rng.standard_normal(spins.shape))


def _filtered(Ly: int, Lx: int, weight: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Three Gaussian random fields with Fourier amplitude ``weight (Ly, Lx)``, normalised
    per site into spins."""
    noise = rng.standard_normal((3, Ly, Lx))
    fields = np.fft.ifft2(np.fft.fft2(noise) * weight).real
    return spinlib.normalize(fields + 1e-12 * noise)


def _abs_q(Ly: int, Lx: int) -> np.ndarray:
    """``|q|`` of every allowed wave vector folded into the Brillouin zone, ``(Ly, Lx)``."""
    k = lattice.fold_to_brillouin_zone(lattice.k_cartesian(lattice.k_fractions(Ly, Lx)))
    return np.linalg.norm(k, axis=-1)


def random(Ly: int, Lx: int, rng: np.random.Generator) -> np.ndarray:
    return spinlib.random(Ly, Lx, rng)


def labyrinth(Ly: int, Lx: int, rng: np.random.Generator) -> np.ndarray:
    width = rng.uniform(0.08, 0.2)
    return _filtered(Ly, Lx, np.exp(-0.5 * ((_abs_q(Ly, Lx) - Q) / width) ** 2), rng)


def quench(Ly: int, Lx: int, rng: np.random.Generator) -> np.ndarray:
    length = rng.uniform(1.5, 4.0)
    return _filtered(Ly, Lx, np.exp(-0.5 * (_abs_q(Ly, Lx) * length) ** 2), rng)


def spiral(Ly: int, Lx: int, rng: np.random.Generator) -> np.ndarray:
    angle = rng.integers(3) * 2.0 * np.pi / 3.0
    phase = Q * (np.cos(angle) * lattice.positions(Ly, Lx)[0]
                 + np.sin(angle) * lattice.positions(Ly, Lx)[1]) + rng.uniform(0, 2 * np.pi)
    planar = np.stack([np.cos(phase), np.sin(phase), np.zeros_like(phase)])
    return _rotated(_noisy(planar, rng.uniform(0.0, 0.2), rng), rng)


def _crystal(Ly: int, Lx: int, rng: np.random.Generator) -> np.ndarray:
    """The n_sk = 2 crystal, shifted by a random lattice translation."""
    shift = (rng.integers(Ly), rng.integers(Lx))
    return np.roll(spinlib.triple_q_cosine(Ly, Lx), shift, axis=(1, 2))


def crystal(Ly: int, Lx: int, rng: np.random.Generator) -> np.ndarray:
    ordered = _crystal(Ly, Lx, rng)
    return _rotated(_noisy(ordered, rng.uniform(0.05, 0.5), rng), rng)


def domain_wall(Ly: int, Lx: int, rng: np.random.Generator) -> np.ndarray:
    ordered = _crystal(Ly, Lx, rng)
    mirrored = ordered * np.array([1.0, -1.0, 1.0])[:, None, None]  # the other chirality
    width = rng.uniform(0.5, 3.0)
    x = np.arange(Lx) - rng.uniform(0, Lx)
    # +1 on one half of the ring of columns, -1 on the other, smooth walls of width ~ width
    side = np.tanh(np.cos(2 * np.pi * x / Lx) * Lx / (2 * np.pi * width))
    blend = 0.5 * (1 + side)[None, None, :]
    walled = spinlib.normalize(blend * ordered + (1 - blend) * mirrored + 1e-9)
    return _rotated(_noisy(walled, rng.uniform(0.0, 0.1), rng), rng)


def field(Ly: int, Lx: int, rng: np.random.Generator) -> np.ndarray:
    spins = spinlib.uniform(Ly, Lx)
    r = lattice.positions(Ly, Lx)  # (2, Ly, Lx) Cartesian
    cell = np.array([lattice.cartesian(Lx, 0), lattice.cartesian(0, Ly)])  # periods
    for _ in range(rng.integers(1, 5)):
        radius, helicity = rng.uniform(3.0, 6.0), rng.uniform(0, 2 * np.pi)
        centre = cell.T @ rng.uniform(0, 1, 2)
        d = r - centre[:, None, None]
        # minimum image on the skewed torus: shift by the periods to the nearest copy
        best = d.copy()
        for i in (-1, 0, 1):
            for j in (-1, 0, 1):
                moved = d + (i * cell[0] + j * cell[1])[:, None, None]
                closer = np.linalg.norm(moved, axis=0) < np.linalg.norm(best, axis=0)
                best = np.where(closer, moved, best)
        distance = np.linalg.norm(best, axis=0)
        inside = distance < radius
        theta = np.pi * (1 - distance / radius)  # pi at the core, 0 at the rim
        phi = np.arctan2(best[1], best[0]) + helicity
        skyrmion = np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi),
                             np.cos(theta)])
        spins = np.where(inside, skyrmion, spins)
    return _noisy(spins, rng.uniform(0.0, 0.1), rng)


#: family name -> generator ``(Ly, Lx, rng) -> (3, Ly, Lx)``
FAMILIES = {"random": random, "labyrinth": labyrinth, "quench": quench, "spiral": spiral,
            "crystal": crystal, "domain_wall": domain_wall, "field": field}


def draw(family: str, Ly: int, Lx: int, seed: int) -> np.ndarray:
    """Member ``seed`` of ``family`` on an ``Ly x Lx`` lattice (the same for the same seed)."""
    if family not in FAMILIES:
        raise ValueError(f"unknown texture family {family!r}; known: {', '.join(FAMILIES)}")
    return FAMILIES[family](Ly, Lx, np.random.default_rng([seed, list(FAMILIES).index(family)]))
