"""``distllg ensemble``: seeds are runs of their own (start and noise shifted together),
finished seeds are skipped, one seed alone (job arrays), and the table of their outcomes."""

import json

import h5py
import numpy as np
import pytest
from small_configs import ensemble_config

from distllg import cli
from distllg import config as configlib
from distllg.analysis import ensemble


def test_seed_k_shifts_start_and_noise_together():
    config = configlib.from_dict({"initial": {"seed": 5}, "dynamics": {"noise_seed": 9},
                                  "output": {"directory": "out/x"}})
    one = ensemble.seed_config(config, 3)
    assert (one.initial.seed, one.dynamics.noise_seed) == (8, 12)
    assert one.output.directory == "out/x/seed_0003" and one.lattice == config.lattice


def test_an_ensemble_runs_skips_and_tabulates(tmp_path, model_file, capsys):
    path = ensemble_config(tmp_path, model_file)
    assert cli.main(["ensemble", str(path), "--seeds", "3"]) == 0
    printed = capsys.readouterr().out
    assert [f"distllg ensemble: seed {k}" in printed for k in range(3)] == [True] * 3
    result = json.loads((tmp_path / "out" / "ensemble.json").read_text())
    assert sorted(result["seeds"]) == ["0", "1", "2"] and result["missing"] == []
    assert result["statistics"]["crystal_share"]["count"] == 3
    starts = []
    for k in range(3):
        with h5py.File(tmp_path / "out" / f"seed_{k:04d}" / "output.h5", "r") as f:
            starts.append(f["tasks/spins"][0])
            assert json.loads(f.attrs["config"])["initial"]["seed"] == 30 + k
    assert np.abs(starts[0] - starts[1]).max() > 0.1
    assert (tmp_path / "out" / "ensemble.png").stat().st_size > 5000
    assert "| mean +- std |" in (tmp_path / "out" / "ensemble.md").read_text()
    # the same command again runs nothing; one more seed alone; --collect names the missing
    assert cli.main(["ensemble", str(path), "--seeds", "3"]) == 0
    assert "distllg ensemble: seed" not in capsys.readouterr().out
    assert cli.main(["ensemble", str(path), "--seeds", "1", "--only", "3"]) == 0
    assert (tmp_path / "out" / "seed_0003" / "summary.json").is_file()
    assert cli.main(["ensemble", str(path), "--seeds", "5", "--collect"]) == 0
    result = json.loads((tmp_path / "out" / "ensemble.json").read_text())
    assert len(result["seeds"]) == 4 and result["missing"] == [4]


def test_a_bad_seed_count_is_refused(tmp_path, model_file, capsys):
    assert cli.main(["ensemble", str(ensemble_config(tmp_path, model_file)), "--seeds", "0"]) == 2
    assert "--seeds must be >= 1" in capsys.readouterr().err


@pytest.mark.parametrize("figure", ensemble.FIGURES)
def test_the_tabulated_figures_are_in_a_run_summary(figure, tmp_path, model_file):
    path = ensemble_config(tmp_path, model_file)
    assert cli.main(["ensemble", str(path), "--seeds", "1"]) == 0
    summary = json.loads((tmp_path / "out" / "seed_0000" / "summary.json").read_text())
    assert figure in summary


@pytest.mark.slow
def test_an_ensemble_under_mpirun_equals_the_serial_one(tmp_path, model_file):
    """Two seeds on 3 ranks (uneven tiles): the same outcomes as one process."""
    import subprocess
    import sys

    from mpi_jobs import ENV, MPIRUN

    serial = ensemble_config(tmp_path, model_file)
    assert cli.main(["ensemble", str(serial), "--seeds", "2"]) == 0
    parallel = tmp_path / "p.toml"
    parallel.write_text(serial.read_text().replace(str(tmp_path / "out"),
                                                   str(tmp_path / "mpi")))
    done = subprocess.run([MPIRUN, "--bind-to", "none", "-n", "3", sys.executable, "-m",
                           "distllg", "ensemble", str(parallel), "--seeds", "2"],
                          capture_output=True, text=True, timeout=300, env=ENV)
    assert done.returncode == 0, done.stderr
    one, many = (json.loads((tmp_path / d / "ensemble.json").read_text())["seeds"]
                 for d in ("out", "mpi"))
    for k in ("0", "1"):
        assert many[k]["skyrmion_number"] == pytest.approx(one[k]["skyrmion_number"], abs=1e-9)
        assert many[k]["crystal_share"] == pytest.approx(one[k]["crystal_share"], abs=1e-9)


def test_a_stopped_seed_stops_the_ensemble(tmp_path, model_file, capsys):
    """``output.stop_wall_time`` reached in seed 0: the ensemble ends there (no seed 1, no
    table)."""
    path = ensemble_config(tmp_path, model_file)
    path.write_text(path.read_text().replace("steps = 6", "steps = 60000") +
                    "stop_wall_time = 2.0\n")
    assert cli.main(["ensemble", str(path), "--seeds", "2"]) == 0
    printed = capsys.readouterr().out
    assert "stopped during seed 0" in printed and "seed 1" not in printed
    assert not (tmp_path / "out" / "ensemble.json").exists()
    assert not (tmp_path / "out" / "seed_0001").exists()
