"""Reference energies for the 12 x 12 annealing runs at mu = -3.35, J = 1, kT = 0.1, h = 0: the |Q| = 2 crystal
ansatz relaxed by ED-LLG for 300 steps, the best commensurate planar spiral, and the
thermodynamic-limit energy (twist-averaged ED, 12 x 12 twists) of the relaxed crystal and of
the final spins of the output files given. Saves the relaxed crystal to out/crystal12.npy
(the start of the T = 0.004 hold runs: initial.state = "file").
    python docs/scripts/l12_checks.py out/anneal_L12_slow_s1/output.h5"""
import sys
import numpy as np
from distllg import spins as spinlib
from distllg.dynamics import llg, observables as obs
from distllg.electrons import SDModel
from distllg.electrons.bloch import TwistAveragedSolver
from distllg.electrons.exact import ExactSolver
from distllg.io import output as outputlib

L = 12
model = SDModel(t3=-0.85, J=1.0, mu=-3.35, kT=0.1)
solver = ExactSolver(model)
crystal = spinlib.triple_q_cosine(L, L)
for _ in range(300):
    crystal, _ = llg.midpoint_step(crystal, solver.energy_and_fields, 0.2, 1.0)
np.save("out/crystal12.npy", crystal)
print(f"relaxed crystal: E/N {obs.energy_per_site(solver.energy(crystal), crystal):.6f}, "
      f"Q {obs.skyrmion_number(crystal):+.3f}")
y, x = np.mgrid[0:L, 0:L]
spirals = []
for m in range(L):
    for n in range(L):
        if (m, n) != (0, 0):
            phase = 2 * np.pi * (m * x + n * y) / L
            s = np.stack([np.cos(phase), np.sin(phase), 0 * phase])
            spirals.append((obs.energy_per_site(solver.energy(s), s), m, n))
print("best spiral: E/N {:.6f} at q = ({}, {}) / L".format(*min(spirals)))
infinite = TwistAveragedSolver(model, (12, 12))
states = {"relaxed crystal": crystal}
states.update({path: outputlib.read_frame(path)[1] for path in sys.argv[1:]})
for name, s in states.items():
    print(f"thermodynamic limit, {name}: E/N {infinite.energy_per_site(s):.6f}")
