"""LLG integrators: order of accuracy, unit norms, energy conservation and dissipation."""

import numpy as np
import pytest

from distllg import spins as spinlib
from distllg.dynamics import llg, stepper
from distllg.electrons import SDModel
from distllg.electrons.exact import ExactSolver


def run(method, s, field_fn, dt, alpha, t_end):
    return stepper.integrate(s, field_fn, dt, alpha, int(round(t_end / dt)), method)


@pytest.fixture(scope="module")
def small_system():
    """L = 6 at kT = 0.05: fields smooth in time (no level crossing mu) for order tests."""
    solver = ExactSolver(SDModel(kT=0.05, h=0.05))
    s0 = spinlib.random(6, 6, np.random.default_rng(3))
    return solver.energy_and_fields, s0


@pytest.mark.parametrize("method, low, high", [("rk4", 3.7, 4.3), ("heun", 1.8, 2.2),
                                               ("midpoint", 1.8, 2.2)])
def test_global_error_order(small_system, method, low, high):
    field_fn, s0 = small_system
    t_end, alpha = 4.0, 0.1
    reference = run("rk4", s0, field_fn, 0.005, alpha, t_end)
    dts = np.array([0.2, 0.1, 0.05]) if method == "rk4" else np.array([0.1, 0.05, 0.025])
    errors = [np.abs(run(method, s0, field_fn, dt, alpha, t_end) - reference).max()
              for dt in dts]
    slope = np.polyfit(np.log(dts), np.log(errors), 1)[0]
    assert low <= slope <= high, f"{method}: errors {errors}, slope {slope:.2f}"


@pytest.mark.parametrize("method", sorted(llg.INTEGRATORS))
def test_norms_stay_one(small_system, method):
    field_fn, s0 = small_system
    s = run(method, s0, field_fn, 0.1, 0.2, 10.0)
    np.testing.assert_allclose(np.linalg.norm(s, axis=0), 1.0, atol=1e-12)


def test_cayley_rotation_solves_the_midpoint_equation(rng):
    s = spinlib.random(4, 5, rng)
    axis = rng.standard_normal((3, 4, 5))
    new = llg.cayley_rotate(s, axis, 0.3)
    np.testing.assert_allclose(new, s + 0.3 * np.cross(0.5 * (s + new), axis, axis=0),
                               atol=1e-14)
    np.testing.assert_allclose(np.linalg.norm(new, axis=0), 1.0, atol=1e-14)


def test_rhs_is_precession_plus_damping_towards_the_field():
    s = np.array([1.0, 0.0, 0.0])[:, None, None]
    h = np.array([0.0, 0.0, 2.0])[:, None, None]
    # S x H = (0, -2, 0); S x (S x H) = (-0) ... damping pulls S towards H = +z.
    alpha = 0.5
    ds = llg.rhs(s, h, alpha)[:, 0, 0]
    np.testing.assert_allclose(ds, [0.0, 2.0, alpha * 2.0] / np.float64(1 + alpha**2))


@pytest.mark.slow
@pytest.mark.slow
def test_energy_conserved_without_damping():
    """alpha = 0: relative energy drift < 1e-8 over 1000 RK4 steps at dt = 0.1, L = 12.

    With a small Fermi smearing kT = 0.02 the fields are smooth in time. At kT = 0 a level
    crossing mu puts a kink in E(S), RK4 drops to low order there, and the drift measured on
    this state is 4.5e-7 for dt = 0.1 and 3.7e-7 for dt = 0.05 (docs/physics.md).
    """
    solver = ExactSolver(SDModel(kT=0.02))
    rng = np.random.default_rng(5)
    s = spinlib.normalize(spinlib.triple_q(12, 12) + 0.3 * rng.standard_normal((3, 12, 12)))
    energies = []
    s = stepper.integrate(s, solver.energy_and_fields, 0.1, 0.0, 1000, "rk4",
                      callback=lambda step, spins, energy: energies.append(energy))
    energies.append(solver.energy(s))
    drift = np.abs(np.array(energies) - energies[0]).max() / abs(energies[0])
    assert drift < 1e-8


@pytest.mark.parametrize("method", sorted(llg.INTEGRATORS))
@pytest.mark.slow
def test_damping_never_increases_energy(method):
    solver = ExactSolver(SDModel(h=0.02))
    s = spinlib.random(12, 12, np.random.default_rng(11))
    energies = []
    stepper.integrate(s, solver.energy_and_fields, 0.1, 0.3, 150, method,
                  callback=lambda step, spins, energy: energies.append(energy))
    steps = np.diff(energies)
    assert steps.max() <= 1e-12 * abs(energies[0]), f"E rose by {steps.max():.3g}"
    assert energies[-1] < energies[0] - 0.5  # it does relax (measured: by 0.8 t1)


@pytest.mark.slow
def test_short_relaxation_is_reproducible_bit_for_bit():
    solver = ExactSolver(SDModel())

    def relax():
        s = spinlib.random(12, 12, np.random.default_rng(2))
        return stepper.integrate(s, solver.energy_and_fields, 0.2, 0.5, 100, "midpoint")

    a, b = relax(), relax()
    np.testing.assert_array_equal(a, b)


def test_unknown_integrator_is_named():
    with pytest.raises(ValueError, match="unknown integrator 'rk5'; choose one of heun"):
        llg.integrator("rk5")
