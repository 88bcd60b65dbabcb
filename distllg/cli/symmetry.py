"""``distllg symmetry CONFIG [MODEL ...]``: how much of a model's held-out
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

import json
from pathlib import Path

from distllg.cli import error


def add_arguments(parser) -> None:
    parser.add_argument("config", help="training config (its data and validation split)")
    parser.add_argument("models", nargs="*", default=["default"],
                        help="model files or names of shipped models")
    parser.add_argument("--out", default="out/symmetry.json", help="JSON result")


def execute(args) -> int:
    from distllg import config as configlib
    from distllg.analysis import symmetry

    try:
        results = symmetry.held_out_metrics(configlib.load(args.config), args.models,
                                            lambda text: print(text, flush=True))
    except (ValueError, OSError) as problem:
        return error(problem)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    return 0
