"""`mpirun -n N python -m distllg.run` with the CNN engine: rank-count independence,
restart on another rank count, failure handling and setup errors.

These start real mpirun jobs (1, 2 and 4 ranks, uneven tiles) from a serial pytest.
"""

import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from distllg import run as runlib
from distllg import spins as spinlib
from distllg.dynamics import llg
from distllg.electrons import SDModel
from distllg.model import io as modelio
from distllg.model.cnn import SpinCNN
from distllg.model.provider import PeriodicCNNFields

MPIRUN = shutil.which("mpirun")
pytestmark = pytest.mark.skipif(MPIRUN is None, reason="needs OpenMPI's mpirun")
ENV = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
       "OMPI_MCA_rmaps_base_oversubscribe": "1", "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    torch.manual_seed(1)
    model = SpinCNN(channels=8, layers=3, kernel=3, predicts="torque")
    model.output_scale.fill_(5.0)  # torques of order one: the spins move visibly
    path = tmp_path_factory.mktemp("model") / "random.npz"
    modelio.save_model(model, path, model=SDModel().as_dict(), lattice=[[12, 12]])
    return path


def write_config(path, model_file, out, steps=40, shape=(13, 17)):
    path.write_text(f"""
[lattice]
Ly = {shape[0]}
Lx = {shape[1]}
[engine]
kind = "cnn"
model = "{model_file}"
device = "cpu"
[dynamics]
integrator = "rk4"
dt = 0.05
alpha = 0.1
steps = {steps}
[initial]
seed = 9
[output]
directory = "{out}"
every = 5
log_every = 10
checkpoint_every = 20
snapshots = 0
""")
    return path


def mpirun(ranks, *args, fault=None, timeout=120):
    env = dict(ENV, DISTLLG_INJECT_FAULT=fault) if fault else ENV
    start = time.perf_counter()
    done = subprocess.run([MPIRUN, "--bind-to", "none", "-x", "OMP_NUM_THREADS",
                           *(["-x", "DISTLLG_INJECT_FAULT"] if fault else []), "-n", str(ranks),
                           sys.executable, "-m", "distllg.run", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env=env)
    return done, time.perf_counter() - start


def test_final_spins_do_not_depend_on_the_rank_count(tmp_path, model_file):
    start = spinlib.random(13, 17, np.random.default_rng(9))  # seed 9 as in the config
    serial = llg.integrate(start, PeriodicCNNFields(modelio.load_model(model_file))
                           .energy_and_fields, 0.05, 0.1, 40, "rk4")
    for ranks in (1, 2, 4):
        out = tmp_path / f"n{ranks}"
        done, _ = mpirun(ranks, write_config(tmp_path / f"c{ranks}.toml", model_file, out))
        assert done.returncode == 0, done.stderr
        assert done.stdout.count("step      40") == 1  # rank 0 alone reports
        result = np.load(out / "final_spins.npy")
        assert np.abs(result - start).max() > 0.05
        assert np.abs(result - serial).max() <= 1e-10, ranks
        summary = json.loads((out / "summary.json").read_text())
        assert summary["ranks"] == ranks
        assert abs(summary["skyrmion_number"] - round(summary["skyrmion_number"])) < 1e-9


def test_restart_on_another_rank_count(tmp_path, model_file):
    straight = tmp_path / "straight"
    done, _ = mpirun(1, write_config(tmp_path / "a.toml", model_file, straight, steps=40))
    assert done.returncode == 0, done.stderr
    legs = tmp_path / "legs"
    done, _ = mpirun(2, write_config(tmp_path / "b.toml", model_file, legs, steps=20))
    assert done.returncode == 0, done.stderr
    done, _ = mpirun(4, write_config(tmp_path / "b.toml", model_file, legs, steps=40),
                     "--restart")
    assert done.returncode == 0, done.stderr
    np.testing.assert_allclose(np.load(legs / "final_spins.npy"),
                               np.load(straight / "final_spins.npy"), rtol=0, atol=1e-12)
    with np.load(legs / "observables.npz") as data:
        assert list(data["step"]) == list(range(0, 41, 5))


@pytest.mark.parametrize("fault, message", [
    ("nan:1:5", "failed at step 5: non-finite spins after the LLG step on rank(s)"),
    ("raise:2:3", "rank 2 failed at step 3: RuntimeError: fault injected"),
])
def test_a_fault_on_one_rank_stops_every_rank_promptly(tmp_path, model_file, fault, message):
    config = write_config(tmp_path / "c.toml", model_file, tmp_path / "out", steps=400)
    done, elapsed = mpirun(4, config, fault=fault, timeout=60)
    assert done.returncode != 0
    assert done.stderr.count(message) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert elapsed < 30


@pytest.mark.parametrize("shape, extra, message", [
    ((7, 40), "process_grid = [4, 1]", "smaller than the model's receptive radius 3"),
    ((13, 17), "process_grid = [3, 1]", "'engine.process_grid'"),
    ((13, 17), "[model]\nmu = -3.0", "mu = -3.0 in the config but -3.5 in the model"),
    ((13, 17), "[dynamics2]\ndt = 1", "unknown section [dynamics2]"),
    ((4, 17), "", "smaller than the receptive field"),
])
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
