"""Thermal noise for stochastic LLG: a spin temperature, a linear anneal, and a random field
that does not depend on how the lattice is cut into tiles.

Stochastic LLG (Garcia-Palacios and Lazaro, Phys. Rev. B 58, 14937 (1998)): a random field
``b`` joins the local fields ``H`` in both terms of the Landau-Lifshitz form,

    dS/dt = -1/(1 + alpha^2) [ S x (H + b) + alpha S x (S x (H + b)) ],
    < b_i^a(t) b_j^c(t') > = 2 alpha T delta_ij delta_ac delta(t - t'),

with gamma = 1, |S| = 1 and k_B = 1, so the spin temperature ``T`` is in units of t1 (it is a
temperature of the classical spins, unrelated to the electrons' Fermi smearing kT). Read in the
Stratonovich sense, this makes the Boltzmann weight exp(-E / T) stationary. One step of size
``dt`` holds ``b = sqrt(2 alpha T / dt) xi`` fixed (``xi`` standard normal per site and
component); both stages of the Heun and semi-implicit midpoint integrators see the same ``b``,
which makes them Stratonovich schemes (Mentink et al., J. Phys. Cond. Mat. 22, 176001 (2010)).
RK4 is not a scheme for this equation; the config refuses it with noise.

The noise of site ``(y, x)`` at step ``n`` is a pure function of ``(seed, n, y, x)``: the
Philox-4x64 block with key ``(seed, n)`` and counter ``y Lx + x`` gives four uniform numbers,
and Box-Muller turns them into the three normal components (the fourth normal is unused).
Every rank draws the noise of its own sites only, bit-equal to what a serial run draws
there, and a restart needs no generator state: the step number is enough.

Annealing: ``T(n) = temperature * max(0, 1 - n / anneal_steps)`` for ``anneal_steps > 0``
(a linear ramp to zero, then plain damped LLG), else ``T(n) = temperature``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from distllg import lattice
from distllg.dynamics.llg import FieldFn

#: Integrators that are Stratonovich schemes with the noise held over the step.
STOCHASTIC_INTEGRATORS = ("heun", "midpoint")


def site_normals(seed: int, step: int, shape: tuple[int, int],
                 region: tuple[slice, slice] | None = None) -> np.ndarray:
    """Standard normal numbers ``(3, ny, nx)`` for the sites of ``region`` (slices of the
    global ``shape = (Ly, Lx)`` lattice; default all of it) at ``step``, the same for a site
    whatever region holds it."""
    Ly, Lx = shape
    y0, y1, x0, x1 = lattice.bounds(Ly, Lx, region)
    nx = x1 - x0
    key = np.array([seed, step], dtype=np.uint64)  # a list would go through float64 >= 2^63
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


@dataclasses.dataclass(frozen=True)
class Thermostat:
    """The thermal field of stochastic LLG on a ``shape = (Ly, Lx)`` lattice.

    ``temperature``: spin temperature T (units of t1) at step 0; ``anneal_steps``: steps of
    the linear ramp to zero (0: constant T); ``seed``: the noise key (0 <= seed < 2^64). The
    step's ``dt`` and ``alpha``, which set the amplitude, come with each call
    (:class:`distllg.dynamics.stepper.Stepper` holds them).
    """

    shape: tuple[int, int]
    temperature: float
    anneal_steps: int = 0
    seed: int = 0

    @classmethod
    def for_dynamics(cls, shape: tuple[int, int], dynamics) -> Thermostat:
        """The thermostat of a ``[dynamics]`` config section on a ``shape`` lattice."""
        return cls(tuple(shape), dynamics.temperature, dynamics.anneal_steps,
                   dynamics.noise_seed)

    def temperature_at(self, step: int) -> float:
        """Spin temperature during step ``step`` (0-based: the step from ``step`` to
        ``step + 1``)."""
        if self.anneal_steps <= 0:
            return self.temperature
        return self.temperature * max(0.0, 1.0 - step / self.anneal_steps)

    def field(self, step: int, dt: float, alpha: float,
              region: tuple[slice, slice] | None = None) -> np.ndarray | None:
        """The random field ``b`` ``(3, ny, nx)`` held during step ``step`` of size ``dt`` at
        damping ``alpha`` on ``region`` (default: the whole lattice); None at zero
        temperature."""
        temperature = self.temperature_at(step)
        if temperature <= 0:
            return None
        amplitude = np.sqrt(2.0 * alpha * temperature / dt)
        return amplitude * site_normals(self.seed, step, self.shape, region)

    def fields_fn(self, field_fn: FieldFn, step: int, dt: float, alpha: float,
                  region: tuple[slice, slice] | None = None) -> FieldFn:
        """``field_fn`` with the random field of step ``step`` added to its local fields (the
        energy stays that of the spins alone); ``field_fn`` itself at zero temperature."""
        noise = self.field(step, dt, alpha, region)
        if noise is None:
            return field_fn

        def noisy(spins: np.ndarray) -> tuple[float, np.ndarray]:
            energy, fields = field_fn(spins)
            return energy, fields + noise

        return noisy
