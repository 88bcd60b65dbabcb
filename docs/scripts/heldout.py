"""Torque accuracy of a model on datagen files it was not trained on (a test set), per
file: relative RMSE (RMSE / std of the true torques) and R^2 per component, with the network
in float64, float32 or bfloat16 convolutions (``[engine] precision``).
    python docs/scripts/heldout.py MODEL FILE [FILE ...] [--precision bfloat16]"""
import argparse

import numpy as np
import torch

from distllg.model import io as modelio
from distllg.training import data as datalib
from distllg.training import train

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("model")
parser.add_argument("files", nargs="+")
parser.add_argument("--precision", default="float64",
                    choices=("float64", "float32", "bfloat16"))
args = parser.parse_args()
torch.set_num_threads(1)
model = modelio.load_model(args.model)
if args.precision == "bfloat16":
    model = model.float().convolve_in(torch.bfloat16)
else:
    model = model.to(getattr(torch, args.precision))
everything = []
for path in args.files:
    data = datalib.read(path)
    if data["attrs"]["model"] != model.metadata["model"]:
        raise SystemExit(f"{path}: made for {data['attrs']['model']}, the model is for "
                         f"{model.metadata['model']}")
    h = data["attrs"]["model"]["h"]
    pairs = train.frames(data["trajectories"], sorted(data["trajectories"]), h)
    true = np.concatenate([t for _, t in pairs])
    predicted = np.concatenate([train.predict(model, s) for s, _ in pairs])
    everything.append((true, predicted))
    print(f"{path} ({len(pairs)} trajectories, {len(true)} frames, {args.precision}): "
          + train.describe(train.metrics(true, predicted)))
if len(args.files) > 1:
    true, predicted = (np.concatenate(a) for a in zip(*everything, strict=True))
    print("all: " + train.describe(train.metrics(true, predicted)))
