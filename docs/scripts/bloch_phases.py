"""Thermodynamic-limit energies (docs/physics.md "Infinite-lattice energies and the phase
tool"): the best planar spiral over continuous |q| (2 x 2 k-space blocks on a k x k grid)
against the best pi/3 triple-Q crystal ansatz (12 x 12 supercell, twist-averaged ED with
n x n twists, (a, m) minimised as in scan.py), at J = 1, mu = -3.5, h = 0, for the electron
temperatures given. Appends JSON lines to out/bloch_phases.jsonl.
    python docs/scripts/bloch_phases.py 0.1 0.05 0.02 0.01"""
import json, sys, time
from pathlib import Path
import numpy as np
from scipy.optimize import minimize, minimize_scalar
from distllg import lattice, spins as spinlib
from distllg.dynamics import observables as obs
from distllg.electrons import SDModel
from distllg.electrons.bloch import TwistAveragedSolver, cone_energy_per_site

out = Path("out/bloch_phases.jsonl")
out.parent.mkdir(exist_ok=True)
r = lattice.positions(12, 12)
inplane, along = np.zeros((3, 12, 12)), np.zeros((12, 12))
for angle in np.array([0.0, 2.0, 4.0]) * np.pi / 3:
    e = np.array([np.cos(angle), np.sin(angle)])
    qr = np.pi / 3 * np.tensordot(e, r, axes=(0, 0))
    inplane[0] += e[0] * np.sin(qr); inplane[1] += e[1] * np.sin(qr); along += np.cos(qr)


def crystal(p):
    s = spinlib.normalize(np.concatenate([p[0] * inplane[:2], (along + p[1])[None]]))
    return s if s[2].mean() >= 0 else -s


def write(line):
    print(line, flush=True)
    with out.open("a") as f:
        f.write(json.dumps(line) + "\n")


for kT in [float(a) for a in sys.argv[1:]]:
    model = SDModel(t3=-0.85, J=1.0, mu=-3.5, kT=kT)
    k = 1200 if kT < 0.03 else 600
    n = 30 if kT < 0.03 else 16          # twists: an effective 12 n x 12 n lattice
    for direction, unit in (("bond", (0.5, 0.25)), ("b1", (1.0, 0.0))):
        # |q| along the bond direction a1 or along b1 (-30 degrees), as grid fractions
        u = np.asarray(unit) / np.linalg.norm(lattice.k_cartesian(unit))
        t0 = time.time()
        best = minimize_scalar(lambda q: cone_energy_per_site(model, q * u, 0.0, k),
                               bounds=(0.6, 1.4), method="bounded", options={"xatol": 1e-4})
        check = cone_energy_per_site(model, best.x * u, 0.0, 3 * k // 2)
        write({"kT": kT, "state": f"spiral {direction}", "q": best.x, "E": best.fun,
               "E_finer_k": check, "k": k, "seconds": time.time() - t0})
    pi3 = cone_energy_per_site(model, np.array([1 / 6, 1 / 12]), 0.0, k)
    write({"kT": kT, "state": "spiral pi/3", "q": np.pi / 3, "E": pi3, "k": k})
    t0 = time.time()
    coarse = TwistAveragedSolver(model, (n // 2, n // 2))
    fit = minimize(lambda p: coarse.energy_per_site(crystal(p)), x0=[1.15, -0.25],
                   method="Nelder-Mead", options={"xatol": 1e-2, "fatol": 1e-6})
    s = crystal(fit.x)
    e_n = TwistAveragedSolver(model, (n, n)).energy_per_site(s)
    write({"kT": kT, "state": "crystal pi/3", "a": fit.x[0], "m": fit.x[1],
           "E_coarse": fit.fun, "E": e_n, "twists": n, "Q_per_cell": obs.skyrmion_number(s) / 3,
           "m_z": float(s[2].mean()), "seconds": time.time() - t0})
