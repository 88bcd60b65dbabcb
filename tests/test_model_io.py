"""Model files: round trip, metadata, and clear errors for bad, corrupted or mismatched files."""

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from distllg.electrons import SDModel
from distllg.model import io as modelio
from distllg.model.cnn import SpinCNN


def saved(tmp_path, **architecture):
    torch.manual_seed(3)
    model = SpinCNN(channels=6, layers=2, kernel=3, predicts="torque", **architecture)
    model.output_scale.fill_(0.25)
    path = tmp_path / "m.npz"
    modelio.save_model(model, path, model=SDModel().as_dict(), lattice=[[12, 12]])
    return model, path


def test_round_trip_keeps_weights_and_metadata(tmp_path):
    model, path = saved(tmp_path)
    loaded = modelio.load_model(path)
    assert loaded.receptive_radius == model.receptive_radius == 2
    assert loaded.metadata["predicts"] == "torque"
    assert loaded.metadata["model"] == SDModel().as_dict()
    x = torch.randn(2, 3, 7, 9, dtype=torch.float64)
    with torch.no_grad():
        np.testing.assert_array_equal(loaded(x).numpy(), model.double()(x).numpy())
    assert float(loaded.output_scale) == 0.25


def test_loading_never_unpickles(tmp_path):
    _, path = saved(tmp_path)
    evil = tmp_path / "evil.npz"
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["weight/convs.0.bias"] = np.array([object()], dtype=object)  # needs pickle
    np.savez(evil, **arrays)
    with pytest.raises(modelio.ModelFileError, match="not a readable distllg model"):
        modelio.load_model(evil)


def test_corrupted_files_are_refused(tmp_path):
    _, path = saved(tmp_path)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(modelio.ModelFileError, match="truncated.npz"):
        modelio.load_model(truncated)
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["weight/convs.0.weight"] = arrays["weight/convs.0.weight"] + 1e-9
    edited = tmp_path / "edited.npz"
    np.savez(edited, **arrays)
    with pytest.raises(modelio.ModelFileError, match="corrupted"):
        modelio.load_model(edited)
    with pytest.raises(modelio.ModelFileError, match="does not exist"):
        modelio.load_model(tmp_path / "missing.npz")
    (tmp_path / "text.npz").write_text("not a model")
    with pytest.raises(modelio.ModelFileError, match="text.npz"):
        modelio.load_model(tmp_path / "text.npz")


def test_other_format_is_refused(tmp_path):
    _, path = saved(tmp_path)
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(str(arrays["metadata"]))
    meta["format"] = "something-else"
    arrays["metadata"] = np.array(json.dumps(meta))
    np.savez(tmp_path / "other.npz", **arrays)
    with pytest.raises(modelio.ModelFileError, match="format"):
        modelio.load_model(tmp_path / "other.npz")
    assert zipfile.is_zipfile(path)


def test_compatibility_names_parameters_and_lattice(tmp_path):
    _, path = saved(tmp_path)
    meta = modelio.read_metadata(path)
    modelio.check_compatible(meta, SDModel().as_dict(), (12, 12))
    modelio.check_compatible(meta, SDModel(h=0.05).as_dict(), (12, 12))  # runs add h z
    with pytest.raises(modelio.ModelFileError, match="mu = -3.0 in the config but -3.5"):
        modelio.check_compatible(meta, SDModel(mu=-3.0).as_dict(), (12, 12))
    with pytest.raises(modelio.ModelFileError, match="smaller than the receptive field"):
        modelio.check_compatible(meta, SDModel().as_dict(), (4, 12))


#: The shipped files by name and the checksum of their weights: renaming a file never
#: changes its weights or metadata.
SHIPPED = {
    "J0.5_mu-3.5_kT0.05": "422f47ee4e64f81b9770b3e75b086533a1c0a2fd91161a315f85ac1d92eb0a0b",
    "J1_mu-3.35_kT0.1": "08644e65a8357bc989ed11b439102c60147aa88ed60222aa3af73e391d4eb74d",
    "J1_mu-3.5_kT0.1": "a68630c3e34382f4a85fe63b98ed8760b7e34d3a07904c60f305d8fb3c4c9f68",
}


def test_the_shipped_models_are_named_by_their_physics_point():
    # one model per physics point, small files; earlier ones live in git history
    assert modelio.shipped() == list(SHIPPED)  # the one "default" names first
    assert sum(modelio.resolve(name).stat().st_size for name in modelio.shipped()) < 5e6
    for name, checksum in SHIPPED.items():
        meta = modelio.read_metadata(name)
        p = meta["model"]
        assert name == f"J{p['J']:g}_mu{p['mu']:g}_kT{p['kT']:g}"
        assert p == SDModel(J=p["J"], mu=p["mu"], kT=p["kT"]).as_dict()  # h = 0, t3 = -0.85
        assert meta["weights_sha256"] == checksum
        model = modelio.load_model(name)
        assert model.receptive_radius == meta["receptive_radius"] >= 1
        assert meta["predicts"] == "torque"
        assert meta["architecture"]["kind"] == "symmetric"  # exactly point-group equivariant
        assert Path(model.source) == modelio.PRETRAINED / f"{name}.npz"


def test_default_is_the_model_make_run_uses():
    """``"default"`` names the model of configs/default.toml (``make run``): the crystal
    point, which fits that run's Hamiltonian and lattice."""
    from distllg import config as configlib

    run = configlib.load(Path(__file__).parent.parent / "configs" / "default.toml")
    assert run.engine.kind == "cnn"
    assert modelio.resolve("default") == modelio.resolve(run.engine.model)
    assert modelio.resolve("default") == modelio.PRETRAINED / "J0.5_mu-3.5_kT0.05.npz"
    meta = modelio.read_metadata("default")
    assert meta["model"] == SDModel(J=0.5, kT=0.05).as_dict()
    modelio.check_compatible(meta, run.hamiltonian.as_dict(), run.lattice.shape)
    model = modelio.load_model("default")
    assert model.metadata["weights_sha256"] == SHIPPED["J0.5_mu-3.5_kT0.05"]
    assert "default" not in modelio.shipped()


@pytest.mark.parametrize("name, shipped_as", [
    ("default", "J0.5_mu-3.5_kT0.05"),
    ("ohm_kT0.05", "J0.5_mu-3.5_kT0.05"),  # the file names before 2026-12-07
    ("mu3.35", "J1_mu-3.35_kT0.1"),
])
def test_other_names_load_the_same_weights(name, shipped_as):
    assert modelio.ALIASES[name] == shipped_as
    assert modelio.resolve(name) == modelio.resolve(shipped_as)
    assert modelio.read_metadata(name) == modelio.read_metadata(shipped_as)
    model = modelio.load_model(name)
    assert model.metadata["weights_sha256"] == SHIPPED[shipped_as]
    x = torch.randn(1, 3, 24, 24, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), modelio.load_model(shipped_as)(x), rtol=0, atol=0)


def test_every_other_name_is_of_a_shipped_model_and_default_left_the_kt_0_1_one():
    assert set(modelio.ALIASES.values()) <= set(modelio.shipped())
    assert not set(modelio.ALIASES) & set(modelio.shipped())
    # before 2026-12-07 "default" was J1_mu-3.5_kT0.1: that model now loads by its name only
    assert "J1_mu-3.5_kT0.1" not in modelio.ALIASES.values()
    assert modelio.read_metadata("default")["weights_sha256"] != SHIPPED["J1_mu-3.5_kT0.1"]


def test_the_mu_3_35_model_ships_for_its_own_parameters_only():
    meta = modelio.read_metadata("J1_mu-3.35_kT0.1")
    assert meta["model"] == SDModel(kT=0.1, mu=-3.35).as_dict()
    assert min(meta["metrics"]["r2"].values()) >= 0.99
    at_mu_3_5 = modelio.load_model("J1_mu-3.5_kT0.1").architecture
    assert modelio.load_model("J1_mu-3.35_kT0.1").architecture == {
        **at_mu_3_5, "dots": 6, "window": 6}
    with pytest.raises(modelio.ModelFileError, match="mu = -3.5 in the config but -3.35"):
        modelio.check_compatible(meta, SDModel(kT=0.1).as_dict(), (24, 24))


def test_the_crystal_point_model_ships_for_its_own_parameters_only():
    """J0.5_mu-3.5_kT0.05 (configs/recipes/J0.5_mu-3.5_kT0.05): grown to 72 channels from
    the recipe's 48-channel weights, kept in the recipe folder; its held-out torque error as
    trained meets the R^2 >= 0.99 gate in x, y and z."""
    meta = modelio.read_metadata("J0.5_mu-3.5_kT0.05")
    assert meta["model"] == SDModel(J=0.5, kT=0.05).as_dict()
    recipe = Path(__file__).parent.parent / "configs/recipes/J0.5_mu-3.5_kT0.05"
    assert meta["initial_weights_sha256"] == modelio.read_metadata(
        recipe / "weights/step19.npz")["weights_sha256"]
    assert meta["metrics"]["relative_rmse"] < 0.1
    assert min(meta["metrics"]["r2"].values()) >= 0.99
    assert meta["architecture"]["channels"] == 72 and meta["receptive_radius"] == 11
    with pytest.raises(modelio.ModelFileError, match="J = 1.0 in the config but 0.5"):
        modelio.check_compatible(meta, SDModel(kT=0.05).as_dict(), (24, 24))


def test_the_rules_know_every_architecture():
    """The rules (torch-free, read by the config) name the kinds, activations and group
    order that ``cnn`` builds."""
    from distllg.config import TRAINING_KINDS
    from distllg.model import architecture
    from distllg.model.cnn import ACTIVATIONS, ARCHITECTURES
    from distllg.model.point_group import ORDER

    assert TRAINING_KINDS == architecture.KINDS == tuple(ARCHITECTURES)
    assert architecture.ACTIVATIONS == tuple(ACTIVATIONS)
    assert architecture.GROUP_ORDER == ORDER


@pytest.mark.parametrize("settings, message", [
    ({"kernel": 4}, "'training.kernel' must be odd, got 4"),
    ({"kind": "symmetric", "channels": 20}, "'training.channels' = 20: kind \"symmetric\""),
    ({"kind": "symmetric", "channels": 24, "tail": 3, "window": 3}, "'training.tail' = 3"),
    ({"layers": 0}, "'training.layers' must be >= 1"),
    ({"activation": "relu"}, "'training.activation' = 'relu'"),
])
def test_a_config_and_a_network_break_the_same_rule(settings, message):
    """One rule set: the config names the key, building the network refuses it too."""
    from distllg import config as configlib
    from distllg.model import architecture
    from distllg.model.cnn import ARCHITECTURES

    with pytest.raises(configlib.ConfigError, match=message):
        configlib.from_dict({"training": settings})
    kind = settings.get("kind", "cnn")
    arguments = {k: v for k, v in settings.items() if k != "kind"}
    with pytest.raises(architecture.ArchitectureError):
        ARCHITECTURES[kind](**arguments)


@pytest.mark.parametrize("kind, extra, radius", [("equivariant", {}, 3), ("symmetric", {}, 3),
                                                 ("symmetric", {"tail": 4}, 4)])
def test_equivariant_model_round_trip(kind, extra, radius, tmp_path):
    from distllg.model.cnn import ARCHITECTURES

    torch.manual_seed(5)
    model = ARCHITECTURES[kind](channels=12, layers=2, window=2, **extra)
    if extra:
        with torch.no_grad():
            model.tail_couplings.normal_()
    model = model.double()  # from float32 weights: the files hold float32
    modelio.save_model(model, tmp_path / "e.npz", model=SDModel().as_dict())
    loaded = modelio.load_model(tmp_path / "e.npz")
    assert type(loaded) is ARCHITECTURES[kind] and loaded.receptive_radius == radius
    x = torch.randn(1, 3, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())
