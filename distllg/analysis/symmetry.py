"""``python -m distllg.analysis.symmetry CONFIG [MODEL ...]``: how much of a model's held-out
error is lattice-symmetry error.

The ``symmetric`` kind (all three shipped models) is exactly equivariant under the 12
point-group operations of the triangular lattice by construction, so averaging changes it
only by round-off; the untied kinds (``cnn``, ``equivariant``) learn the point group only by
augmentation. Averaging a prediction over the group, ``T(S) = 1/|G| sum_g g^-1 CNN(g S)``,
makes any model exactly point-group equivariant (at ``|G|`` times the cost). This command
prints the held-out metrics of the training config's split (``[training]`` data and
validation) for each model, plain and group-averaged, and writes them as JSON to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from distllg import config as configlib
from distllg.model import data as datalib
from distllg.model import io as modelio
from distllg.model import train as trainlib


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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m distllg.analysis.symmetry",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", help="training config (its data and validation split)")
    parser.add_argument("models", nargs="*", default=["default"], help="model files")
    parser.add_argument("--out", default="out/symmetry.json", help="JSON result")
    args = parser.parse_args(argv)
    try:
        spins, true = held_out(configlib.load(args.config))
        results = {}
        for name in args.models:
            model = modelio.load_model(name).eval()
            results[name] = {"plain": trainlib.metrics(true, trainlib.predict(model, spins)),
                             "group_averaged": trainlib.metrics(true,
                                                                group_average(model, spins))}
            for kind, result in results[name].items():
                print(f"{name} {kind}: {trainlib.describe(result)}", flush=True)
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
