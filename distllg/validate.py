"""``python -m distllg.validate MODEL --engine kpm --L 96``: a CNN's torques against an
electronic solver on a lattice of your choice.

Spin states: ``--states`` snapshots of a CNN-driven relaxation from random spins (seed
``--seed``; the model's own dynamics, so the states are the textures the model meets in a
run: disordered at first, then |q| = pi/3 textures), taken evenly over ``--steps`` midpoint
steps (dt = 0.2, alpha = 1). Reference torques ``S x H`` from ``--engine kpm`` (PETSc,
``--moments``, ``--probe-distance``, ``--probe-sets``; runs under mpirun too: rows split
over the ranks) or ``exact`` (ED, L <= 36), for the Hamiltonian parameters stored in the
model file (``--kT`` overrides the temperature: KPM converges at kT > 0, docs/physics.md).
``--h``: a Zeeman field for the relaxation and the reference (the model itself is the same
at every h: it predicts the electronic torque, :mod:`distllg.model.data`); the comparison
is of the electronic torques ``S x (H - h z)``. Prints torque RMSE, relative RMSE and R^2
per component, writes ``validate.json`` and ``parity.png`` to ``--out``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

from distllg import spins as spinlib
from distllg.dynamics import llg
from distllg.electrons import SDModel
from distllg.model import data as datalib
from distllg.model import io as modelio
from distllg.model.provider import PeriodicCNNFields
from distllg.model.train import describe, metrics, parity_plot


def states(model, L: int, count: int, steps: int, seed: int,
           h: float = 0.0) -> list[np.ndarray]:
    """``count`` snapshots of a CNN-LLG relaxation from random spins in the field ``h``."""
    fields = PeriodicCNNFields(model, h=h).energy_and_fields
    spins = spinlib.random(L, L, np.random.default_rng(seed))
    out = [spins]
    every = max(steps // max(count - 1, 1), 1)
    while len(out) < count:
        spins = llg.integrate(spins, fields, 0.2, 1.0, every, "midpoint")
        out.append(spins)
    return out


def reference_solver(engine: str, model: SDModel, L: int, moments: int, distance: int,
                     sets: int, comm):
    """``(energy_and_fields on this rank's tile, tile slices)`` of the reference engine."""
    if engine == "exact":
        from distllg.electrons.exact import ExactSolver

        return ExactSolver(model).energy_and_fields, (slice(None),) * 2
    from distllg.electrons.kpm import KPMSolver
    from distllg.parallel.decomposition import Decomposition

    deco = Decomposition(comm, (L, L), halo=1)
    tiles = [(t.y0, t.y1, t.x0, t.x1) for t in deco.tiles]
    solver = KPMSolver(model, (L, L), moments=moments, probe_distance=distance or None,
                       probe_sets=sets, comm=deco.cart, tiles=tiles)
    return solver.energy_and_fields, deco.tile.slices


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m distllg.validate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="model file or 'default'")
    parser.add_argument("--engine", choices=("kpm", "exact"), default="kpm")
    parser.add_argument("--L", type=int, default=96)
    parser.add_argument("--states", type=int, default=3)
    parser.add_argument("--steps", type=int, default=200, help="CNN-LLG steps spanned")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--moments", type=int, default=512)
    parser.add_argument("--probe-distance", type=int, default=12)
    parser.add_argument("--probe-sets", type=int, default=4,
                        help="random-sign probe sets averaged (0: plain probes)")
    parser.add_argument("--kT", type=float, default=None, help="electron temperature")
    parser.add_argument("--h", type=float, default=0.0, help="Zeeman field (t1, along z)")
    parser.add_argument("--out", default="out/validate")
    args = parser.parse_args(argv)
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    root = comm.Get_rank() == 0
    try:
        model = modelio.load_model(args.model)
        parameters = dataclasses.replace(SDModel(**model.metadata["model"]), h=args.h)
        if args.kT is not None:
            parameters = dataclasses.replace(parameters, kT=args.kT)
        if args.engine == "exact" and (comm.Get_size() > 1 or args.L > 36):
            raise ValueError("--engine exact runs on one rank and L <= 36")
        modelio.check_compatible(model.metadata, model.metadata["model"], (args.L, args.L),
                                 source=f"model {args.model!r}")
    except ValueError as error:
        if root:
            print(f"error: {error}", file=sys.stderr)
        return 2
    snapshots = states(model, args.L, args.states, args.steps, args.seed, args.h)  # all alike
    solve, tile = reference_solver(args.engine, parameters, args.L, args.moments,
                                   args.probe_distance, args.probe_sets, comm)
    start = time.perf_counter()
    true, predicted = [], []
    electronic = PeriodicCNNFields(model).energy_and_fields  # the model's own field, no h z
    for index, spins in enumerate(snapshots):
        local = spins[(slice(None),) + tile]
        _, fields = solve(local)
        true.append(datalib.electronic_torques(local, fields, args.h))
        predicted.append(datalib.torques(spins, electronic(spins)[1])[(slice(None),) + tile])
        if root:  # the reference can take many minutes per state (KPM at L = 96: 18 min)
            print(f"state {index + 1}/{len(snapshots)}: reference done "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)
    true = np.concatenate(comm.allgather(np.stack(true).reshape(len(snapshots), 3, -1)), -1)
    predicted = np.concatenate(comm.allgather(np.stack(predicted).reshape(
        len(snapshots), 3, -1)), -1)
    if not root:
        return 0
    result = {"model": args.model, "engine": args.engine, "L": args.L,
              "kT": parameters.kT, "h": args.h, "moments": args.moments,
              "probe_distance": args.probe_distance, "probe_sets": args.probe_sets,
              "states": args.states,
              "reference_seconds": time.perf_counter() - start, "ranks": comm.Get_size(),
              **metrics(true[..., None], predicted[..., None])}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "validate.json").write_text(json.dumps(result, indent=2) + "\n")
    parity_plot(true, predicted, out / "parity.png", f"{args.model} vs {args.engine}, L = "
                f"{args.L}: relative RMSE {result['relative_rmse']:.3f}")
    print(f"{args.model} against {args.engine} at L = {args.L} ({args.states} states): "
          f"{describe(result)}; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
