"""A committee of models at one physics point, and how much its members disagree.

The disagreement of a committee on a frame is, as in DP-GEN's model deviation of forces,
the largest over the sites of the spread of the members' torques,

    sigma_i = sqrt( mean_m |T_i^m - <T_i>|^2 ),    sigma = max_i sigma_i     [t1],

an estimate of the error of the committee's mean that needs no exact label. It is
calibrated against true errors on labelled frames (:func:`calibration`), and then picks the
frames worth labelling or warns a run that has left the states the models were trained on.
"""

from __future__ import annotations

import numpy as np


def site_spread(torques: np.ndarray) -> np.ndarray:
    """``sigma_i`` of member torques ``(M, ..., 3, Ly, Lx)`` -> ``(..., Ly, Lx)`` (t1)."""
    torques = np.asarray(torques, dtype=np.float64)
    if torques.shape[0] < 2:
        raise ValueError(f"a committee needs at least 2 members; got {torques.shape[0]}")
    deviation = torques - torques.mean(axis=0)
    return np.sqrt((deviation ** 2).sum(axis=-3).mean(axis=0))


def disagreement(torques: np.ndarray) -> np.ndarray:
    """``sigma`` per frame of member torques ``(M, n, 3, Ly, Lx)`` -> ``(n,)`` (t1)."""
    return site_spread(torques).reshape(torques.shape[1], -1).max(axis=-1)


def largest_error(true: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """The largest site error ``max_i |T_i - T_i^true|`` per frame of ``(n, 3, Ly, Lx)``
    arrays -> ``(n,)`` (t1): what ``sigma`` estimates."""
    error = np.sqrt(((predicted - true) ** 2).sum(axis=1))
    return error.reshape(len(error), -1).max(axis=-1)


def calibration(sigma: np.ndarray, error: np.ndarray) -> dict:
    """How ``sigma`` predicts ``error`` over labelled frames (both ``(n,)``, t1): their
    rank correlation (Spearman), the median ratio ``error / sigma`` (the factor that turns
    a disagreement into an error estimate) and its 90th percentile (a cautious factor)."""
    sigma, error = np.asarray(sigma, float), np.asarray(error, float)
    ranks = [np.argsort(np.argsort(v)) for v in (sigma, error)]
    spearman = float(np.corrcoef(*ranks)[0, 1]) if len(sigma) > 2 else float("nan")
    ratio = error / np.maximum(sigma, 1e-300)
    return {"frames": int(len(sigma)), "spearman": spearman,
            "error_over_sigma_median": float(np.median(ratio)),
            "error_over_sigma_p90": float(np.percentile(ratio, 90))}
