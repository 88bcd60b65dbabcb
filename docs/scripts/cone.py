"""ED at L = 24, kT = 0.1: the best uniform cone (spiral in the xy plane canted by theta towards
the field) for the commensurate |q| near the susceptibility peak, at given h.
    python docs/scripts/cone.py 0.0 0.01 0.02"""
import sys, numpy as np
from scipy.optimize import minimize_scalar
from distllg.electrons import SDModel
from distllg.electrons.exact import ExactSolver
from distllg import spins as spinlib
from distllg.dynamics import observables as obs
L = 24
for h in [float(a) for a in sys.argv[1:]]:
    solver = ExactSolver(SDModel(t3=-0.85, J=1.0, mu=-3.5, kT=0.1, h=h))
    # commensurate with 24 x 24: (pi/3, 0) = (4 b1 + 2 b2) / 24 and 3 b1 / 24 (|q| = 0.907),
    # b1 = 2 pi (1, -1/sqrt 3), b2 = 2 pi (0, 2/sqrt 3)
    for qc in [(np.pi / 3, 0.0), (2 * np.pi * 3 / L, -2 * np.pi * 3 / L / np.sqrt(3))]:
        q = np.hypot(*qc)
        planar = spinlib.spiral(L, L, qc, axis="z")
        assert np.abs(np.roll(planar, 1, axis=(1, 2)) - spinlib.spiral(L, L, qc)[..., [-1] + list(range(L - 1)), :][..., [-1] + list(range(L - 1))]).max() < 1e-12
        def energy(theta):
            s = np.concatenate([np.cos(theta) * planar[:2], np.full((1, L, L), np.sin(theta))])
            return obs.energy_per_site(solver.energy(s), s)
        # check periodicity of the planar spiral
        best = minimize_scalar(energy, bounds=(0.0, 1.2), method="bounded", options={"xatol": 1e-4})
        print(f"h {h} |q| {q:.4f} planar {energy(0.0):.6f} cone {best.fun:.6f} at sin(theta) = m_z {np.sin(best.x):.4f}", flush=True)
