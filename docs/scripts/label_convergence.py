"""Finite-size error of the training labels: torques of a 24 x 24 frame from ED of the
frame itself (1 x 1 twist) and from n x n twists (ED of the frame tiled n x n), against
6 x 6 twists, relative rms. The frame: the relaxed n_sk = 2 crystal of the phase tool
(12 x 12 supercell, docs/results/crystal_J0.5_kT0.05_P12.npy from configs/phases.toml) tiled 2 x 2, with Gaussian noise
of width 0.3 per site. J = 0.5, mu = -3.5. Appends JSON lines to
docs/results/label_convergence.jsonl.
    python docs/scripts/label_convergence.py 0.1 0.05 0.02   (about 1.5 min per kT)"""
import json, sys
from pathlib import Path
import numpy as np
from distllg import spins as spinlib
from distllg.electrons import SDModel
from distllg.electrons.bloch import TwistAveragedSolver

out = Path(__file__).resolve().parents[1] / "results" / "label_convergence.jsonl"
cell = np.load(Path(__file__).resolve().parents[1] / "results" / "crystal_J0.5_kT0.05_P12.npy")
crystal = np.tile(cell, (1, 2, 2))
frame = spinlib.normalize(crystal + 0.3 * np.random.default_rng(0).standard_normal(crystal.shape))


def torques(model, twists):
    return spinlib.cross(frame, TwistAveragedSolver(model, (twists, twists))
                         .energy_and_fields(frame)[1])


for kT in [float(a) for a in sys.argv[1:]]:
    model = SDModel(J=0.5, mu=-3.5, kT=kT)
    reference = torques(model, 6)
    errors = {n: float(np.sqrt(np.mean((torques(model, n) - reference) ** 2)
                               / np.mean(reference ** 2))) for n in (1, 2, 3, 4)}
    line = {"J": 0.5, "mu": -3.5, "kT": kT, "L": 24, "relative_rms_error_by_twists": errors}
    print(json.dumps(line), flush=True)
    with out.open("a") as f:
        f.write(json.dumps(line) + "\n")
