"""KPM against ED: the study behind ``distllg kpm-convergence``.

Two studies on random spins (the default s-d parameters):
* moments: L = 12 with exact traces (every site its own probe), relative field error
  ``|H_kpm - H_ed| / |H_ed|`` and energy error per site for M = 64 ... 2048 at kT = 0
  (Jackson damped), 0.05 and 0.1 (plain series);
* probing: L = 24, M = 128, kT = 0.1, probing distance d = 6, 8, 12 with one random-sign
  set, d = 12 with 4 sets, and exact traces (d = 24).
Writes ``kpm_convergence.json`` and ``kpm_convergence.png`` (both studies, log scales).
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np

from distllg import spins as spinlib
from distllg.electrons import SDModel
from distllg.electrons.exact import ExactSolver
from distllg.electrons.kpm import KPMSolver

#: kT = 0: Jackson-damped series; kT > 0: plain series.
TEMPERATURES = (0.0, 0.05, 0.1)


def errors(model: SDModel, spins: np.ndarray, moments: int, distance: int | None,
           sets: int = 0) -> dict:
    """Field and energy errors of one KPM evaluation against ED, and its wall time."""
    energy, fields = ExactSolver(model).energy_and_fields(spins)
    start = time.perf_counter()
    e, h = KPMSolver(model, spins.shape[1:], moments=moments, probe_distance=distance,
                     probe_sets=sets).energy_and_fields(spins)
    return {"moments": moments, "probe_distance": distance, "probe_sets": sets, "kT": model.kT,
            "L": spins.shape[1], "seconds": time.perf_counter() - start,
            "field_error": float(np.linalg.norm(h - fields) / np.linalg.norm(fields)),
            "energy_error_per_site": float(abs(e - energy) / spins[0].size)}


def study(out: Path) -> None:
    """Both studies; writes ``kpm_convergence.json`` and ``kpm_convergence.png`` to ``out``."""
    warnings.simplefilter("ignore", UserWarning)  # small M is the point of the study
    rng = np.random.default_rng(2)
    small, large = spinlib.random(12, 12, rng), spinlib.random(24, 24, rng)
    moments = [(kT, m, errors(SDModel(kT=kT), small, m, None)) for kT in TEMPERATURES
               for m in (64, 128, 192, 256, 384, 2048)]
    probing = [errors(SDModel(kT=0.1), large, 128, d, sets)
               for d, sets in ((6, 1), (8, 1), (12, 1), (12, 4), (24, 0))]
    rows = {"moments_L12_exact_traces": [r for _, _, r in moments], "probing_L24_M128": probing}
    for row in rows["moments_L12_exact_traces"] + probing:
        print(json.dumps(row), flush=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / "kpm_convergence.json").write_text(json.dumps(rows, indent=2) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for kT in TEMPERATURES:
        picked = [r for k, _, r in moments if k == kT]
        left.loglog([r["moments"] for r in picked], [r["field_error"] for r in picked], "o-",
                    label=f"fields, kT = {kT}")
        left.loglog([r["moments"] for r in picked],
                    [r["energy_error_per_site"] for r in picked], "s--",
                    label=f"E/N, kT = {kT}")
    left.axhline(1e-2, color="grey", lw=0.8)
    left.set(xlabel="Chebyshev moments M", ylabel="error against ED",
             title="L = 12, exact traces")
    left.legend(fontsize=8)
    labels = [f"d = {r['probe_distance']}\nS = {r['probe_sets']}" for r in probing]
    right.semilogy(labels, [r["field_error"] for r in probing], "o-", label="fields")
    right.semilogy(labels, [r["energy_error_per_site"] for r in probing], "s--", label="E/N")
    right.axhline(1e-2, color="grey", lw=0.8)
    right.set(xlabel="probing distance d, random-sign sets S (d = 24: exact traces)",
              ylabel="error against ED", title="L = 24, M = 128, kT = 0.1")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "kpm_convergence.png", dpi=110)
    print(f"wrote {out / 'kpm_convergence.png'}")
