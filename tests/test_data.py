"""Symmetries used for augmentation hold for the exact s-d model (ED is the truth)."""

import numpy as np
import pytest

from distllg import spins as spinlib
from distllg.electrons import SDModel
from distllg.electrons.exact import ExactSolver
from distllg.training import data as datalib


def test_point_group_has_twelve_distinct_site_permutations():
    shape = (12, 12)
    perms = {tuple(np.concatenate(datalib.site_permutation(m, shape)).ravel())
             for m in datalib.point_group(shape)}
    assert len(perms) == 12
    assert len(datalib.point_group((12, 6))) == 2


@pytest.mark.parametrize("operation", range(12))
def test_exact_fields_follow_lattice_operations(operation, rng):
    solver = ExactSolver(SDModel(kT=0.02))
    s = spinlib.random(6, 6, rng)
    iy, ix = datalib.site_permutation(datalib.point_group((6, 6))[operation], (6, 6))
    energy, fields = solver.energy_and_fields(s)
    moved_energy, moved_fields = solver.energy_and_fields(s[:, iy, ix])
    assert moved_energy == pytest.approx(energy, rel=1e-11)
    np.testing.assert_allclose(moved_fields, fields[:, iy, ix], atol=1e-10)


@pytest.mark.parametrize("h, about_z", [(0.0, False), (0.1, True)])
def test_exact_fields_follow_global_spin_rotations(h, about_z, rng):
    solver = ExactSolver(SDModel(h=h, kT=0.02))
    s = spinlib.random(6, 6, rng)
    rotation = datalib.random_rotation(rng, about_z_only=about_z)
    np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-14)
    assert np.linalg.det(rotation) == pytest.approx(1.0)
    _, fields = solver.energy_and_fields(s)
    _, rotated = solver.energy_and_fields(datalib.rotate_spins(rotation, s))
    np.testing.assert_allclose(rotated, datalib.rotate_spins(rotation, fields), atol=1e-10)
    torque = datalib.torques(s, fields)
    np.testing.assert_allclose(datalib.torques(datalib.rotate_spins(rotation, s), rotated),
                               datalib.rotate_spins(rotation, torque), atol=1e-10)


def test_exact_torques_are_even_under_a_global_spin_flip_at_zero_field(rng):
    s = spinlib.random(6, 6, rng)
    energy, fields = ExactSolver(SDModel(kT=0.02)).energy_and_fields(s)
    flipped_energy, flipped = ExactSolver(SDModel(kT=0.02)).energy_and_fields(-s)
    assert flipped_energy == pytest.approx(energy, rel=1e-12)
    np.testing.assert_allclose(flipped, -fields, atol=1e-10)
    np.testing.assert_allclose(datalib.torques(-s, flipped), datalib.torques(s, fields),
                               atol=1e-10)
    _, in_field = ExactSolver(SDModel(h=0.1, kT=0.02)).energy_and_fields(s)
    _, flipped_in_field = ExactSolver(SDModel(h=0.1, kT=0.02)).energy_and_fields(-s)
    assert np.abs(flipped_in_field + in_field).max() > 1e-2  # a field breaks it


def test_electronic_field_does_not_depend_on_the_zeeman_field(rng):
    """The field minus h z is the same at every h (the electrons do not feel h): what lets
    one model, trained at one h, serve runs at any h."""
    s = spinlib.random(6, 6, rng)
    _, at_zero = ExactSolver(SDModel(kT=0.02)).energy_and_fields(s)
    _, in_field = ExactSolver(SDModel(kT=0.02, h=0.3)).energy_and_fields(s)
    assert np.abs(in_field - at_zero).max() > 0.29
    np.testing.assert_allclose(in_field - np.array([0, 0, 0.3])[:, None, None], at_zero,
                               atol=1e-12)
    np.testing.assert_allclose(datalib.electronic_torques(s, in_field, 0.3),
                               datalib.torques(s, at_zero), atol=1e-12)


@pytest.mark.parametrize("h", [0.0, 0.1])
def test_augmented_pairs_are_exact_pairs(h, rng):
    """Every (spins, electronic torques) pair the training augmenter makes is a state and
    its exact electronic torques, at h = 0 and in a field, flips included, and the flip is
    used."""
    from distllg.training.train import Augmenter

    solver = ExactSolver(SDModel(h=h, kT=0.02))
    s = spinlib.random(6, 6, rng)
    torque = datalib.electronic_torques(s, solver.energy_and_fields(s)[1], h)
    augment = Augmenter((6, 6), rng=np.random.default_rng(5))
    signs = set()
    for _ in range(6):
        spins, targets = augment(s[None], torque[None])
        exact = datalib.electronic_torques(spins[0], solver.energy_and_fields(spins[0])[1], h)
        np.testing.assert_allclose(targets[0], exact, atol=1e-10)
        signs.add(orientation(s, spins[0]))
    assert signs == {1.0, -1.0}


def orientation(s, moved):
    """det of the orthogonal spin map R with ``moved = R s[P]`` for the point-group
    operation P that fits (+1: a rotation, -1: a rotation times the flip)."""
    fits = []
    for matrix in datalib.point_group(s.shape[-2:]):
        iy, ix = datalib.site_permutation(matrix, s.shape[-2:])
        a, b = s[:, iy, ix].reshape(3, -1), moved.reshape(3, -1)
        u, _, vt = np.linalg.svd(b @ a.T)  # best orthogonal R with b ~ R a (Procrustes)
        rotation = u @ vt
        fits.append((np.abs(rotation @ a - b).max(), float(np.sign(np.linalg.det(rotation)))))
    residual, sign = min(fits)
    assert residual < 1e-12
    return sign
