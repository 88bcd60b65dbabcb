"""KPM on the PETSc Hamiltonian: exact gradient of its own energy, convergence to ED, the
same result on 1-4 ranks (pytest-mpi), and bad input."""

import warnings

import numpy as np
import pytest

from distllg import spins as spinlib
from distllg.electrons import SDModel
from distllg.electrons.exact import ExactSolver
from distllg.electrons.kpm import KPMError, KPMSolver, chebyshev_coefficients, spectral_bounds


def test_jackson_damped_series_converges_as_one_over_m_squared():
    x = np.linspace(-0.99, 0.99, 50)
    errors = [np.abs(np.polynomial.chebyshev.chebval(
        x, chebyshev_coefficients(np.exp, moments, 1.0, 0.0)) - np.exp(x)).max()
        for moments in (64, 256)]
    assert 12 < errors[0] / errors[1] < 20 and errors[1] < 3e-4  # (256 / 64)^2 = 16


def test_spectral_bounds_contain_the_ed_spectrum(rng):
    model = SDModel()
    spins = spinlib.random(6, 6, rng)
    spectrum = ExactSolver(model).spectrum(spins)
    lower, upper = spectral_bounds(model, 6, 6)
    assert lower <= spectrum.min() and spectrum.max() <= upper
    assert upper - lower < 1.05 * (spectrum.max() - spectrum.min()) + 2 * model.J


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("kT, distance, sets", [(0.0, 2, 0), (0.1, 3, 0), (0.1, 3, 2)])
def test_fields_are_minus_the_gradient_of_the_kpm_energy(rng, kT, distance, sets):
    """Same moments, same probes: central differences of E agree with H to 1e-6."""
    model = SDModel(kT=kT, h=0.05)
    spins = spinlib.random(6, 6, rng)
    solver = KPMSolver(model, (6, 6), moments=64, probe_distance=distance, probe_sets=sets)
    _, fields = solver.energy_and_fields(spins)
    step = 1e-5
    for component, y, x in [(0, 2, 3), (1, 0, 5), (2, 4, 1)]:
        plus, minus = spins.copy(), spins.copy()
        plus[component, y, x] += step
        minus[component, y, x] -= step
        difference = -(solver.energy_and_fields(plus)[0]
                       - solver.energy_and_fields(minus)[0]) / (2 * step)
        assert abs(difference - fields[component, y, x]) < 1e-6


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_kpm_converges_to_ed_as_the_moments_grow():
    """kT = 0.1, L = 12, exact traces: the plain Chebyshev series of the analytic Fermi
    function converges geometrically: the field error falls by more than 10x from M = 64 to
    128 and is below 1e-4 there; the energy per site to 1e-6."""
    model = SDModel(kT=0.1)
    spins = spinlib.random(12, 12, np.random.default_rng(2))
    energy, fields = ExactSolver(model).energy_and_fields(spins)
    errors = []
    for moments in (64, 128):
        e, h = KPMSolver(model, (12, 12), moments=moments).energy_and_fields(spins)
        errors.append(np.linalg.norm(h - fields) / np.linalg.norm(fields))
        assert abs(e - energy) / 144 < (1e-3 if moments == 64 else 1e-6)
    assert errors[1] < 1e-4 and errors[1] < errors[0] / 10


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_the_block_size_and_the_backward_pass_do_not_change_the_result(rng, monkeypatch):
    """Probes advanced one at a time or together, Chebyshev vectors kept or recomputed
    backwards: the same energy and fields."""
    from distllg.electrons import kpm

    model = SDModel(kT=0.1, h=0.05)
    spins = spinlib.random(6, 6, rng)

    def result(block):
        return KPMSolver(model, (6, 6), moments=64, probe_distance=3, probe_sets=2,
                         block=block).energy_and_fields(spins)

    results = [result(block) for block in (1, 5, None)]
    monkeypatch.setattr(kpm, "HISTORY_MEMORY", 0)
    results += [result(block) for block in (1, None)]
    for energy, fields in results[1:]:
        assert abs(energy - results[0][0]) < 1e-12 * abs(results[0][0])
        np.testing.assert_allclose(fields, results[0][1], rtol=0, atol=1e-13)


def test_bad_input_is_refused():
    model = SDModel()
    with pytest.raises(KPMError, match="at least 32 Chebyshev moments"):
        KPMSolver(model, (6, 6), moments=8)
    with pytest.raises(KPMError, match="do not contain the spectrum"):
        KPMSolver(model, (6, 6), moments=64, bounds=(-3.0, 3.0))
    with pytest.raises(KPMError, match="at least one probe per block"):
        KPMSolver(SDModel(kT=0.1), (6, 6), moments=256, block=0)
    for kT, text in ((0.1, "truncates the Fermi function"), (0.0, "KPM at kT = 0 converges")):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            KPMSolver(SDModel(kT=kT), (6, 6), moments=64)
        assert any(text in str(w.message) for w in caught)


@pytest.mark.mpi
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("block, kept", [(None, "all"), (5, "all"), (5, "between")])
def test_the_same_fields_on_any_rank_count(monkeypatch, block, kept):
    """Rows partitioned like the tiles (uneven on 3 ranks): equal to one rank to 1e-10, with
    any block size, and when the memory for kept Chebyshev vectors lies between what the
    smallest and the largest tile need (every rank must take the same path: the products
    are collective)."""
    from mpi4py import MPI

    from distllg.electrons import kpm
    from distllg.parallel.decomposition import Decomposition

    comm = MPI.COMM_WORLD
    shape, moments = (8, 9), 64
    model = SDModel(kT=0.1)
    spins = spinlib.random(*shape, np.random.default_rng(4))
    serial_energy, serial_fields = KPMSolver(model, shape, moments=moments, probe_distance=4,
                                             probe_sets=2).energy_and_fields(spins)
    deco = Decomposition(comm, shape, halo=1)
    tiles = [(t.y0, t.y1, t.x0, t.x1) for t in deco.tiles]
    if kept == "between":
        sizes = [(t[1] - t[0]) * (t[3] - t[2]) for t in tiles]
        monkeypatch.setattr(kpm, "HISTORY_MEMORY",
                            (moments - 1) * block * 32 * (min(sizes) + max(sizes)) // 2)
    solver = KPMSolver(model, shape, moments=moments, probe_distance=4, probe_sets=2,
                       decomposition=deco, block=block)
    energy, fields = solver.energy_and_fields(spins[(slice(None),) + deco.tile.slices])
    assert abs(energy - serial_energy) <= 1e-10 * abs(serial_energy)
    np.testing.assert_allclose(fields, serial_fields[(slice(None),) + deco.tile.slices],
                               rtol=0, atol=1e-10)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.slow
def test_engine_kpm_drives_the_run_like_ed(tmp_path):
    """``[engine] kind = "kpm"`` with exact traces and enough moments follows the ED run."""
    import io

    from distllg import config as configlib
    from distllg import run as runlib
    from distllg.io import output as outputlib

    def run(kind, folder):
        data = {"lattice": {"L": 6}, "hamiltonian": {"kT": 0.1},
                "engine": {"kind": kind, "moments": 512},
                "dynamics": {"integrator": "heun", "dt": 0.2, "alpha": 0.5, "steps": 4},
                "initial": {"seed": 3},
                "output": {"directory": str(tmp_path / folder), "every": 2, "snapshots": 0}}
        runlib.run(configlib.from_dict(data), stream=io.StringIO())
        return outputlib.read_series(tmp_path / folder / "output.h5"), \
            outputlib.read_frame(tmp_path / folder / "output.h5")[1]

    (kpm, kpm_spins), (ed, ed_spins) = run("kpm", "kpm"), run("exact", "ed")
    np.testing.assert_allclose(kpm["energy_per_site"], ed["energy_per_site"], atol=1e-4)
    assert np.abs(kpm_spins - ed_spins).max() < 1e-3


@pytest.mark.slow
def test_validate_cli_against_kpm(tmp_path):
    """``distllg validate J1_mu-3.5_kT0.1 --engine kpm``, on one rank and under mpirun on
    two, reports progress per state, writes the metrics and the parity plot; the metrics do
    not depend on the ranks."""
    import json
    import subprocess
    import sys

    from mpi_jobs import ENV, MPIRUN

    relative = {}
    for ranks in (1, 2):
        out = tmp_path / f"n{ranks}"
        command = [sys.executable, "-m", "distllg", "validate", "J1_mu-3.5_kT0.1",
                   "--engine", "kpm", "--L", "24", "--states", "2", "--steps", "10",
                   "--moments", "64", "--probe-distance", "6", "--probe-sets", "1",
                   "--kT", "0.1", "--out", str(out)]
        if ranks > 1:
            command = [MPIRUN, "--bind-to", "none", "-n", str(ranks)] + command
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=ENV)
        assert done.returncode == 0, done.stderr
        result = json.loads((out / "validate.json").read_text())
        assert result["ranks"] == ranks and result["sites"] == 2 * 576
        assert set(result["r2"]) == {"x", "y", "z"} and 0 < result["relative_rmse"] < 2
        assert (out / "parity.png").stat().st_size > 5000
        assert done.stdout.count("reference done") == 2  # progress: once per state, root only
        relative[ranks] = result["relative_rmse"]
    assert relative[1] == pytest.approx(relative[2], rel=1e-9)


@pytest.mark.slow
def test_validate_in_a_field_compares_electronic_torques(tmp_path):
    """``--h``: states of a relaxation in the field, ED at that field; the metrics are those
    of the electronic torques, which equal ED's at h = 0 on the same states (the electrons
    do not feel h)."""
    import json

    from distllg import cli, engines
    from distllg.analysis import validate
    from distllg.config import EngineConfig
    from distllg.model import io as modelio
    from distllg.model.provider import PeriodicCNNFields
    from distllg.training import data as datalib
    from distllg.training.train import metrics

    out = tmp_path / "h"
    args = ["J1_mu-3.5_kT0.1", "--engine", "exact", "--L", "24", "--states", "2",
            "--steps", "6", "--h", "0.05", "--out", str(out)]
    assert cli.main(["validate", *args]) == 0
    result = json.loads((out / "validate.json").read_text())
    model = modelio.load_model("J1_mu-3.5_kT0.1")

    def network(h):
        settings = EngineConfig(kind="cnn", model="J1_mu-3.5_kT0.1", precision="float64")
        return engines.make(settings, SDModel(**{**model.metadata["model"], "h": h}), (24, 24))

    snapshots = validate.states(network(0.05), 2, 6, 0)
    assert abs(snapshots[-1][2].mean() - validate.states(network(0.0), 2, 6, 0)[-1][2].mean()) \
        > 1e-3
    solver = ExactSolver(SDModel(**model.metadata["model"]))  # h = 0
    cnn = PeriodicCNNFields(model).energy_and_fields
    true = np.stack([datalib.torques(s, solver.energy_and_fields(s)[1]) for s in snapshots])
    predicted = np.stack([datalib.torques(s, cnn(s)[1]) for s in snapshots])
    expected = metrics(true.reshape(2, 3, -1)[..., None], predicted.reshape(2, 3, -1)[..., None])
    assert result["h"] == 0.05
    assert result["relative_rmse"] == pytest.approx(expected["relative_rmse"], rel=1e-9)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_datagen_with_the_kpm_engine(tmp_path):
    """``[engine] kind = "kpm"`` makes datagen record KPM fields, and says so in the file."""
    import h5py

    from distllg import config as configlib
    from distllg.training import datagen

    data = {"lattice": {"L": 6}, "hamiltonian": {"kT": 0.1},
            "engine": {"kind": "kpm", "moments": 64, "probe_distance": 3},
            "dynamics": {"integrator": "heun", "dt": 0.2, "alpha": 1.0, "steps": 2},
            "data": {"file": str(tmp_path / "kpm.h5"), "trajectories": 1, "record_every": 1}}
    config = configlib.from_dict(data)
    datagen.generate(config)
    solver = KPMSolver(SDModel(kT=0.1), (6, 6), moments=64, probe_distance=3)
    with h5py.File(tmp_path / "kpm.h5", "r") as f:
        assert f.attrs["engine"] == "kpm moments=64 probe_distance=3 probe_sets=0"
        group = f["trajectories"][next(iter(f["trajectories"]))]
        spins, fields = group["spins"][1], group["fields"][1]
    np.testing.assert_allclose(fields, solver.energy_and_fields(spins)[1], rtol=0, atol=1e-12)


@pytest.mark.slow
def test_kpm_run_under_mpirun_equals_one_rank(tmp_path):
    """``mpirun -n 2 python -m distllg.run`` with the KPM engine: the rank count does not
    change the trajectory (1e-10)."""
    from mpi_jobs import mpirun

    from distllg.io import output as outputlib

    finals = {}
    for ranks in (1, 2):
        config = tmp_path / f"c{ranks}.toml"
        config.write_text(f"""
[lattice]
Ly = 8
Lx = 9
[hamiltonian]
kT = 0.1
[engine]
kind = "kpm"
moments = 64
probe_distance = 4
[dynamics]
integrator = "heun"
steps = 3
[output]
directory = "{tmp_path / f'n{ranks}'}"
every = 1
snapshots = 0
""")
        done, _ = mpirun(ranks, config)
        assert done.returncode == 0, done.stderr
        finals[ranks] = outputlib.read_frame(tmp_path / f"n{ranks}" / "output.h5")[1]
    assert np.abs(finals[1] - finals[2]).max() <= 1e-10
