"""Landau-Lifshitz-Gilbert integrators, independent of where the fields come from.

Landau-Lifshitz form (gamma = 1, time in units of hbar / t1):

    dS/dt = -1/(1 + alpha^2) [ S x H + alpha S x (S x H) ]  =  S x B,
    B = -1/(1 + alpha^2) [ H + alpha S x H ].

A field function ``field_fn(spins) -> (energy, fields)`` supplies the local fields ``H``
``(3, ...)`` (and the total energy, or NaN when it has none). ED, KPM and the CNN all have
this shape, serial or tiled: an integrator only adds arrays site by site, so it runs
unchanged on a tile whose ``field_fn`` does the halo exchange.

Each ``*_step(spins, field_fn, dt, alpha) -> (new_spins, energy)`` returns the spins after
one step and the energy of the spins it started from (the first stage evaluates there, so
the energy costs nothing). All keep ``|S_i| = 1`` to round-off: RK4 and Heun renormalise
after the step (a projection that keeps their order), the semi-implicit midpoint rotates.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from distllg.spins import cross, dot, normalize

FieldFn = Callable[[np.ndarray], tuple[float, np.ndarray]]


def precession_axis(spins: np.ndarray, fields: np.ndarray, alpha: float) -> np.ndarray:
    """``B`` with ``dS/dt = S x B``: ``-(H + alpha S x H) / (1 + alpha^2)``, ``(3, ...)``."""
    return -(fields + alpha * cross(spins, fields)) / (1.0 + alpha**2)


def rhs(spins: np.ndarray, fields: np.ndarray, alpha: float) -> np.ndarray:
    """Right-hand side ``dS/dt`` of the LLG equation, ``(3, ...)``."""
    return cross(spins, precession_axis(spins, fields, alpha))


def rk4_step(spins: np.ndarray, field_fn: FieldFn, dt: float, alpha: float):
    """Classical fourth-order Runge-Kutta step (4 field evaluations), then renormalise.

    Intermediate stages are renormalised before their field evaluation, so a field provider
    only ever sees unit spins; the deviation is O(dt^5) per stage and keeps the order 4.
    """
    energy, h1 = field_fn(spins)
    k1 = rhs(spins, h1, alpha)
    s2 = normalize(spins + 0.5 * dt * k1)
    k2 = rhs(s2, field_fn(s2)[1], alpha)
    s3 = normalize(spins + 0.5 * dt * k2)
    k3 = rhs(s3, field_fn(s3)[1], alpha)
    s4 = normalize(spins + dt * k3)
    k4 = rhs(s4, field_fn(s4)[1], alpha)
    return normalize(spins + (dt / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)), energy


def heun_step(spins: np.ndarray, field_fn: FieldFn, dt: float, alpha: float):
    """Heun (explicit trapezoid) step, second order (2 field evaluations), then renormalise."""
    energy, h1 = field_fn(spins)
    k1 = rhs(spins, h1, alpha)
    predicted = normalize(spins + dt * k1)
    k2 = rhs(predicted, field_fn(predicted)[1], alpha)
    return normalize(spins + 0.5 * dt * (k1 + k2)), energy


def cayley_rotate(spins: np.ndarray, axis: np.ndarray, dt: float) -> np.ndarray:
    """Solve ``S' = S + dt (S + S')/2 x B`` for ``S'`` site by site (exactly norm-preserving).

    With ``b = dt B / 2`` this is ``(1 + [b]x) S' = S + S x b``, whose solution is
    ``S' = (v - b x v + (b.v) b) / (1 + |b|^2)``, ``v = S + S x b``: a rotation of ``S``.
    """
    b = 0.5 * dt * axis
    v = spins + cross(spins, b)
    return (v - cross(b, v) + dot(b, v) * b) / (1.0 + dot(b, b))


def midpoint_step(spins: np.ndarray, field_fn: FieldFn, dt: float, alpha: float):
    """Semi-implicit midpoint step (Mentink et al., J. Phys. Cond. Mat. 22, 176001 (2010)).

    Predictor: rotate with ``B(S_n)``. Corrector: rotate ``S_n`` with ``B`` at the normalised
    midpoint of ``S_n`` and the prediction. Second order, 2 field evaluations, ``|S| = 1``
    exactly up to round-off since both stages are rotations.
    """
    energy, h1 = field_fn(spins)
    predicted = cayley_rotate(spins, precession_axis(spins, h1, alpha), dt)
    middle = normalize(spins + predicted)
    axis = precession_axis(middle, field_fn(middle)[1], alpha)
    return cayley_rotate(spins, axis, dt), energy


INTEGRATORS = {"rk4": rk4_step, "heun": heun_step, "midpoint": midpoint_step}
#: Field evaluations per step of each integrator (for cost accounting).
EVALUATIONS = {"rk4": 4, "heun": 2, "midpoint": 2}
#: Global order of accuracy of each integrator.
ORDER = {"rk4": 4, "heun": 2, "midpoint": 2}


def integrator(name: str):
    """The step function called ``name`` (one of ``INTEGRATORS``), or a ValueError."""
    try:
        return INTEGRATORS[name]
    except KeyError:
        raise ValueError(
            f"unknown integrator {name!r}; choose one of {', '.join(sorted(INTEGRATORS))}"
        ) from None

