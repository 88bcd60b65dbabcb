"""Training data generation (distllg.training.datagen): layout, provenance, continuation,
no leakage, the ranks of an MPI run. Training itself: tests/test_train.py."""

import dataclasses
import pathlib

import h5py
import numpy as np
import pytest
from small_configs import data_config

from distllg import cli
from distllg import config as configlib
from distllg.electrons.exact import ExactSolver
from distllg.model import io as modelio
from distllg.training import data as datalib
from distllg.training import datagen


def test_datagen_writes_exact_frames_with_provenance(tmp_path):
    config = data_config(tmp_path)
    datagen.generate(config)
    d = datalib.read(config.data.file)
    assert sorted(d["trajectories"]) == ["0007", "0008", "0009"]
    assert d["attrs"]["model"] == config.hamiltonian.as_dict()
    t = d["trajectories"]["0008"]
    assert t["spins"].shape == (4, 3, 6, 6) and list(t["step"]) == [0, 4, 8, 12]
    energy, fields = ExactSolver(config.hamiltonian).energy_and_fields(t["spins"][2])
    np.testing.assert_allclose(t["fields"][2], fields, atol=1e-12)
    assert t["energy"][2] == pytest.approx(energy)
    assert np.all(np.diff(t["energy"]) < 0)  # damped relaxation


def test_datagen_frames_follow_an_independent_llg_loop(tmp_path):
    """The first stage of the step after a recorded frame reuses that frame's exact fields:
    the trajectory must still equal a plain loop that evaluates everything afresh."""
    from distllg.dynamics import llg
    from distllg.initial import spins as initial_spins

    config = data_config(tmp_path, trajectories=1)
    datagen.generate(config)
    t = datalib.read(config.data.file)["trajectories"]["0007"]
    solver, step = ExactSolver(config.hamiltonian), llg.integrator("heun")
    spins = initial_spins(config)
    for frame in range(4):
        np.testing.assert_allclose(t["spins"][frame], spins, rtol=0, atol=1e-13)
        for _ in range(4):
            spins, _ = step(spins, solver.energy_and_fields, 0.2, 0.5)


def test_stochastic_datagen_follows_the_serial_stochastic_loop(tmp_path):
    """With a spin temperature, trajectory i draws the noise of key noise_seed + i: the
    second trajectory equals stepper.integrate with that thermostat."""
    from distllg.dynamics import stepper
    from distllg.dynamics.thermal import Thermostat
    from distllg.initial import spins as initial_spins

    config = data_config(tmp_path, trajectories=2)
    config = dataclasses.replace(config, dynamics=dataclasses.replace(
        config.dynamics, temperature=0.05, anneal_steps=8, noise_seed=20))
    datagen.generate(config)
    t = datalib.read(config.data.file)["trajectories"]["0008"]
    with h5py.File(config.data.file, "r") as f:
        attrs = f["trajectories/0008"].attrs
        assert (attrs["temperature"], attrs["noise_seed"]) == (0.05, 21)
    start = initial_spins(dataclasses.replace(
        config, initial=dataclasses.replace(config.initial, seed=8)))
    thermostat = Thermostat((6, 6), 0.05, anneal_steps=8, seed=21)
    solver = ExactSolver(config.hamiltonian)
    for frame in (1, 3):
        expected = stepper.integrate(start, solver.energy_and_fields, 0.2, 0.5, 4 * frame, "heun",
                                 thermostat=thermostat)
        np.testing.assert_allclose(t["spins"][frame], expected, rtol=0, atol=1e-13)
    plain = stepper.integrate(start, solver.energy_and_fields, 0.2, 0.5, 4, "heun")
    assert np.abs(t["spins"][1] - plain).max() > 1e-3  # the noise acted


def test_datagen_propagated_by_a_cnn_labels_its_frames_exactly(tmp_path, model_file):
    from distllg.dynamics import llg
    from distllg.initial import spins as initial_spins
    from distllg.model.provider import PeriodicCNNFields

    settings = {"lattice": {"L": 8},
                "dynamics": {"integrator": "heun", "dt": 0.2, "alpha": 0.5, "steps": 6},
                "initial": {"seed": 3},
                "data": {"file": str(tmp_path / "d.h5"), "trajectories": 2, "record_every": 3,
                         "propagate": str(model_file)}}
    config = configlib.from_dict(settings)
    datagen.generate(config)
    t = datalib.read(config.data.file)["trajectories"]["0004"]
    cnn = PeriodicCNNFields(modelio.load_model(model_file)).energy_and_fields
    spins, step = initial_spins(configlib.from_dict({**settings, "initial": {"seed": 4}})), \
        llg.integrator("heun")
    for frame in range(3):  # the states are the CNN's LLG trajectory ...
        np.testing.assert_allclose(t["spins"][frame], spins, rtol=0, atol=1e-12)
        energy, fields = ExactSolver(config.hamiltonian).energy_and_fields(spins)
        np.testing.assert_allclose(t["fields"][frame], fields, atol=1e-12)  # ... labelled by ED
        assert t["energy"][frame] == pytest.approx(energy)
        for _ in range(3):
            spins, _ = step(spins, cnn, 0.2, 0.5)
    assert not np.allclose(t["spins"][2], spins)  # the CNN moved them
    with h5py.File(config.data.file) as f:
        sha = modelio.read_metadata(model_file)["weights_sha256"]
        assert f["trajectories/0004"].attrs["propagated_by"] == f"cnn {sha}"
    before = (tmp_path / "d.h5").read_bytes()
    other = configlib.from_dict({**settings, "hamiltonian": {"kT": 0.05},
                                 "data": {**settings["data"], "file": str(tmp_path / "e.h5")}})
    with pytest.raises(configlib.ConfigError, match="'data.propagate'.*kT"):
        datagen.generate(other)
    assert not (tmp_path / "e.h5").exists()
    small = configlib.from_dict({**settings, "lattice": {"L": 6},
                                 "data": {**settings["data"], "file": str(tmp_path / "e.h5")}})
    with pytest.raises(configlib.ConfigError, match="receptive field of 'data.propagate'"):
        datagen.generate(small)
    missing = configlib.from_dict({**settings, "data": {
        **settings["data"], "file": str(tmp_path / "e.h5"), "propagate": "nowhere.npz"}})
    with pytest.raises(configlib.ConfigError, match="'data.propagate' = 'nowhere.npz': .*exist"):
        datagen.generate(missing)
    assert (tmp_path / "d.h5").read_bytes() == before


def test_datagen_noisy_crystal_starts_differ_by_seed(tmp_path):
    import dataclasses
    config = data_config(tmp_path, trajectories=2)
    crystal = dataclasses.replace(config, initial=dataclasses.replace(
        config.initial, state="triple-q", noise=0.3), data=dataclasses.replace(
        config.data, file=str(tmp_path / "new" / "folder" / "d.h5")))
    datagen.generate(crystal)  # creates the data file's folder
    t = datalib.read(crystal.data.file)["trajectories"]
    first, second = t["0007"]["spins"][0], t["0008"]["spins"][0]
    assert not np.allclose(first, second)
    from distllg import spins as spinlib
    ideal = spinlib.triple_q(6, 6)
    assert np.mean(np.sum(first * ideal, axis=0)) > 0.7  # near the crystal, not random
    without_noise = dataclasses.replace(crystal, initial=dataclasses.replace(
        crystal.initial, noise=0.0), data=dataclasses.replace(
        crystal.data, file=str(tmp_path / "other.h5")))
    with pytest.raises(configlib.ConfigError, match="initial.noise"):
        datagen.generate(without_noise)


def test_datagen_perturbs_frames_of_other_files_with_exact_fields(tmp_path):
    source = data_config(tmp_path)
    datagen.generate(source)
    spec = {"lattice": {"L": 6}, "hamiltonian": {"kT": 0.02}, "initial": {"seed": 3},
            "data": {"file": str(tmp_path / "p.h5"), "perturb": [source.data.file],
                     "exclude": ["0008"], "noise": [0.1, 0.4], "record_every": 2}}
    perturbed = configlib.from_dict(spec)
    datagen.generate(perturbed)
    d = datalib.read(perturbed.data.file)["trajectories"]
    original = datalib.read(source.data.file)["trajectories"]
    assert sorted(d) == ["0007", "0009"]  # 0008 held out
    t, o = d["0009"], original["0009"]
    assert t["spins"].shape == (2, 3, 6, 6) and list(t["step"]) == [0, 8]
    np.testing.assert_allclose(np.sum(t["spins"] ** 2, axis=1), 1.0, atol=1e-14)
    # the perturbed spins' exact fields, not the source frame's
    energy, fields = ExactSolver(perturbed.hamiltonian).energy_and_fields(t["spins"][1])
    np.testing.assert_allclose(t["fields"][1], fields, atol=1e-12)
    assert t["energy"][1] == pytest.approx(energy)
    # widths in turn: the angle moved grows with the width
    moved = [np.mean(np.arccos(np.clip(np.sum(t["spins"][k] * o["spins"][2 * k], axis=0),
                                       -1, 1))) for k in (0, 1)]
    assert 0.03 < moved[0] < 0.15 < moved[1] < 0.6
    before = (tmp_path / "p.h5").read_bytes()
    datagen.generate(perturbed)  # complete: nothing redone
    assert (tmp_path / "p.h5").read_bytes() == before
    elsewhere = {**spec["data"], "file": str(tmp_path / "q.h5")}
    wrong = configlib.from_dict({**spec, "data": {**elsewhere, "exclude": ["0200"]}})
    with pytest.raises(configlib.ConfigError, match=r"'data.exclude' names \['0200'\]"):
        datagen.generate(wrong)
    other = configlib.from_dict({**spec, "hamiltonian": {"kT": 0.1}, "data": elsewhere})
    with pytest.raises(configlib.ConfigError, match="'data.perturb' file"):
        datagen.generate(other)
    assert not (tmp_path / "q.h5").exists()


def test_datagen_continues_an_interrupted_file(tmp_path):
    config = data_config(tmp_path)
    datagen.generate(config)
    with h5py.File(config.data.file, "a") as f:
        kept = f["trajectories/0007/spins"][...]
        f["trajectories/0009"].attrs["complete"] = False  # as if killed during it
        f["trajectories/0009/spins"][1:] = 0.0
    more = data_config(tmp_path, trajectories=4)
    datagen.generate(more)
    d = datalib.read(config.data.file)
    assert sorted(d["trajectories"]) == ["0007", "0008", "0009", "0010"]
    np.testing.assert_array_equal(d["trajectories"]["0007"]["spins"], kept)
    assert np.all(np.abs(np.linalg.norm(d["trajectories"]["0009"]["spins"], axis=1) - 1)
                  < 1e-12)


def test_datagen_refuses_a_file_for_other_parameters(tmp_path):
    datagen.generate(data_config(tmp_path, trajectories=1))
    before = (tmp_path / "d.h5").read_bytes()
    other = configlib.from_dict({"lattice": {"L": 6}, "hamiltonian": {"kT": 0.02, "mu": -3.0},
                                 "dynamics": {"steps": 4},
                                 "data": {"file": str(tmp_path / "d.h5")}})
    with pytest.raises(configlib.ConfigError, match="other settings"):
        datagen.generate(other)
    assert (tmp_path / "d.h5").read_bytes() == before


def _one_file(config, seed, path):
    """The trajectory of ``seed`` alone, as one process makes it, in the file ``path``."""
    one = datagen._one(config, seed)
    from mpi4py import MPI

    one = dataclasses.replace(one, data=dataclasses.replace(one.data, file=str(path),
                                                            trajectories=1))
    datagen.generate(one, MPI.COMM_SELF)
    return one


def test_a_serial_run_merges_the_parts_an_interrupted_mpi_run_left(tmp_path):
    """Complete part files are merged (not redone: a mark put on one survives), incomplete
    and unreadable ones are deleted and their trajectories redone; the result equals one
    process's file, and the folder is gone."""
    config = data_config(tmp_path / "split")
    folder = datagen.parts_folder(config)
    assert folder == tmp_path / "split" / "d.parts"
    folder.mkdir(parents=True)
    _one_file(config, 8, folder / "0008.h5")
    _one_file(config, 9, folder / "0009.h5")
    with h5py.File(folder / "0008.h5", "a") as f:
        f["trajectories/0008"].attrs["mark"] = "from the part file"
    with h5py.File(folder / "0009.h5", "a") as f:
        f["trajectories/0009"].attrs["complete"] = False
        f["trajectories/0009"].attrs["mark"] = "incomplete"
        f["trajectories/0009/spins"][1:] = 0.0
    (folder / "0007.h5").write_bytes(b"\x89HDF\r\n cut short by a kill")
    datagen.generate(config)
    assert not folder.exists()
    with h5py.File(config.data.file, "r") as f:
        assert f["trajectories/0008"].attrs["mark"] == "from the part file"
        assert "mark" not in f["trajectories/0009"].attrs
        assert all(f[f"trajectories/{n}"].attrs["complete"] for n in ("0007", "0008", "0009"))
    split = datalib.read(config.data.file)["trajectories"]
    whole = data_config(tmp_path)
    datagen.generate(whole)
    for name, trajectory in datalib.read(whole.data.file)["trajectories"].items():
        for key in ("spins", "fields", "energy", "step"):
            np.testing.assert_array_equal(split[name][key], trajectory[key])


def test_a_part_file_for_other_settings_is_refused(tmp_path):
    config = data_config(tmp_path)
    datagen.generate(dataclasses.replace(config, data=dataclasses.replace(config.data,
                                                                           trajectories=1)))
    before = (tmp_path / "d.h5").read_bytes()
    folder = datagen.parts_folder(config)
    folder.mkdir()
    other = configlib.from_dict({"lattice": {"L": 6}, "hamiltonian": {"kT": 0.02, "mu": -3.0},
                                 "dynamics": {"steps": 4},
                                 "data": {"file": str(folder / "0100.h5")}})
    datagen.generate(other)
    with pytest.raises(configlib.ConfigError, match=r"0100.h5 holds data for other settings"):
        datagen.generate(config)
    assert (tmp_path / "d.h5").read_bytes() == before and (folder / "0100.h5").exists()


@pytest.mark.mpi
def test_perturbed_copies_are_refused_on_several_ranks():
    """Refused before any file is touched (so no temporary folder: the ranks would share
    pytest's)."""
    from mpi4py import MPI

    if MPI.COMM_WORLD.size < 2:
        pytest.skip("needs two ranks")
    missing = pathlib.Path("/nonexistent/datagen")
    config = data_config(missing, perturb=[str(missing / "source.h5")])
    with pytest.raises(configlib.ConfigError, match="'data.perturb' runs on one process"):
        datagen.generate(config)
    assert not missing.exists()


@pytest.mark.mpi
def test_mpi_datagen_spreads_the_trajectories_and_equals_one_process():
    """Five stochastic trajectories over the ranks (uneven for 2-4): the merged file holds
    each of them complete and equal to what one process makes of its seed."""
    import shutil
    import tempfile

    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    root = pathlib.Path(comm.bcast(tempfile.mkdtemp() if comm.rank == 0 else None))
    try:
        config = data_config(root, trajectories=5)
        config = dataclasses.replace(config, dynamics=dataclasses.replace(
            config.dynamics, temperature=0.01, noise_seed=3))
        datagen.generate(config)
        comm.Barrier()
        if comm.rank == 0:
            assert not datagen.parts_folder(config).exists()
            merged = datalib.read(config.data.file)["trajectories"]
            assert sorted(merged) == [f"{s:04d}" for s in range(7, 12)]
            for seed in (7, 11):
                one = _one_file(config, seed, root / f"alone_{seed}.h5")
                want = datalib.read(one.data.file)["trajectories"][f"{seed:04d}"]
                for key in ("spins", "fields", "energy", "step"):
                    np.testing.assert_array_equal(merged[f"{seed:04d}"][key], want[key])
    finally:
        comm.Barrier()
        if comm.rank == 0:
            shutil.rmtree(root)


@pytest.mark.slow
def test_sigterm_leaves_a_readable_file_that_continues(tmp_path):
    import signal
    import subprocess
    import sys

    config_file = tmp_path / "d.toml"
    config_file.write_text(f"""
[lattice]
L = 6
[hamiltonian]
kT = 0.02
[dynamics]
steps = 600
[data]
file = "{tmp_path / 'd.h5'}"
trajectories = 3
record_every = 2
""")
    job = subprocess.Popen([sys.executable, "-m", "distllg", "datagen", str(config_file)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in job.stderr:  # progress lines; stop inside the second trajectory
        if "trajectory seed 1, step 100" in line:
            break
    job.send_signal(signal.SIGTERM)
    assert job.wait(timeout=30) == 128 + signal.SIGTERM
    assert len(datalib.read(tmp_path / "d.h5")["trajectories"]) >= 1
    cli.main(["datagen", str(config_file)])
    assert sorted(datalib.read(tmp_path / "d.h5")["trajectories"]) == ["0000", "0001", "0002"]


def test_plain_ed_drives_and_twist_averaged_ed_labels(tmp_path):
    """propagate = "exact" with engine.twists = 2: the states follow plain-ED LLG, every
    frame is labelled with the fields of the lattice tiled 2 x 2 (ED of 16 x 16), and the
    file and trajectory say so; a file of plain-ED labels is not mixed with these."""
    from distllg.dynamics import stepper
    from distllg.initial import spins as initial_spins

    settings = {"lattice": {"L": 8}, "hamiltonian": {"kT": 0.1}, "engine": {"twists": 2},
                "dynamics": {"integrator": "heun", "dt": 0.2, "alpha": 0.5, "steps": 4},
                "initial": {"seed": 3},
                "data": {"file": str(tmp_path / "d.h5"), "trajectories": 1, "record_every": 2,
                         "propagate": "exact"}}
    config = configlib.from_dict(settings)
    datagen.generate(config)
    t = datalib.read(config.data.file)["trajectories"]["0003"]
    plain = ExactSolver(config.hamiltonian)
    spins = initial_spins(config)
    for frame in range(3):
        np.testing.assert_allclose(t["spins"][frame], spins, rtol=0, atol=1e-12)
        energy, fields = plain.energy_and_fields(np.tile(spins, (1, 2, 2)))
        np.testing.assert_allclose(t["fields"][frame], fields[:, :8, :8], atol=1e-11)
        assert t["energy"][frame] == pytest.approx(energy / 4)
        spins = stepper.integrate(spins, plain.energy_and_fields, 0.2, 0.5, 2, "heun")
    with h5py.File(config.data.file) as f:
        assert f.attrs["engine"] == "exact twists=2"
        assert f["trajectories/0003"].attrs["propagated_by"] == "exact twists=1"
    plain_labels = configlib.from_dict({**settings, "engine": {"twists": 1}})
    with pytest.raises(configlib.ConfigError, match="other settings"):
        datagen.generate(plain_labels)
    with pytest.raises(configlib.ConfigError, match="engine.twists"):
        configlib.from_dict({**settings, "engine": {"twists": 0}})
