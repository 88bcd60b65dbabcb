"""The engine factory: each kind gives the fields of its solver, the network is loaded once
and sets the halo, and bad settings name their key."""

import numpy as np
import pytest

from distllg import config as configlib
from distllg import engines
from distllg import spins as spinlib
from distllg.config import EngineConfig
from distllg.electrons import SDModel
from distllg.electrons.bloch import TwistAveragedSolver
from distllg.electrons.exact import ExactSolver
from distllg.model import io as modelio
from distllg.model.provider import PeriodicCNNFields


def test_exact_engines_are_ed_and_twist_averaged_ed(rng):
    model = SDModel(kT=0.1)
    s = spinlib.random(6, 6, rng)
    plain = engines.make(EngineConfig(kind="exact"), model, (6, 6))
    twisted = engines.make(EngineConfig(kind="exact", twists=2), model, (6, 6))
    for engine, solver in ((plain, ExactSolver(model)),
                           (twisted, TwistAveragedSolver(model, (2, 2)))):
        energy, fields = engine.energy_and_fields(s)
        want_energy, want_fields = solver.energy_and_fields(s)
        assert energy == pytest.approx(want_energy, rel=1e-12)
        np.testing.assert_allclose(fields, want_fields, atol=1e-12)
        assert engine.domain.shape == (6, 6) and engine.weights_sha256 == ""


def test_kpm_engine_with_exact_traces_approaches_ed(rng):
    model = SDModel(kT=0.2)
    s = spinlib.random(6, 6, rng)
    engine = engines.make(EngineConfig(kind="kpm", moments=256), model, (6, 6))
    energy, fields = engine.energy_and_fields(s)
    want_energy, want_fields = ExactSolver(model).energy_and_fields(s)
    assert abs(energy - want_energy) < 1e-6 * 36
    assert np.abs(fields - want_fields).max() < 1e-5


def test_the_network_is_loaded_once_and_sets_the_halo(model_file, monkeypatch, rng):
    loads = []
    load = modelio.load_model
    monkeypatch.setattr(modelio, "load_model", lambda *a, **k: loads.append(a) or load(*a, **k))
    settings = EngineConfig(kind="cnn", model=str(model_file), precision="float64",
                            device="cpu")
    engine = engines.make(settings, SDModel(h=0.03), (12, 13))
    assert len(loads) == 1
    radius = engine.network.receptive_radius
    assert engine.domain.decomposition.halo == radius == 3
    assert engine.description == "cnn (float64 on cpu, halo in host memory)"
    assert engine.weights_sha256 == modelio.read_metadata(model_file)["weights_sha256"]
    s = spinlib.random(12, 13, rng)  # the tiled mode on one rank = the periodic mode
    want = PeriodicCNNFields(load(model_file), h=0.03).energy_and_fields(s)[1]
    np.testing.assert_allclose(engine.energy_and_fields(s)[1], want, atol=1e-13)


@pytest.mark.parametrize("settings, key, message", [
    (EngineConfig(kind="kpm", moments=8), "", "'engine.moments' = 8"),
    (EngineConfig(kind="cnn", model="nope.npz"), "'engine.model'",
     "'engine.model' = 'nope.npz': model file nope.npz does not exist"),
    (EngineConfig(kind="cnn", model="nope.npz"), "'data.propagate'",
     "'data.propagate' = 'nope.npz'"),
])
def test_bad_settings_name_their_key(settings, key, message):
    extra = {"key": key} if key else {}
    with pytest.raises(ValueError, match=message):
        engines.make(settings, SDModel(), (6, 6), **extra)


def test_a_lattice_smaller_than_the_receptive_field_is_refused(model_file):
    settings = EngineConfig(kind="cnn", model=str(model_file))
    with pytest.raises(modelio.ModelFileError, match="smaller than the receptive field of "
                                                     "'engine.model'"):
        engines.make(settings, SDModel(), (5, 12))


@pytest.mark.parametrize("kind", ["cnn", "exact"])
def test_a_gpu_asked_for_where_there_is_none_names_the_key(kind, model_file):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    settings = EngineConfig(kind=kind, model=str(model_file), device="cuda")
    with pytest.raises(configlib.ConfigError, match="'engine.device' = 'cuda': rank 0: a CUDA "
                                                    "device was asked for"):
        engines.make(settings, SDModel(), (12, 12))


def test_a_reference_network_runs_in_float64_on_the_cpu_and_ed_keeps_its_device():
    settings = EngineConfig(kind="exact", device="cuda", precision="bfloat16",
                            process_grid=(2, 1))
    exact = engines.serial(settings)
    assert (exact.device, exact.process_grid) == ("cuda", ())
    network = engines.serial(settings, kind="cnn", model="default")
    assert (network.device, network.precision, network.process_grid) == ("cpu", "float64", ())


@pytest.mark.mpi
def test_a_network_that_fails_on_one_rank_fails_on_every_rank(model_file):
    """The file is loaded and checked on every rank before any collective work: a rank
    that cannot read it makes all ranks raise, none waits."""
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    if comm.size < 2:
        pytest.skip("needs two ranks")
    name = str(model_file) if comm.rank == 0 else "nope.npz"
    with pytest.raises(RuntimeError, match=r"nope.npz does not exist \(rank 1\)"):
        engines.make(EngineConfig(kind="cnn", model=name, device="cpu"), SDModel(), (12, 12),
                     comm)
