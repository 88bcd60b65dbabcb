"""`mpirun -n N python -m distllg.run` with the CNN engine: rank-count independence,
restart on another rank count, failure handling and setup errors.

These start real mpirun jobs (1, 2 and 4 ranks, uneven tiles) from a serial pytest.
"""

import json

import numpy as np
import pytest
from mpi_jobs import MPIRUN, mpirun, read_output, write_config

from distllg import config as configlib
from distllg import initial
from distllg import run as runlib
from distllg.dynamics import stepper
from distllg.model import io as modelio
from distllg.model.provider import PeriodicCNNFields

pytestmark = pytest.mark.skipif(MPIRUN is None, reason="needs OpenMPI's mpirun")


def config_start():
    """The initial spins of the runs of ``write_config`` (13 x 17, random, seed 9)."""
    return initial.spins(configlib.from_dict({"lattice": {"Ly": 13, "Lx": 17},
                                              "initial": {"state": "random", "seed": 9}}))


@pytest.fixture(scope="module")
def straight_runs(tmp_path_factory, model_file):
    """40 steps on 1, 2 and 4 ranks (13 x 17: uneven tiles): {ranks: (directory, output,
    stdout)}."""
    folder = tmp_path_factory.mktemp("straight")
    runs = {}
    for ranks in (1, 2, 4):
        out = folder / f"n{ranks}"
        done, _ = mpirun(ranks, write_config(folder / f"c{ranks}.toml", model_file, out))
        assert done.returncode == 0, done.stderr
        runs[ranks] = (out, read_output(out), done.stdout)
    return runs


@pytest.mark.slow
def test_final_spins_do_not_depend_on_the_rank_count(model_file, straight_runs):
    start = config_start()
    serial = stepper.integrate(start, PeriodicCNNFields(modelio.load_model(model_file))
                           .energy_and_fields, 0.05, 0.1, 40, "rk4")
    for ranks, (out, output, stdout) in straight_runs.items():
        assert stdout.count("step      40") == 1  # rank 0 alone reports
        assert "E/N" not in stdout and "nan" not in stdout  # the CNN gives no energy
        result = output["spins"][-1]
        assert np.abs(result - start).max() > 0.05
        assert np.abs(result - serial).max() <= 1e-10, ranks
        summary = json.loads((out / "summary.json").read_text())
        assert summary["ranks"] == ranks
        assert abs(summary["skyrmion_number"] - round(summary["skyrmion_number"])) < 1e-9


@pytest.mark.parametrize("precision, least, most", [("float32", 0, 1e-5),
                                                     ("bfloat16", 1e-4, 1e-2)])
@pytest.mark.slow
def test_lower_precision_follows_the_float64_run(tmp_path, model_file, straight_runs,
                                                 precision, least, most):
    """engine.precision = "float32" (2 ranks) stays within single-precision round-off of
    the float64 run (40 steps), "bfloat16" (convolutions in bfloat16) within its 8-bit
    mantissa and far outside float32 round-off: each really runs in its precision."""
    config = write_config(tmp_path / "c.toml", model_file, tmp_path / precision)
    config.write_text(config.read_text().replace(
        'precision = "float64"', f'precision = "{precision}"'))
    done, _ = mpirun(2, config)
    assert done.returncode == 0, done.stderr
    lower, double = read_output(tmp_path / precision)["spins"], straight_runs[1][1]["spins"]
    difference = np.abs(lower - double).max()
    assert least < difference < most, difference


@pytest.mark.slow
def test_output_does_not_depend_on_the_rank_count(straight_runs):
    """The output file of 2 and 4 ranks holds what the 1-rank file holds: the same frames
    and times, spins and observables to round-off."""
    one = straight_runs[1][1]
    assert one["spins"].shape == (9, 3, 13, 17)
    for ranks in (2, 4):
        other = straight_runs[ranks][1]
        for key in ("step", "time"):
            np.testing.assert_array_equal(other[key], one[key])
        for key in ("spins", "skyrmion_number", "magnetization"):
            np.testing.assert_allclose(other[key], one[key], rtol=0, atol=1e-12)


@pytest.mark.parametrize("first, second", [(2, 2), (4, 2), (1, 4)])
@pytest.mark.slow
def test_restart_on_any_rank_count(tmp_path, model_file, straight_runs, first, second):
    """20 steps on ``first`` ranks, then 20 more after a restart on ``second`` ranks, equal
    40 straight steps: bit for bit on the same rank count, to 1e-12 otherwise; the output
    file gets every frame once."""
    legs = tmp_path / "legs"
    done, _ = mpirun(first, write_config(tmp_path / "b.toml", model_file, legs, steps=20))
    assert done.returncode == 0, done.stderr
    done, _ = mpirun(second, write_config(tmp_path / "b.toml", model_file, legs, steps=40),
                     "--restart", "latest")
    assert done.returncode == 0, done.stderr
    result, straight = read_output(legs), straight_runs[second][1]
    assert list(result["step"]) == list(range(0, 41, 5))
    tolerance = 0 if first == second else 1e-12
    for key in ("spins", "skyrmion_number", "magnetization"):
        np.testing.assert_allclose(result[key], straight[key], rtol=0, atol=tolerance)


STOCHASTIC = 'integrator = "midpoint"\ntemperature = 0.5\nanneal_steps = 30\nnoise_seed = 3'


def stochastic_config(path, model_file, out, steps):
    """The straight run's config with midpoint stochastic LLG, T = 0.5 annealed over 30 steps."""
    config = write_config(path, model_file, out, steps=steps)
    config.write_text(config.read_text().replace('integrator = "rk4"', STOCHASTIC))
    return config


@pytest.mark.slow
def test_stochastic_llg_does_not_depend_on_the_rank_count_and_restarts(tmp_path, model_file):
    """Annealed stochastic LLG on 1, 2 and 4 ranks (uneven tiles) follows the serial
    integration with the same thermostat, and 20 + 20 steps on 4 then 2 ranks equal 40
    straight ones: each rank draws the noise of its own sites only."""
    from distllg.dynamics.thermal import Thermostat

    start = config_start()
    field_fn = PeriodicCNNFields(modelio.load_model(model_file)).energy_and_fields
    thermostat = Thermostat((13, 17), 0.5, anneal_steps=30, seed=3)
    serial = stepper.integrate(start, field_fn, 0.05, 0.1, 40, "midpoint", thermostat=thermostat)
    deterministic = stepper.integrate(start, field_fn, 0.05, 0.1, 40, "midpoint")
    assert np.abs(serial - deterministic).max() > 0.1  # the noise matters
    for ranks in (1, 2, 4):
        done, _ = mpirun(ranks, stochastic_config(tmp_path / f"c{ranks}.toml", model_file,
                                                  tmp_path / f"n{ranks}", 40))
        assert done.returncode == 0, done.stderr
        assert "stochastic LLG: spin temperature T = 0.5, ramped to 0 over 30 steps" in done.stdout
        assert "T = 0.1667" in done.stdout and "T = 0.0000" in done.stdout  # steps 20, 30
        np.testing.assert_allclose(read_output(tmp_path / f"n{ranks}")["spins"][-1], serial,
                                   rtol=0, atol=1e-10)
    legs = tmp_path / "legs"
    done, _ = mpirun(4, stochastic_config(tmp_path / "b.toml", model_file, legs, 20))
    assert done.returncode == 0, done.stderr
    done, _ = mpirun(2, stochastic_config(tmp_path / "b.toml", model_file, legs, 40),
                     "--restart", "latest")
    assert done.returncode == 0, done.stderr
    np.testing.assert_allclose(read_output(legs)["spins"],
                               read_output(tmp_path / "n2")["spins"], rtol=0, atol=1e-12)


@pytest.mark.parametrize("fault, message", [
    ("nan:1:5", "failed at step 5: non-finite spins after the LLG step on rank(s)"),
    ("raise:2:3", "rank 2 failed at step 3: RuntimeError: fault injected"),
])
@pytest.mark.slow
def test_a_fault_on_one_rank_stops_every_rank_promptly(tmp_path, model_file, fault, message):
    config = write_config(tmp_path / "c.toml", model_file, tmp_path / "out", steps=400)
    done, elapsed = mpirun(4, config, fault=fault, timeout=60)
    assert done.returncode != 0
    assert done.stderr.count(message) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert elapsed < 30


@pytest.mark.parametrize("shape, extra, message", [
    ((7, 40), "process_grid = [4, 1]", "smaller than the receptive radius 3 of 'engine.model'"),
    ((13, 17), "process_grid = [3, 1]", "'engine.process_grid'"),
    ((13, 17), "[hamiltonian]\nmu = -3.0", "mu = -3.0 in the config but -3.5 in the model"),
    ((13, 17), "[dynamics2]\ndt = 1", "unknown section [dynamics2]"),
    ((4, 17), "", "smaller than the receptive field"),
])
@pytest.mark.slow
def test_setup_errors_are_reported_once_before_any_work(tmp_path, model_file, shape, extra,
                                                        message):
    out = tmp_path / "out"
    config = write_config(tmp_path / "c.toml", model_file, out, shape=shape)
    if extra.startswith("process_grid"):  # a key of [engine]
        config.write_text(config.read_text().replace('device = "cpu"', f'device = "cpu"\n{extra}'))
    else:
        config.write_text(config.read_text() + extra)
    done, _ = mpirun(4, config)
    assert done.returncode == 2
    assert done.stderr.count("error: ") == 1 and message in done.stderr, done.stderr
    assert not out.exists()


def test_missing_model_file_is_named(tmp_path):
    config = write_config(tmp_path / "c.toml", tmp_path / "nope.npz", tmp_path / "out")
    with pytest.raises(runlib.SetupError, match="nope.npz does not exist"):
        runlib.run(runlib.configlib.load(config))


@pytest.mark.slow
def test_committee_disagreement_is_the_serial_one_on_any_rank_count(tmp_path, model_file):
    """``engine.committee``: the run reports the largest spread of the members' torques
    over the lattice, the same on 1 and 3 ranks (uneven tiles) as the periodic models give
    on the whole lattice, in the progress line and summary.json; rank 0 warns once when it
    exceeds ``engine.committee_warn``."""
    import torch

    from distllg.electrons import SDModel
    from distllg.model.cnn import SpinCNN
    from distllg.training.committee import site_spread
    from distllg.training.data import electronic_torques

    torch.manual_seed(2)
    other = SpinCNN(channels=8, layers=3, kernel=3, predicts="torque")
    other.output_scale.fill_(5.0)
    member = tmp_path / "member.npz"
    modelio.save_model(other, member, model=SDModel().as_dict(), lattice=[[12, 12]])
    start = config_start()
    torques = [electronic_torques(start, PeriodicCNNFields(modelio.load_model(path))
                                  .energy_and_fields(start)[1], 0.0)
               for path in (model_file, member)]
    expected = site_spread(np.stack(torques)).max()
    for ranks in (1, 3):
        out = tmp_path / f"n{ranks}"
        config = write_config(tmp_path / f"c{ranks}.toml", model_file, out, steps=20)
        config.write_text(config.read_text().replace(
            'precision = "float64"', f'precision = "float64"\ncommittee = ["{member}"]\n'
            f'committee_every = 100\ncommittee_warn = {expected / 2}'))
        done, _ = mpirun(ranks, config)
        assert done.returncode == 0, done.stderr
        report = json.loads((out / "summary.json").read_text())["committee"]
        assert report["members"] == 2 and report["largest_at_step"] == 0
        assert report["latest_disagreement"] == pytest.approx(expected, rel=1e-10)
        assert report["checks_above_warn"] == 1
        assert done.stdout.count("the committee of 2 models disagrees by") == 1
        assert f"dev {expected:.1e}" in done.stdout
