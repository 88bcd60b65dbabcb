"""Time per LLG step: exact diagonalisation against the CNN, and the CNN's FLOP rate.

In one run, one thread, best of R:
  * ED: one semi-implicit midpoint step (2 exact field evaluations) at L = 12..36;
  * CNN: the same step with the shipped J1_mu-3.5_kT0.1 model (periodic mode, float64, the
    run's default precision; float32 and bfloat16 convolutions alongside, ``[engine] precision``)
    at L = 12..1024, with the time per spin;
  * the CNN's achieved FLOP rate (2 x multiply-adds of its convolutions per site) as a
    fraction of a same-run ``torch.matmul`` of two 1024 x 1024 matrices of the same dtype.
Target: CNN >= 1000x faster than ED at L = 36; CNN time per spin flat in L.
Writes bench/results/speedup.json, the table in docs/PERFORMANCE.md and
docs/img/speedup.png (log-log time per step against the number of spins).

Usage: ``python bench/speedup.py [--sizes ...] [--repeats 3] [--also MODEL]``; ``--also``
times a second model file (float64 step) in the same run, for choosing between models.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, best_time, publish, size_arguments  # noqa: E402

from distllg import spins as spinlib  # noqa: E402
from distllg.analysis import plots  # noqa: E402
from distllg.dynamics import llg  # noqa: E402
from distllg.electrons import SDModel  # noqa: E402
from distllg.electrons.exact import ExactSolver  # noqa: E402
from distllg.model import io as modelio  # noqa: E402
from distllg.model.provider import PeriodicCNNFields  # noqa: E402
from distllg.parallel import device as devicelib  # noqa: E402

ED_LIMIT = 36


def flops_per_site(model) -> float:
    """Floating-point operations of one CNN evaluation per lattice site (2 per MAC)."""
    return float(sum(2 * conv.weight.numel() for conv in model.convs))


def matmul_rate(dtype) -> float:
    a = torch.randn(1024, 1024, dtype=dtype)
    b = torch.randn(1024, 1024, dtype=dtype)
    return 2 * 1024**3 / best_time(lambda: torch.matmul(a, b), 5)


def main(argv=None) -> int:
    args = size_arguments(
        __doc__, [12, 18, 24, 30, 36, 96, 256, 512, 1024], argv,
        lambda parser: parser.add_argument("--also", help="a second model file to time"))
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    precisions = {torch.float64: "cnn", torch.float32: "cnn32", torch.bfloat16: "cnnbf16"}
    models = {dtype: modelio.load_model("J1_mu-3.5_kT0.1") for dtype in precisions}
    variants = [(dtype, dtype, name) for dtype, name in precisions.items()]
    if args.also:
        models["also"] = modelio.load_model(args.also, dtype=torch.float64)
        variants.append(("also", torch.float64, "also"))
    per_site = flops_per_site(models[torch.float64])
    peak = {dtype: matmul_rate(dtype) for dtype in precisions}
    solver = ExactSolver(SDModel(**models[torch.float64].metadata["model"]))  # its parameters
    rows = []
    for L in args.sizes:
        s = spinlib.random(L, L, rng)
        row = {"L": L, "spins": L * L}
        for key, dtype, name in variants:
            provider = PeriodicCNNFields(models[key], dtype=dtype).energy_and_fields
            step = best_time(lambda p=provider, s=s: llg.midpoint_step(s, p, 0.2, 1.0),
                             args.repeats)
            row[f"{name}_step_s"] = step
            row[f"{name}_ns_per_spin"] = 1e9 * step / (L * L)
            eval_time = best_time(lambda p=provider, s=s: p(s), args.repeats)
            row[f"{name}_flop_fraction"] = (flops_per_site(models[key]) * L * L / eval_time
                                            / peak[dtype])
        row["ed_step_s"] = (best_time(lambda s=s: llg.midpoint_step(s, solver.energy_and_fields,
                                                                 0.2, 1.0), args.repeats)
                            if L <= ED_LIMIT else float("nan"))
        for name in precisions.values():
            row[name.replace("cnn", "speedup")] = row["ed_step_s"] / row[f"{name}_step_s"]
        if args.also:
            row["also_speedup"] = row["ed_step_s"] / row["also_step_s"]
        rows.append(row)
        print(row, flush=True)
    columns = [("L", "L", "d"), ("spins", "spins", "d"), ("ed_step_s", "ED s/step", ".3g"),
               ("cnn_step_s", "CNN s/step (f64)", ".3g"), ("speedup", "ED / CNN", ".0f"),
               ("cnn_ns_per_spin", "CNN ns/spin (f64)", ".0f"),
               ("cnn32_ns_per_spin", "CNN ns/spin (f32)", ".0f"),
               ("speedup32", "ED / CNN (f32)", ".0f"),
               ("cnnbf16_ns_per_spin", "CNN ns/spin (bf16 conv)", ".0f"),
               ("speedupbf16", "ED / CNN (bf16 conv)", ".0f"),
               ("cnn_flop_fraction", "CNN FLOP rate / matmul (f64)", ".2f"),
               ("cnn32_flop_fraction", "(f32)", ".2f"), ("cnnbf16_flop_fraction", "(bf16)", ".2f")]
    if args.also:
        columns += [("also_ns_per_spin", "--also ns/spin (f64)", ".0f"),
                    ("also_speedup", "ED / --also", ".0f")]
    publish("speedup", rows, columns, extra={
        "model_flops_per_site": per_site, "matmul_flops_per_s": {
            devicelib.dtype_name(dtype): rate for dtype, rate in peak.items()},
        "integrator": "midpoint (2 evaluations per step)", "threads": 1,
        "also": args.also and {"file": args.also,
                               "architecture": models["also"].metadata["architecture"]}})
    n = np.array([r["spins"] for r in rows], dtype=float)
    ed = np.array([r["ed_step_s"] for r in rows])
    plots.curves(n, {"ED": ed, "CNN float64": np.array([r["cnn_step_s"] for r in rows]),
                     "CNN float32": np.array([r["cnn32_step_s"] for r in rows]),
                     "CNN bfloat16 conv": np.array([r["cnnbf16_step_s"] for r in rows])},
                 ROOT / "docs" / "img" / "speedup.png", "spins N", "seconds per LLG step",
                 "time per midpoint step, one thread", logy=True, logx=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
