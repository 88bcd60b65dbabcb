"""Effective receptive field: autograd equals finite differences, nothing beyond r."""

import numpy as np
import torch

from distllg import spins as spinlib
from distllg.analysis import erf
from distllg.model.cnn import SpinCNN
from distllg.model.provider import PeriodicCNNFields


def test_cnn_sensitivity_equals_finite_differences_and_vanishes_beyond_r(rng):
    torch.manual_seed(0)
    model = SpinCNN(channels=6, layers=2, kernel=3, predicts="field").double().eval()
    model.metadata = {"predicts": "field"}
    s = spinlib.random(9, 10, rng)
    centre = (4, 5)
    autograd = erf.cnn_sensitivity(model, s, centre)
    finite = erf.exact_sensitivity(PeriodicCNNFields(model), s, centre, eps=1e-6)
    np.testing.assert_allclose(autograd, finite, rtol=1e-6, atol=1e-9)
    steps = erf.grid_steps((9, 10))
    centred = erf.centred(autograd, centre)
    assert np.all(centred[steps > model.receptive_radius] == 0)
    assert np.all(centred[steps <= model.receptive_radius] > 0)


def test_radius_holding_and_profile():
    values = np.zeros((7, 7))
    values[3, 3], values[3, 4] = 0.98, 0.02
    d = erf.distances((7, 7))
    np.testing.assert_allclose([d[3, 3], d[3, 4], d[4, 3], d[4, 4]], [0, 1, 1, np.sqrt(3)])
    assert erf.radius_holding(values, d, 0.97) == 0.0
    assert erf.radius_holding(values, d, 0.99) == 1.0
    r, mean = erf.radial_profile(values, d)
    assert r[0] == 0 and mean[0] == 0.98 and abs(mean[1] - 0.02 / 6) < 1e-15
