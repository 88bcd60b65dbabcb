"""Helpers for tests that start real ``mpirun ... python -m distllg.run`` jobs from a serial
pytest: a config writer (the small random CNN model file is
the ``model_file`` fixture of conftest.py), the mpirun call (with an injected fault: the
entry point fault_injection.py), the output reader."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import h5py

from distllg.io import output as outputlib

MPIRUN = shutil.which("mpirun")
FAULT_INJECTION = Path(__file__).resolve().with_name("fault_injection.py")
ENV = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
       "OMPI_MCA_rmaps_base_oversubscribe": "1", "OMP_NUM_THREADS": "1"}


def write_config(path, model_file, out, steps=40, shape=(13, 17), checkpoint_every=20,
                 every=5, log_every=10):
    """A CNN run config (float64, RK4, dt = 0.05, alpha = 0.1, seed 9) written to ``path``."""
    path.write_text(f"""
[lattice]
Ly = {shape[0]}
Lx = {shape[1]}
[engine]
kind = "cnn"
model = "{model_file}"
device = "cpu"
precision = "float64"
[dynamics]
integrator = "rk4"
dt = 0.05
alpha = 0.1
steps = {steps}
[initial]
seed = 9
[output]
directory = "{out}"
every = {every}
log_every = {log_every}
checkpoint_every = {checkpoint_every}
snapshots = 0
""")
    return path


def mpirun_command(ranks, *args, fault=None):
    """The mpirun command line and environment of ``python -m distllg.run ARGS``; with
    ``fault`` (``"KIND:RANK:STEP"``), of ``python fault_injection.py ARGS``, which injects it."""
    env, entry = ENV, ["-m", "distllg.run"]
    if fault:
        env, entry = dict(ENV, DISTLLG_INJECT_FAULT=fault), [str(FAULT_INJECTION)]
    return [MPIRUN, "--bind-to", "none", "-x", "OMP_NUM_THREADS",
            *(["-x", "DISTLLG_INJECT_FAULT"] if fault else []), "-n", str(ranks),
            sys.executable, *entry, *map(str, args)], env


def mpirun(ranks, *args, fault=None, timeout=120):
    command, env = mpirun_command(ranks, *args, fault=fault)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    return done, time.perf_counter() - start


def read_output(out):
    """Scalar series and every written spin frame of a run's output.h5."""
    series = outputlib.read_series(out / "output.h5")
    with h5py.File(out / "output.h5", "r") as f:
        series["spins"] = f["tasks/spins"][:][outputlib.written_frames(f)]
    return series


