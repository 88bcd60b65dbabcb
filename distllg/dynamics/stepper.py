"""The one LLG loop: an integrator, the thermal noise when there is one, and observers.

A :class:`Stepper` holds what a step needs (``dt`` enters here only), advances spins one
step at a time (:meth:`Stepper.step`) or over a range of steps while observers watch
(:meth:`Stepper.run`). The thermal step wraps the deterministic one: the thermostat adds its
random field to the field function, the integrator is unchanged. run, datagen, compare and
validate all step through here. Spins are float64 torch tensors on the device of the field
function (:mod:`distllg.dynamics.llg`); the noise is drawn there too.

Observers are callables ``observer(step, before, energy, after)`` called after every step:
``step`` is the number of the step taken (from ``before`` at step ``step`` to ``after`` at
``step + 1``), ``energy`` that of ``before`` (NaN for engines without one). An observer
that returns something true stops the loop after that step.
"""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np
import torch

from distllg.dynamics import llg
from distllg.dynamics.thermal import Thermostat

Observer = Callable[[int, torch.Tensor, float, torch.Tensor], object]


class FieldRamp:
    """A Zeeman field ``h(n)`` (t1, along +z) during step ``n``: piecewise linear through the
    points ``(steps[k], values[k])``, constant beyond the first and the last. The electrons
    do not feel ``h`` (it acts on the local spins), so it is added to the local fields of
    any engine: the field-driven transitions of the crystal with one model."""

    def __init__(self, steps: tuple[int, ...], values: tuple[float, ...]):
        self.steps = np.asarray(steps, dtype=float)
        self.values = np.asarray(values, dtype=float)

    def at(self, step: float) -> float:
        """``h`` at step ``step`` (t1; a step is held at ``h`` of its middle, ``step +
        0.5``)."""
        return float(np.interp(step, self.steps, self.values))


class Stepper:
    """LLG steps of size ``dt`` (hbar / t1) with damping ``alpha`` by the integrator
    ``method`` on the fields of ``field_fn``; ``thermostat`` (or None) adds the noise of
    stochastic LLG on the sites of ``region`` (this rank's tile; default all), ``ramp`` (or
    None) a Zeeman field that changes with the step (its energy is not in the reported
    energy, which stays that of ``field_fn``)."""

    def __init__(self, method: str, dt: float, alpha: float, field_fn: llg.FieldFn,
                 thermostat: Thermostat | None = None,
                 region: tuple[slice, slice] | None = None, ramp: FieldRamp | None = None):
        self.integrator = llg.integrator(method)
        self.dt, self.alpha = float(dt), float(alpha)
        self.field_fn = field_fn
        self.thermostat = thermostat if thermostat and thermostat.temperature > 0 else None
        self.region = region
        self.ramp = ramp

    @classmethod
    def for_dynamics(cls, dynamics, field_fn: llg.FieldFn, shape: tuple[int, int],
                     region: tuple[slice, slice] | None = None) -> Stepper:
        """The stepper of a ``[dynamics]`` section on a ``shape`` lattice."""
        ramp = FieldRamp(dynamics.field_steps, dynamics.field_values) \
            if dynamics.field_steps else None
        return cls(dynamics.integrator, dynamics.dt, dynamics.alpha, field_fn,
                   Thermostat.for_dynamics(shape, dynamics), region, ramp)

    def field(self, step: int) -> float:
        """The ramp's Zeeman field at step ``step`` (t1; 0 without a ramp)."""
        return 0.0 if self.ramp is None else self.ramp.at(step)

    def time(self, step: int) -> float:
        """The time (hbar / t1) at step ``step``."""
        return step * self.dt

    def temperature(self, step: int) -> float | None:
        """The spin temperature during step ``step``; None for deterministic LLG."""
        return None if self.thermostat is None else self.thermostat.temperature_at(step)

    def step(self, spins: torch.Tensor, step: int) -> tuple[torch.Tensor, float]:
        """``(spins after, energy before)`` of step number ``step`` from ``spins``."""
        fields = self.field_fn
        if self.ramp is not None:  # held at the step's middle: second order in the drive
            fields = _with_zeeman(fields, self.ramp.at(step + 0.5))
        if self.thermostat is not None:
            fields = self.thermostat.fields_fn(fields, step, self.dt, self.alpha, self.region,
                                               spins.device)
        return self.integrator(spins, fields, self.dt, self.alpha)

    def run(self, spins: torch.Tensor, start: int, stop: int,
            observers: Iterable[Observer] = ()) -> tuple[torch.Tensor, int]:
        """Steps ``start`` .. ``stop - 1`` from ``spins`` (at step ``start``); returns the
        spins and their step number: ``stop``, or earlier when an observer stopped it."""
        observers = tuple(observers)
        for step in range(start, stop):
            after, energy = self.step(spins, step)
            stopped = [observer(step, spins, energy, after) for observer in observers]
            spins = after
            if any(stopped):
                return spins, step + 1
        return spins, stop


def _with_zeeman(field_fn: llg.FieldFn, h: float) -> llg.FieldFn:
    def fields(spins: torch.Tensor) -> tuple[float, torch.Tensor]:
        energy, values = field_fn(spins)
        values = values.clone()
        values[2] += h
        return energy, values

    return fields


def integrate(spins: np.ndarray, field_fn: llg.HostFieldFn, dt: float, alpha: float,
              steps: int, method: str = "rk4", callback=None,
              thermostat: Thermostat | None = None) -> np.ndarray:
    """For host callers: ``steps`` steps from the numpy spins ``spins`` (step numbers from 0)
    on the numpy field function ``field_fn`` (:func:`llg.on_tensors`), on the CPU;
    ``callback(step, spins, energy)`` after each, with ``step`` counted from 1, ``spins``
    (numpy) after it and ``energy`` before it."""
    observers = () if callback is None else (
        lambda step, before, energy, after: callback(step + 1, llg.host(after), energy),)
    stepper = Stepper(method, dt, alpha, llg.on_tensors(field_fn), thermostat)
    start = torch.from_numpy(np.array(spins, dtype=np.float64))
    return llg.host(stepper.run(start, 0, steps, observers)[0])
