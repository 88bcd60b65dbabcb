"""A CNN's torques against an electronic solver (KPM or ED) on states of the CNN's own
relaxation: the check behind ``distllg validate`` (options: :mod:`distllg.cli.validate`)."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch

from distllg import engines
from distllg import spins as spinlib
from distllg.config import DynamicsConfig, EngineConfig
from distllg.dynamics.llg import host
from distllg.dynamics.stepper import Stepper
from distllg.electrons import SDModel
from distllg.model import io as modelio
from distllg.training import data as datalib
from distllg.training.train import describe, metrics, parity_plot


def states(network: engines.Engine, count: int, steps: int, seed: int) -> list[np.ndarray]:
    """``count`` snapshots of an LLG relaxation from random spins driven by the ``network``
    engine (its lattice, its field ``h``), with the default ``[dynamics]``."""
    stepper = Stepper.for_dynamics(DynamicsConfig(), network.fields, network.domain.shape)
    spins = torch.from_numpy(spinlib.random(*network.domain.shape,
                                            np.random.default_rng(seed))).to(network.spins_device)
    out = [host(spins)]
    every = max(steps // max(count - 1, 1), 1)
    while len(out) < count:
        spins, _ = stepper.run(spins, 0, every)
        out.append(host(spins))
    return out



@dataclasses.dataclass(frozen=True)
class Settings:
    """What ``distllg validate`` compares: the model, the reference engine and its accuracy,
    the states, the Zeeman field ``h`` and electron temperature ``kT`` (t1; None: the
    model's), and the output folder."""

    model: str
    engine: str = "kpm"
    L: int = 96
    states: int = 3
    steps: int = 200
    seed: int = 0
    moments: int = 512
    probe_distance: int = 12
    probe_sets: int = 4
    kT: float | None = None
    h: float = 0.0
    out: str = "out/validate"


def engines_for(settings: Settings, comm):
    """``(network, reference, parameters)``: the CNN engine that makes the states (float64,
    CPU, whole lattice), the reference engine on ``comm`` and its s-d parameters. Raises
    ValueError for a bad model file or an impossible reference."""
    trained_for = SDModel(**modelio.read_metadata(settings.model)["model"])
    parameters = dataclasses.replace(trained_for, h=settings.h)
    network = engines.make(engines.serial(EngineConfig(kind="cnn", model=settings.model)),
                           parameters, (settings.L, settings.L), key="MODEL")
    if settings.kT is not None:
        parameters = dataclasses.replace(parameters, kT=settings.kT)
    if settings.engine == "exact" and (comm.Get_size() > 1 or settings.L > 36):
        raise ValueError("--engine exact runs on one rank and L <= 36")
    reference = engines.make(EngineConfig(kind=settings.engine, moments=settings.moments,
                                          probe_distance=settings.probe_distance,
                                          probe_sets=settings.probe_sets),
                             parameters, (settings.L, settings.L), comm)
    return network, reference, parameters


def validate(settings: Settings, network, reference, parameters, comm) -> dict | None:
    """Compare on every rank (the reference may be distributed); rank 0 writes
    ``validate.json`` and ``parity.png`` and returns the result, the others None."""
    root = comm.Get_rank() == 0
    snapshots = states(network, settings.states, settings.steps, settings.seed)
    tile = (slice(None),) + reference.domain.tile.slices
    start = time.perf_counter()
    true, predicted = [], []
    for index, spins in enumerate(snapshots):
        _, fields = reference.energy_and_fields(spins[tile])
        true.append(datalib.electronic_torques(spins[tile], fields, settings.h))
        _, cnn_fields = network.energy_and_fields(spins)  # the electronic field plus h z
        predicted.append(datalib.electronic_torques(spins, cnn_fields, settings.h)[tile])
        if root:  # the reference can take many minutes per state (KPM at L = 96: 18 min)
            print(f"state {index + 1}/{len(snapshots)}: reference done "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)
    true = np.concatenate(comm.allgather(np.stack(true).reshape(len(snapshots), 3, -1)), -1)
    predicted = np.concatenate(comm.allgather(np.stack(predicted).reshape(
        len(snapshots), 3, -1)), -1)
    if not root:
        return None
    result = {"model": settings.model, "engine": settings.engine, "L": settings.L,
              "kT": parameters.kT, "h": settings.h, "moments": settings.moments,
              "probe_distance": settings.probe_distance, "probe_sets": settings.probe_sets,
              "states": settings.states,
              "reference_seconds": time.perf_counter() - start, "ranks": comm.Get_size(),
              **metrics(true[..., None], predicted[..., None])}
    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "validate.json").write_text(json.dumps(result, indent=2) + "\n")
    parity_plot(true, predicted, out / "parity.png", f"{settings.model} vs {settings.engine}, "
                f"L = {settings.L}: relative RMSE {result['relative_rmse']:.3f}")
    print(f"{settings.model} against {settings.engine} at L = {settings.L} "
          f"({settings.states} states): {describe(result)}; wrote {out}")
    return result
