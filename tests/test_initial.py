"""Initial states made tile by tile (distllg.initial): any cut of the lattice into regions
gives the spins of the whole, the random state is uniform on the sphere, a file is read
through a memory map, and bad files are named."""

import numpy as np
import pytest

from distllg import config as configlib
from distllg import initial
from distllg import spins as spinlib


def config_for(state, shape=(13, 17), noise=0.0, file=""):
    return configlib.from_dict({"lattice": {"Ly": shape[0], "Lx": shape[1]},
                                "initial": {"state": state, "seed": 7, "noise": noise,
                                            "file": file}})


def tiles(config, cuts_y=(0, 5, 13), cuts_x=(0, 4, 11, 17)):
    """The lattice assembled from uneven regions."""
    rows = [np.concatenate([initial.spins(config, (slice(y0, y1), slice(x0, x1)))
                            for x0, x1 in zip(cuts_x[:-1], cuts_x[1:], strict=True)], axis=2)
            for y0, y1 in zip(cuts_y[:-1], cuts_y[1:], strict=True)]
    return np.concatenate(rows, axis=1)


@pytest.mark.parametrize("state, noise", [("random", 0.0), ("uniform", 0.0),
                                          ("triple-q", 0.0), ("triple-q-cosine", 0.0),
                                          ("triple-q", 0.3), ("uniform", 0.2)])
def test_regions_assemble_to_the_whole_lattice(state, noise):
    config = config_for(state, noise=noise)
    whole = initial.spins(config)
    assert whole.shape == (3, 13, 17)
    np.testing.assert_array_equal(tiles(config), whole)
    spinlib.validate(whole)


def test_analytic_states_equal_their_definitions():
    Ly, Lx = 13, 17
    np.testing.assert_array_equal(initial.spins(config_for("triple-q")),
                                  spinlib.triple_q(Ly, Lx))
    np.testing.assert_array_equal(initial.spins(config_for("triple-q-cosine")),
                                  spinlib.triple_q_cosine(Ly, Lx))
    np.testing.assert_array_equal(initial.spins(config_for("uniform")), spinlib.uniform(Ly, Lx))


def test_random_spins_are_uniform_on_the_sphere_and_depend_on_the_seed():
    config = config_for("random", shape=(200, 200))
    s = initial.spins(config)
    assert np.abs(s.reshape(3, -1).mean(axis=1)).max() < 0.01  # 3 sigma = 0.0087
    np.testing.assert_allclose((s.reshape(3, -1) ** 2).mean(axis=1), 1 / 3, atol=0.006)
    other = configlib.from_dict({"lattice": {"L": 200}, "initial": {"seed": 8}})
    assert np.abs(initial.spins(other) - s).max() > 1.0


def test_a_file_is_read_by_region(tmp_path):
    spins = spinlib.random(13, 17, np.random.default_rng(1))
    path = tmp_path / "s.npy"
    np.save(path, spins)
    config = config_for("file", file=str(path))
    np.testing.assert_array_equal(tiles(config), spins)
    np.save(path, spins[:, :12])
    with pytest.raises(configlib.ConfigError, match=r"holds an array of shape \(3, 12, 17\)"):
        initial.spins(config)
    broken = spins.copy()
    broken[:, 6, 3] = 2.0
    np.save(path, broken)
    initial.spins(config, (slice(0, 5), slice(0, 17)))  # the bad site is not in this region
    with pytest.raises(ValueError, match=r"rows 5:13, columns 0:4\) must be unit vectors"):
        initial.spins(config, (slice(5, 13), slice(0, 4)))
