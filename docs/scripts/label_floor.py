"""Is the learning loop's error floor on disordered textures the labels' finite-size error?
Frames of the loop's validation set (labelled at h = 0), 2 x 2 twist-averaged ED labels (what the loop trains
and validates on) against n x n twists (the converged torque), and the network against
both, relative rms per family.
    python docs/scripts/label_floor.py [--per-family 3] [--twists 4]
        [--loop out/learn_J0.5_mu-3.5_kT0.05] [--models MODEL ...]
Writes docs/results/label_floor.json (about 15 s of one core per frame at 4 x 4)."""
import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from distllg import spins as spinlib
from distllg.electrons import SDModel
from distllg.electrons.bloch import TwistAveragedSolver
from distllg.model import io as modelio
from distllg.training import data as datalib
from distllg.training import train as trainlib

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--per-family", type=int, default=3)
parser.add_argument("--twists", type=int, default=4)
parser.add_argument("--loop", default="out/learn_J0.5_mu-3.5_kT0.05")
parser.add_argument("--models", nargs="+",
                    default=["J0.5_mu-3.5_kT0.05",
                             "out/learn_J0.5_mu-3.5_kT0.05/round_005/member_0/model.npz"])
args = parser.parse_args()
torch.set_num_threads(1)
out = Path(__file__).resolve().parents[1] / "results" / "label_floor.json"

trajectories = datalib.read(Path(args.loop) / "validation.h5")["trajectories"]
names = sorted(trajectories)
physics = SDModel(J=0.5, mu=-3.5, kT=0.05)
solver = TwistAveragedSolver(physics, (args.twists, args.twists))
families = {}
for name in names:
    families.setdefault(name.rsplit("_", 1)[0], []).append(name)
result = {"twists": args.twists, "models": args.models, "families": {}}
networks = {m: modelio.load_model(m).double().eval() for m in args.models}
for family, members in sorted(families.items()):
    spins, labels, converged = [], [], []
    for name in members[:args.per_family]:
        frame = trajectories[name]["spins"][0]
        start = time.perf_counter()
        fields = solver.energy_and_fields(frame)[1]
        print(f"{name}: {time.perf_counter() - start:.1f} s", flush=True)
        spins.append(frame)
        labels.append(datalib.electronic_torques(frame[None], trajectories[name]["fields"][:1],
                                                 0.0)[0])
        converged.append(spinlib.cross(frame, fields))
    spins, labels, converged = map(np.array, (spins, labels, converged))

    def error(true, predicted):
        m = trainlib.metrics(true, predicted)
        return {"relative_rmse": m["relative_rmse"], "rmse": m["rmse"],
                "min_r2": min(m["r2"].values())}

    row = {"frames": len(spins), "torque_std": float(converged.std()),
           "labels_vs_converged": error(converged, labels)}
    for m, net in networks.items():
        predicted = trainlib.predict(net, spins)
        row[m] = {"vs_labels": error(labels, predicted),
                  "vs_converged": error(converged, predicted)}
    result["families"][family] = row
    print(family, json.dumps(row), flush=True)
out.write_text(json.dumps(result, indent=1) + "\n")
