"""ED-LLG relaxation (alpha = 1, midpoint dt = 0.2) of the |Q| = 2 crystal ansatz
S ~ (cos Q1.r, cos Q2.r, cos Q3.r) on 24 x 24 at J = 1, kT = 0.1, h = 0 and the mu given
(docs/physics.md "Infinite-lattice energies and the phase tool"): how much relaxation lowers
the crystal, and whether it keeps |Q| = 24. Prints E/N, Q, |m| every 20 steps.
    python docs/scripts/relax_ohm.py -3.35 200"""
import sys, time
import numpy as np
from distllg import spins as spinlib
from distllg.dynamics import llg, observables as obs
from distllg.electrons import SDModel
from distllg.electrons.exact import ExactSolver

mu, steps = float(sys.argv[1]), int(sys.argv[2])
s = spinlib.triple_q_cosine(24, 24)
solver = ExactSolver(SDModel(t3=-0.85, J=1.0, mu=mu, kT=0.1))
t0 = time.time()
print(0, f"{obs.energy_per_site(solver.energy(s), s):.7f}", f"Q {obs.skyrmion_number(s):+.3f}",
      flush=True)
for step in range(1, steps + 1):
    s, _ = llg.midpoint_step(s, solver.energy_and_fields, 0.2, 1.0)
    if step % 20 == 0:
        print(step, f"{obs.energy_per_site(solver.energy(s), s):.7f}",
              f"Q {obs.skyrmion_number(s):+.3f}",
              f"|m| {np.linalg.norm(obs.magnetization(s)):.4f}", f"{time.time() - t0:.0f} s",
              flush=True)
