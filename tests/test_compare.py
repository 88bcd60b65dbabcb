"""CNN-LLG against exact LLG (distllg.analysis.compare): both trajectories start from the
config's state and, in stochastic runs, feel the same thermal kicks."""

import json

import pytest

from distllg import config as configlib
from distllg.analysis import compare
from distllg.dynamics import observables as obs
from distllg.dynamics import stepper
from distllg.dynamics.thermal import Thermostat
from distllg.electrons.exact import ExactSolver
from distllg.initial import spins as initial_spins
from distllg.model import io as modelio
from distllg.model.provider import PeriodicCNNFields


def test_stochastic_comparison_follows_the_serial_integrations(tmp_path, model_file):
    config = configlib.from_dict({
        "lattice": {"L": 12},
        "dynamics": {"integrator": "midpoint", "dt": 0.1, "alpha": 0.5, "steps": 10,
                     "temperature": 0.05, "anneal_steps": 6, "noise_seed": 4},
        "initial": {"seed": 2},
        "output": {"directory": str(tmp_path / "none"), "every": 5, "log_every": 5}})
    result = compare.compare(config, str(model_file), tmp_path / "cmp", stream=None)
    thermostat = Thermostat((12, 12), 0.05, anneal_steps=6, seed=4)
    solver = ExactSolver(config.hamiltonian)
    cnn = PeriodicCNNFields(modelio.load_model(model_file)).energy_and_fields
    start = initial_spins(config)
    for name, field_fn in (("exact", solver.energy_and_fields), ("cnn", cnn)):
        expected = stepper.integrate(start, field_fn, 0.1, 0.5, 10, "midpoint",
                                 thermostat=thermostat)
        assert result[name]["skyrmion_number"] == obs.skyrmion_number(expected)
        energy = obs.energy_per_site(solver.energy(expected), expected)
        assert abs(result[name]["energy_per_site"] - energy) < 1e-12
    written = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert written["exact"]["energy_per_site"] == result["exact"]["energy_per_site"]
    for png in ("q_overlay.png", "energy_overlay.png", "spins_cnn.png", "spins_exact.png"):
        assert (tmp_path / "cmp" / png).stat().st_size > 0


def test_reference_reuses_the_exact_finals_of_an_earlier_comparison(tmp_path, model_file):
    data = {"lattice": {"L": 12}, "dynamics": {"dt": 0.1, "alpha": 0.5, "steps": 6},
            "initial": {"seed": 3},
            "output": {"directory": str(tmp_path / "none"), "every": 3, "log_every": 3}}
    config = configlib.from_dict(data, source=str(tmp_path / "a.toml"))
    first = compare.compare(config, str(model_file), tmp_path / "one", stream=None)
    again = compare.compare(config, str(model_file), tmp_path / "two", stream=None,
                            reference=tmp_path / "one" / "compare.json")
    assert again["exact"] == first["exact"] and again["exact_from"].endswith("compare.json")
    assert again["cnn"]["energy_per_site"] == first["cnn"]["energy_per_site"]
    assert not (tmp_path / "two" / "spins_exact.png").exists()
    moved = configlib.from_dict(data, source=str(tmp_path / "b.toml"))  # same physics
    compare.compare(moved, str(model_file), tmp_path / "three", stream=None,
                    reference=tmp_path / "one" / "compare.json")
    other = configlib.from_dict({**data, "initial": {"seed": 4}}, source=str(tmp_path / "a.toml"))
    with pytest.raises(ValueError, match="other physics"):
        compare.compare(other, str(model_file), tmp_path / "four", stream=None,
                        reference=tmp_path / "one" / "compare.json")
    older = {"config": str(tmp_path / "a.toml"), "exact": first["exact"]}  # no "physics"
    (tmp_path / "older.json").write_text(json.dumps(older))
    with pytest.raises(ValueError, match="b.toml"):
        compare.compare(moved, str(model_file), tmp_path / "six", stream=None,
                        reference=tmp_path / "older.json")
    (tmp_path / "bad.json").write_text('{"exact": 1, "config": "a.toml"}')
    with pytest.raises(ValueError, match="not a compare.json"):
        compare.compare(config, str(model_file), tmp_path / "five", stream=None,
                        reference=tmp_path / "bad.json")


def test_seed_compares_that_seed_of_the_ensemble(tmp_path, model_file):
    from distllg import cli
    from distllg.analysis import ensemble

    path = tmp_path / "e.toml"
    path.write_text(f'[lattice]\nL = 12\n[dynamics]\ndt = 0.1\nalpha = 0.5\nsteps = 4\n'
                    f'[initial]\nseed = 3\n[output]\ndirectory = "{tmp_path / "ens"}"\n'
                    f'every = 2\nlog_every = 2\n')
    assert cli.main(["compare", str(path), "--seed", "2", "--model", str(model_file)]) == 0
    written = json.loads((tmp_path / "ens" / "seed_0002" / "compare" / "compare.json")
                         .read_text())
    seed_two = ensemble.seed_config(configlib.load(str(path)), 2)
    expected = compare.compare(seed_two, str(model_file), tmp_path / "direct", stream=None)
    assert written["exact"]["energy_per_site"] == expected["exact"]["energy_per_site"]
    other = compare.compare(configlib.load(str(path)), str(model_file), tmp_path / "zero",
                            stream=None)
    assert other["exact"]["energy_per_site"] != expected["exact"]["energy_per_site"]


def test_a_network_run_is_no_exact_reference(tmp_path, model_file):
    from small_configs import ensemble_config

    from distllg import cli
    from distllg.analysis import ensemble

    path = ensemble_config(tmp_path, model_file)  # a CNN ensemble
    assert cli.main(["ensemble", str(path), "--seeds", "1"]) == 0
    with pytest.raises(ValueError, match="engine 'cnn', not an exact run"):
        compare.compare(ensemble.seed_config(configlib.load(str(path)), 0), str(model_file),
                        tmp_path / "cmp", stream=None)
    assert cli.main(["compare", str(path), "--seed", "0", "--model", str(model_file)]) == 2
