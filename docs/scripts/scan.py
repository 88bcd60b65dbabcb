"""Variational ED scan for a parameter point where a skyrmion crystal beats the cone
(docs/physics.md). At L x L (default 24), kT = 0.1, for couplings J and fields
h = J^2 x f (the arguments f): the ferromagnet, the best uniform cone (planar spiral canted by
theta towards the field) and the best triple-Q crystal ansatz
S ~ normalise(a sum_v e_v sin(q_v.r) + z (sum_v cos(q_v.r) + m)) (a, m minimised), each at the
commensurate |q| = pi/3 and |q| = 0.907 of 24 x 24. Ansatz energies, not relaxed: relaxation
lowers the crystal by about 1e-4 (docs/physics.md). Appends one JSON line per (L, J, h, state)
to out/scan.jsonl and skips finished ones.
The table: docs/physics.md in git history, "Nor a larger J or a lower kT" (`git show
24a55a2:docs/physics.md`):
    python docs/scripts/scan.py --J 1 1.5 2 --f 0
    python docs/scripts/scan.py --J 1 --f 0 --kT 0.05"""
import argparse, json, time
from pathlib import Path
import numpy as np
from scipy.optimize import minimize, minimize_scalar
from distllg.electrons import SDModel
from distllg.electrons.exact import ExactSolver
from distllg import lattice, spins as spinlib
from distllg.dynamics import observables as obs

parser = argparse.ArgumentParser()
parser.add_argument("--L", type=int, default=24)
parser.add_argument("--J", type=float, nargs="+", default=[1.0])
parser.add_argument("--f", type=float, nargs="+", default=[0.0])
parser.add_argument("--kT", type=float, default=0.1)
args = parser.parse_args()
L = args.L
out = Path("out/scan.jsonl")
out.parent.mkdir(exist_ok=True)
done = ({(d["L"], d["J"], d["h"], d["kT"], d["state"]) for d in map(json.loads, out.read_text().splitlines())}
        if out.exists() else set())
r = lattice.positions(L, L)
# |q| = pi/3 along the bond directions, and 3 b1 / L (|q| = 0.907 at L = 24) at -30 degrees
WAVES = {"pi/3": (np.pi / 3, 0.0), "0.907": (2 * np.pi * 3 / 24 * 2 / np.sqrt(3), -np.pi / 6)}


def helices(q, angle0):
    inplane, along = np.zeros((3, L, L)), np.zeros((L, L))
    for angle in angle0 + np.array([0.0, 2.0, 4.0]) * np.pi / 3:
        e = np.array([np.cos(angle), np.sin(angle)])
        qr = q * np.tensordot(e, r, axes=(0, 0))
        inplane[0] += e[0] * np.sin(qr)
        inplane[1] += e[1] * np.sin(qr)
        along += np.cos(qr)
    return inplane, along


for J in args.J:
    for f in args.f:
        h = round(J * J * f, 6)
        solver = ExactSolver(SDModel(t3=-0.85, J=J, mu=-3.5, kT=args.kT, h=h))

        def energy(s):
            return obs.energy_per_site(solver.energy(s), s)

        def record(state, e, s, **extra):
            line = {"L": L, "J": J, "h": h, "kT": args.kT, "state": state, "E": e,
                    "Q": round(obs.skyrmion_number(s), 3), "m_z": float(s[2].mean()), **extra}
            with out.open("a") as fh:
                fh.write(json.dumps(line) + "\n")
            print(line, flush=True)

        if (L, J, h, args.kT, "ferromagnet") not in done:
            up = np.zeros((3, L, L)); up[2] = 1.0
            record("ferromagnet", energy(up), up)
        for name, (q, angle0) in WAVES.items():
            t0 = time.time()
            if (L, J, h, args.kT, f"cone {name}") not in done:
                planar = spinlib.spiral(L, L, (q * np.cos(angle0), q * np.sin(angle0)))

                def cone(theta):
                    return np.concatenate([np.cos(theta) * planar[:2],
                                           np.full((1, L, L), np.sin(theta))])

                best = minimize_scalar(lambda t: energy(cone(t)), bounds=(0.0, 1.5),
                                       method="bounded", options={"xatol": 1e-3})
                record(f"cone {name}", best.fun, cone(best.x), seconds=time.time() - t0)
            t0 = time.time()
            if (L, J, h, args.kT, f"crystal {name}") not in done:
                inplane, along = helices(q, angle0)

                def crystal(p):
                    s = spinlib.normalize(np.concatenate([p[0] * inplane[:2], (along + p[1])[None]]))
                    return s if s[2].mean() >= 0 else -s

                best = minimize(lambda p: energy(crystal(p)), x0=[1.0, 0.3 + 10 * f],
                                method="Nelder-Mead", options={"xatol": 1e-2, "fatol": 1e-5})
                record(f"crystal {name}", best.fun, crystal(best.x), a=best.x[0], m=best.x[1],
                       seconds=time.time() - t0)
