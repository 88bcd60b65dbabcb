"""How much of a model's held-out
error is lattice-symmetry error.

The ``symmetric`` kind (all three shipped models) is exactly equivariant under the 12
point-group operations of the triangular lattice by construction, so averaging changes it
only by round-off; the untied kinds (``cnn``, ``equivariant``) learn the point group only by
augmentation. Averaging a prediction over the group, ``T(S) = 1/|G| sum_g g^-1 CNN(g S)``,
makes any model exactly point-group equivariant (at ``|G|`` times the cost).
"""

from __future__ import annotations

import numpy as np

from distllg import config as configlib
from distllg.model import io as modelio
from distllg.training import data as datalib
from distllg.training import train as trainlib


def group_average(model, spins: np.ndarray) -> np.ndarray:
    """Prediction averaged over the lattice point group: ``(n, 3, Ly, Lx)`` in and out."""
    shape = spins.shape[-2:]
    sites = np.arange(shape[0] * shape[1]).reshape(shape)
    group = datalib.point_group(shape)
    total = np.zeros(spins.shape)
    for matrix in group:
        iy, ix = datalib.site_permutation(matrix, shape)
        moved = trainlib.predict(model, np.ascontiguousarray(spins[..., iy, ix]))
        back = np.argsort(sites[iy, ix].ravel())  # the inverse site permutation
        total += moved.reshape(*moved.shape[:2], -1)[..., back].reshape(moved.shape)
    return total / len(group)


def held_out(config: configlib.Config) -> tuple[np.ndarray, np.ndarray]:
    """``(spins, torques)`` of the config's validation trajectories, frames stacked."""
    trajectories, _ = trainlib.load_datasets(config)
    _, names = trainlib.split_by_config(config, list(trajectories))
    pairs = trainlib.frames(trajectories, names)
    return np.concatenate([s for s, _ in pairs]), np.concatenate([t for _, t in pairs])


def held_out_metrics(config: configlib.Config, models: list[str], log=print) -> dict:
    """Held-out metrics of the training config's split for each model, plain and averaged
    over the point group: ``{model: {"plain": metrics, "group_averaged": metrics}}``."""
    spins, true = held_out(config)
    results = {}
    for name in models:
        model = modelio.load_model(name).eval()
        results[name] = {"plain": trainlib.metrics(true, trainlib.predict(model, spins)),
                         "group_averaged": trainlib.metrics(true, group_average(model, spins))}
        for kind, result in results[name].items():
            log(f"{name} {kind}: {trainlib.describe(result)}")
    return results
