"""The one LLG loop: the thermal step wraps the deterministic one, observers see every step
and can stop the loop; host callers step numpy spins through the same loop."""

import numpy as np
import torch

from distllg import spins as spinlib
from distllg.config import DynamicsConfig
from distllg.dynamics import llg
from distllg.dynamics.stepper import Stepper, integrate
from distllg.dynamics.thermal import Thermostat


def field_fn(s: torch.Tensor):
    return float(s[2].sum()), torch.roll(s, 1, dims=2) + 0.3 * s


def host_field_fn(s: np.ndarray):
    return float(s[2].sum()), np.roll(s, 1, axis=2) + 0.3 * s


def random_spins(rng) -> torch.Tensor:
    return torch.from_numpy(spinlib.random(4, 5, rng))


def test_the_thermal_step_is_the_deterministic_step_on_noisy_fields(rng):
    s = random_spins(rng)
    thermostat = Thermostat((4, 5), 0.2, anneal_steps=10, seed=3)
    stepper = Stepper("midpoint", 0.1, 0.5, field_fn, thermostat)
    noise = thermostat.field(7, 0.1, 0.5)
    expected = llg.midpoint_step(s, lambda x: (field_fn(x)[0], field_fn(x)[1] + noise), 0.1,
                                 0.5)
    torch.testing.assert_close(stepper.step(s, 7)[0], expected[0], rtol=0, atol=0)
    assert stepper.step(s, 7)[1] == field_fn(s)[0]  # the energy of the spins alone
    assert stepper.temperature(5) == 0.1 and Stepper("heun", 0.1, 0.5, field_fn).temperature(5) \
        is None


def test_zero_temperature_is_no_thermostat(rng):
    s = random_spins(rng)
    cold = Stepper.for_dynamics(DynamicsConfig(integrator="heun", dt=0.1), field_fn, (4, 5))
    assert cold.thermostat is None
    torch.testing.assert_close(cold.step(s, 0)[0], llg.heun_step(s, field_fn, 0.1, 1.0)[0],
                               rtol=0, atol=0)
    assert cold.time(30) == 3.0


def test_observers_see_each_step_and_can_stop_the_loop(rng):
    s = random_spins(rng)
    stepper = Stepper("rk4", 0.05, 0.2, field_fn)
    seen = []

    def watch(step, before, energy, after):
        seen.append((step, energy == field_fn(before)[0]))
        return step == 6

    spins, reached = stepper.run(s, 3, 20, [watch])
    assert reached == 7 and seen == [(k, True) for k in range(3, 7)]
    np.testing.assert_array_equal(spins.numpy(),
                                  integrate(s.numpy(), host_field_fn, 0.05, 0.2, 4, "rk4"))
    calls = []
    integrate(s.numpy(), host_field_fn, 0.05, 0.2, 3, "rk4",
              callback=lambda k, x, e: calls.append((k, type(x))))
    assert calls == [(k, np.ndarray) for k in (1, 2, 3)]


def test_host_engines_and_host_callers_meet_the_tensor_loop_through_one_adapter(rng):
    s = random_spins(rng)
    energy, fields = llg.on_tensors(host_field_fn)(s)
    assert isinstance(fields, torch.Tensor) and energy == host_field_fn(s.numpy())[0]
    torch.testing.assert_close(fields, field_fn(s)[1], rtol=0, atol=0)
    energy, fields = llg.on_arrays(field_fn)(s.numpy())
    assert isinstance(fields, np.ndarray)
    np.testing.assert_array_equal(fields, host_field_fn(s.numpy())[1])


def test_a_field_ramp_adds_the_interpolated_zeeman_field(rng):
    """Piecewise linear through its points, constant beyond them; a ramp held at h is the
    static Zeeman field h z added to the local fields; the reported energy is the field
    function's."""
    from distllg.dynamics.stepper import FieldRamp

    ramp = FieldRamp((10, 30), (0.0, 0.02))
    assert [ramp.at(n) for n in (0, 10, 20, 30, 99)] == [0.0, 0.0, 0.01, 0.02, 0.02]
    s = random_spins(rng)

    def zeeman(h):
        along_z = torch.tensor([0.0, 0.0, h], dtype=torch.float64)[:, None, None]
        return lambda x: (field_fn(x)[0], field_fn(x)[1] + along_z)

    ramped = Stepper("midpoint", 0.1, 0.5, field_fn, ramp=ramp)
    for step in (5, 20, 40):
        expected = llg.midpoint_step(s, zeeman(ramp.at(step + 0.5)), 0.1, 0.5)
        got = ramped.step(s, step)
        torch.testing.assert_close(got[0], expected[0], rtol=0, atol=1e-15)
        assert got[1] == field_fn(s)[0]
    assert ramped.field(20) == 0.01 and Stepper("heun", 0.1, 0.5, field_fn).field(20) == 0.0


def test_a_field_ramp_is_read_from_the_dynamics_and_checked():
    import pytest

    from distllg import config as configlib
    from distllg.io.identity import physics_hash

    ramp = DynamicsConfig(field_steps=(0, 100), field_values=(0.0, 0.01))
    assert Stepper.for_dynamics(ramp, field_fn, (4, 5)).field(50) == 0.005
    for dynamics, message in (({"field_steps": [0, 10], "field_values": [0.1]}, "pair up"),
                              ({"field_steps": [10, 10], "field_values": [0, 1]}, "rise"),
                              ({"field_steps": [-1], "field_values": [0.1]}, "rise"),
                              ({"field_steps": [0], "field_values": [float("nan")]}, "finite")):
        with pytest.raises(configlib.ConfigError, match=message):
            configlib.from_dict({"dynamics": dynamics})
    plain = configlib.from_dict({})
    ramped = configlib.from_dict({"dynamics": {"field_steps": [0, 9],
                                               "field_values": [0.0, 0.01]}})
    assert physics_hash(plain, plain_identity()) != physics_hash(ramped, plain_identity())


def plain_identity():
    from distllg.io.identity import EngineIdentity

    return EngineIdentity(precision="float64")
