"""CNN-driven LLG on 1, 2, 3, 4 ranks equals the single-process periodic run (round-off)."""

import numpy as np
import pytest
import torch

from distllg import spins as spinlib
from distllg.dynamics import stepper
from distllg.model.cnn import SpinCNN
from distllg.model.provider import PeriodicCNNFields, TiledCNNFields


def random_model(predicts="field"):
    torch.manual_seed(1)
    model = SpinCNN(channels=8, layers=3, kernel=3, predicts=predicts).double()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(0.5)
    return model


@pytest.mark.parametrize("predicts", ["field", "torque"])
def test_torque_model_drives_llg_like_its_perpendicular_field(predicts, rng):
    s = spinlib.random(8, 8, rng)
    _, fields = PeriodicCNNFields(random_model(predicts)).energy_and_fields(s)
    # LLG only sees H_perp: the provider's fields are perpendicular for a torque model.
    if predicts == "torque":
        np.testing.assert_allclose(spinlib.dot(fields, s), 0.0, atol=1e-14)
    assert np.isfinite(fields).all()


@pytest.mark.parametrize("predicts", ["field", "torque"])
def test_provider_adds_the_zeeman_field_of_the_run(predicts, rng):
    """The model gives the electronic field; the provider adds h z exactly (the run's h)."""
    s = spinlib.random(8, 8, rng)
    model = random_model(predicts)
    _, electronic = PeriodicCNNFields(model).energy_and_fields(s)
    _, in_field = PeriodicCNNFields(model, h=0.07).energy_and_fields(s)
    np.testing.assert_allclose(in_field - electronic, np.array([0, 0, 0.07])[:, None, None]
                               * np.ones_like(s), atol=1e-15)


@pytest.mark.mpi
@pytest.mark.parametrize("shape, dims, halo_on", [((16, 16), None, None), ((13, 17), None, None),
                                                  ((15, 12), (0, 1), None),
                                                  ((13, 17), None, "cpu"),
                                                  ((13, 17), None, "cpu staged")])
def test_distributed_cnn_llg_equals_serial(shape, dims, halo_on):
    """Tiles with their halo in host memory, or (``halo_on``) in torch tensors on a device,
    moved by MPI through DLPack or (staged) through host buffers: 200 RK4 steps equal the
    serial run to 1e-10."""
    import torch
    from mpi4py import MPI

    from distllg.parallel.decomposition import Decomposition
    from distllg.parallel.halo import HaloExchange

    comm = MPI.COMM_WORLD
    model = random_model()
    r = model.receptive_radius
    if dims is not None:
        dims = tuple(comm.size if d == 0 else d for d in dims)
    deco = Decomposition(comm, shape, halo=r, dims=dims)
    start = spinlib.random(*shape, np.random.default_rng(9))  # same on every rank
    tile = np.ascontiguousarray(start[(slice(None),) + deco.tile.slices])
    device = None if halo_on is None else torch.device(halo_on.split()[0])
    tiled = TiledCNNFields(model, HaloExchange(deco.cart, deco.tile.shape, r, device=device,
                                               staged=halo_on == "cpu staged"))
    steps, dt, alpha = 200, 0.05, 0.1
    tile = stepper.integrate(tile, tiled.energy_and_fields, dt, alpha, steps, "rk4")
    result = deco.gather(tile)
    if comm.rank == 0:
        serial = stepper.integrate(start, PeriodicCNNFields(model).energy_and_fields, dt, alpha,
                               steps, "rk4")
        assert np.abs(serial - start).max() > 0.1  # the spins really moved
        assert np.abs(result - serial).max() <= 1e-10


def test_blocked_evaluation_equals_one_pass(rng):
    from distllg.model.provider import evaluate_blocked

    model = random_model()
    r = model.receptive_radius
    s = torch.from_numpy(spinlib.random(37, 29, rng)[None])
    padded = torch.nn.functional.pad(s, (r, r, r, r), mode="circular")
    with torch.no_grad():
        whole = model(s)
        for block in (5, 8, 16, None):
            np.testing.assert_allclose(evaluate_blocked(model, padded, block).numpy(),
                                       whole.numpy(), atol=1e-14, rtol=0)


def test_bfloat16_convolutions_stay_close_to_float64(rng):
    """precision bfloat16: the shipped model's convolutions run in bfloat16 (8-bit mantissa),
    everything else in float32; the torques stay within 1 % (RMS, of their spread) of the
    float64 ones, far below the model's own error, and really differ from float32."""
    from distllg.model import io as modelio

    s = spinlib.random(24, 24, rng)
    fields = {}
    for dtype in (torch.float64, torch.float32, torch.bfloat16):
        provider = PeriodicCNNFields(modelio.load_model("J1_mu-3.5_kT0.1"), dtype=dtype)
        fields[dtype] = provider.energy_and_fields(s)[1]
        convolution = provider.model.convs[0].weight_free.dtype
        assert convolution == dtype and provider.model.tail_couplings.dtype == provider.dtype
    assert provider.dtype == torch.float32

    def error(dtype):
        return np.sqrt(np.mean((fields[dtype] - fields[torch.float64]) ** 2)) / np.std(
            fields[torch.float64])

    assert error(torch.float32) < 1e-6
    assert 1e-4 < error(torch.bfloat16) < 1e-2
