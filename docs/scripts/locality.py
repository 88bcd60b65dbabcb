"""Locality of the exact torques: the share of the torque variance carried by the spins
beyond R grid steps (R = 5..15), by ED on L x L frames that are not tilings of smaller ones.

Frames (each with independent Gaussian noise of width 0.3 per site, renormalised): the
pi/3 triple-Q crystal S ~ (cos Q1.r, cos Q2.r, cos Q3.r), the pi/3 planar spiral, and
independent random spins. Far spins get noise of width 0.1 (three draws shared by the
radii, distllg.analysis.erf.far_spin_influences). Appends one JSON line per
(J, mu, kT, L, frame) to docs/results/locality.jsonl and skips those already there, then
plots the variance share against R (the largest over the frames, per kT) to
docs/img/locality_J<J>.png.
    python docs/scripts/locality.py L J mu kT [kT ...]
    python docs/scripts/locality.py 36 0.5 -3.5 0.1 0.02 0.05 0.01 0
(one ED of 36 x 36 takes about 10 s on one core; 19 per frame)"""
import json, sys, time
from pathlib import Path
import numpy as np
from distllg import spins as spinlib
from distllg.analysis import erf, plots
from distllg.electrons import SDModel
from distllg.electrons.exact import ExactSolver

RADII = [5, 7, 9, 11, 13, 15]
out = Path(__file__).resolve().parents[1] / "results" / "locality.jsonl"
L, J, mu = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
done = {(d["J"], d["mu"], d["kT"], d["L"], d["frame"])
        for d in map(json.loads, out.read_text().splitlines())} if out.exists() else set()
bases = {"crystal": spinlib.triple_q_cosine(L, L),
         "spiral": spinlib.spiral(L, L, (np.pi / 3, 0.0)),
         "random": spinlib.random(L, L, np.random.default_rng(7))}
for kT in [float(a) for a in sys.argv[4:]]:
    solver = ExactSolver(SDModel(J=J, mu=mu, kT=kT))
    for seed, (frame, base) in enumerate(bases.items()):
        if (J, mu, kT, L, frame) in done:
            continue
        rng = np.random.default_rng(seed)
        spins = spinlib.normalize(base + 0.3 * rng.standard_normal(base.shape))
        t0 = time.time()
        ratio = erf.far_spin_influences(solver, spins, (L // 2, L // 2), RADII, 0.1, 3, rng)
        line = {"J": J, "mu": mu, "kT": kT, "L": L, "frame": frame, "radii": RADII,
                "rms_ratio": ratio.tolist(), "variance_share": (ratio ** 2).tolist(),
                "seconds": round(time.time() - t0)}
        print(json.dumps(line), flush=True)
        with out.open("a") as f:
            f.write(json.dumps(line) + "\n")

lines = [d for d in map(json.loads, out.read_text().splitlines())
         if (d["J"], d["mu"], d["L"]) == (J, mu, L)]
series = {f"kT = {kT:g}": np.max([d["variance_share"] for d in lines if d["kT"] == kT], axis=0)
          for kT in sorted({d["kT"] for d in lines}, reverse=True)}
plots.curves(np.array(RADII), series, out.parents[1] / "img" / f"locality_J{J:g}.png",
             "R (grid steps)", "torque-variance share beyond R",
             f"ED {L} x {L}, J = {J:g}, mu = {mu:g} (largest of 3 frames)", logy=True)
