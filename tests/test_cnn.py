"""The CNN: receptive radius from the architecture; periodic and tiled modes agree."""

import numpy as np
import pytest
import torch

from distllg import spins as spinlib
from distllg.model.cnn import SpinCNN


def random_model(seed=0, **architecture):
    torch.manual_seed(seed)
    return SpinCNN(**architecture).double().eval()


@pytest.mark.parametrize("layers, kernel, radius", [(6, 3, 6), (4, 5, 8), (1, 1, 0), (3, 7, 9)])
def test_receptive_radius_is_derived_and_exact(layers, kernel, radius):
    model = random_model(layers=layers, kernel=kernel, channels=4)
    assert model.receptive_radius == radius
    # A one-site change reaches exactly r sites along each axis, no further.
    L = 2 * radius + 5
    x = torch.zeros(1, 3, L, L, dtype=torch.float64, requires_grad=True)
    out = model(x)[0, :, L // 2, L // 2].sum()
    (grad,) = torch.autograd.grad(out, x)
    reach = torch.nonzero(grad.abs().sum(dim=(0, 1)) > 0)
    offsets = (reach - L // 2).abs().max(dim=0).values
    assert offsets.tolist() == [radius, radius]


@pytest.mark.parametrize("shape, tile", [((12, 12), (slice(0, 12), slice(0, 12))),
                                         ((14, 17), (slice(3, 9), slice(10, 17))),
                                         ((13, 9), (slice(12, 13), slice(0, 5)))])
def test_tiled_mode_equals_periodic_mode(shape, tile, rng):
    model = random_model(layers=3, kernel=3, channels=8)
    r = model.receptive_radius
    s = torch.from_numpy(spinlib.random(*shape, rng)[None])
    with torch.no_grad():
        periodic = model(s)
        ys = np.arange(tile[0].start - r, tile[0].stop + r) % shape[0]
        xs = np.arange(tile[1].start - r, tile[1].stop + r) % shape[1]
        padded = s[:, :, ys][:, :, :, xs]
        tiled = model.forward_tile(padded)
    np.testing.assert_allclose(tiled.numpy(), periodic[:, :, tile[0], tile[1]].numpy(),
                               atol=1e-13, rtol=0)


def test_translation_equivariance(rng):
    model = random_model(layers=2, kernel=5, channels=6)
    s = torch.from_numpy(spinlib.random(12, 15, rng)[None])
    with torch.no_grad():
        moved = model(torch.roll(s, (4, -3), dims=(2, 3)))
        expected = torch.roll(model(s), (4, -3), dims=(2, 3))
    np.testing.assert_allclose(moved.numpy(), expected.numpy(), atol=1e-13)


@pytest.mark.parametrize("kwargs, message", [({"kernel": 4}, "odd"), ({"layers": 0}, ">= 1"),
                                             ({"activation": "relu6"}, "unknown"),
                                             ({"predicts": "energy"}, "predicts")])
def test_bad_architecture(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SpinCNN(**kwargs)
