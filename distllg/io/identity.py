"""The identity of a run: the hash of what decides its trajectory.

``run_hash`` is written into a run's output file and checkpoints; a restart continues only
from files that carry the run's own hash (:mod:`distllg.io.restart`). It is a pure function
of the config and of what the engine resolved when it was built (:class:`EngineIdentity`:
its arithmetic, its device, its network's weights); nothing here probes the machine, so
every rank and every later leg that builds the same engine computes the same hash.

Compatibility rules. Each change to what is hashed kept the hash of the runs whose
trajectory it did not change, so that their checkpoints still continue. All of them live in
:func:`physics_hash`, applied in this order:

==========  ==============================================================================
since       rule
==========  ==============================================================================
2026-11-24  hashed: [lattice], [hamiltonian], [engine], [dynamics], [initial] as JSON with
            sorted keys; SHA-256, the first 16 hex digits
2026-11-24  ``dynamics.steps`` is left out: a longer run continues the same trajectory
2026-11-24  of [engine] only ``kind`` (and the rules below): the device, process grid, halo
            place and model file name change round-off at most; the network enters by its
            weights, hashed with the physics hash into the run hash (:func:`run_hash`)
2026-11-25  ``kind = "cnn"``: ``precision`` unless float64 (hashed as before it existed)
2026-11-25  ``kind = "kpm"``: ``moments``, ``probe_distance``, ``probe_sets``
2026-11-29  ``temperature``, ``anneal_steps``, ``noise_seed`` only at temperature > 0
            (deterministic runs hash as before the noise existed)
2026-12-03  ``kind = "exact"``: ``twists`` unless 1
2026-12-03  ``kind = "kpm"`` at kT > 0: ``"series": "plain"`` (Jackson-damped before)
2026-12-03  ``kind = "cnn"``: ``auto`` hashes as the precision it resolves to on the
            engine's device (:attr:`EngineIdentity.precision`)
2026-12-04  [hamiltonian] is hashed under its former name ``model``
==========  ==============================================================================

A new rule keeps the hashes of today's configs (tests/test_identity.py pins them) and gets a
line here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from distllg.config import Config

#: The sections of a config that decide the trajectory.
SECTIONS = ("lattice", "hamiltonian", "engine", "dynamics", "initial")
#: What an engine computes in once ``auto`` is resolved.
RESOLVED_PRECISIONS = ("float64", "float32", "bfloat16")


@dataclasses.dataclass(frozen=True)
class EngineIdentity:
    """What an engine resolved when it was built (:attr:`distllg.engines.Engine.identity`).

    ``precision``: the arithmetic it computes in, ``float64``, ``float32`` or ``bfloat16``
    (float32 with bfloat16 convolutions), never ``auto``; ``device``: the type of device it
    computes on, ``cpu`` or ``cuda`` (not hashed: round-off only); ``weights_sha256``: its
    network's weights checksum, "" for the electronic solvers."""

    precision: str = "float64"
    device: str = "cpu"
    weights_sha256: str = ""


def resolved(config: Config, engine: EngineIdentity | str) -> EngineIdentity:
    """``engine``: what the engine resolved, or only its weights checksum ("" for the
    electronic solvers) where ``config`` names the precision (anything but a network's
    ``auto``)."""
    if isinstance(engine, str):
        return EngineIdentity(precision=config.engine.precision, weights_sha256=engine)
    return engine


def physics_hash(config: Config, engine: EngineIdentity) -> str:
    """16 hex digits of what decides the trajectory of ``config`` on ``engine``, without the
    network's weights (the compatibility rules of this module's table)."""
    sections = config.as_dict()
    physics = {name: sections[name] for name in SECTIONS}
    physics["model"] = physics.pop("hamiltonian")
    kind = config.engine.kind
    physics["engine"] = {"kind": kind}
    if kind == "cnn":
        if engine.precision not in RESOLVED_PRECISIONS:
            raise ValueError(f"precision {engine.precision!r}: the hash needs the precision "
                             f"the engine resolved (float64, float32 or bfloat16)")
        if engine.precision != "float64":
            physics["engine"]["precision"] = engine.precision
    if kind == "exact" and config.engine.twists != 1:
        physics["engine"]["twists"] = config.engine.twists
    if kind == "kpm":
        physics["engine"].update(moments=config.engine.moments,
                                 probe_distance=config.engine.probe_distance,
                                 probe_sets=config.engine.probe_sets)
        if config.hamiltonian.kT > 0:
            physics["engine"]["series"] = "plain"
    physics["dynamics"].pop("steps")
    if config.dynamics.temperature == 0:
        for key in ("temperature", "anneal_steps", "noise_seed"):
            physics["dynamics"].pop(key)
    if not config.dynamics.field_steps:  # hashes of runs without a ramp stay as they were
        for key in ("field_steps", "field_values"):
            physics["dynamics"].pop(key)
    text = json.dumps(physics, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_hash(config: Config, engine: EngineIdentity | str) -> str:
    """16 hex digits of what decides the trajectory: :func:`physics_hash`, and for a network
    its weights. ``engine``: as for :func:`resolved`."""
    engine = resolved(config, engine)
    physics = physics_hash(config, engine)
    if not engine.weights_sha256:
        return physics
    return hashlib.sha256((physics + engine.weights_sha256).encode()).hexdigest()[:16]
