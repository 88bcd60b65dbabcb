"""The active-learning loop on a small problem (12 x 12, plain ED, small networks): every
stage writes its record, a second call redoes nothing, a killed stage continues without
new ED labels; selection and calibration follow their definitions."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from distllg import config as configlib
from distllg.electrons import SDModel
from distllg.electrons.exact import ExactSolver
from distllg.model import io as modelio
from distllg.model.cnn import SpinCNN
from distllg.training import data as datalib
from distllg.training import learn


def test_selection_takes_the_largest_disagreement_kind_by_kind():
    sigma = np.array([5.0, 1.0, 9.0, 3.0, 7.0, 0.1, 100.0])
    kinds = np.array(["a", "a", "a", "b", "b", "b", "b"])
    assert learn.select(sigma, kinds, (0.5, 50.0), 3) == [0, 2, 4]  # a: 9, b: 7, a: 5
    assert learn.select(sigma, kinds, (0.5, 50.0), 10) == [0, 1, 2, 3, 4]
    assert learn.select(sigma, kinds, (50.0, 60.0), 10) == []


def test_trust_window_from_the_accurate_frames():
    evaluation = {"sigma": [1.0, 2.0, 3.0, 4.0, 10.0], "relative_rmse": [0.01] * 4 + [0.5]}
    low, high = learn.trust_window(evaluation, 0.08)
    assert low == pytest.approx(np.percentile([1.0, 2.0, 3.0, 4.0], 75)) and high == 200.0
    assert learn.trust_window({"sigma": [2.0, 3.0], "relative_rmse": [1, 1]}, 0.08)[0] == 2.0


def small_loop(tmp_path):
    """A one-round loop on 12 x 12 with plain ED and three small random start models."""
    starts = []
    for seed in range(3):
        torch.manual_seed(seed)
        model = SpinCNN(channels=4, layers=2, kernel=3, predicts="torque")
        model.output_scale.fill_(0.3)
        path = tmp_path / f"start{seed}.npz"
        modelio.save_model(model, path, model=SDModel(kT=0.1).as_dict(), lattice=[[12, 12]])
        starts.append(str(path))
    return configlib.from_dict({
        "hamiltonian": {"kT": 0.1}, "engine": {"kind": "exact"},
        "training": {"kind": "cnn", "channels": 4, "layers": 2, "kernel": 3, "epochs": 2,
                     "batch": 4, "learning_rate": 1e-3},
        "learning": {"directory": str(tmp_path / "learn"), "start": starts, "rounds": 1,
                     "labels_per_round": 5, "label_budget": 5, "L": 12,
                     "explore": ["quench", "field"], "trajectories": 1, "steps": 8,
                     "record_every": 2, "dt": 0.1, "validation_members": 1}})


@pytest.fixture
def loop_config(tmp_path):
    return small_loop(tmp_path)


@pytest.mark.slow
def test_one_round_records_and_resumes(loop_config):
    lines = []
    record = learn.run(loop_config, log=lines.append)
    assert sum(line.startswith("labelled ") and "rank 0" in line for line in lines) == 5
    directory = loop_config.learning.directory
    folder = learn._round(__import__("pathlib").Path(directory), 1)
    assert record["round"] == 1 and record["labelled"] == 5
    assert record["explored"] == 5 + 5  # the starts, quench 8 steps / 2, field 4 x 2 / 2
    assert record["ed_seconds"] > 0 and record["training_seconds"] > 0
    table = (folder.parent / "rounds.md").read_text()
    assert table.count("\n| 0 |") == 1 and table.count("\n| 1 |") == 1
    labels = datalib.read(folder / "labels.h5")["trajectories"]
    assert len(labels) == 5 and not (folder / "labels.parts").exists()
    one = next(iter(labels.values()))
    np.testing.assert_allclose(one["fields"][0],
                               ExactSolver(SDModel(kT=0.1)).solve(one["spins"][0]).fields,
                               atol=1e-12)
    members = learn.members_of(loop_config, 1)
    assert all(modelio.read_metadata(m)["initial_weights_sha256"] for m in members)
    # a second call finds everything on disk: no exploration, no label, no training
    lines.clear()
    again = learn.run(loop_config, log=lines.append)
    assert again == json.loads((folder / "report.json").read_text())
    assert not any(": explored " in line or line.startswith("labelled ") for line in lines)
    # a round killed during its labels: only the missing labels are computed, the members
    # trained again
    import h5py

    (folder / "report.json").unlink()
    for member in range(3):
        (folder / f"member_{member}" / "model.npz").unlink()
    with h5py.File(folder / "labels.h5", "a") as f:
        missing = sorted(f["trajectories"])[:2]
        for name in missing:
            del f["trajectories"][name]
    lines.clear()
    resumed = learn.run(loop_config, log=lines.append)
    assert not any(": explored " in line for line in lines)
    assert [line.split(" (")[0] for line in lines if line.startswith("labelled ")] == \
        ["labelled 1/2 on rank 0", "labelled 2/2 on rank 0"]
    assert sorted(datalib.read(folder / "labels.h5")["trajectories"]) == sorted(labels)
    assert resumed["labelled"] == 5


def test_the_loop_refuses_labels_that_are_not_exact(loop_config):
    import dataclasses

    kpm = dataclasses.replace(loop_config, engine=configlib.EngineConfig(kind="kpm"))
    with pytest.raises(configlib.ConfigError, match="labels with ED"):
        learn.run(kpm)


@pytest.mark.parametrize("start", [["a", "b"], ["a", "a", "b"]])
def test_a_committee_needs_three_different_members(start):
    with pytest.raises(configlib.ConfigError, match="at least 3 different"):
        configlib.from_dict({"learning": {"start": start}})


def test_the_lattice_of_the_loop_fits_the_crystal():
    with pytest.raises(configlib.ConfigError, match="'learning.L' = 18: a multiple of 12"):
        configlib.from_dict({"learning": {"L": 18}})


@pytest.mark.mpi
def test_the_loop_on_several_ranks_equals_one_process():
    """Labels spread over the ranks and members trained on different ranks give the frames,
    labels and members of one process (same seeds, one thread each)."""
    import dataclasses
    import pathlib
    import tempfile

    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    root = pathlib.Path(comm.bcast(tempfile.mkdtemp() if comm.rank == 0 else None))
    torch.set_num_threads(1)
    config = small_loop(root) if comm.rank == 0 else None
    config = comm.bcast(config)
    spread = learn.run(config, comm, log=lambda text: None)
    if comm.rank != 0:
        return
    alone_config = dataclasses.replace(config, learning=dataclasses.replace(
        config.learning, directory=str(root / "alone")))
    alone = learn.run(alone_config, MPI.COMM_SELF, log=lambda text: None)
    many, one = (learn._round(pathlib.Path(c.learning.directory), 1)
                 for c in (config, alone_config))
    assert json.loads((many / "selected.json").read_text()) == \
        json.loads((one / "selected.json").read_text())
    labels = [datalib.read(folder / "labels.h5")["trajectories"] for folder in (many, one)]
    assert sorted(labels[0]) == sorted(labels[1])
    for name in labels[0]:
        np.testing.assert_allclose(labels[0][name]["fields"], labels[1][name]["fields"],
                                   atol=1e-12)
    for family, entry in spread["assessment"]["families"].items():
        assert entry["member_0"]["rmse"] == pytest.approx(
            alone["assessment"]["families"][family]["member_0"]["rmse"], rel=1e-6)


def test_a_round_without_candidates_ends_the_loop(loop_config, monkeypatch):
    monkeypatch.setattr(learn, "trust_window", lambda evaluation, rmse: (1e9, 2e9))
    lines = []
    record = learn.run(loop_config, log=lines.append)
    assert record["round"] == 1 and record["labelled"] == 0 and "nothing to train" in \
        record["stopped"]
    assert not any(line.startswith("labelled ") and "rank 0" in line for line in lines)
    assert not (learn._round(__import__("pathlib").Path(loop_config.learning.directory), 1)
                / "member_0").exists()


def test_a_loop_refuses_other_settings_but_takes_more_rounds(loop_config, monkeypatch):
    import dataclasses

    monkeypatch.setattr(learn, "trust_window", lambda evaluation, rmse: (1e9, 2e9))
    learn.run(loop_config, log=lambda text: None)
    longer = dataclasses.replace(loop_config, learning=dataclasses.replace(
        loop_config.learning, rounds=3, label_budget=50))
    assert learn.run(longer, log=lambda text: None)["round"] == 1  # it had stopped there
    # the exploration kinds may change too, also against a record that still holds them
    record = Path(loop_config.learning.directory) / "config.json"
    old = json.loads(record.read_text())
    old["learning"]["explore"] = ["quench", "field"]
    record.write_text(json.dumps(old))
    kinds = dataclasses.replace(longer, learning=dataclasses.replace(
        longer.learning, explore=("smooth", "field")))
    assert learn.run(kinds, log=lambda text: None)["round"] == 1
    other = dataclasses.replace(loop_config, hamiltonian=SDModel(kT=0.2))
    from distllg.parallel.collective import CollectiveError

    with pytest.raises(CollectiveError, match="other settings .*hamiltonian.kT"):
        learn.run(other, log=lambda text: None)


@pytest.mark.parametrize("kind", configlib.EXPLORATIONS)
def test_every_exploration_kind_records_unit_spin_frames(loop_config, kind):
    frames = learn.trajectory(loop_config, loop_config.learning.start[0], kind, seed=3,
                              temperature=0.01)
    assert len(frames) == 5  # the start, 8 steps, a frame every 2 (field: 4 segments of 2)
    np.testing.assert_allclose(np.linalg.norm(np.stack(frames), axis=1), 1.0, atol=1e-12)
    assert np.abs(frames[-1] - frames[0]).max() > 0  # the spins moved


def test_the_held_out_frames_are_whole_exploration_trajectories(tmp_path):
    """No member trains on a frame whose trajectory lends held-out frames (frames 10 steps
    apart are nearly the same state); rounds explored before the seeds were recorded give
    the same trajectories from their kinds."""
    import h5py

    rng = np.random.default_rng(0)
    kinds = np.repeat(["quench", "labyrinth", "field"], [20, 20, 14])  # 2 trajectories each
    seeds = np.repeat(np.arange(6) * 100 + 7, [10, 10, 10, 10, 7, 7])
    assert learn.held_out(tmp_path, [], 2) == ()  # no labels yet: nothing to hold out
    for number in (1, 2):
        folder = learn._round(tmp_path, number)
        folder.mkdir(parents=True)
        np.savez(folder / "explore.npz", kinds=kinds, trajectories=seeds + number)
        with h5py.File(folder / "labels.h5", "w") as f:
            for i in sorted(rng.choice(len(kinds), 30, replace=False)):
                f.create_group(f"trajectories/frame_{i:05d}")
    held = learn.held_out(tmp_path, [1, 2], 2)
    assert held and held != learn.held_out(tmp_path, [1, 2], 2, member=1)  # its own draw
    for index, number in enumerate((1, 2)):
        folder = learn._round(tmp_path, number)
        labelled = [int(n.split("_")[1]) for n in learn._frame_names(folder / "labels.h5")]
        out = {int(n.split("_")[1]) for n in held if n.startswith(f"{index}/")}
        for seed in set(seeds[labelled].tolist()):
            frames = {i for i in labelled if seeds[i] == seed}
            assert frames <= out or not frames & out  # a trajectory is in or out, whole
    taken = {(n.split("/")[0], seeds[int(n.split("_")[1])]) for n in held}
    assert 2 <= len(taken) < 12
    with np.load(learn._round(tmp_path, 1) / "explore.npz") as found:
        recorded = learn.trajectory_of_frames(found, 2)
    derived = learn.trajectory_of_frames({"kinds": kinds}, 2)
    assert len(set(zip(recorded.tolist(), derived.tolist(), strict=True))) == 6  # a partition
    with pytest.raises(ValueError, match="do not split into 2 trajectories"):
        learn.trajectory_of_frames({"kinds": kinds[:-1]}, 2)
    assert learn.held_out(tmp_path, [1], 2) == ()  # 6 trajectories: frames are split instead
