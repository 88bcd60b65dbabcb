"""Landau-Lifshitz-Gilbert integrators, independent of where the fields come from.

Landau-Lifshitz form (gamma = 1, time in units of hbar / t1):

    dS/dt = -1/(1 + alpha^2) [ S x H + alpha S x (S x H) ]  =  S x B,
    B = -1/(1 + alpha^2) [ H + alpha S x H ].

A field function ``field_fn(spins) -> (energy, fields)`` supplies the local fields ``H``
``(3, ...)`` (and the total energy, or NaN when it has none). Spins and fields are float64
torch tensors on the device that holds the spins (the CNN's GPU, or the CPU): the
integrators are written once, against torch, and never copy the spins to the host. ED and
KPM are host engines (numpy arrays in and out): :func:`on_tensors` adapts them, and
:func:`on_arrays` serves a tensor field function to callers with numpy arrays. Serial or
tiled, an integrator only adds tensors site by site, so it runs unchanged on a tile whose
``field_fn`` does the halo exchange.

Each ``*_step(spins, field_fn, dt, alpha) -> (new_spins, energy)`` returns the spins after
one step and the energy of the spins it started from (the first stage evaluates there, so
the energy costs nothing). All keep ``|S_i| = 1`` to round-off: RK4 and Heun renormalise
after the step (a projection that keeps their order), the semi-implicit midpoint rotates.
Intermediates are updated in place where they are fresh: on the CPU a step's cost is
mostly allocating and touching memory (docs/PERFORMANCE.md).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from distllg.spins import cross, dot, normalize

#: ``field_fn(spins) -> (energy, fields)`` on torch tensors ``(3, ...)``.
FieldFn = Callable[[torch.Tensor], tuple[float, torch.Tensor]]
#: The same on numpy arrays: the host engines (ED, KPM) and host callers.
HostFieldFn = Callable[[np.ndarray], tuple[float, np.ndarray]]


def host(tensor: torch.Tensor) -> np.ndarray:
    """A float64 numpy copy (or view, on the CPU) of ``tensor`` in host memory."""
    return tensor.detach().to("cpu", torch.float64).numpy()


def on_tensors(field_fn: HostFieldFn) -> FieldFn:
    """The host engine ``field_fn`` (numpy in and out) as a field function of tensors: the
    spins go to the host, the fields come back to the spins' device."""
    def fields(spins: torch.Tensor) -> tuple[float, torch.Tensor]:
        energy, values = field_fn(host(spins))
        return energy, torch.as_tensor(values, dtype=torch.float64, device=spins.device)

    return fields


def on_arrays(field_fn: FieldFn, device: torch.device | str = "cpu") -> HostFieldFn:
    """The tensor field function ``field_fn`` (spins on ``device``) for numpy callers."""
    def fields(spins: np.ndarray) -> tuple[float, np.ndarray]:
        tensor = torch.as_tensor(np.asarray(spins, dtype=np.float64), device=device)
        energy, values = field_fn(tensor)
        return energy, host(values)

    return fields


def precession_axis(spins: torch.Tensor, fields: torch.Tensor, alpha: float) -> torch.Tensor:
    """``B`` with ``dS/dt = S x B``: ``-(H + alpha S x H) / (1 + alpha^2)``, ``(3, ...)``."""
    axis = cross(spins, fields)  # a fresh array: the updates below are in place
    axis *= alpha
    axis += fields
    axis *= -1.0 / (1.0 + alpha**2)
    return axis


def rhs(spins: torch.Tensor, fields: torch.Tensor, alpha: float) -> torch.Tensor:
    """Right-hand side ``dS/dt`` of the LLG equation, ``(3, ...)``."""
    return cross(spins, precession_axis(spins, fields, alpha))


def rk4_step(spins: torch.Tensor, field_fn: FieldFn, dt: float, alpha: float):
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


def heun_step(spins: torch.Tensor, field_fn: FieldFn, dt: float, alpha: float):
    """Heun (explicit trapezoid) step, second order (2 field evaluations), then renormalise."""
    energy, h1 = field_fn(spins)
    k1 = rhs(spins, h1, alpha)
    predicted = normalize(spins + dt * k1)
    k2 = rhs(predicted, field_fn(predicted)[1], alpha)
    return normalize(spins + 0.5 * dt * (k1 + k2)), energy


def cayley_rotate(spins: torch.Tensor, axis: torch.Tensor, dt: float) -> torch.Tensor:
    """Solve ``S' = S + dt (S + S')/2 x B`` for ``S'`` site by site (exactly norm-preserving).

    With ``b = dt B / 2`` this is ``(1 + [b]x) S' = S + S x b``, whose solution is
    ``S' = (v - b x v + (b.v) b) / (1 + |b|^2)``, ``v = S + S x b``: a rotation of ``S``.
    """
    b = (0.5 * dt) * axis
    v = cross(spins, b)  # fresh arrays, updated in place: a step allocates less
    v += spins
    rotated = b * dot(b, v)
    rotated += v
    rotated -= cross(b, v)
    denominator = dot(b, b)
    denominator += 1.0
    rotated /= denominator
    return rotated


def midpoint_step(spins: torch.Tensor, field_fn: FieldFn, dt: float, alpha: float):
    """Semi-implicit midpoint step (Mentink et al., J. Phys. Cond. Mat. 22, 176001 (2010)).

    Predictor: rotate with ``B(S_n)``. Corrector: rotate ``S_n`` with ``B`` at the normalised
    midpoint of ``S_n`` and the prediction. Second order, 2 field evaluations, ``|S| = 1``
    exactly up to round-off since both stages are rotations.
    """
    energy, h1 = field_fn(spins)
    middle = cayley_rotate(spins, precession_axis(spins, h1, alpha), dt)  # the prediction
    middle += spins
    middle = normalize(middle)
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

