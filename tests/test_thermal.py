"""Stochastic LLG: the noise is standard normal and does not depend on the tiling, and the
integrators sample the Boltzmann distribution (Langevin function for free spins in a field,
equipartition for a ferromagnetic chain near its ground state)."""

import numpy as np
import pytest
import torch

from distllg import config as configlib
from distllg import spins as spinlib
from distllg.counter_rng import philox_words
from distllg.dynamics import stepper
from distllg.dynamics.thermal import Thermostat
from distllg.dynamics.thermal import site_normals as tensor_normals
from distllg.parallel.decomposition import Decomposition


def site_normals(*args) -> np.ndarray:
    return tensor_normals(*args).numpy()


def numpy_normals(seed: int, stream: int, shape: tuple[int, int]) -> np.ndarray:
    """The same numbers from numpy's own Philox-4x64 (an independent implementation):
    the block of site (y, x) is the first that ``Philox(counter=y Lx + x)`` draws."""
    Ly, Lx = shape
    key = np.array([seed, stream], dtype=np.uint64)
    raw = np.stack([np.random.Philox(counter=[y * Lx, 0, 0, 0], key=key).random_raw(4 * Lx)
                    .reshape(Lx, 4) for y in range(Ly)])
    uniform = 1.0 - (raw >> np.uint64(11)).astype(np.float64) * 2.0**-53
    radius = np.sqrt(-2.0 * np.log(uniform[..., 0::2]))
    angle = 2.0 * np.pi * uniform[..., 1::2]
    return np.stack([radius[..., 0] * np.cos(angle[..., 0]),
                     radius[..., 0] * np.sin(angle[..., 0]),
                     radius[..., 1] * np.cos(angle[..., 1])])


@pytest.mark.parametrize("seed, stream", [(0, 0), (5, 3), (2**64 - 1, 2**64 - 2),
                                          (12345678901234567890, 2**63 + 17)])
def test_the_torch_philox_words_equal_numpys_bit_for_bit(seed, stream):
    counters = torch.arange(1, 2001, dtype=torch.int64) * 7919  # up to 1.6e7
    key = np.array([seed, stream], dtype=np.uint64)
    expected = np.stack([np.random.Philox(counter=[int(c) - 1, 0, 0, 0], key=key)
                         .random_raw(4) for c in counters]) >> np.uint64(11)
    words = torch.stack(philox_words((seed, stream), counters), dim=-1).numpy()
    np.testing.assert_array_equal(words, expected.astype(np.int64))


def test_the_normals_are_numpys_up_to_the_math_library():
    # torch's log, sqrt, cos and sin may differ from numpy's in the last bit
    shape = (9, 13)
    np.testing.assert_allclose(site_normals(7, 11, shape), numpy_normals(7, 11, shape),
                               rtol=1e-14, atol=1e-14)


def test_a_region_draws_the_noise_of_its_own_sites():
    shape = (7, 11)
    everything = site_normals(5, 3, shape)
    for rows, cols in [(slice(0, 7), slice(0, 11)), (slice(2, 5), slice(3, 10)),
                       (slice(6, 7), slice(0, 1)), (slice(0, 4), slice(5, 11))]:
        np.testing.assert_array_equal(site_normals(5, 3, shape, (rows, cols)),
                                      everything[:, rows, cols])
    assert not np.array_equal(site_normals(5, 4, shape), everything)  # another step
    assert not np.array_equal(site_normals(6, 3, shape), everything)  # another seed


def test_noise_is_independent_standard_normal():
    a = site_normals(1, 0, (200, 300)).reshape(3, -1)
    b = site_normals(1, 1, (200, 300)).reshape(3, -1)
    n = a.shape[1]  # 60000 per component: statistical error 0.004 on means and correlations
    assert np.abs(a.mean(axis=1)).max() < 0.02
    assert np.abs(a.var(axis=1) - 1).max() < 0.03
    assert np.abs(np.corrcoef(a)[np.triu_indices(3, 1)]).max() < 0.02  # components
    assert abs(np.corrcoef(a[0], b[0])[0, 1]) < 0.02  # steps
    assert abs(np.corrcoef(a[0, :-1], a[0, 1:])[0, 1]) < 0.02  # neighbouring sites
    tails = (np.abs(a) > 2).mean()  # 2 P(Z > 2) = 0.0455
    assert abs(tails - 0.0455) < 5 * np.sqrt(0.0455 / (3 * n))


def test_annealing_ramps_linearly_to_zero():
    ramp = Thermostat((4, 4), 0.3, anneal_steps=100)
    assert [ramp.temperature_at(n) for n in (0, 50, 100, 150)] == [0.3, 0.15, 0.0, 0.0]
    assert ramp.field(100, 0.1, 1.0) is None and ramp.field(99, 0.1, 1.0).shape == (3, 4, 4)
    assert Thermostat((4, 4), 0.3).temperature_at(10**6) == 0.3


def test_zero_temperature_is_the_deterministic_step():
    def field_fn(s):
        return 0.0, np.roll(s, 1, axis=2)

    s = spinlib.random(4, 5, np.random.default_rng(0))
    cold = Thermostat((4, 5), 0.0)
    assert cold.fields_fn(field_fn, 0, 0.1, 0.5) is field_fn
    np.testing.assert_array_equal(
        stepper.integrate(s, field_fn, 0.1, 0.5, 5, "midpoint", thermostat=cold),
        stepper.integrate(s, field_fn, 0.1, 0.5, 5, "midpoint"))


def sample(field_fn, spins, thermostat, dt, method, equilibrate, steps, observe, every=5):
    """Mean of ``observe(spins)`` over ``steps`` steps of size ``dt`` (alpha = 1) after
    ``equilibrate`` steps."""
    values = []

    def callback(step, s, energy):
        if step > equilibrate and step % every == 0:
            values.append(observe(s))

    stepper.integrate(spins, field_fn, dt, 1.0, equilibrate + steps, method, callback,
                      thermostat)
    return np.mean(values, axis=0)


@pytest.mark.parametrize("method", ["midpoint", "heun"])
@pytest.mark.slow
def test_free_spins_in_a_field_follow_the_langevin_function(method):
    """P(cos theta) ~ exp(h cos theta / T): <cos> = coth(a) - 1/a, <cos^2> = 1 - 2 <cos> / a
    with a = h / T, for two temperatures (a factor 2 in the noise variance is off by 0.07 to
    0.2). Both schemes are weakly first order (bias 0.005-0.008 at dt = 0.02, T = 2): the
    Richardson extrapolation of dt = 0.04 and 0.02 must hit the exact moments."""
    h, n = 1.0, 4000

    def field_fn(s):
        return 0.0, np.broadcast_to(np.array([0.0, 0.0, h])[:, None, None], s.shape)

    for temperature in (0.5, 2.0):
        moments = {}
        for dt in (0.04, 0.02):
            start = spinlib.random(1, n, np.random.default_rng(2))
            thermostat = Thermostat((1, n), temperature, seed=7)
            per_unit_time = round(1 / dt)  # t = 10 to equilibrate, t = 40 sampled every 0.1
            moments[dt] = sample(field_fn, start, thermostat, dt, method, 10 * per_unit_time,
                                 40 * per_unit_time, lambda s: (s[2].mean(), (s[2] ** 2).mean()),
                                 every=per_unit_time // 10)
        mean, square = 2 * moments[0.02] - moments[0.04]
        a = h / temperature
        exact = 1 / np.tanh(a) - 1 / a
        assert abs(mean - exact) < 0.005, (temperature, moments, exact)
        assert abs(square - (1 - 2 * exact / a)) < 0.005, (temperature, moments)


def test_a_ferromagnetic_chain_near_its_ground_state_has_equipartition():
    """E = -J sum S_i.S_{i+1} - h sum S_z at T << J, h: two transverse modes per spin, so
    <E - E_0> = N T (1 + O(T))."""
    J, h, temperature, n = 1.0, 0.5, 0.02, 2000

    def energy_and_fields(s):
        neighbours = np.roll(s, 1, axis=2) + np.roll(s, -1, axis=2)
        fields = J * neighbours + np.array([0.0, 0.0, h])[:, None, None]
        return -0.5 * J * (s * neighbours).sum() - h * s[2].sum(), fields

    ground = np.zeros((3, 1, n))
    ground[2] = 1.0
    thermostat = Thermostat((1, n), temperature, seed=3)
    excess = sample(energy_and_fields, ground, thermostat, 0.02, "midpoint", 300, 1500,
                    lambda s: energy_and_fields(s)[0] + (J + h) * n)
    assert abs(excess / (n * temperature) - 1) < 0.05, excess / (n * temperature)


@pytest.mark.parametrize("dynamics, message", [
    ({"temperature": -0.1}, "'dynamics.temperature' must be >= 0"),
    ({"temperature": 0.1, "integrator": "rk4"}, "Stratonovich integrator"),
    ({"temperature": 0.1, "alpha": 0.0}, "needs 'dynamics.alpha' > 0"),
    ({"anneal_steps": -1}, "'dynamics.anneal_steps' must be >= 0"),
    ({"noise_seed": -1}, "'dynamics.noise_seed' must be in"),
])
def test_bad_thermal_settings_name_the_key(dynamics, message):
    with pytest.raises(configlib.ConfigError, match=message):
        configlib.from_dict({"dynamics": dynamics})


def test_zero_temperature_runs_keep_their_hash():
    plain = configlib.from_dict({})
    assert plain.physics_hash() == configlib.from_dict({"dynamics": {"noise_seed": 4}}) \
        .physics_hash()
    assert plain.physics_hash() != configlib.from_dict({"dynamics": {"temperature": 0.1}}) \
        .physics_hash()


@pytest.mark.mpi
@pytest.mark.parametrize("shape", [(12, 12), (13, 7), (5, 9)])
def test_tiles_together_draw_the_serial_noise(shape):
    from mpi4py import MPI

    deco = Decomposition(MPI.COMM_WORLD, shape, halo=1)
    thermostat = Thermostat(shape, 0.2, seed=11)
    gathered = deco.gather(thermostat.field(4, 0.1, 0.5, deco.tile.slices).numpy())
    if deco.cart.Get_rank() == 0:
        np.testing.assert_array_equal(gathered, thermostat.field(4, 0.1, 0.5).numpy())
