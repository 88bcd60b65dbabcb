"""ED (exact) at L = 24, kT = 0.1, fields h (arguments): ED-LLG relaxations (alpha = 1,
dt = 0.2, up to 600 steps) of the pi/3 triple-Q crystal (m along +z), of the zero-field
|Q| = 2 crystal and of the pi/3 spiral canted towards the field (J = 1). The |Q| = 2
crystal is the last frame of an ED run
that relaxed the tiled 12 x 12 crystal on 24 x 24 (OZAWA below, not in the repository: make
it with configs/default_exact.toml at kT = 0.1, tile 2 x 2, relax with the exact engine).
Appends a JSON line per (h, state) to out/field_crystals.jsonl; skips finished ones.
    python docs/scripts/field_crystals.py 0.02"""
import json, sys, time
from pathlib import Path
import numpy as np, h5py
from distllg.electrons import SDModel
from distllg.electrons.exact import ExactSolver
from distllg.dynamics import llg, observables as obs
from distllg import spins as spinlib

out = Path("out/field_crystals.jsonl")
done = {(d["h"], d["state"]) for d in map(json.loads, out.read_text().splitlines())} if out.exists() else set()
OZAWA = "out/exp/s10/l24_kT0.1_ozawa/output.h5"
with h5py.File(OZAWA, "r") as f:
    frames = f["tasks/spins"][:]
ozawa = frames[[i for i in range(len(frames)) if np.abs(frames[i]).sum() > 0][-1]]
tripleq = spinlib.triple_q(24, 24)
if obs.magnetization(tripleq)[2] < 0:
    tripleq = -tripleq
spiral = spinlib.spiral(24, 24, (np.pi / 3, 0.0), axis="z")
states = {"tripleq": tripleq, "ozawa": ozawa, "spiral": spiral}
for h in [float(a) for a in sys.argv[1:]]:
    model = SDModel(t1=1.0, t2=0.0, t3=-0.85, J=1.0, mu=-3.5, h=h, kT=0.1)
    solver = ExactSolver(model)
    for name, s0 in states.items():
        if (h, name) in done:
            continue
        s, t0, last = s0.copy(), time.time(), None
        if name == "spiral":  # cant it a little towards the field
            s = spinlib.normalize(s + np.array([0, 0, 0.05])[:, None, None])
        for step in range(600):
            s, _ = llg.midpoint_step(s, solver.energy_and_fields, 0.2, 1.0)
            if step % 20 == 19:
                e = obs.energy_per_site(solver.energy(s), s)
                print(h, name, step + 1, f"{e:.7f}", f"Q {obs.skyrmion_number(s):+.2f}", f"mz {obs.magnetization(s)[2]:.4f}", flush=True)
                if last is not None and abs(last - e) < 1e-6:
                    break
                last = e
        np.save(f"out/{name}_h{h}.npy", s)
        row = {"h": h, "state": name, "E": e, "Q": obs.skyrmion_number(s), "m": obs.magnetization(s).tolist(), "steps": step + 1, "seconds": time.time() - t0}
        with out.open("a") as f:
            f.write(json.dumps(row) + "\n")
