"""Time per field evaluation: KPM against ED and the CNN, where each method stands.

In one run, one process, one thread, best of R, random spins at the default parameters with
kT = 0.1 (where KPM converges, docs/physics.md):
  * KPM (PETSc, ``--moments`` M, probing distance ``--distance`` d: 2 d^2 probes, 3 M
    products each) at L = 24 .. 96 (``--sizes``): the time per site must stay flat;
  * ED at L <= 36; the CNN (shipped model, periodic, float64) at every L.
Writes bench/results/kpm.json and its table in docs/PERFORMANCE.md.

Usage: ``python bench/kpm.py [--sizes 24 48 96] [--moments 256] [--distance 6]``.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import best_time, publish  # noqa: E402

from distllg import spins as spinlib  # noqa: E402
from distllg.electrons import SDModel  # noqa: E402
from distllg.electrons.exact import ExactSolver  # noqa: E402
from distllg.electrons.kpm import KPMSolver  # noqa: E402
from distllg.model import io as modelio  # noqa: E402
from distllg.model.provider import PeriodicCNNFields  # noqa: E402

ED_LIMIT = 36


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[12, 24, 36, 48, 96])
    parser.add_argument("--moments", type=int, default=256)
    parser.add_argument("--distance", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", UserWarning)
    model = SDModel(kT=0.1)
    cnn = PeriodicCNNFields(modelio.load_model("default"))
    rng = np.random.default_rng(0)
    rows = []
    for L in args.sizes:
        spins = spinlib.random(L, L, rng)
        solver = KPMSolver(model, (L, L), moments=args.moments, probe_distance=args.distance)
        row = {"L": L, "N": L * L, "probes": 2 * solver.periods[0] * solver.periods[1],
               "kpm_s": best_time(lambda s=solver, x=spins: s.energy_and_fields(x),
                                  args.repeats),
               "cnn_s": best_time(lambda x=spins: cnn.energy_and_fields(x), 3)}
        if L <= ED_LIMIT:
            exact = ExactSolver(model)
            row["ed_s"] = best_time(lambda s=exact, x=spins: s.energy_and_fields(x),
                                    args.repeats)
        for key in ("kpm", "cnn", "ed"):
            if f"{key}_s" in row:
                row[f"{key}_us_per_site"] = 1e6 * row[f"{key}_s"] / row["N"]
        print(row, flush=True)
        rows.append(row)
    columns = [("L", "L", "d"), ("probes", "KPM probes", "d"),
               ("ed_s", "ED s", ".3g"), ("kpm_s", "KPM s", ".3g"), ("cnn_s", "CNN s", ".3g"),
               ("ed_us_per_site", "ED us/site", ".3g"),
               ("kpm_us_per_site", "KPM us/site", ".3g"),
               ("cnn_us_per_site", "CNN us/site", ".3g")]
    publish("kpm", rows, columns, extra={"moments": args.moments, "distance": args.distance,
                                         "kT": model.kT})
    return 0


if __name__ == "__main__":
    sys.exit(main())
