"""The run entry point: config validation, a short ED-LLG run, and bit-for-bit restart."""

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from distllg import config as configlib
from distllg import run as runlib


def small_config(tmp_path, steps=30, **dynamics):
    data = {
        "lattice": {"L": 6},
        "model": {"kT": 0.02},
        "dynamics": {"integrator": "heun", "dt": 0.2, "alpha": 0.5, "steps": steps, **dynamics},
        "initial": {"state": "random", "seed": 4},
        "output": {"directory": str(tmp_path / "run"), "every": 3, "log_every": 10,
                   "checkpoint_every": 10, "snapshots": 2},
    }
    return data


@pytest.mark.parametrize(
    "change, message",
    [
        ({"dynamics": {"dtt": 0.1}}, "unknown key 'dynamics.dtt'"),
        ({"lattice": {"L": 12.5}}, "'lattice.L' must be int"),
        ({"model": {"J": "strong"}}, "'model.J' must be float"),
        ({"model": {"kT": -1.0}}, r"\[model\]: SDModel.kT"),
        ({"dynamic": {}}, r"unknown section \[dynamic\]"),
        ({"dynamics": {"integrator": "euler"}}, "'dynamics.integrator' = 'euler'"),
        ({"dynamics": {"dt": 0}}, "'dynamics.dt' must be > 0"),
        ({"engine": {"kind": "magic"}}, "'engine.kind' = 'magic'"),
        ({"initial": {"state": "file", "file": "/nonexistent.npy"}}, "'initial.file'"),
    ],
)
def test_bad_config_names_the_key(change, message):
    with pytest.raises(configlib.ConfigError, match=message):
        configlib.from_dict(change)


def test_config_file_errors(tmp_path):
    with pytest.raises(configlib.ConfigError, match="does not exist"):
        configlib.load(tmp_path / "missing.toml")
    (tmp_path / "bad.toml").write_text("[lattice\nL = 3")
    with pytest.raises(configlib.ConfigError, match="not valid TOML"):
        configlib.load(tmp_path / "bad.toml")


def test_shipped_configs_are_valid():
    configs = sorted((Path(__file__).parent.parent / "configs").glob("*.toml"))
    assert configs
    for path in configs:
        configlib.load(path)


def test_restart_continues_bit_for_bit(tmp_path):
    straight = configlib.from_dict(small_config(tmp_path / "a", steps=30))
    runlib.run(straight, stream=io.StringIO())
    first_leg = configlib.from_dict(small_config(tmp_path / "b", steps=20))
    runlib.run(first_leg, stream=io.StringIO())
    second_leg = configlib.from_dict(small_config(tmp_path / "b", steps=30))
    runlib.run(second_leg, restart=True, stream=io.StringIO())
    a = tmp_path / "a" / "run"
    b = tmp_path / "b" / "run"
    np.testing.assert_array_equal(np.load(a / "final_spins.npy"), np.load(b / "final_spins.npy"))
    with np.load(a / "observables.npz") as oa, np.load(b / "observables.npz") as ob:
        for key in runlib.OBSERVABLES:
            np.testing.assert_array_equal(oa[key], ob[key])
        assert list(oa["step"]) == [0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30]


def test_restart_refuses_other_physics(tmp_path):
    runlib.run(configlib.from_dict(small_config(tmp_path, steps=10)), stream=io.StringIO())
    other = small_config(tmp_path, steps=20, alpha=0.1)
    with pytest.raises(runlib.SetupError, match="written for other physics"):
        runlib.run(configlib.from_dict(other), restart=True)


def test_run_cli_writes_results_and_plots(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"""
[lattice]
L = 6
[model]
h = 0.05
[dynamics]
integrator = "midpoint"
dt = 0.2
alpha = 0.5
steps = 40
[output]
directory = "{tmp_path / 'out'}"
every = 4
log_every = 20
""")
    done = subprocess.run([sys.executable, "-m", "distllg.run", str(cfg)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "step      40" in done.stdout and "ETA" in done.stdout
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["steps"] == 40
    with np.load(tmp_path / "out" / "observables.npz") as data:
        energy = data["energy_per_site"]
        assert np.all(np.diff(energy) < 0)  # damped: the energy falls
        assert energy[-1] == pytest.approx(summary["energy_per_site"])
    for name in ("energy.png", "skyrmion_number.png", "spins_final.png", "chirality_final.png",
                 "structure_factor_final.png"):
        assert (tmp_path / "out" / name).stat().st_size > 5000


def test_run_cli_reports_bad_config(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[dynamics]\nalpha = -1.0\n")
    done = subprocess.run([sys.executable, "-m", "distllg.run", str(cfg)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert "'dynamics.alpha' must be >= 0" in done.stderr and "Traceback" not in done.stderr


def test_restart_refuses_a_corrupted_checkpoint(tmp_path):
    config = configlib.from_dict(small_config(tmp_path, steps=10))
    runlib.run(config, stream=io.StringIO())
    checkpoint = tmp_path / "run" / "checkpoint.npz"
    checkpoint.write_bytes(checkpoint.read_bytes()[:300])
    before = checkpoint.read_bytes()
    with pytest.raises(runlib.SetupError, match="unreadable or corrupted"):
        runlib.run(configlib.from_dict(small_config(tmp_path, steps=20)), restart=True)
    assert checkpoint.read_bytes() == before
