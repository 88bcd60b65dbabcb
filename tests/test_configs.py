"""Configs: every shipped one loads, and the facts their comments state about the model they
run ("receptive radius (N)") are those of the model file; old keys and sections are refused
with the new name, and the hashes of configs that used them did not move."""

import re
from pathlib import Path

import pytest

from distllg import config as configlib
from distllg.model import io as modelio

REPOSITORY = Path(__file__).resolve().parent.parent
CONFIGS = sorted((REPOSITORY / "configs").rglob("*.toml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(REPOSITORY)))
def test_config_loads_and_states_its_model_radius_right(path, monkeypatch):
    monkeypatch.chdir(REPOSITORY)  # configs name files relative to the repository
    config = configlib.load(path)
    stated = [int(n) for n in re.findall(r"receptive radius \((\d+)\)", path.read_text())]
    if stated:
        radius = modelio.read_metadata(config.engine.model)["receptive_radius"]
        assert stated == [radius] * len(stated), f"{path.name}: the model has r = {radius}"


def test_the_old_model_section_names_the_new_one():
    with pytest.raises(configlib.ConfigError, match=r"\[model\] of c.toml is now called "
                                                    r"\[hamiltonian\]"):
        configlib.from_dict({"model": {"J": 1.0}}, source="c.toml")
    config = configlib.from_dict({"hamiltonian": {"J": 0.5}})
    assert config.hamiltonian.J == 0.5


def test_the_physics_hash_did_not_move_with_the_section_name():
    """Checkpoints written while the section was called [model] still continue: these are
    the hashes such configs had (measured with the code of 2026-12-03)."""
    assert configlib.from_dict({}).physics_hash() == "092ec01c7309bfbe"
    config = configlib.from_dict({"hamiltonian": {"J": 0.5}, "engine": {"kind": "kpm"}})
    assert config.physics_hash() == "ec37350f29278b39"


@pytest.mark.parametrize("engine, message", [
    ({"kind": "exact", "committee": ["m.npz"]}, "'engine.committee' needs kind = \"cnn\""),
    ({"kind": "cnn", "committee_every": 0}, "'engine.committee_every' must be >= 1"),
    ({"kind": "cnn", "committee_warn": -1.0}, "'engine.committee_warn' must be >= 0")])
def test_committee_keys_are_checked(engine, message):
    with pytest.raises(configlib.ConfigError, match=re.escape(message)):
        configlib.from_dict({"engine": engine})


def test_a_missing_committee_member_is_named(tmp_path, model_file):
    from distllg import engines
    from distllg.electrons import SDModel

    settings = configlib.EngineConfig(kind="cnn", model=str(model_file), precision="float64",
                                      committee=(str(tmp_path / "gone.npz"),))
    with pytest.raises(configlib.ConfigError, match="'engine.committee' member .*gone.npz"):
        engines.make(settings, SDModel(), (12, 12))


def test_the_committee_does_not_change_the_run_identity():
    plain = configlib.from_dict({"engine": {"kind": "cnn", "precision": "float64"}})
    watched = configlib.from_dict({"engine": {"kind": "cnn", "precision": "float64",
                                              "committee": ["a.npz", "b.npz"],
                                              "committee_every": 7}})
    assert plain.physics_hash() == watched.physics_hash()
