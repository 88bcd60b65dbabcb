"""Thermodynamic-limit scan of the filling (session 12, docs/physics.md "On the infinite
lattice"): at J = 1, h = 0 and electron temperature kT (first argument), for each chemical
potential mu (further arguments): the best planar spiral over |q| along the bond direction
and along b1 (k-space blocks, 1200 x 1200 k-points), and the two pi/3 crystals on a 12 x 12
supercell with 12 x 12 twists: the Ozawa-Hayami-Motome state S ~ (cos Q1.r, cos Q2.r,
cos Q3.r) (|Q| = 2 per magnetic cell) and the helix triple-Q ansatz of scan.py at (a, m)
= (1.1, -0.22) (|Q| = 1). Appends JSON lines to out/bloch_mu.jsonl.
    python docs/scripts/bloch_mu.py 0.02 -3.2 -3.35 -3.5 -3.65 -3.8"""
import json, sys
from pathlib import Path
import numpy as np
from scipy.optimize import minimize_scalar
from distllg import lattice, spins as spinlib
from distllg.dynamics import observables as obs
from distllg.electrons import SDModel
from distllg.electrons.bloch import TwistAveragedSolver, cone_energy_per_site

kT = float(sys.argv[1])
r = lattice.positions(12, 12)
waves, helix_inplane, helix_along = [], np.zeros((3, 12, 12)), np.zeros((12, 12))
for angle in np.array([0.0, 2.0, 4.0]) * np.pi / 3:
    e = np.array([np.cos(angle), np.sin(angle)])
    qr = np.pi / 3 * np.tensordot(e, r, axes=(0, 0))
    waves.append(qr)
    helix_inplane[0] += e[0] * np.sin(qr); helix_inplane[1] += e[1] * np.sin(qr)
    helix_along += np.cos(qr)
crystals = {"OHM crystal pi/3": spinlib.normalize(np.stack([np.cos(w) for w in waves])),
            "helix crystal pi/3": spinlib.normalize(np.concatenate(
                [1.1 * helix_inplane[:2], (helix_along - 0.22)[None]]))}
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
