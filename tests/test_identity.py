"""The run identity: the hashes of today's configs are pinned (their checkpoints must keep
continuing), and the hash takes the precision the engine resolved, never this machine's
guess."""

import pytest

from distllg import config as configlib
from distllg import engines
from distllg.config import EngineConfig
from distllg.electrons import SDModel
from distllg.io import identity
from distllg.io.identity import EngineIdentity

WEIGHTS = "5e" * 32  # a network's weights checksum (64 hex digits)

# (config sections, the precision the engine resolved, physics hash, run hash with WEIGHTS
# for a network), measured with the code of 2026-12-04 (which resolved "auto" itself).
PINNED = [
    ({}, "float64", "092ec01c7309bfbe", "092ec01c7309bfbe"),
    ({"hamiltonian": {"J": 0.5, "kT": 0.05},
      "engine": {"kind": "kpm", "moments": 512, "probe_distance": 4, "probe_sets": 2}},
     "float64", "bd264f0d321b456e", "bd264f0d321b456e"),
    ({"hamiltonian": {"J": 0.5}, "engine": {"kind": "kpm"}}, "float64", "ec37350f29278b39",
     "ec37350f29278b39"),
    ({"engine": {"kind": "exact", "twists": 3}, "lattice": {"L": 12}}, "float64",
     "4c3c0d7b65e52642", "4c3c0d7b65e52642"),
    ({"dynamics": {"temperature": 0.05, "anneal_steps": 100, "noise_seed": 7, "steps": 50}},
     "float64", "96b44dfc789119c7", "96b44dfc789119c7"),
    ({"engine": {"kind": "cnn", "precision": "float64", "device": "cpu"},
      "lattice": {"Lx": 48, "Ly": 24}}, "float64", "e105507b331f7e57", "56e1342fa46a02e3"),
    ({"engine": {"kind": "cnn", "precision": "float32", "device": "cpu"}}, "float32",
     "3458f781c66427dd", "222db662070e36db"),
    ({"engine": {"kind": "cnn", "precision": "bfloat16"},
      "initial": {"state": "triple-q", "seed": 3}}, "bfloat16", "e3cad0df8423258a",
     "e2e5ba760e938ecb"),
    ({"engine": {"kind": "cnn"}}, "float32", "3458f781c66427dd", "222db662070e36db"),
    ({"engine": {"kind": "cnn"}}, "bfloat16", "99e185b9f7b0b7a1", "821f4a261666ce37"),
]


@pytest.mark.parametrize("sections, precision, physics, run", PINNED)
def test_the_hashes_of_todays_configs_are_pinned(sections, precision, physics, run):
    config = configlib.from_dict(sections)
    network = config.engine.kind == "cnn"
    engine = EngineIdentity(precision, "cpu", WEIGHTS if network else "")
    assert identity.physics_hash(config, engine) == physics
    assert identity.run_hash(config, engine) == run
    assert identity.run_hash(config, EngineIdentity(precision, "cuda", engine.weights_sha256)) \
        == run  # the device changes round-off only
    assert config.physics_hash(precision if network else None) == physics


def test_auto_is_hashed_only_as_the_engine_resolved_it():
    config = configlib.from_dict({"engine": {"kind": "cnn"}})
    with pytest.raises(ValueError, match="precision 'auto': the hash needs the precision"):
        config.physics_hash()
    exact = configlib.from_dict({"engine": {"precision": "bfloat16"}})
    assert exact.physics_hash() == configlib.from_dict({}).physics_hash()  # ED: float64


def test_an_engine_names_what_it_resolved(model_file):
    exact = engines.make(EngineConfig(kind="exact", device="cpu"), SDModel(), (6, 6))
    assert exact.identity == EngineIdentity("float64", "cpu", "")
    settings = EngineConfig(kind="cnn", model=str(model_file), device="cpu")  # precision auto
    network = engines.make(settings, SDModel(), (12, 12))
    resolved = network.identity
    assert resolved.precision in ("float32", "bfloat16") and resolved.device == "cpu"
    assert resolved.precision in network.description
    assert resolved.weights_sha256 == network.weights_sha256 != ""
    config = configlib.from_dict({"engine": {"kind": "cnn", "model": str(model_file)}})
    other = "float32" if resolved.precision == "bfloat16" else "bfloat16"
    assert identity.run_hash(config, resolved) == identity.run_hash(
        configlib.from_dict({"engine": {"kind": "cnn", "model": str(model_file),
                                        "precision": resolved.precision}}), resolved)
    assert identity.run_hash(config, resolved) != identity.run_hash(
        config, EngineIdentity(other, "cpu", resolved.weights_sha256))


def test_a_weights_checksum_stands_for_an_engine_whose_config_names_its_precision():
    exact = configlib.from_dict({})
    assert identity.run_hash(exact, "") == identity.run_hash(exact, EngineIdentity())
    named = configlib.from_dict({"engine": {"kind": "cnn", "precision": "float32"}})
    assert identity.run_hash(named, WEIGHTS) == identity.run_hash(
        named, EngineIdentity("float32", "cuda", WEIGHTS))
    with pytest.raises(ValueError, match="the hash needs the precision the engine resolved"):
        identity.run_hash(configlib.from_dict({"engine": {"kind": "cnn"}}), WEIGHTS)
