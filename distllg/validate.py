"""``python -m distllg.validate MODEL --engine kpm --L 96``: a CNN's torques against an
electronic solver on a lattice of your choice.

Spin states: ``--states`` snapshots of a CNN-driven relaxation from random spins (seed
``--seed``; the model's own dynamics, so the states are the textures the model meets in a
run: disordered at first, then |q| = pi/3 textures), taken evenly over ``--steps`` steps of
the run's default ``[dynamics]`` (integrator, dt, alpha of :class:`distllg.config.
DynamicsConfig`), the network in float64 on the CPU. The KPM defaults differ from the
run's on purpose: ``--moments 512`` (the run's 256), a reference resolved twice as finely;
``--probe-distance 12 --probe-sets 4`` (the run's exact traces, ``probe_distance = 0``,
cost 2 N probes, out of reach at L = 96). Reference torques ``S x H`` from
``--engine kpm`` (PETSc,
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

from distllg import engines
from distllg import spins as spinlib
from distllg.config import DynamicsConfig, EngineConfig
from distllg.dynamics.stepper import Stepper
from distllg.electrons import SDModel
from distllg.model import data as datalib
from distllg.model import io as modelio
from distllg.model.train import describe, metrics, parity_plot


def states(network: engines.Engine, count: int, steps: int, seed: int) -> list[np.ndarray]:
    """``count`` snapshots of an LLG relaxation from random spins driven by the ``network``
    engine (its lattice, its field ``h``), with the default ``[dynamics]``."""
    stepper = Stepper.for_dynamics(DynamicsConfig(), network.energy_and_fields,
                                   network.domain.shape)
    spins = spinlib.random(*network.domain.shape, np.random.default_rng(seed))
    out = [spins]
    every = max(steps // max(count - 1, 1), 1)
    while len(out) < count:
        spins, _ = stepper.run(spins, 0, every)
        out.append(spins)
    return out


def _parser() -> argparse.ArgumentParser:
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
    return parser


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    root = comm.Get_rank() == 0
    try:
        trained_for = SDModel(**modelio.read_metadata(args.model)["model"])
        network = engines.make(engines.serial(EngineConfig(kind="cnn", model=args.model)),
                               dataclasses.replace(trained_for, h=args.h), (args.L, args.L),
                               key="MODEL")
        parameters = dataclasses.replace(trained_for, h=args.h)
        if args.kT is not None:
            parameters = dataclasses.replace(parameters, kT=args.kT)
        if args.engine == "exact" and (comm.Get_size() > 1 or args.L > 36):
            raise ValueError("--engine exact runs on one rank and L <= 36")
        reference = engines.make(EngineConfig(kind=args.engine, moments=args.moments,
                                              probe_distance=args.probe_distance,
                                              probe_sets=args.probe_sets),
                                 parameters, (args.L, args.L), comm)
    except ValueError as error:
        if root:
            print(f"error: {error}", file=sys.stderr)
        return 2
    snapshots = states(network, args.states, args.steps, args.seed)  # the same on all ranks
    tile = (slice(None),) + reference.domain.tile.slices
    start = time.perf_counter()
    true, predicted = [], []
    for index, spins in enumerate(snapshots):
        _, fields = reference.energy_and_fields(spins[tile])
        true.append(datalib.electronic_torques(spins[tile], fields, args.h))
        _, cnn_fields = network.energy_and_fields(spins)  # the electronic field plus h z
        predicted.append(datalib.electronic_torques(spins, cnn_fields, args.h)[tile])
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
