"""Ordering kinetics (distllg.analysis.kinetics, distllg kinetics): the growth exponent of an
exact power law, the radial structure factor's sum rule and peak, and the series of an
ensemble's runs equal to the per-frame summaries."""

import json

import h5py
import numpy as np
import pytest
from small_configs import ensemble_config

from distllg import cli, lattice
from distllg import config as configlib
from distllg import spins as spinlib
from distllg.analysis import kinetics, report
from distllg.dynamics import observables as obs


def test_growth_exponent_of_a_power_law_inside_its_window():
    t = np.geomspace(1.0, 1e4, 40)
    length = 3.0 * t ** 0.37
    length[t > 3e3] = 70.0  # the finite-size cap, outside the window
    fit = kinetics.growth_exponent(np.r_[0.0, t], np.r_[5.0, length], 5.0, 60.0)
    assert fit["exponent"] == pytest.approx(0.37, abs=1e-12)
    assert fit["amplitude"] == pytest.approx(3.0, rel=1e-10)
    assert fit["t_range"][1] < 3e3
    assert np.isnan(kinetics.growth_exponent(t[:2], length[:2], 0, 1e9)["exponent"])
    summary = kinetics.mean_and_error([0.3, 0.4, float("nan"), 0.5])
    assert summary["count"] == 3 and summary["mean"] == pytest.approx(0.4)
    assert summary["error"] == pytest.approx(0.1 / np.sqrt(3))


def test_radial_structure_factor_sums_to_the_sites_and_peaks_at_a_spiral():
    rng = np.random.default_rng(3)
    spins = spinlib.random(24, 24, rng)
    q, S = obs.radial_structure_factor(spins)
    # shells hold every q != 0: sum of (mean S x count) + S(0) = N
    Ly, Lx = 24, 24
    k = np.linalg.norm(lattice.fold_to_brillouin_zone(
        lattice.k_cartesian(lattice.k_fractions(Ly, Lx)).reshape(-1, 2)), axis=-1)
    counts = np.bincount(np.rint(k / (2 * np.pi / 24)).astype(int))
    total = (S * counts[np.rint(q / (2 * np.pi / 24)).astype(int)]).sum()
    assert total + obs.structure_factor(spins)[0, 0] == pytest.approx(Ly * Lx, rel=1e-12)
    # a spiral at the allowed wave vector (4/24) B1: all weight in the shell of its |q|
    wave = lattice.k_cartesian(np.array([4 / 24, 0.0]))
    phase = 2 * np.pi * 4 * np.arange(Lx) / Lx  # along the x grid axis: q.r = (4/24) 2 pi x
    spiral = np.stack([np.cos(phase), np.sin(phase), np.zeros(Lx)])[:, None, :].repeat(Ly, 1)
    q, S = obs.radial_structure_factor(spiral)
    assert q[np.argmax(S)] == pytest.approx(np.linalg.norm(wave), abs=np.pi / 24)


def test_series_of_an_ensemble_and_its_command(tmp_path, model_file):
    path = ensemble_config(tmp_path, model_file)
    assert cli.main(["kinetics", str(path), "--seeds", "2"]) == 2  # nothing run yet
    assert cli.main(["ensemble", str(path), "--seeds", "2"]) == 0
    config = configlib.load(str(path))
    result = kinetics.analyse(config, range(3), lower=1.0, upper=12.0)
    assert sorted(result["seeds"]) == ["0", "1"] and result["missing"] == [2]
    with h5py.File(tmp_path / "out" / "seed_0001" / "output.h5", "r") as f:
        frames = f["tasks/spins"][:]
        times = f["scales/sim_time"][:]
    one = result["seeds"]["1"]
    assert one["time"] == times.tolist() and len(one["S"]) == len(frames) == 3
    expected = report.spins_summary(frames[-1])
    for key in kinetics.FIGURES:
        assert one[key][-1] == pytest.approx(expected[key], abs=1e-12)
    with h5py.File(tmp_path / "out" / "seed_0001" / "output.h5", "a") as f:
        f["scales/iteration"][-1] = -1  # an empty slot, as a running run has
    assert len(kinetics.series(tmp_path / "out" / "seed_0001" / "output.h5")["S"]) == 2
    assert cli.main(["kinetics", str(path), "--seeds", "2", "--fit-lengths", "1", "12"]) == 0
    table = (tmp_path / "out" / "kinetics" / "kinetics.md").read_text().splitlines()
    assert len({line.count("|") for line in table}) == 1  # every row has every column
    out = tmp_path / "out" / "kinetics"
    assert json.loads((out / "kinetics.json").read_text())["window"] == [1.0, 12.0]
    for png in ("lengths.png", "charge.png", "collapse.png"):
        assert (out / png).stat().st_size > 5000
    assert cli.main(["kinetics", str(path), "--seeds", "2", "--fit-lengths", "5", "1"]) == 2
    with h5py.File(tmp_path / "out" / "seed_0000" / "output.h5", "a") as f:
        f["scales/iteration"][:] = -1  # nothing written yet
    assert kinetics.analyse(config, range(2), unfinished=True)["missing"] == [0]
