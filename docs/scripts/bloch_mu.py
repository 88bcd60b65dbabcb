"""Thermodynamic-limit scan of the filling (docs/physics.md "Infinite-lattice energies and
the phase tool"): at J = 1, h = 0 and electron temperature kT (first argument), for each
chemical potential mu (further arguments): the best planar spiral over |q| along the bond
direction and along b1 (k-space blocks, 1200 x 1200 k-points), the ferromagnet, and crystals
on P x P supercells with 12 x 12 twists: the Ozawa-Hayami-Motome state
S ~ (cos Q1.r, cos Q2.r, cos Q3.r) (|Q| = 2 per magnetic cell) at |q| = 4 pi / P for P = 12
(pi/3) and P = 10 (2 pi / 5), and the helix triple-Q ansatz of scan.py at pi/3 with
(a, m) = (1.1, -0.22) (|Q| = 1). Appends JSON lines to out/bloch_mu.jsonl.
    python docs/scripts/bloch_mu.py 0.1 -3.5 -3.45 -3.4 -3.35 -3.3 -3.25 -3.2
    python docs/scripts/bloch_mu.py 0.02 -3.65 -3.5 -3.35 -3.2
    python docs/scripts/bloch_mu.py 0.01 -3.5
    python docs/scripts/bloch_mu.py 0.02 -3.45 -3.4 -3.3 -3.25
    python docs/scripts/bloch_mu.py 0.05 -3.4 -3.35 -3.3"""
import json, sys
from pathlib import Path
import numpy as np
from scipy.optimize import minimize_scalar
from distllg import lattice, spins as spinlib
from distllg.dynamics import observables as obs
from distllg.electrons import SDModel
from distllg.electrons.bloch import TwistAveragedSolver, cone_energy_per_site


def waves(P):
    """Q_v . r on a P x P supercell for the three bond-direction Q_v, |Q_v| = 4 pi / P."""
    r = lattice.positions(P, P)
    return [4 * np.pi / P * np.tensordot([np.cos(a), np.sin(a)], r, axes=(0, 0))
            for a in np.array([0.0, 2.0, 4.0]) * np.pi / 3]


def helix(a=1.1, m=-0.22):
    qr = waves(12)
    inplane = sum(np.stack([np.cos(t) * np.sin(w), np.sin(t) * np.sin(w)])
                  for t, w in zip(np.array([0.0, 2.0, 4.0]) * np.pi / 3, qr))
    return spinlib.normalize(np.concatenate([a * inplane, (sum(np.cos(w) for w in qr) + m)[None]]))


kT = float(sys.argv[1])
crystals = {"OHM crystal pi/3": spinlib.triple_q_cosine(12, 12),
            "OHM crystal 2pi/5": spinlib.triple_q_cosine(10, 10, 4 * np.pi / 10),
            "helix crystal pi/3": helix()}
out = Path("out/bloch_mu.jsonl")
out.parent.mkdir(exist_ok=True)
for mu in [float(a) for a in sys.argv[2:]]:
    model = SDModel(t3=-0.85, J=1.0, mu=mu, kT=kT)
    line = {"kT": kT, "mu": mu}
    for direction, unit in (("bond", (0.5, 0.25)), ("b1", (1.0, 0.0))):
        u = np.asarray(unit) / np.linalg.norm(lattice.k_cartesian(unit))
        best = minimize_scalar(lambda q: cone_energy_per_site(model, q * u, 0.0, 1200),
                               bounds=(0.3, 2.0), method="bounded", options={"xatol": 1e-4})
        line[f"spiral {direction}"] = (best.x, best.fun)
    line["spiral pi/3"] = cone_energy_per_site(model, np.array([1 / 6, 1 / 12]), 0.0, 1200)
    line["ferromagnet"] = cone_energy_per_site(model, np.zeros(2), np.pi / 2, 1200)
    solver = TwistAveragedSolver(model, (12, 12))
    for name, s in crystals.items():
        line[name] = (solver.energy_per_site(s), obs.skyrmion_number(s) / 3)
    print(line, flush=True)
    with out.open("a") as f:
        f.write(json.dumps(line) + "\n")
