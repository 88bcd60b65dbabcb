"""The s-d Hamiltonian: hermiticity, band structure, symmetries, bare susceptibility."""

import numpy as np
import pytest
import scipy.linalg

from distllg import lattice
from distllg import spins as spinlib
from distllg.electrons import SDModel
from distllg.electrons import hamiltonian as ham
from distllg.electrons.exact import ExactSolver


def test_hamiltonian_is_hermitian_with_expected_blocks(rng):
    model = SDModel(t2=0.3)
    s = spinlib.random(6, 7, rng)
    h = ham.hamiltonian(model, s)
    np.testing.assert_allclose(h, h.conj().T, atol=0)
    # Each site has 6 + 6 + 6 hopping partners per spin, and its on-site block is J S.sigma.
    site = 2 * 7 + 3
    block = h[2 * site:2 * site + 2, 2 * site:2 * site + 2]
    sx, sy, sz = s[:, 2, 3]
    pauli = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]])
    np.testing.assert_allclose(block, model.J * np.tensordot([sx, sy, sz], pauli, axes=1))
    row = h[2 * site, 0::2].copy()
    row[site] = 0.0  # the on-site S^z entry
    assert np.count_nonzero(row) == 18
    assert sorted(np.unique(row.real)) == [-1.0, -0.3, 0.0, 0.85]


@pytest.mark.parametrize("L, direction", [(6, (0, 0, 1)), (12, (1.0, -2.0, 0.5))])
def test_polarised_spectrum_is_band_plus_minus_J(L, direction):
    model = SDModel(t2=0.2)
    spectrum = ExactSolver(model).spectrum(spinlib.uniform(L, L, direction))
    band = ham.band_energy(model, lattice.k_fractions(L, L)).ravel()
    expected = np.sort(np.concatenate([band + model.J, band - model.J]))
    np.testing.assert_allclose(spectrum, expected, atol=1e-11)


def test_band_energy_at_gamma_and_symmetry():
    model = SDModel()
    # e(0) = -6 t1 - 6 t2 - 6 t3 and e(k) = e(-k) = e(C6 k).
    assert ham.band_energy(model, np.zeros(2)) == pytest.approx(-6 * (1.0 - 0.85))
    k = np.array([[0.37, -1.2]])
    rotation = np.array([[0.5, -np.sqrt(3) / 2], [np.sqrt(3) / 2, 0.5]])
    e = ham.band_energy(model, lattice.k_fraction_of(k))
    e_rot = ham.band_energy(model, lattice.k_fraction_of(k @ rotation.T))
    e_neg = ham.band_energy(model, lattice.k_fraction_of(-k))
    np.testing.assert_allclose([e_rot, e_neg], [e, e], atol=1e-13)


def test_translation_moves_fields_and_keeps_energy(rng):
    solver = ExactSolver(SDModel(kT=0.05, h=0.1))
    s = spinlib.random(6, 8, rng)
    e0, f0 = solver.energy_and_fields(s)
    shift = (2, 5)  # (y, x)
    e1, f1 = solver.energy_and_fields(np.roll(s, shift, axis=(1, 2)))
    assert e1 == pytest.approx(e0, abs=1e-11)
    np.testing.assert_allclose(f1, np.roll(f0, shift, axis=(1, 2)), atol=1e-11)


def test_global_rotation_keeps_energy_and_rotates_fields(rng):
    solver = ExactSolver(SDModel(h=0.0))
    s = spinlib.random(6, 6, rng)
    rotation = scipy.linalg.expm(np.cross(np.eye(3), [0.3, -1.1, 0.7]))  # proper rotation
    e0, f0 = solver.energy_and_fields(s)
    e1, f1 = solver.energy_and_fields(np.tensordot(rotation, s, axes=1))
    assert e1 == pytest.approx(e0, abs=1e-11)
    np.testing.assert_allclose(f1, np.tensordot(rotation, f0, axes=1), atol=1e-11)


def test_zeeman_term_adds_minus_h_sum_sz(rng):
    s = spinlib.random(6, 6, rng)
    e_h = ExactSolver(SDModel(h=0.3)).energy(s)
    e_0 = ExactSolver(SDModel(h=0.0)).energy(s)
    assert e_h - e_0 == pytest.approx(-0.3 * s[2].sum(), abs=1e-11)


def test_susceptibility_peaks_at_pi_over_3_along_bonds():
    """Design: for t3 = -0.85, mu = -3.5 chi0 peaks at |Q| = pi/3 along the bond directions."""
    model = SDModel()
    q_frac, chi = ham.susceptibility_map(model, n_q=24, n_k=96, kT=0.02)
    values, q = lattice.k_peaks(chi, q_frac, count=6, relative=0.999)
    assert len(values) == 6
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), np.pi / 3, rtol=1e-12)
    angles = np.sort(np.degrees(np.arctan2(q[:, 1], q[:, 0])) % 360)
    np.testing.assert_allclose(angles, [0, 60, 120, 180, 240, 300], atol=1e-9)
    # The band-structure calculation on a finer, continuous scan along the bond direction
    # finds the same maximum: no point of |q| within (0.3, 2) beats pi/3 by more than the
    # resolution of the scan.
    fine_q = np.linspace(0.3, 2.0, 171)[:, None] * np.array([1.0, 0.0])
    fine = ham.bare_susceptibility(model, lattice.k_fraction_of(fine_q), lattice.k_fractions(
        96, 96), kT=0.02)
    assert abs(fine_q[np.argmax(fine), 0] - np.pi / 3) <= 0.01 + 1e-12
    assert fine.max() == pytest.approx(values[0], rel=2e-3)


def test_susceptibility_equals_second_order_response_of_exact_solver(rng):
    """Two methods: Lindhard sum in k-space vs the J^2 energy of a spiral from real-space ED.

    For a planar spiral with wave vector q, E(J) - E(0) = -J^2 N chi0(q) + O(J^4).
    """
    L = 12
    kT = 0.1
    q_frac = np.array([2 / 12, 1 / 12])  # Q1 = (pi/3, 0)
    spiral = spinlib.spiral(L, L, lattice.k_cartesian(q_frac))
    chi = ham.bare_susceptibility(SDModel(kT=kT), q_frac, lattice.k_fractions(L, L))
    J = 2e-3
    e_j = ExactSolver(SDModel(J=J, kT=kT)).energy(spiral)
    e_0 = ExactSolver(SDModel(J=0.0, kT=kT)).energy(spiral)
    response = -(e_j - e_0) / (J**2 * L * L)
    assert response == pytest.approx(chi, rel=1e-4)


def test_susceptibility_needs_temperature():
    with pytest.raises(ValueError, match="kT > 0"):
        ham.bare_susceptibility(SDModel(), np.zeros(2), lattice.k_fractions(6, 6))
