"""Crystal-stripe coexistence at fixed spin temperature (docs/physics.md "The kT = 0.1
models: no crystal at J = 1"): CNN-driven stochastic LLG (model J1_mu-3.35_kT0.1, bfloat16
convolutions, one rank) on 48 x 48 at mu = -3.35, kT = 0.1, h = 0, alpha = 1, dt = 0.2,
starting from the |Q| = 2 crystal (`spins.triple_q_cosine`, Q = -96 on the whole lattice)
in the grid columns x < 24 and the pi/3 planar spiral along x (stripes) in x >= 24
(Q = -48). For each spin temperature T (arguments): `steps` steps at T, then 1000 damped
steps at T = 0, which removes the thermal bubbles so that Q measures the crystal's share
(Q / -96 = the crystal's area fraction when one chirality is present). Writes runs to
out/front_L48/T<T>/ and .../T<T>_quenched/ and appends a JSON line per T to
out/front_L48/fronts.jsonl, and plots the crystal fraction against T from all its lines
(out/front_L48/crystal_fraction.png; with no temperatures it only redraws that). About
4.5 min per 10^4 steps on one core; the documented runs (two processes, one core each,
the second started a few seconds after the first: both write the same starting file):
    python docs/scripts/front_L48_mu3.35.py 20000 0.0058 0.0066
    python docs/scripts/front_L48_mu3.35.py 20000 0.0035 0.005 0.007
    python docs/scripts/front_L48_mu3.35.py 20000 0.0045 0.0062 0.008"""
import io
import json
import sys
from pathlib import Path

import matplotlib
import numpy as np
from mpi4py import MPI

from distllg import config as configlib
from distllg import spins as spinlib
from distllg.dynamics import observables as obs
from distllg.io import output as outputlib
from distllg.run import run

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (after choosing the backend)

L, OUT = 48, Path("out/front_L48")


def settings(directory: Path, spins_file: Path, T: float, steps: int) -> configlib.Config:
    return configlib.from_dict({
        "lattice": {"L": L},
        "hamiltonian": {"t3": -0.85, "J": 1.0, "mu": -3.35, "h": 0.0, "kT": 0.1},
        "engine": {"kind": "cnn", "model": "J1_mu-3.35_kT0.1", "precision": "bfloat16"},
        "dynamics": {"integrator": "midpoint", "dt": 0.2, "alpha": 1.0, "steps": steps,
                     "temperature": T, "anneal_steps": 0, "noise_seed": 1},
        "initial": {"state": "file", "file": str(spins_file)},
        "output": {"directory": str(directory), "every": 100, "log_every": 1000,
                   "checkpoint_every": 5000, "snapshots": 1}})


steps = int(sys.argv[1])
OUT.mkdir(parents=True, exist_ok=True)
start = OUT / "half_crystal_half_stripes.npy"
state = spinlib.triple_q_cosine(L, L)
state[:, :, L // 2:] = spinlib.spiral(L, L, (np.pi / 3, 0.0), axis="z")[:, :, L // 2:]
np.save(start, state)
for T in [float(a) for a in sys.argv[2:]]:
    held, quenched = OUT / f"T{T}", OUT / f"T{T}_quenched"
    run(settings(held, start, T, steps), stream=io.StringIO(), comm=MPI.COMM_SELF,
        overwrite=True)
    _, last = outputlib.read_frame(held / "output.h5")
    np.save(held / "final_spins.npy", last)
    run(settings(quenched, held / "final_spins.npy", 0.0, 1000), stream=io.StringIO(),
        comm=MPI.COMM_SELF, overwrite=True)
    _, final = outputlib.read_frame(quenched / "output.h5")
    line = {"T": T, "steps": steps, "Q_start": round(obs.skyrmion_number(state)),
            "Q_end_of_hold": round(obs.skyrmion_number(last)),
            "Q_quenched": round(obs.skyrmion_number(final)),
            "crystal_fraction": round(obs.skyrmion_number(final) / -96.0, 3)}
    print(line, flush=True)
    with (OUT / "fronts.jsonl").open("a") as f:
        f.write(json.dumps(line) + "\n")

rows = [json.loads(text) for text in (OUT / "fronts.jsonl").read_text().splitlines()]
fig, ax = plt.subplots(figsize=(5.5, 3.6))
for n in sorted({r["steps"] for r in rows}):
    done = sorted((r["T"], r["crystal_fraction"]) for r in rows if r["steps"] == n)
    ax.plot(*zip(*done, strict=True), "o-",
            label=f"{n} steps at T (t = {0.2 * n:.0f}), then 1000 at T = 0")
ax.axhline(0.5, color="gray", lw=0.8, ls="--", label="start: half crystal, half stripes")
ax.set_xlabel("spin temperature T (t1)")
ax.set_ylabel("crystal area fraction (Q / -96)")
ax.set_title("48 x 48, mu = -3.35, model J1_mu-3.35_kT0.1", fontsize=10)
ax.legend(fontsize=7)
fig.tight_layout()
fig.savefig(OUT / "crystal_fraction.png", dpi=120)
