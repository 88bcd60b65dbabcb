"""Cost of one training label at the crystal point (J = 0.5, mu = -3.5, kT = 0.05, 24 x 24)
by plain ED and by n x n twist-averaged ED, as a ratio to plain ED in the same run, and the
ED core-hours of the data recipe in configs/recipes/J0.5_mu-3.5_kT0.05 that follow from it
(each recipe config's count of proposal evaluations by plain ED and of labels).

Usage: ``python bench/labels.py [--sizes 24] [--repeats 2]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import best_time, publish, size_arguments  # noqa: E402

from distllg import config as configlib  # noqa: E402
from distllg import spins as spinlib  # noqa: E402
from distllg.dynamics import llg  # noqa: E402
from distllg.electrons.bloch import exact_solver  # noqa: E402

RECIPE = Path(__file__).resolve().parent.parent / "configs" / "recipes" / "J0.5_mu-3.5_kT0.05"


def recipe_counts() -> tuple[int, int]:
    """(plain-ED proposal evaluations, twist-averaged labels) of the recipe's exact data:
    the trajectories of 1_exact_anneal.toml and 2_exact_crystal.toml, and 3_perturbed.toml's
    noisy copies of their frames."""
    proposals = labels = 0
    for name in ("1_exact_anneal", "2_exact_crystal"):
        config = configlib.load(RECIPE / f"{name}.toml")
        n, steps = config.data.trajectories, config.dynamics.steps
        proposals += n * steps * llg.EVALUATIONS[config.dynamics.integrator]
        labels += n * (steps // config.data.record_every + 1)
    return proposals, 2 * labels  # 3_perturbed.toml labels a noisy copy of every frame


def main(argv=None) -> None:
    args = size_arguments(__doc__, [24], argv)
    config = configlib.load(RECIPE / "1_exact_anneal.toml")
    rows = []
    for L in args.sizes:
        s = spinlib.random(L, L, np.random.default_rng(0))
        times = {}
        for twists in (1, 2, 3):
            solver = exact_solver(config.hamiltonian, twists)
            solver.energy_and_fields(s)
            times[twists] = best_time(lambda solver=solver, s=s: solver.energy_and_fields(s),
                                      args.repeats)
        proposals, labels = recipe_counts()
        rows.append({"L": L, "plain_s": times[1], "twists2_s": times[2], "twists3_s": times[3],
                     "ratio2": times[2] / times[1], "ratio3": times[3] / times[1],
                     "proposals": proposals, "labels": labels,
                     "recipe_core_hours": (proposals * times[1] + labels * times[2]) / 3600})
        print(rows[-1], flush=True)
    publish("labels", rows, [("L", "L", "d"), ("plain_s", "plain ED (s)", ".2f"),
                             ("twists2_s", "2 x 2 twists (s)", ".2f"),
                             ("ratio2", "ratio", ".1f"),
                             ("twists3_s", "3 x 3 twists (s)", ".2f"),
                             ("ratio3", "ratio", ".1f"),
                             ("proposals", "recipe: plain-ED evaluations", "d"),
                             ("labels", "recipe: labels", "d"),
                             ("recipe_core_hours", "recipe steps 1-3 (core-hours)", ".2f")])


if __name__ == "__main__":
    main()
