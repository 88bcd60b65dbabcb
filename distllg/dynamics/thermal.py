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

The noise of site ``(y, x)`` at step ``n`` is a pure function of ``(seed, n, y, x)``
(:func:`distllg.counter_rng.site_normals` on stream ``n``: the Philox-4x64 block with key
``(seed, n)`` and counter ``y Lx + x``, through Box-Muller). Every rank draws the noise of
its own sites only, bit-equal to what a serial run draws there, and a restart needs no
generator state: the step number is enough.

Annealing: ``T(n) = temperature * max(0, 1 - n / anneal_steps)`` for ``anneal_steps > 0``
(a linear ramp to zero, then plain damped LLG), else ``T(n) = temperature``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from distllg.counter_rng import site_normals
from distllg.dynamics.llg import FieldFn

#: Integrators that are Stratonovich schemes with the noise held over the step.
STOCHASTIC_INTEGRATORS = ("heun", "midpoint")

__all__ = ["STOCHASTIC_INTEGRATORS", "Thermostat", "site_normals"]


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
              region: tuple[slice, slice] | None = None,
              device: torch.device | str = "cpu") -> torch.Tensor | None:
        """The random field ``b`` ``(3, ny, nx)`` (float64 on ``device``) held during step
        ``step`` of size ``dt`` at damping ``alpha`` on ``region`` (default: the whole
        lattice); None at zero temperature."""
        temperature = self.temperature_at(step)
        if temperature <= 0:
            return None
        amplitude = float(np.sqrt(2.0 * alpha * temperature / dt))
        return amplitude * site_normals(self.seed, step, self.shape, region, device)

    def fields_fn(self, field_fn: FieldFn, step: int, dt: float, alpha: float,
                  region: tuple[slice, slice] | None = None,
                  device: torch.device | str = "cpu") -> FieldFn:
        """``field_fn`` with the random field of step ``step`` (drawn on ``device``, where
        the spins are) added to its local fields (the energy stays that of the spins alone);
        ``field_fn`` itself at zero temperature."""
        noise = self.field(step, dt, alpha, region, device)
        if noise is None:
            return field_fn

        def noisy(spins: torch.Tensor) -> tuple[float, torch.Tensor]:
            energy, fields = field_fn(spins)
            return energy, fields + noise

        return noisy
