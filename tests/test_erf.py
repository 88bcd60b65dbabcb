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


def test_far_spin_influence_vanishes_beyond_a_models_radius(rng):
    torch.manual_seed(1)
    model = SpinCNN(channels=6, layers=2, kernel=3, predicts="field").double().eval()
    provider = PeriodicCNNFields(model)
    s = spinlib.random(11, 12, rng)
    r = model.receptive_radius
    assert erf.far_spin_influence(provider, s, (3, 9), r, 0.3, 3, rng) == 0.0
    assert erf.far_spin_influence(provider, s, (3, 9), r - 1, 0.3, 3, rng) > 1e-3


def test_exact_torques_feel_far_spins_less_at_finite_temperature(rng):
    from distllg.electrons import SDModel
    from distllg.electrons.exact import ExactSolver

    s = spinlib.random(12, 12, rng)
    cold = erf.far_spin_influence(ExactSolver(SDModel()), s, (6, 6), 4, 0.3, 3,
                                  np.random.default_rng(0))
    warm = erf.far_spin_influence(ExactSolver(SDModel(kT=0.2)), s, (6, 6), 4, 0.3, 3,
                                  np.random.default_rng(0))
    assert 0 < warm < cold


def test_exact_linear_response_equals_finite_differences(rng):
    """The ED Kubo response (one diagonalisation) against central finite differences of the
    ED torques (4 N diagonalisations), at kT > 0 and kT = 0, including the centre site."""
    from distllg.electrons import SDModel
    from distllg.electrons.exact import ExactSolver

    s = spinlib.random(6, 6, rng)
    for kT in (0.1, 0.0):
        solver = ExactSolver(SDModel(kT=kT))
        response = erf.response_sensitivity(solver, s, (2, 3))
        finite = erf.exact_sensitivity(solver, s, (2, 3), eps=1e-5)
        np.testing.assert_allclose(response, finite, rtol=1e-7, atol=1e-9)
        assert response[2, 3] > 0 and np.all(response > 0)
