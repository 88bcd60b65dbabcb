"""Training (distllg.training.train): the split by whole trajectories, the metrics, a
training that learns and resumes, warm starts (an initial model, a cosine schedule, a larger
model grown from a smaller one) and the model file it writes."""

import dataclasses

import numpy as np
import pytest
import torch
from small_configs import data_config

from distllg import config as configlib
from distllg.model import io as modelio
from distllg.model.cnn import build
from distllg.training import data as datalib
from distllg.training import datagen
from distllg.training import train as trainlib


def test_split_is_by_whole_trajectories():
    names = [f"0/{i:04d}" for i in range(10)]
    train, val = trainlib.split(names, 3, seed=1)
    assert len(val) == 3 and not set(train) & set(val) and sorted(train + val) == names
    with pytest.raises(configlib.ConfigError, match="validation_trajectories"):
        trainlib.split(names[:2], 2, seed=1)
    train, val = trainlib.split(names, 3, seed=1, chosen=("0/0004", "0/0001"))
    assert val == ["0/0001", "0/0004"] and sorted(train + val) == names
    with pytest.raises(configlib.ConfigError, match=r"'training.validation' names \['1/0004'\]"):
        trainlib.split(names, 3, seed=1, chosen=("0/0004", "1/0004"))
    with pytest.raises(configlib.ConfigError, match="every trajectory"):
        trainlib.split(names[:2], 1, seed=1, chosen=tuple(names[:2]))


def test_metrics_against_hand_values():
    rng = np.random.default_rng(0)
    true = rng.standard_normal((4, 3, 5, 5))
    m = trainlib.metrics(true, true)
    assert m["rmse"] == 0 and all(v == 1.0 for v in m["r2"].values())
    noisy = trainlib.metrics(true, true + 0.1)
    assert noisy["rmse"] == pytest.approx(0.1)
    assert noisy["relative_rmse"] == pytest.approx(0.1 / true.std())
    whole = np.concatenate([true, true[:2]])  # a trajectory of 6 frames
    off = whole.copy()
    off[4:] += 0.3  # only its last third (frames 4, 5) is wrong
    each = trainlib.by_trajectory(["a"], [whole], [off])["a"]
    assert each["thirds"][:2] == [0.0, 0.0]
    assert each["thirds"][2] == pytest.approx(0.3 / whole[4:].std())
    assert each["relative_rmse"] == pytest.approx(0.3 / np.sqrt(3) / whole.std())


@pytest.mark.parametrize("architecture", [{"channels": 8}, {"kind": "symmetric", "channels": 12,
                                                            "window": 1}])
def test_training_learns_resumes_and_writes_a_loadable_model(architecture, tmp_path):
    datagen.generate(data_config(tmp_path, trajectories=4))
    training = {"data": [str(tmp_path / "d.h5")], "model_file": str(tmp_path / "m.npz"),
                "directory": str(tmp_path / "t"), "layers": 2, **architecture,
                "validation_trajectories": 1, "batch": 2, "learning_rate": 5e-3}
    base = {"lattice": {"L": 6}, "hamiltonian": {"kT": 0.02}}
    trainlib.train(configlib.from_dict({**base, "training": {**training, "epochs": 3}}),
                   stream=None)
    first = torch.load(tmp_path / "t" / "checkpoint.pt", weights_only=True)["history"]
    report = trainlib.train(configlib.from_dict({**base, "training": {**training,
                                                                      "epochs": 6}}),
                            stream=None)
    history = torch.load(tmp_path / "t" / "checkpoint.pt", weights_only=True)["history"]
    assert history["epoch"] == [1, 2, 3, 4, 5, 6]
    assert history["train_loss"][:3] == first["train_loss"]
    # it learns: 8 augmented frames make single epochs noisy, so compare the resumed leg's
    # best epoch with the first one (the held-out loss has no augmentation noise)
    assert min(history["train_loss"][3:]) < history["train_loss"][0]
    assert min(history["validation_loss"][3:]) < history["validation_loss"][0]
    assert len(history["gradient_norm"]) == 6
    model = modelio.load_model(tmp_path / "m.npz")
    assert model.architecture.get("kind", "cnn") == architecture.get("kind", "cnn")
    assert model.metadata["metrics"] == report["validation"]
    assert model.metadata["data_sha256"] == report["data_sha256"]
    for name in ("loss_curve.png", "parity.png"):
        assert (tmp_path / "t" / name).stat().st_size > 5000
    assert (tmp_path / "t" / "report.json").is_file()


def small_trained_model(tmp_path) -> tuple[dict, dict]:
    """A 2-layer model trained for 2 epochs on 3 trajectories into tmp_path / "m.npz";
    returns the config's base sections and its [training] section."""
    datagen.generate(data_config(tmp_path, trajectories=3))
    training = {"data": [str(tmp_path / "d.h5")], "model_file": str(tmp_path / "m.npz"),
                "directory": str(tmp_path / "t"), "layers": 2, "channels": 8,
                "validation_trajectories": 1, "batch": 2, "learning_rate": 5e-3, "epochs": 2}
    base = {"lattice": {"L": 6}, "hamiltonian": {"kT": 0.02}}
    trainlib.train(configlib.from_dict({**base, "training": training}), stream=None)
    return base, training


def test_a_training_that_only_worsens_its_initial_model_returns_it(tmp_path):
    base, training = small_trained_model(tmp_path)
    ruined = configlib.from_dict({**base, "training": {
        **training, "model_file": str(tmp_path / "r.npz"), "directory": str(tmp_path / "r"),
        "initial_model": str(tmp_path / "m.npz"), "learning_rate": 50.0,
        "gradient_clip": 0.0, "epochs": 1}})
    report = trainlib.train(ruined, stream=None)
    assert report["best_epoch"] == 0 and report["epochs_run"] == 1
    spins = torch.from_numpy(datalib.read(tmp_path / "d.h5")["trajectories"]["0007"]["spins"])
    assert torch.equal(modelio.load_model(tmp_path / "r.npz")(spins),
                       modelio.load_model(tmp_path / "m.npz")(spins))


def test_cosine_schedule_from_a_trained_model(tmp_path):
    base, training = small_trained_model(tmp_path)
    tuned = configlib.from_dict({**base, "training": {
        **training, "model_file": str(tmp_path / "tuned.npz"), "directory": str(tmp_path / "u"),
        "initial_model": str(tmp_path / "m.npz"), "schedule": "cosine", "epochs": 4}})
    # the warm start is the trained model, output scale included
    trained = modelio.load_model(tmp_path / "m.npz")
    fresh = build(trained.metadata["architecture"]).to(torch.float64)
    trainlib.start_from(fresh, tuned, (6, 6))
    spins = torch.from_numpy(datalib.read(tmp_path / "d.h5")["trajectories"]["0007"]["spins"])
    assert torch.equal(fresh(spins), trained(spins))
    trainlib.train(tuned, stream=None)
    assert (modelio.read_metadata(tmp_path / "tuned.npz")["initial_weights_sha256"]
            == trained.metadata["weights_sha256"])  # the start is named by its weights
    # a rerun continues from the checkpoint, which keeps that checksum: the initial model
    # file may have moved meanwhile
    (tmp_path / "m.npz").rename(tmp_path / "moved.npz")
    (tmp_path / "tuned.npz").unlink()
    trainlib.train(tuned, stream=None)
    assert (modelio.read_metadata(tmp_path / "tuned.npz")["initial_weights_sha256"]
            == trained.metadata["weights_sha256"])
    (tmp_path / "moved.npz").rename(tmp_path / "m.npz")
    rates = torch.load(tmp_path / "u" / "checkpoint.pt", weights_only=True)["history"][
        "learning_rate"]
    low = 5e-3 / 100  # half a cosine from 5e-3 down to 1 % of it at the last epoch
    assert rates == pytest.approx([low + (5e-3 - low) * (1 + np.cos(np.pi * e / 4)) / 2
                                   for e in (1, 2, 3, 4)])
    with pytest.raises(configlib.ConfigError, match="'training.initial_model'.*architecture"):
        trainlib.start_from(build({"channels": 8, "layers": 3, "predicts": "torque"}), tuned,
                           (6, 6))
    other = dataclasses.replace(tuned, hamiltonian=dataclasses.replace(tuned.hamiltonian, kT=0.05))
    with pytest.raises(configlib.ConfigError, match="'training.initial_model'.*other Hamiltonian "
                                                   "parameters: kT = 0.05 in the config"):
        trainlib.start_from(fresh, other, (6, 6))
    transfer = dataclasses.replace(other, training=dataclasses.replace(other.training,
                                                                       transfer=True))
    trainlib.start_from(fresh, transfer, (6, 6))  # asked for: kT = 0.02 weights, kT = 0.05
    with pytest.raises(configlib.ConfigError, match="smaller than the receptive field"):
        trainlib.start_from(fresh, transfer, (2, 6))  # the lattice is still checked
    missing = configlib.from_dict({**base, "training": {"initial_model": "nowhere.npz"}})
    with pytest.raises(configlib.ConfigError, match="'training.initial_model'.*nowhere.npz"):
        trainlib.start_from(fresh, missing, (6, 6))
    with pytest.raises(configlib.ConfigError, match="'training.schedule' = 'linear'"):
        configlib.from_dict({**base, "training": {"schedule": "linear"}})


def test_a_larger_model_grows_from_a_trained_one(tmp_path, rng):
    """[training] grow = true: a model file with a smaller dots, window or tail starts a
    larger model that computes its torques; without it, or for other convolutions, a clear
    error names the key."""
    from distllg import spins as spinlib
    from distllg.electrons import SDModel

    small = {"kind": "symmetric", "channels": 12, "layers": 2, "kernel": 3, "end_kernel": 3,
             "window": 1, "dots": 1, "tail": 2, "activation": "gelu", "predicts": "torque"}
    torch.manual_seed(0)
    trained = build(small).double()
    with torch.no_grad():
        trained.tail_couplings.normal_(0.0, 0.3)
    modelio.save_model(trained, tmp_path / "small.npz", model=SDModel().as_dict(),
                       lattice=[[8, 8]])
    wider = {"kind": "symmetric", "channels": 12, "layers": 2, "window": 2, "dots": 2,
             "tail": 3, "initial_model": str(tmp_path / "small.npz")}
    config = configlib.from_dict({"training": {**wider, "grow": True}})
    larger = build({**small, "window": 2, "dots": 2, "tail": 3}).double()
    trainlib.start_from(larger, config, (8, 8))
    s = torch.from_numpy(spinlib.random(8, 8, rng)[None])
    stored = modelio.load_model(tmp_path / "small.npz")  # (weights stored in float32)
    torch.testing.assert_close(larger(s), stored(s), rtol=0, atol=1e-13)
    with pytest.raises(configlib.ConfigError, match="'training.initial_model'.*architecture.*"
                                                   "'training.grow' = true"):
        trainlib.start_from(larger, configlib.from_dict({"training": wider}), (8, 8))
    with pytest.raises(configlib.ConfigError, match="'training.grow' = true: a model .* cannot "
                                                   "grow from"):
        trainlib.start_from(build({**small, "layers": 3, "dots": 2}), config, (8, 8))
