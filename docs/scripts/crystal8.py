"""ED at L = 24, kT = 0.1, field h: relax the triple-Q crystal of |q| = 0.907 (3 b1 / 24 and its
120-degree rotations: 9 skyrmions, spacing 8) with m along +z; print E/N, Q, m_z.
    python docs/scripts/crystal8.py 0.02"""
import json, sys, time
import numpy as np
from distllg.electrons import SDModel
from distllg.electrons.exact import ExactSolver
from distllg.dynamics import llg, observables as obs
from distllg import lattice, spins as spinlib
L, h = 24, float(sys.argv[1])
r = lattice.positions(L, L)
q = 2 * np.pi * 3 / L * 2 / np.sqrt(3)  # |3 b1 / 24|
s = np.zeros((3, L, L))
for angle in np.array([0.0, 2.0, 4.0]) * np.pi / 3 - np.pi / 6:  # b1 points at -30 degrees
    e = np.array([np.cos(angle), np.sin(angle)])
    qr = q * np.tensordot(e, r, axes=(0, 0))
    s[0] += e[0] * np.sin(qr); s[1] += e[1] * np.sin(qr); s[2] += np.cos(qr)
s = spinlib.normalize(s)
if s[2].mean() < 0:
    s = -s
solver = ExactSolver(SDModel(t3=-0.85, J=1.0, mu=-3.5, kT=0.1, h=h))
print("start", obs.energy_per_site(solver.energy(s), s), obs.skyrmion_number(s), s[2].mean(), flush=True)
last, t0 = None, time.time()
for step in range(800):
    s, _ = llg.midpoint_step(s, solver.energy_and_fields, 0.2, 1.0)
    if step % 20 == 19:
        e = obs.energy_per_site(solver.energy(s), s)
        print(step + 1, f"{e:.7f}", f"Q {obs.skyrmion_number(s):+.2f}", f"mz {s[2].mean():.4f}", flush=True)
        if last is not None and abs(last - e) < 5e-7:
            break
        last = e
np.save(f"out/crystal8_h{h}.npy", s)
with open("out/field_crystals.jsonl", "a") as f:
    f.write(json.dumps({"h": h, "state": "crystal8", "E": e, "Q": obs.skyrmion_number(s), "m": obs.magnetization(s).tolist(), "steps": step + 1, "seconds": time.time() - t0}) + "\n")
