"""Committee disagreement (DP-GEN's model deviation) and the texture validation set: the
spread has its closed form on simple committees, the labels are ED's, and the set resumes."""

import numpy as np
import pytest
import torch

from distllg import config as configlib
from distllg.electrons import SDModel
from distllg.electrons.exact import ExactSolver
from distllg.model import io as modelio
from distllg.model.cnn import SpinCNN
from distllg.training import committee, validation
from distllg.training import data as datalib
from distllg.training.textures import FAMILIES


def test_spread_of_opposite_members_is_the_torque_length(rng):
    torques = rng.standard_normal((2, 4, 3, 5, 6))
    torques[1] = -torques[0]
    np.testing.assert_allclose(committee.site_spread(torques),
                               np.linalg.norm(torques[0], axis=-3), rtol=1e-12)
    same = np.repeat(torques[:1], 3, axis=0)
    assert committee.disagreement(same).max() < 1e-15


def test_disagreement_is_the_largest_site_spread(rng):
    torques = 1e-3 * rng.standard_normal((3, 2, 3, 4, 4))
    torques[0, 1, :, 2, 3] += 1.0  # one member off at one site of frame 1
    sigma = committee.disagreement(torques)
    assert sigma[0] < 0.01 and sigma[1] == pytest.approx(np.sqrt(2 / 3), rel=1e-2)  # |d| = sqrt 3


def test_one_member_is_no_committee(rng):
    with pytest.raises(ValueError, match="at least 2 members"):
        committee.disagreement(rng.standard_normal((1, 2, 3, 4, 4)))


def test_calibration_of_a_proportional_error():
    sigma = np.linspace(0.1, 1.0, 10)
    result = committee.calibration(sigma, 2.0 * sigma)
    assert result["spearman"] == pytest.approx(1.0)
    assert result["error_over_sigma_median"] == pytest.approx(2.0)


def _config(tmp_path, name="v.h5"):
    config = configlib.from_dict({"hamiltonian": {"kT": 0.1}, "engine": {"kind": "exact"}})
    return validation.config_for(config, 6, str(tmp_path / name))


def test_validation_set_holds_exact_labels_and_resumes(tmp_path):
    config = _config(tmp_path)
    lines = []
    validation.build(config, members=1, log=lines.append)
    assert len(lines) == len(FAMILIES)
    data = datalib.read(config.data.file)["trajectories"]
    assert sorted(data) == sorted(f"{family}_0000" for family in FAMILIES)
    frame = data["domain_wall_0000"]
    np.testing.assert_allclose(frame["fields"][0],
                               ExactSolver(SDModel(kT=0.1)).solve(frame["spins"][0]).fields,
                               atol=1e-12)
    lines.clear()
    validation.build(config, members=2, log=lines.append)  # only the second members
    assert len(lines) == len(FAMILIES) and all("_0001" in line for line in lines)


def test_validation_set_of_other_settings_is_refused(tmp_path):
    validation.build(_config(tmp_path), members=1, log=lambda text: None)
    other = configlib.from_dict({"hamiltonian": {"kT": 0.2}, "engine": {"kind": "exact"}})
    with pytest.raises(configlib.ConfigError, match="other settings"):
        validation.build(validation.config_for(other, 6, str(tmp_path / "v.h5")), members=1)


def test_evaluation_per_family_and_committee(tmp_path):
    config = _config(tmp_path)
    validation.build(config, members=2, log=lambda text: None)
    models = {}
    for seed in (1, 2):
        torch.manual_seed(seed)
        models[f"m{seed}"] = SpinCNN(channels=4, layers=2, kernel=3, predicts="torque").double()
    result = validation.evaluate(config.data.file, models)
    assert set(result["families"]) == {*FAMILIES, "all"}
    assert result["families"]["all"]["m1"]["sites"] == 2 * len(FAMILIES) * 36
    assert result["calibration"]["frames"] == 2 * len(FAMILIES)
    # the committee's mean is at least as accurate as its worst member (convexity)
    entry = result["families"]["all"]
    assert entry["committee_mean"]["rmse"] <= max(entry["m1"]["rmse"], entry["m2"]["rmse"])
    assert "spiral" in validation.table(result, ["m1", "m2"])
    path = tmp_path / "m.npz"
    modelio.save_model(models["m1"], path, model=SDModel(kT=0.1).as_dict(), lattice=[[6, 6]])
    reloaded = validation.evaluate(config.data.file, {"m1": modelio.load_model(path).double()})
    assert reloaded["families"]["all"]["m1"]["rmse"] == pytest.approx(
        entry["m1"]["rmse"], rel=1e-9)
