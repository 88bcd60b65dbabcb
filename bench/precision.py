"""Which precision the CNN should run in: torque error against float64 and time per spin.

In one run, one process, one thread, for each shipped model of ``--models``: the fields of a
``--L`` x ``--L`` lattice in float64, float32 and bfloat16 (bfloat16 convolutions, float32
elsewhere), on a random state and on the model's own relaxed-looking state (100 damped LLG
steps from random spins in float64, which gives the smooth textures the runs see), and the
relative error ``|H_p - H_64| / |H_64|`` of each. The time per spin of each precision at
``--time-L``. The model's own error is its held-out relative torque RMSE (model metadata).
The default precision (``auto``) is the fastest whose error is below a tenth of the model's
own error (docs/distributed.md).
Writes bench/results/precision.json and its table in docs/PERFORMANCE.md.

Usage: ``python bench/precision.py [--models J1_mu-3.5_kT0.1 J0.5_mu-3.5_kT0.05] [--L 96]
[--time-L 512]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import best_time, publish  # noqa: E402

from distllg import spins as spinlib  # noqa: E402
from distllg.dynamics import llg  # noqa: E402
from distllg.model import io as modelio  # noqa: E402
from distllg.model.provider import PeriodicCNNFields  # noqa: E402

PRECISIONS = ("float64", "float32", "bfloat16")


def relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def own_error(model) -> float:
    """The model's held-out relative torque RMSE from its metadata (nan if absent)."""
    return float(model.metadata.get("metrics", {}).get("relative_rmse", np.nan))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+",
                        default=["J1_mu-3.5_kT0.1", "J0.5_mu-3.5_kT0.05"])
    parser.add_argument("--L", type=int, default=96)
    parser.add_argument("--time-L", type=int, default=512)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for name in args.models:
        model = modelio.load_model(name)
        providers = {p: PeriodicCNNFields(modelio.load_model(name), dtype=getattr(torch, p))
                     for p in PRECISIONS}  # one copy each: the provider casts its model
        start = spinlib.random(args.L, args.L, np.random.default_rng(0))
        relaxed = start
        for _ in range(100):
            relaxed, _ = llg.midpoint_step(relaxed, providers["float64"].energy_and_fields,
                                           0.2, 1.0)
        big = spinlib.random(args.time_L, args.time_L, np.random.default_rng(1))
        for precision, provider in providers.items():
            row = {"model": name, "precision": precision, "own_error": own_error(model)}
            for label, state in (("random", start), ("relaxed", relaxed)):
                truth = providers["float64"].energy_and_fields(state)[1]
                row[f"error_{label}"] = relative(provider.energy_and_fields(state)[1], truth)
            seconds = best_time(lambda p=provider, x=big: p.energy_and_fields(x), 2)
            row["us_per_spin"] = 1e6 * seconds / args.time_L**2
            row["error_share"] = max(row["error_random"], row["error_relaxed"]) / row["own_error"]
            print(row, flush=True)
            rows.append(row)
    for row in rows:
        row["speed"] = next(r["us_per_spin"] for r in rows if r["model"] == row["model"]
                            and r["precision"] == "float64") / row["us_per_spin"]
    publish("precision", rows,
            [("model", "model", "s"), ("precision", "precision", "s"),
             ("error_random", "error (random)", ".2e"),
             ("error_relaxed", "error (relaxed)", ".2e"), ("own_error", "model's error", ".3f"),
             ("error_share", "error / model's", ".2e"), ("us_per_spin", "us / spin", ".3g"),
             ("speed", "speed vs float64", ".2f")],
            extra={"L": args.L, "time_L": args.time_L})
    return 0


if __name__ == "__main__":
    sys.exit(main())
