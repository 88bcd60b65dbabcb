"""The texture families of the validation set: each draw is a unit-spin state of its kind,
checked by the observables that define the kind (skyrmion number, S(q) peak, chirality)."""

import numpy as np
import pytest

from distllg.dynamics import observables as obs
from distllg.training import textures

L = 24


@pytest.mark.parametrize("family", list(textures.FAMILIES))
def test_draws_are_unit_spins_and_reproducible(family):
    first, again, other = (textures.draw(family, L, L, seed) for seed in (3, 3, 4))
    assert first.shape == (3, L, L)
    np.testing.assert_allclose(np.linalg.norm(first, axis=0), 1.0, atol=1e-12)
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - other).max() > 0.1


@pytest.mark.parametrize("family, tolerance", [("labyrinth", 0.15), ("spiral", 1e-9),
                                               ("crystal", 1e-9)])
def test_modulated_families_peak_at_pi_over_3(family, tolerance):
    """Spirals and crystals on |q| = pi/3 exactly, labyrinths on the ring's band."""
    for seed in range(3):
        _, q = obs.structure_factor_peaks(textures.draw(family, L, L, seed), 1)
        assert np.linalg.norm(q[0]) == pytest.approx(np.pi / 3, abs=tolerance)


def test_spirals_carry_no_charge_and_crystals_two_skyrmions_per_cell():
    for seed in range(4):
        assert obs.skyrmion_number(textures.draw("spiral", L, L, seed)) == pytest.approx(0,
                                                                                         abs=1e-9)
        # 12 magnetic cells of 48 sites, two skyrmions each; noise may unwind a few
        assert abs(obs.skyrmion_number(textures.draw("crystal", L, L, seed))) >= 16


def test_domain_wall_joins_the_two_chiralities():
    for seed in range(4):
        spins = textures.draw("domain_wall", L, L, seed)
        assert abs(obs.skyrmion_number(spins)) <= 2
        column_charge = obs.solid_angles(spins).sum(axis=(0, 1)) / (4 * np.pi)  # per column
        assert column_charge.max() > 0.5 and column_charge.min() < -0.5


def test_field_states_are_isolated_skyrmions_in_a_polarised_background():
    for seed in range(4):
        spins = textures.draw("field", 36, 36, seed)
        assert obs.skyrmion_number(spins) <= -0.99  # cores against +z: negative charge
        assert obs.magnetization(spins)[2] > 0.5


def test_unknown_family_is_named():
    with pytest.raises(ValueError, match="unknown texture family 'vortex'"):
        textures.draw("vortex", L, L, 0)
