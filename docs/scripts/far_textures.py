"""How much of a texture family's torque no model of receptive radius R can know: the spins
farther than R grid steps from a centre are replaced by those of another member of the
same family (an independent draw), the exact centre torque is recomputed, and
``floor(R) = sqrt(E|T - T'|^2 / 6) / std(T)`` (per component: half the mean squared change
of two independent draws) is the relative RMSE that a model seeing only the spins within R
cannot get below (exact for independent spins, as in the random family; for correlated
families the replacement ignores the near spins and redraws the family's parameters, so
it overestimates). R counts grid steps, max(|dx|, |dy|): a rhombus that contains the
symmetric networks' hexagon of the same radius. Compare
:func:`distllg.analysis.erf.far_spin_influences`, which moves the far spins by small noise
(linear response) instead.
    python docs/scripts/far_textures.py [--L 36] [--families random labyrinth quench crystal]
        [--frames 3] [--radii 7 11 15]
Plain ED of the L x L texture at J = 0.5, mu = -3.5, kT = 0.05; appends JSON lines to
docs/results/far_textures.jsonl, skipping (family, frame) pairs already there (about 4 s of
one core per ED at L = 36)."""
import argparse
import json
from pathlib import Path

import numpy as np

from distllg import spins as spinlib
from distllg.analysis.erf import grid_steps
from distllg.electrons import SDModel
from distllg.electrons.exact import ExactSolver
from distllg.training.textures import draw

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--L", type=int, default=36)
parser.add_argument("--families", nargs="+", default=["random", "labyrinth", "quench",
                                                       "crystal"])
parser.add_argument("--frames", type=int, default=3)
parser.add_argument("--radii", type=int, nargs="+", default=[7, 11, 15])
args = parser.parse_args()
out = Path(__file__).resolve().parents[1] / "results" / "far_textures.jsonl"
done = {(d["family"], d["frame"], d["L"]) for d in map(json.loads, out.read_text()
                                                       .splitlines())} if out.exists() else set()
solver = ExactSolver(SDModel(J=0.5, mu=-3.5, kT=0.05))
L = args.L
centre = (L // 2, L // 2)
steps = grid_steps((L, L))
for family in args.families:
    for frame in range(args.frames):
        if (family, frame, L) in done:
            continue
        spins = draw(family, L, L, 3000000 + frame)
        torques = spinlib.torques(spins, solver.energy_and_fields(spins)[1])
        base = torques[:, centre[0], centre[1]]
        spread = float(torques.std())
        changes = []
        for radius in args.radii:
            other = draw(family, L, L, 3100000 + frame)
            moved = np.where(steps[None] > radius, other, spins)
            moved_torque = spinlib.torques(moved, solver.energy_and_fields(moved)[1])
            changes.append(float(np.sum((moved_torque[:, centre[0], centre[1]] - base) ** 2)))
        line = {"family": family, "frame": frame, "L": L, "J": 0.5, "mu": -3.5, "kT": 0.05,
                "radii": args.radii, "torque_std": spread,
                "squared_change": changes}
        print(json.dumps(line), flush=True)
        with out.open("a") as f:
            f.write(json.dumps(line) + "\n")

lines = [d for d in map(json.loads, out.read_text().splitlines()) if d["L"] == L]
for family in sorted({d["family"] for d in lines}):
    rows = [d for d in lines if d["family"] == family]
    # E|dT|^2 over frames (3 components summed) -> per component: / 3; floor: half of it
    mean = np.mean([d["squared_change"] for d in rows], axis=0) / 3.0
    spread2 = np.mean([d["torque_std"] ** 2 for d in rows])
    floors = np.sqrt(mean / 2.0 / spread2)
    print(f"{family} ({len(rows)} frames): " + ", ".join(
        f"R = {r}: {f:.3f}" for r, f in zip(rows[0]["radii"], floors, strict=True)))
