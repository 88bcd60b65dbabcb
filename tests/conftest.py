"""Shared fixtures: deterministic random generators, small spin states and models, a small
tmpfs."""

import subprocess

import numpy as np
import pytest
import torch

from distllg.electrons import SDModel
from distllg.model import io as modelio
from distllg.model.cnn import SpinCNN


@pytest.fixture
def rng():
    """A fresh generator with a fixed seed for every test."""
    return np.random.default_rng(20231188)


@pytest.fixture(scope="session")
def model_file(tmp_path_factory):
    """A small random SpinCNN (r = 3) for the default s-d parameters, trained for 12 x 12."""
    torch.manual_seed(1)
    model = SpinCNN(channels=8, layers=3, kernel=3, predicts="torque")
    model.output_scale.fill_(5.0)  # torques of order one: the spins move visibly
    path = tmp_path_factory.mktemp("model") / "random.npz"
    modelio.save_model(model, path, model=SDModel().as_dict(), lattice=[[12, 12]])
    return path


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MiB tmpfs at ``tmp_path/disk`` (skips where mounting is not allowed)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)
