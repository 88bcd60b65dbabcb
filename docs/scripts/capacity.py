"""Does the crystal-point network under-fit, or lack data? The learning loop's round-5
member 0 (72 channels) trained on for the same epochs at its own width and, grown, at wider
widths, on the same labels (the loop's rounds 1-5); each is tested on round 6's labels
(explored and labelled, never trained on) and on the validation set by family.
``--families N`` adds an arm at 72 channels whose labels also hold N fresh draws of every
texture family of the validation set (seeds from 2000000, 2 x 2 twisted ED, labelled into
out/capacity/families.h5 first: about 3.7 s of one core a frame).
    python docs/scripts/capacity.py [--widths 72 144] [--families 20]
        [--loop out/learn_J0.5_mu-3.5_kT0.05]
Writes out/capacity/capacity.json (resumable: a trained arm is skipped)."""
import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch

from distllg import config as configlib
from distllg.model import io as modelio
from distllg.training import data as datalib
from distllg.training import train as trainlib
from distllg.training import validation

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--widths", type=int, nargs="+", default=[72, 144])
parser.add_argument("--loop", default="out/learn_J0.5_mu-3.5_kT0.05")
parser.add_argument("--config", default="configs/learn.toml")
parser.add_argument("--out", default="out/capacity")
parser.add_argument("--families", type=int, default=0,
                    help="fresh draws per texture family for the families arm (0: no arm)")
parser.add_argument("--threads", type=int, default=2, help="torch threads of the training")
parser.add_argument("--label-only", action="store_true",
                    help="label the families arm's draws and stop")
args = parser.parse_args()
loop, out = Path(args.loop), Path(args.out)
config = configlib.load(args.config)
data = tuple(str(loop / f"round_{n:03d}" / "labels.h5") for n in range(1, 6))
start = str(loop / "round_005" / "member_0" / "model.npz")


def families(path: Path) -> dict:
    """Frames and true electronic torques of a labels file, grouped by family/kind."""
    trajectories = datalib.read(path)["trajectories"]
    names = sorted(trajectories)
    spins = np.concatenate([trajectories[n]["spins"] for n in names])
    fields = np.concatenate([trajectories[n]["fields"] for n in names])
    return names, spins, datalib.electronic_torques(spins, fields, 0.0)


def test_sets() -> dict:
    sets = {}
    names, spins, true = families(loop / "validation.h5")
    for family in sorted({n.rsplit("_", 1)[0] for n in names}):
        rows = [i for i, n in enumerate(names) if n.rsplit("_", 1)[0] == family]
        sets[f"validation {family}"] = (spins[rows], true[rows])
    sets["validation all"] = (spins, true)
    names, spins, true = families(loop / "round_006" / "labels.h5")
    kinds = np.load(loop / "round_006" / "explore.npz")["kinds"]
    frame_kinds = np.array([kinds[int(n.split("_")[1])] for n in names])
    for kind in sorted(set(frame_kinds.tolist())):
        rows = np.flatnonzero(frame_kinds == kind)
        sets[f"round 6 {kind}"] = (spins[rows], true[rows])
    return sets


def assess(model_path: str, sets: dict) -> dict:
    model = modelio.load_model(model_path).double().eval()
    result = {}
    for name, (spins, true) in sets.items():
        m = trainlib.metrics(true, trainlib.predict(model, spins))
        result[name] = {"relative_rmse": m["relative_rmse"], "rmse": m["rmse"],
                        "min_r2": min(m["r2"].values())}
    return result


arms = [(str(width), width, data) for width in args.widths]
if args.families:
    families_file = str(out / "families.h5")
    out.mkdir(parents=True, exist_ok=True)
    validation.build(validation.config_for(config, config.learning.L, families_file),
                     args.families, seed0=2000000)
    arms.append((f"72+families{args.families}", 72, data + (families_file,)))
    if args.label_only:
        raise SystemExit(0)
torch.set_num_threads(args.threads)
summary_path = out / "capacity.json"
summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
sets = test_sets()
if "start" not in summary:
    summary["start"] = {"weights": start, "tests": assess(start, sets)}
for key, width, arm_data in arms:
    if key in summary:
        continue
    folder = out / (f"channels_{width}" if key == str(width) else key)
    training = dataclasses.replace(
        config.training, data=arm_data, channels=width, grow=True, initial_model=start,
        model_file=str(folder / "model.npz"), directory=str(folder),
        validation_trajectories=60, validation=())
    begin = time.perf_counter()
    with open(folder.with_suffix(".log"), "a") as stream:
        report = trainlib.train(dataclasses.replace(config, training=training), stream=stream)
    summary[key] = {"seconds": time.perf_counter() - begin,
                    "weights": sum(p.numel() for p in
                                   modelio.load_model(str(folder / "model.npz")).parameters()),
                    "held_out": report["validation"], "tests": assess(str(folder / "model.npz"),
                                                                      sets)}
    summary_path.write_text(json.dumps(summary, indent=1))
summary_path.write_text(json.dumps(summary, indent=1))
rows = sorted({t for entry in summary.values() for t in entry["tests"]})
print("| test | " + " | ".join(summary) + " |")
print("|---|" + "---|" * len(summary))
for row in rows:
    print(f"| {row} | " + " | ".join(f"{e['tests'][row]['relative_rmse']:.3f}"
                                     for e in summary.values()) + " |")
