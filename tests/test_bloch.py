"""Twist-averaged (Bloch) ED of periodic textures equals ED of the tiled lattice."""

import numpy as np
import pytest

from distllg import lattice
from distllg import spins as spinlib
from distllg.electrons import SDModel
from distllg.electrons import hamiltonian as ham
from distllg.electrons.bloch import TwistAveragedSolver, cone_energy_per_site, twisted_hopping
from distllg.electrons.exact import ExactSolver

MODEL = SDModel(t2=0.2, kT=0.1, h=0.03)  # all three hopping shells and a field


@pytest.mark.parametrize("cell, twists", [((3, 4), (3, 2)), ((5, 5), (2, 3)), ((1, 6), (12, 2))])
def test_twist_average_is_ed_of_the_tiled_lattice(cell, twists, rng):
    """A supercell of (Ly, Lx) sites with (ny, nx) twists = ED on the (ny Ly) x (nx Lx)
    lattice of the texture tiled ny x nx times: energy per supercell and fields, to
    round-off. Includes supercells smaller than the hopping range (one row)."""
    s = spinlib.random(*cell, rng)
    energy, fields = TwistAveragedSolver(MODEL, twists).energy_and_fields(s)
    tiled = np.tile(s, (1,) + tuple(twists))
    big_energy, big_fields = ExactSolver(MODEL).energy_and_fields(tiled)
    assert energy == pytest.approx(big_energy / (twists[0] * twists[1]), abs=1e-11)
    np.testing.assert_allclose(fields, big_fields[:, :cell[0], :cell[1]], atol=1e-11)
    np.testing.assert_allclose(np.tile(fields, (1,) + tuple(twists)), big_fields, atol=1e-11)
    assert TwistAveragedSolver(MODEL, twists).energy(s) == pytest.approx(energy, abs=1e-11)


def test_twisted_hopping_is_hermitian_and_untwisted_is_periodic():
    h = twisted_hopping(MODEL, 4, 5, (0.7, -1.9))
    np.testing.assert_allclose(h, h.conj().T, atol=1e-15)
    np.testing.assert_allclose(twisted_hopping(MODEL, 7, 7, (0.0, 0.0)),
                               ham.hopping_matrix(MODEL, 7, 7), atol=1e-15)


def test_bad_twists_are_refused():
    with pytest.raises(ValueError, match="twists"):
        TwistAveragedSolver(MODEL, (0, 2))


@pytest.mark.parametrize("theta", [0.0, 0.4])
def test_cone_blocks_equal_ed_of_the_cone(theta):
    """The 2 x 2 k-space blocks of a cone give the energy of ED on a lattice the cone fits:
    a |q| = pi/3 cone (phase pi/3 per step along x, pi/6 along y) on 12 x 12, ED directly
    and by the twist average of a 12 x 12 supercell on 24 x 24."""
    q_frac = np.array([1 / 6, 1 / 12])
    phase = 2 * np.pi * np.tensordot(q_frac, np.mgrid[0:12, 0:12][::-1], axes=(0, 0))
    s = np.stack([np.cos(theta) * np.cos(phase), np.cos(theta) * np.sin(phase),
                  np.full_like(phase, np.sin(theta))])
    assert np.allclose(lattice.k_cartesian(q_frac), [np.pi / 3, 0.0])
    ed = ExactSolver(MODEL).energy(s) / 144
    assert cone_energy_per_site(MODEL, q_frac, theta, 12) == pytest.approx(ed, abs=1e-12)
    twisted = TwistAveragedSolver(MODEL, (2, 2)).energy_per_site(s)
    assert cone_energy_per_site(MODEL, q_frac, theta, 24) == pytest.approx(twisted, abs=1e-12)
