"""The SLURM scripts of jobs/ on a real one-node SLURM (tests/slurm_cluster.py): a small
job completes, and the self-resubmitting chain survives a time-limit kill and finishes."""

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from mpi_jobs import write_config
from slurm_cluster import LocalSlurm, available

from distllg.io import checkpoint as ckpt
from distllg.io import output as outputlib

REPOSITORY = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.skipif(bool(available()), reason=available() or ""),
              pytest.mark.slow]


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    cluster = LocalSlurm(tmp_path_factory.mktemp("slurm"))
    cluster.start()
    yield cluster
    cluster.stop()


def test_a_small_cpu_job_completes(slurm, tmp_path, model_file):
    out = tmp_path / "out"
    config = write_config(tmp_path / "c.toml", model_file, out, steps=60, shape=(24, 24),
                          every=10, checkpoint_every=20)
    job = slurm.sbatch("--ntasks-per-node=2", "--time=5", f"--output={tmp_path}/job.out",
                       "jobs/cpu_node.sbatch", str(config), cwd=REPOSITORY)
    slurm.wait_until_empty(timeout=180)
    log = (tmp_path / "job.out").read_text()
    assert slurm.job_states()[job] == "COMPLETED", log + slurm.logs()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ranks"] == 2 and summary["steps"] == 60
    assert list(outputlib.read_series(out / "output.h5")["step"]) == list(range(0, 61, 10))


def test_the_chain_survives_a_time_limit_kill_and_finishes(slurm, tmp_path, model_file):
    """Legs of at most one minute (the SLURM minimum) for a run of about 100 s: the first
    leg is killed at its time limit (SIGTERM; the warning signal is made a harmless SIGCONT),
    later legs continue from the newest checkpoint."""
    out = tmp_path / "out"
    steps = 70000  # about 560 steps/s on two ranks here: two legs
    config = write_config(tmp_path / "c.toml", model_file, out, steps=steps, shape=(48, 48),
                          every=5000, checkpoint_every=2000, log_every=2000)
    options = ["--ntasks-per-node=2", "--time=1", "--signal=CONT@1",
               f"--output={tmp_path}/chain-%j.out"]
    slurm.env["DISTLLG_CHAIN_OPTIONS"] = " ".join(options)
    first = slurm.sbatch(*options, "jobs/chain.sbatch", str(config), cwd=REPOSITORY)
    slurm.wait_until_empty(timeout=600)
    logs = "\n".join(p.read_text() for p in sorted(tmp_path.glob("chain-*.out")))
    states = slurm.job_states()
    assert states[first] == "TIMEOUT", logs + str(states)
    assert "stopped by SIGTERM" in logs and "--restart latest" in logs, logs
    assert ckpt.read_state(ckpt.latest(out))["step"] == steps, logs
    with h5py.File(out / "output.h5", "r") as f:
        legs = json.loads(f.attrs["legs"])
        iteration = f["scales/iteration"][:]
    assert len(legs) >= 2, legs
    written = iteration[iteration >= 0]
    np.testing.assert_array_equal(written, np.arange(0, steps + 1, 5000))  # each frame once
    assert (out / "summary.json").is_file()
