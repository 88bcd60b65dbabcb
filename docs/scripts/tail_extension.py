"""Can longer constant couplings carry what lies beyond the network's reach? The round-5
member 0 of the learning loop (reach 11 grid steps, constant tail couplings to hex
distance 10) grown to longer tails (cnn.grow: it computes the same torques), then only its
tail couplings refitted by linear least squares (the torque is linear in them) on exact
torques of 36 x 36 textures (2 x 2 twists, J = 0.5, mu = -3.5, kT = 0.05) of the random and
labyrinth families; tested on other textures of the same families, relative RMSE per
family, next to the families' locality floors (docs/scripts/far_textures.py).
    python docs/scripts/tail_extension.py [--frames 6] [--tails 10 13 16 20]
Labels are kept in out/tail_extension/labels.npz (resumable; about 17 s of one core each);
writes docs/results/tail_extension.json."""
import argparse
import json
from pathlib import Path

import numpy as np
import torch

from distllg import spins as spinlib
from distllg.electrons import SDModel
from distllg.electrons.bloch import TwistAveragedSolver
from distllg.model import cnn
from distllg.model import io as modelio
from distllg.training import train as trainlib
from distllg.training.textures import draw

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--frames", type=int, default=6, help="fit and test frames per family")
parser.add_argument("--tails", type=int, nargs="+", default=[10, 13, 16, 20])
parser.add_argument("--L", type=int, default=36)
parser.add_argument("--model", default="out/learn_J0.5_mu-3.5_kT0.05/round_005/member_0/model.npz")
args = parser.parse_args()
torch.set_num_threads(1)
families, L = ("random", "labyrinth"), args.L
cache = Path("out/tail_extension/labels.npz")
cache.parent.mkdir(parents=True, exist_ok=True)
stored = dict(np.load(cache)) if cache.is_file() else {}
solver = TwistAveragedSolver(SDModel(J=0.5, mu=-3.5, kT=0.05), (2, 2))
sets = {}
for family in families:
    for part, seed0 in (("fit", 4000000), ("test", 4100000)):
        spins, torques = [], []
        for k in range(args.frames):
            key = f"{family}_{part}_{k}_L{L}"
            frame = draw(family, L, L, seed0 + k)
            if key not in stored:
                stored[key] = spinlib.torques(frame, solver.energy_and_fields(frame)[1])
                np.savez(cache, **stored)
                print(f"labelled {key}", flush=True)
            spins.append(frame)
            torques.append(stored[key])
        sets[(family, part)] = (np.array(spins), np.array(torques))

old = modelio.load_model(args.model).double().eval()
result = {"model": args.model, "L": L, "frames": args.frames, "tails": {}}


def scores(model) -> dict:
    return {family: trainlib.metrics(sets[(family, "test")][1],
                                     trainlib.predict(model, sets[(family, "test")][0]))
            ["relative_rmse"] for family in families}


result["start"] = scores(old)
print("start", result["start"], flush=True)
for tail in args.tails:
    new = cnn.build({**old.architecture, "tail": tail}).double().eval()
    cnn.grow(old, new)
    couplings = new.tail_couplings
    with torch.no_grad():
        couplings.zero_()
        spins = np.concatenate([sets[(f, "fit")][0] for f in families])
        target = np.concatenate([sets[(f, "fit")][1] for f in families])
        base = trainlib.predict(new, spins)
        columns = []
        for row in range(2):
            for j in range(couplings.shape[1]):
                couplings.zero_()
                couplings[row, j] = 1.0
                columns.append((trainlib.predict(new, spins) - base).reshape(-1))
        solution, *_ = np.linalg.lstsq(np.stack(columns, axis=1),
                                       (target - base).reshape(-1), rcond=None)
        couplings.copy_(torch.from_numpy(solution.reshape(2, -1)))
    result["tails"][str(tail)] = {"couplings": int(couplings.numel()), "test": scores(new),
                                  "fit": {f: trainlib.metrics(sets[(f, "fit")][1],
                                          trainlib.predict(new, sets[(f, "fit")][0]))
                                          ["relative_rmse"] for f in families}}
    print(tail, json.dumps(result["tails"][str(tail)]), flush=True)
Path("docs/results/tail_extension.json").write_text(json.dumps(result, indent=1) + "\n")
