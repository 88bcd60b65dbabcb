"""Exact solver: fields are the gradient of the energy; bad input is refused clearly."""

import numpy as np
import pytest
import scipy.linalg

from distllg import lattice
from distllg import spins as spinlib
from distllg.electrons import SDModel
from distllg.electrons import hamiltonian as ham
from distllg.electrons.exact import ExactSolver


def energy_from_eigenvalues(model, s):
    """Independent energy: eigenvalues only (no eigenvectors), of the raw matrix, any |S|."""
    e = scipy.linalg.eigvalsh(ham.hamiltonian(model, s)) - model.mu
    zeeman = -model.h * s[2].sum()
    if model.kT == 0.0:
        return np.minimum(e, 0.0).sum() + zeeman
    return -model.kT * np.logaddexp(0.0, -e / model.kT).sum() + zeeman


def fermi_gap(model, s):
    """Distance of the nearest one-electron level to mu."""
    return np.abs(scipy.linalg.eigvalsh(ham.hamiltonian(model, s)) - model.mu).min()


@pytest.mark.parametrize(
    "L, model, n_checked",
    [
        (6, SDModel(), None),
        (6, SDModel(kT=0.05, h=0.1), None),
        (12, SDModel(), 40),
        (12, SDModel(kT=0.02, t2=0.1), 40),
    ],
    ids=["L6-kT0", "L6-kT0.05-h", "L12-kT0", "L12-kT0.02-t2"],
)
def test_fields_are_minus_energy_gradient(L, model, n_checked, rng):
    s = spinlib.random(L, L, rng)
    if model.kT == 0.0:
        # kT = 0 is differentiable only away from a level crossing mu.
        assert fermi_gap(model, s) > 1e-3
    energy, fields = ExactSolver(model).energy_and_fields(s)
    assert energy == pytest.approx(energy_from_eigenvalues(model, s), abs=1e-10)
    components = np.argwhere(np.ones(s.shape, dtype=bool))
    if n_checked is not None:
        components = components[rng.choice(len(components), n_checked, replace=False)]
    step = 1e-5
    for a, y, x in components:
        plus, minus = s.copy(), s.copy()
        plus[a, y, x] += step
        minus[a, y, x] -= step
        gradient = (energy_from_eigenvalues(model, plus)
                    - energy_from_eigenvalues(model, minus)) / (2 * step)
        assert -gradient == pytest.approx(fields[a, y, x], abs=1e-6 * np.abs(fields).max())


def test_subset_and_full_diagonalisation_agree(rng):
    s = spinlib.random(12, 12, rng)
    for model in (SDModel(), SDModel(kT=0.1)):
        solver = ExactSolver(model)
        subset = solver.solve(s)
        full = solver.solve(s, all_eigenvalues=True)
        assert subset.energy == pytest.approx(full.energy, abs=1e-10)
        np.testing.assert_allclose(subset.fields, full.fields, atol=1e-12)
        assert subset.electrons == pytest.approx(full.electrons, abs=1e-10)
        assert len(full.eigenvalues) == 2 * 144


def test_torques_are_perpendicular_and_only_zeeman_for_collinear_states(rng):
    solver = ExactSolver(SDModel(h=0.2))
    s = spinlib.random(6, 6, rng)
    t = solver.torques(s)
    np.testing.assert_allclose(np.sum(t * s, axis=0), 0.0, atol=1e-14)
    # A uniform state: the electron field is parallel to S, so only S x h z remains.
    uniform = spinlib.uniform(6, 6, (1, 1, 1))
    zeeman = np.cross(uniform, [0.0, 0.0, 0.2], axis=0)
    np.testing.assert_allclose(solver.torques(uniform), zeeman, atol=1e-12)


def test_polarised_state_counts_electrons_and_spin_density():
    model = SDModel(J=1.0)
    result = ExactSolver(model).solve(spinlib.uniform(12, 12))
    # Spins along +z: the low band e - J is spin down (electron moment antiparallel).
    band = ham.band_energy(model, lattice.k_fractions(12, 12))
    n_down = np.count_nonzero(band - model.J < model.mu)
    n_up = np.count_nonzero(band + model.J < model.mu)
    assert result.electrons == n_down + n_up
    np.testing.assert_allclose(result.spin_density[2].sum(), n_up - n_down, atol=1e-10)
    np.testing.assert_allclose(result.fields[2], -model.J * (n_up - n_down) / 144, atol=1e-12)


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((12, 12)), r"shape \(3, Ly, Lx\)"),
        (np.zeros((2, 12, 12)), r"shape \(3, Ly, Lx\)"),
        (np.full((3, 6, 6), 0.5), "must be unit vectors"),
        (np.ones((3, 6, 6), dtype=complex), "real float"),
    ],
    ids=["2d", "two-components", "non-unit", "complex"],
)
def test_bad_spins_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        ExactSolver().energy_and_fields(bad)


def test_nan_spin_is_refused_with_its_site(rng):
    s = spinlib.random(6, 6, rng)
    s[1, 4, 2] = np.nan
    with pytest.raises(ValueError, match=r"NaN or inf at 1 site\(s\), first at \(x=2, y=4\)"):
        ExactSolver().energy_and_fields(s)


@pytest.mark.parametrize("Ly, Lx", [(4, 4), (12, 4), (3, 12)])
def test_lattice_too_small_for_hoppings(Ly, Lx):
    with pytest.raises(ValueError, match="too small"):
        ExactSolver().energy_and_fields(spinlib.uniform(Ly, Lx))


def test_nearest_neighbour_model_accepts_small_lattice(rng):
    """Without third-neighbour hopping a 3 x 3 lattice is big enough (with it, it is too
    small): the solver is built, and its energy and fields there are finite, of the
    lattice's shape, and the energy is that of the eigenvalues."""
    model = SDModel(t3=0.0, kT=0.1)
    solver = ExactSolver(model)
    for s in (spinlib.uniform(3, 3), spinlib.random(3, 3, rng)):
        energy, fields = solver.energy_and_fields(s)
        assert np.isfinite(energy) and fields.shape == (3, 3, 3)
        assert np.isfinite(fields).all() and np.abs(fields).max() > 0
        assert energy == pytest.approx(energy_from_eigenvalues(model, s), abs=1e-10)
    with pytest.raises(ValueError, match="too small"):
        ExactSolver(SDModel(kT=0.1)).energy_and_fields(spinlib.uniform(3, 3))


@pytest.mark.parametrize(
    "kwargs, message",
    [({"kT": -0.1}, "kT"), ({"J": float("nan")}, "SDModel.J"), ({"mu": "a"}, "SDModel.mu")],
)
def test_bad_model_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SDModel(**kwargs)


def test_torch_eigen_decomposition_agrees_with_lapacks_subset(rng):
    """The path a GPU takes (torch.linalg.eigh of the whole matrix, the occupied part kept),
    here on the CPU: energy, fields and electron count equal the MRRR subset's to
    round-off, for plain and twist-averaged ED."""
    import torch

    from distllg.electrons.bloch import exact_solver

    s = spinlib.random(6, 6, rng)
    for model in (SDModel(), SDModel(kT=0.05, t3=-0.85, J=0.5, mu=-3.5, h=0.02)):
        for twists in (1, 2):
            lapack = exact_solver(model, twists)
            on_torch = exact_solver(model, twists, torch.device("cpu"))
            energy, fields = lapack.energy_and_fields(s)
            torch_energy, torch_fields = on_torch.energy_and_fields(s)
            assert torch_energy == pytest.approx(energy, abs=1e-11)
            np.testing.assert_allclose(torch_fields, fields, atol=1e-12)
            assert on_torch.energy(s) == pytest.approx(energy, abs=1e-11)
        result = ExactSolver(model, torch.device("cpu")).solve(s)
        assert result.electrons == pytest.approx(ExactSolver(model).solve(s).electrons,
                                                 abs=1e-11)
