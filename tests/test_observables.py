"""Observables: Berg-Luscher skyrmion number, structure factor, chirality, magnetisation."""

import numpy as np
import pytest

from distllg import lattice
from distllg import spins as spinlib
from distllg.dynamics import observables as ob


def isolated_skyrmion(L, radius, winding=1, centre=(0.3, 0.2)):
    """Neel skyrmion of the given radius in a +z background: core down, |Q| = 1."""
    pos = lattice.positions(L, L)
    c = lattice.cartesian(L / 2 + centre[0], L / 2 + centre[1])
    d = pos - c[:, None, None]
    r = np.hypot(d[0], d[1])
    theta = np.where(r < radius, np.pi * (1.0 - r / radius), 0.0)
    phi = winding * np.arctan2(d[1], d[0])
    return np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])


@pytest.mark.parametrize("L", [6, 12, 17])
def test_skyrmion_number_is_integer_for_random_states(L, rng):
    for _ in range(5):
        q = ob.skyrmion_number(spinlib.random(L, L, rng))
        assert abs(q - round(q)) < 1e-9


def test_isolated_skyrmion_and_antiskyrmion():
    q_sk = ob.skyrmion_number(isolated_skyrmion(24, 7.0, winding=1))
    q_anti = ob.skyrmion_number(isolated_skyrmion(24, 7.0, winding=-1))
    assert q_sk == pytest.approx(-1.0, abs=1e-9)  # core down in a +z background
    assert q_anti == pytest.approx(1.0, abs=1e-9)
    flipped = -isolated_skyrmion(24, 7.0)  # time reversal flips the sign
    assert ob.skyrmion_number(flipped) == pytest.approx(1.0, abs=1e-9)


def test_skyrmion_number_invariant_under_z_rotation_and_translation(rng):
    s = spinlib.triple_q(12, 12) + 0.3 * rng.standard_normal((3, 12, 12))
    s = spinlib.normalize(s)
    q0 = ob.skyrmion_number(s)
    angle = 0.83
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0],
                         [0, 0, 1]])
    assert ob.skyrmion_number(np.tensordot(rotation, s, axes=1)) == pytest.approx(q0, abs=1e-9)
    assert ob.skyrmion_number(np.roll(s, (5, 7), axis=(1, 2))) == pytest.approx(q0, abs=1e-9)
    # Chirality density is the same picture, moved.
    np.testing.assert_allclose(ob.chirality_density(np.roll(s, (5, 7), axis=(1, 2))),
                               np.roll(ob.chirality_density(s), (5, 7), axis=(0, 1)),
                               atol=1e-12)


@pytest.mark.parametrize("L", [12, 24, 36])
def test_triple_q_has_one_skyrmion_per_magnetic_cell(L):
    s = spinlib.triple_q(L, L)
    assert abs(ob.skyrmion_number(s)) == pytest.approx(L * L / 48, abs=1e-9)
    assert ob.chirality_density(s).sum() == pytest.approx(ob.skyrmion_number(s), abs=1e-9)


@pytest.mark.parametrize("L", [12, 24, 36])
def test_cosine_triple_q_has_two_skyrmions_per_magnetic_cell(L):
    s = spinlib.triple_q_cosine(L, L)
    assert abs(ob.skyrmion_number(s)) == pytest.approx(2 * L * L / 48, abs=1e-9)
    values, q = ob.structure_factor_peaks(s, count=3)
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), np.pi / 3)
    np.testing.assert_allclose(values, values[0])


@pytest.mark.parametrize("P", [10, 20])
def test_cosine_triple_q_at_4_pi_over_P_fits_a_P_by_P_supercell(P):
    s = spinlib.triple_q_cosine(P, P, 4 * np.pi / P)
    assert abs(ob.skyrmion_number(s)) == pytest.approx(6, abs=1e-9)  # as 12 x 12 at pi / 3
    values, q = ob.structure_factor_peaks(s, count=3)
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 4 * np.pi / P)
    np.testing.assert_allclose(values, values[0])


def test_single_q_spiral_peaks_at_its_wave_vector():
    L = 24
    q_frac = np.array([3 / 24, 5 / 24])
    q = lattice.k_cartesian(q_frac)
    s = spinlib.spiral(L, L, q)
    sq = ob.structure_factor(s)
    assert sq.sum() == pytest.approx(L * L)
    values, peaks = ob.structure_factor_peaks(s, count=3)
    assert len(values) == 1  # one +-q pair, nothing else
    folded = lattice.fold_to_brillouin_zone(q)
    assert np.allclose(peaks[0], folded) or np.allclose(peaks[0], -folded)
    assert values[0] == pytest.approx(L * L / 2)


def test_triple_q_structure_factor_has_three_bond_peaks():
    values, q = ob.structure_factor_peaks(spinlib.triple_q(24, 24), count=3)
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), np.pi / 3)
    np.testing.assert_allclose(values, values[0])
    angles = np.degrees(np.arctan2(q[:, 1], q[:, 0])) % 180
    np.testing.assert_allclose(np.sort(angles), [0, 60, 120], atol=1e-9)


def test_magnetization_and_energy_per_site():
    s = spinlib.uniform(6, 8, (0, 3, 4))
    np.testing.assert_allclose(ob.magnetization(s), [0, 0.6, 0.8])
    assert ob.energy_per_site(-96.0, s) == -2.0


def test_the_share_knows_which_crystal_it_measures(rng):
    """The n_sk = 1 crystal (a field's) is measured as one, whole; the n_sk = 2 crystal as
    two, also when half of the lattice holds it, and under noise; without a crystal the
    zero-field one is assumed."""
    q = np.pi / 3
    one, two = spinlib.triple_q(48, 48), spinlib.triple_q_cosine(48, 48)
    assert ob.crystal_skyrmions_per_cell(one, q) == 1
    assert ob.crystal_share(one, q) == pytest.approx(1.0)
    assert ob.crystal_skyrmions_per_cell(two, q) == 2
    half = spinlib.double_q(48, 48)
    half[:, :, :24] = two[:, :, :24]
    assert ob.crystal_skyrmions_per_cell(half, q) == 2
    assert ob.crystal_share(half, q) == pytest.approx(0.5, abs=0.05)
    noisy = spinlib.normalize(one + 0.2 * rng.standard_normal(one.shape))
    assert ob.crystal_skyrmions_per_cell(noisy, q) == 1 and ob.crystal_share(noisy, q) > 0.9
    assert ob.crystal_skyrmions_per_cell(spinlib.spiral(48, 48, (q, 0.0)), q) == 2
    for seed in range(5):  # disorder stays measured against the zero-field crystal
        random = spinlib.random(48, 48, np.random.default_rng(seed))
        assert ob.crystal_skyrmions_per_cell(random, q) == 2
        assert ob.crystal_share(random, q) < 0.5


def test_crystal_share_scores_the_crystal_not_stripes_or_spirals(rng):
    """The n_sk = 2 crystal covers the whole area (both chiralities: -S too), half a
    crystal half of it, the n_sk = 1 crystal half of the n_sk = 2 density and all of its
    own; the double-Q stripe (alternating chirality) and the spiral none; on any lattice
    size (blocks need not divide it) and under noise the crystal stays near 1."""
    crystal = spinlib.triple_q_cosine(48, 48)
    q = np.pi / 3
    assert ob.crystal_share(crystal, q) == pytest.approx(1.0)
    assert ob.crystal_share(-crystal, q) == pytest.approx(1.0)
    assert ob.crystal_share(spinlib.triple_q(48, 48), q, skyrmions_per_cell=2) == \
        pytest.approx(0.5)
    assert ob.crystal_share(spinlib.triple_q(48, 48), q, skyrmions_per_cell=1) == pytest.approx(1.0)
    assert ob.crystal_share(spinlib.double_q(48, 48), q) == pytest.approx(0.0, abs=1e-12)
    assert ob.crystal_share(spinlib.spiral(48, 48, (q, 0.0)), q) == pytest.approx(0.0)
    half = spinlib.double_q(48, 48)
    half[:, :, :24] = crystal[:, :, :24]
    assert ob.crystal_share(half, q) == pytest.approx(0.5, abs=0.05)
    noisy = spinlib.normalize(crystal + 0.2 * rng.standard_normal(crystal.shape))
    assert ob.crystal_share(noisy, q) > 0.95
    scores, y_edges, x_edges = ob.crystal_blocks(spinlib.triple_q_cosine(30, 42), q)
    assert scores.shape == (2, 4) and y_edges[-1] == 30 and x_edges[-1] == 42
    for period in (10, 14):  # the density 3 n_sk q^2 / (16 pi^2) at other wave numbers
        other = spinlib.triple_q_cosine(3 * period, 3 * period, 4 * np.pi / period)
        assert ob.crystal_share(other, 4 * np.pi / period) == pytest.approx(1.0)
        assert ob.crystal_share(other, 4 * np.pi / (period - 2), 2) < 0.9  # denser than it


def test_domain_lengths_and_walls_of_stripes_of_opposite_chirality():
    """Mirroring S_y flips the chirality: stripes of the two chiralities, each w sites wide
    across x, have chirality domains w across and the lattice along them (mean (w + L) / 2),
    walls between 1/8 (two walls, 8 blocks a row) and 1/4 of the block pairs along x
    (halved by the y pairs); one domain spans the lattice and has none."""
    q = np.pi / 3
    crystal = spinlib.triple_q_cosine(96, 96)
    assert ob.chirality_domain_length(crystal, q) == 96.0
    assert ob.wall_density(crystal, q) == 0.0
    assert ob.peak_width_length(crystal) == 96.0
    for width, walls in ((48, 0.125), (24, 0.25)):
        stripes = crystal.copy()
        for start in range(width, 96, 2 * width):
            stripes[1, :, start:start + width] *= -1
        assert ob.chirality_domain_length(stripes, q) == pytest.approx((width + 96) / 2)
        assert ob.wall_density(stripes, q) == pytest.approx(walls)
        assert ob.peak_width_length(stripes) < 96.0  # the walls broaden the peaks


def test_the_peak_width_length_of_disorder_is_short(rng):
    assert ob.peak_width_length(spinlib.random(96, 96, rng)) < 20
