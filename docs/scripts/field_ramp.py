"""The field-driven transition of a run with a Zeeman ramp (``[dynamics] field_steps`` and
``field_values``): skyrmions per magnetic cell |Q| / cells and the magnetisation against h,
the rising and the falling branch apart, and the fields where |Q| / cells crosses 1.5
(n_sk = 2 -> 1) and 0.5 (1 -> 0) on each branch.
    python docs/scripts/field_ramp.py OUTPUT_DIRECTORY [--config CONFIG]
Writes field_ramp.png and field_ramp.json into OUTPUT_DIRECTORY (the config: the run's own,
from its output file, unless given)."""
import argparse
import json
from pathlib import Path

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from distllg import config as configlib  # noqa: E402
from distllg.dynamics.stepper import FieldRamp  # noqa: E402
from distllg.io import output as outputlib  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("directory")
parser.add_argument("--config")
args = parser.parse_args()
out = Path(args.directory)
if args.config:
    config = configlib.load(args.config)
else:
    with h5py.File(out / "output.h5", "r") as f:
        config = configlib.from_dict(json.loads(f.attrs["config"]))
dyn = config.dynamics
ramp = FieldRamp(dyn.field_steps, dyn.field_values)
series = outputlib.read_series(out / "output.h5")
Ly, Lx = config.lattice.shape
cells = Ly * Lx * 3 * (np.pi / 3) ** 2 / (16 * np.pi**2)  # magnetic cells of the pi/3 crystal
h = np.array([ramp.at(int(n)) for n in series["step"]]) + config.hamiltonian.h
per_cell = np.abs(series["skyrmion_number"]) / cells
m = series["magnetization"]
top = np.flatnonzero(h == h.max())  # the hold at the largest field
rising, falling = slice(0, top[0] + 1), slice(top[-1], None)


def crossing(branch: slice, level: float, downward: bool):
    """The first field of ``branch`` where |Q| / cells passes ``level``."""
    values, fields = per_cell[branch], h[branch]
    hit = np.flatnonzero(values < level if downward else values > level)
    return float(fields[hit[0]]) if len(hit) else None


thresholds = {"rising: 2 -> 1 (1.5)": crossing(rising, 1.5, True),
              "rising: 1 -> 0 (0.5)": crossing(rising, 0.5, True),
              "falling: 0 -> 1 (0.5)": crossing(falling, 0.5, False),
              "falling: 1 -> 2 (1.5)": crossing(falling, 1.5, False)}
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for branch, label, colour in ((rising, "h rising", "C0"), (falling, "h falling", "C3")):
    axes[0].plot(h[branch], per_cell[branch], ".-", color=colour, label=label, ms=3)
    axes[1].plot(h[branch], np.linalg.norm(m[branch], axis=1), ".-", color=colour, ms=3,
                 label=f"|m|, {label}")
    axes[1].plot(h[branch], m[branch, 2], ":", color=colour, label=f"m_z, {label}")
axes[0].set(xlabel="h (t1)", ylabel="|Q| per magnetic cell",
            title=f"{Ly} x {Lx}, T = {dyn.temperature:g}, seed {config.initial.seed}")
axes[1].set(xlabel="h (t1)", ylabel="magnetisation per site")
for ax in axes:
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
fig.tight_layout()
fig.savefig(out / "field_ramp.png", dpi=120)
result = {"lattice": [Ly, Lx], "cells": cells, "thresholds": thresholds,
          "h": h.tolist(), "per_cell": per_cell.tolist(),
          "magnetization": m.tolist(), "step": series["step"].tolist()}
(out / "field_ramp.json").write_text(json.dumps(result))
for name, value in thresholds.items():
    print(f"{name}: h = {value}")
print(f"wrote {out / 'field_ramp.png'} and {out / 'field_ramp.json'}")
