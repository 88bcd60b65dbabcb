"""Symmetries used for augmentation hold for the exact s-d model (ED is the truth)."""

import numpy as np
import pytest

from distllg import spins as spinlib
from distllg.electrons import SDModel
from distllg.electrons.exact import ExactSolver
from distllg.model import data as datalib


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
