"""Exact (ED or KPM) LLG trajectories as CNN training data: the generator behind ``distllg
datagen`` (what it does, from the user's side: :mod:`distllg.cli.datagen`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import os
import pathlib
import platform
import signal
import sys
import time

import numpy as np
import torch

import distllg
from distllg import config as configlib
from distllg import engines, initial
from distllg import spins as spinlib
from distllg.dynamics.llg import host
from distllg.dynamics.stepper import Stepper
from distllg.parallel.collective import collectively
from distllg.training import data as datalib


def engine_name(config: configlib.Config) -> str:
    """Which fields the data holds: ``"exact"`` (ED), ``"exact twists=n"`` (twist-averaged
    ED) or the KPM settings."""
    engine = config.engine
    if engine.kind == "kpm":
        return (f"kpm moments={engine.moments} probe_distance={engine.probe_distance} "
                f"probe_sets={engine.probe_sets}")
    return "exact" if engine.twists == 1 else f"exact twists={engine.twists}"


def label_engine(config: configlib.Config, comm=None) -> engines.Engine:
    """The engine whose fields label the frames, on this process: ED (twist-averaged for
    ``engine.twists`` > 1; on the GPU that this process's node-local rank in ``comm`` picks,
    where ``engine.device`` asks for one), or KPM for ``engine.kind = "kpm"``."""
    if config.engine.kind == "cnn":
        raise configlib.ConfigError("'engine.kind' = \"cnn\": datagen labels frames with an "
                                    "electronic solver, \"exact\" or \"kpm\" (a network "
                                    "may drive the trajectories: 'data.propagate')")
    return engines.make(engines.serial(config.engine), config.hamiltonian,
                        config.lattice.shape, placement=comm)


def _identity_of(f) -> dict:
    """What a data file was made for: format, s-d parameters, lattice and labelling engine
    (files older than the engine attribute are plain ED)."""
    return {"format": f.attrs.get("format"), "model": f.attrs.get("model"),
            "lattice": list(f.attrs.get("lattice", [])),
            "engine": f.attrs.get("engine", "exact")}


def open_file(config: configlib.Config):
    """The data file, created with its provenance or checked against this config."""
    import h5py

    path = config.data.file
    identity = {"format": datalib.FORMAT, "model": json.dumps(config.hamiltonian.as_dict()),
                "lattice": list(config.lattice.shape), "engine": engine_name(config)}
    try:
        pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
        f = h5py.File(path, "a")
    except OSError as error:
        raise configlib.ConfigError(f"'data.file' = {path!r} cannot be opened: {error}") from None
    if "trajectories" not in f:
        for key, value in identity.items():
            f.attrs[key] = value
        f.attrs["config"] = json.dumps(config.as_dict())
        f.attrs["distllg_version"] = distllg.__version__
        f.attrs["numpy_version"] = np.__version__
        f.attrs["host"] = platform.node()
        f.attrs["created"] = datetime.datetime.now(datetime.timezone.utc).isoformat()
        f.create_group("trajectories")
        return f
    found = _identity_of(f)
    if found != identity:
        f.close()
        raise configlib.ConfigError(
            f"'data.file' = {path!r} holds data for other settings ({found}); this config "
            f"asks for {identity}. Choose another file; nothing was changed.")
    return f


class Progress:
    """A one-line progress bar with ETA on stderr (a new line per update when not a tty)."""

    def __init__(self, total: int, stream=sys.stderr):
        self.total, self.done, self.stream = total, 0, stream
        self.start = time.perf_counter()
        self.tty = stream.isatty()

    def update(self, done: int, label: str) -> None:
        self.done = done
        elapsed = time.perf_counter() - self.start
        fraction = done / self.total if self.total else 1.0
        eta = elapsed * (1 - fraction) / fraction if fraction > 0 else float("nan")
        bar = "#" * int(30 * fraction) + "." * (30 - int(30 * fraction))
        line = f"[{bar}] {100 * fraction:5.1f}%  {label}  elapsed {elapsed / 60:.1f} min  " \
               f"ETA {eta / 60:.1f} min"
        print(("\r" + line) if self.tty else line, end="" if self.tty else "\n",
              file=self.stream, flush=True)

    def close(self) -> None:
        if self.tty:
            print(file=self.stream)


def propagator(config: configlib.Config, labels: engines.Engine):
    """``(fields, name)`` that drives the trajectories (a field function of tensors,
    :mod:`distllg.dynamics.llg`): the ``labels`` engine
    itself (name ``"exact"``), plain ED for ``[data] propagate = "exact"`` (name ``"exact
    twists=1"`` when the labels are twist-averaged), or the CNN of ``[data] propagate`` in
    float64 on the CPU (:func:`distllg.engines.serial`; checked against the config's
    parameters and lattice)."""
    propagate = config.data.propagate
    if not propagate or (propagate == "exact" and engine_name(config) == "exact"):
        return labels.fields, "exact"
    if propagate == "exact":
        settings = engines.serial(config.engine, kind="exact", twists=1)
    else:
        settings = engines.serial(config.engine, kind="cnn", model=propagate)
    try:
        engine = engines.make(settings, config.hamiltonian, config.lattice.shape,
                              key="'data.propagate'")
    except ValueError as error:
        raise configlib.ConfigError(str(error)) from None
    if engine.kind == "exact":
        return engine.fields, "exact twists=1"
    return engine.fields, f"cnn {engine.weights_sha256}"


class KnownFirst:
    """``field_fn``, except that a call with the array :meth:`remember` was given returns
    the result remembered with it: the step after a recorded frame starts with that frame's
    fields, not a second ED."""

    def __init__(self, field_fn):
        self.field_fn, self.spins, self.result = field_fn, None, None

    def remember(self, spins: torch.Tensor, result: tuple) -> None:
        self.spins, self.result = spins, result

    def __call__(self, spins: torch.Tensor):
        return self.result if spins is self.spins else self.field_fn(spins)


def generate_trajectory(config: configlib.Config, labels, group,
                        progress: Progress, counted: int, propagate) -> None:
    """Integrate one trajectory, writing frames into the HDF5 ``group``, then mark it complete.

    ``propagate`` is ``(fields, name)`` of what drives it (:func:`propagator`);
    the recorded frames always get the ``labels`` engine's fields."""
    dyn = config.dynamics
    every = config.data.record_every
    frames = dyn.steps // every + 1
    Ly, Lx = config.lattice.shape
    spins_ds = group.create_dataset("spins", (frames, 3, Ly, Lx), dtype="f8")
    fields_ds = group.create_dataset("fields", (frames, 3, Ly, Lx), dtype="f8")
    energy_ds = group.create_dataset("energy", (frames,), dtype="f8")
    step_ds = group.create_dataset("step", (frames,), dtype="i8")
    time_ds = group.create_dataset("time", (frames,), dtype="f8")
    drive, driver = propagate
    group.attrs.update(seed=config.initial.seed, alpha=dyn.alpha, dt=dyn.dt,
                       integrator=dyn.integrator, propagated_by=driver, complete=False,
                       temperature=dyn.temperature, anneal_steps=dyn.anneal_steps,
                       noise_seed=dyn.noise_seed)
    if dyn.field_steps:  # a Zeeman ramp drove the trajectory (the labels are at [hamiltonian])
        group.attrs.update(field_steps=list(dyn.field_steps),
                           field_values=list(dyn.field_values))
    known = KnownFirst(drive)
    stepper = Stepper.for_dynamics(dyn, known if driver == "exact" else drive,
                                   config.lattice.shape)
    spins = torch.from_numpy(initial.spins(config))
    for frame in range(frames):
        step = frame * every
        energy, fields = labels.energy_and_fields(host(spins))
        known.remember(spins, (energy, torch.from_numpy(fields)))
        spins_ds[frame], fields_ds[frame] = host(spins), fields
        energy_ds[frame], step_ds[frame], time_ds[frame] = energy, step, stepper.time(step)
        progress.update(counted + step, f"trajectory seed {config.initial.seed}, step {step}")
        if frame < frames - 1:
            spins, _ = stepper.run(spins, step, step + every)
    group.attrs["complete"] = True
    group.file.flush()


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)  # unwinds the ``with`` blocks: the HDF5 file is closed


def generate(config: configlib.Config, comm=None) -> str:
    """Fill ``config.data.file`` with the missing trajectories, spread over the ranks of
    ``comm`` (default: COMM_WORLD); returns its path."""
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        return _generate(config, comm)
    finally:
        signal.signal(signal.SIGTERM, previous)


def perturbed_sources(config: configlib.Config) -> list[tuple[str, str, dict]]:
    """``(file, name, trajectory)`` of the trajectories that ``[data] perturb`` names, after
    ``exclude``; each file checked against the config's s-d parameters and lattice."""
    sources, seen = [], set()
    for path in config.data.perturb:
        try:
            data = datalib.read(path)
        except (OSError, ValueError) as error:
            raise configlib.ConfigError(f"'data.perturb' file {path}: {error}") from None
        found = (data["attrs"]["model"], list(data["attrs"]["lattice"]))
        if found != (config.hamiltonian.as_dict(), list(config.lattice.shape)):
            raise configlib.ConfigError(
                f"'data.perturb' file {path} holds data for s-d parameters and lattice "
                f"{found}, not this config's")
        for name, trajectory in sorted(data["trajectories"].items()):
            if name in seen:
                raise configlib.ConfigError(f"'data.perturb': trajectory {name} appears in "
                                            f"two files; names must be unique")
            seen.add(name)
            if name not in config.data.exclude:
                sources.append((path, name, trajectory))
    unknown = sorted(set(config.data.exclude) - seen)
    if unknown:
        raise configlib.ConfigError(f"'data.exclude' names {unknown}, which the 'data.perturb' "
                                    f"files do not hold")
    return sources


def _picked_frames(config: configlib.Config, trajectory: dict) -> np.ndarray:
    """Indices of the source frames that get perturbed copies (every ``record_every``-th)."""
    return np.arange(0, len(trajectory["spins"]), config.data.record_every)


def perturb_trajectory(config: configlib.Config, labels, source: tuple[str, str, dict],
                       group, progress: Progress, counted: int) -> int:
    """Perturbed frames of one source trajectory with their exact fields into ``group``;
    returns the number of frames."""
    path, name, trajectory = source
    picked = _picked_frames(config, trajectory)
    widths = np.array(config.data.noise)[np.arange(len(picked)) % len(config.data.noise)]
    shape = (len(picked),) + trajectory["spins"].shape[1:]
    spins_ds = group.create_dataset("spins", shape, dtype="f8")
    fields_ds = group.create_dataset("fields", shape, dtype="f8")
    energy_ds = group.create_dataset("energy", (len(picked),), dtype="f8")
    group.create_dataset("step", data=trajectory["step"][picked])
    group.create_dataset("time", data=trajectory["time"][picked])
    group.create_dataset("noise", data=widths)
    group.attrs.update(seed=config.initial.seed, alpha=trajectory["alpha"], source_file=path,
                       source_trajectory=name, complete=False)
    rng = np.random.default_rng([config.initial.seed, int(name) if name.isdigit() else 0])
    for k, (frame, width) in enumerate(zip(picked, widths, strict=True)):
        spins = trajectory["spins"][frame]
        spins = spinlib.normalize(spins + width * rng.standard_normal(spins.shape))
        energy_ds[k], fields_ds[k] = labels.energy_and_fields(spins)
        spins_ds[k] = spins
        progress.update(counted + k + 1, f"{name}: frame {frame} + noise {width:g}")
    group.attrs["complete"] = True
    group.file.flush()
    return len(picked)


def _generate_perturbed(config: configlib.Config) -> str:
    if not config.data.noise or min(config.data.noise) <= 0:
        raise configlib.ConfigError(f"'data.noise' = {list(config.data.noise)}: give one or "
                                    f"more widths > 0")
    sources = perturbed_sources(config)
    labels = label_engine(config)
    with open_file(config) as f:
        groups = f["trajectories"]
        todo = [s for s in sources if not (s[1] in groups
                                           and groups[s[1]].attrs.get("complete", False))]
        sizes = [len(_picked_frames(config, s[2])) for s in todo]
        print(f"distllg datagen: {config.data.file}: perturbed frames of {len(sources)} "
              f"trajectories, {len(sources) - len(todo)} done, {sum(sizes)} frames to go "
              f"(noise {list(config.data.noise)})", flush=True)
        progress = Progress(sum(sizes))
        counted = 0
        for source in todo:
            if source[1] in groups:
                del groups[source[1]]  # an interrupted one is redone from its start
            counted += perturb_trajectory(config, labels, source,
                                          groups.create_group(source[1]), progress, counted)
        progress.close()
    return config.data.file


def _generate(config: configlib.Config, comm) -> str:
    if comm is None:
        from mpi4py import MPI

        comm = MPI.COMM_WORLD
    if config.data.perturb:
        if comm.Get_size() > 1:
            raise configlib.ConfigError(
                f"'data.perturb' runs on one process; this job has {comm.Get_size()} ranks "
                f"(the ranks share trajectories, not perturbed copies)")
        return _generate_perturbed(config)
    init = config.initial
    if init.state != "random" and init.noise <= 0:
        raise configlib.ConfigError(
            f"'initial.state' = {init.state!r} with 'initial.noise' = {init.noise}: every "
            "trajectory would be the same; datagen needs state = \"random\" or noise > 0")
    if comm.Get_size() > 1:
        return _generate_shared(config, comm)
    labels = label_engine(config)
    propagate = propagator(config, labels)
    with open_file(config) as f:
        merge_parts(config, f)
        todo = _todo(config, f)
        progress = Progress(len(todo) * config.dynamics.steps)
        for index, seed in enumerate(todo):
            _trajectory(_one(config, seed), labels, f, progress, index, propagate)
        progress.close()
    return config.data.file


def _todo(config: configlib.Config, f) -> list[int]:
    """Seeds of the trajectories ``f`` lacks or holds incomplete; says how many."""
    seeds = [config.initial.seed + i for i in range(config.data.trajectories)]
    groups = f["trajectories"]
    todo = [s for s in seeds if not (f"{s:04d}" in groups
                                     and groups[f"{s:04d}"].attrs.get("complete", False))]
    print(f"distllg datagen: {config.data.file}: {len(seeds) - len(todo)} of {len(seeds)} "
          f"trajectories done, {len(todo)} to go ({config.dynamics.steps} steps each, "
          f"L = {config.lattice.shape})", flush=True)
    return todo


def _one(config: configlib.Config, seed: int) -> configlib.Config:
    """``config`` for the one trajectory of ``seed``: its initial state and its noise key
    (``noise_seed`` moves with the seed)."""
    return configlib.shifted_seeds(config, seed - config.initial.seed)


def _trajectory(one: configlib.Config, labels, f, progress: Progress, index: int,
                propagate) -> None:
    """Trajectory ``one.initial.seed`` into the open data file ``f``, from its start."""
    groups = f["trajectories"]
    name = f"{one.initial.seed:04d}"
    if name in groups:
        del groups[name]  # an interrupted trajectory is redone from its start
    generate_trajectory(one, labels, groups.create_group(name), progress,
                        index * one.dynamics.steps, propagate)


def parts_folder(config: configlib.Config) -> pathlib.Path:
    """Where the ranks of an MPI datagen write their trajectories, one file each, until
    they are merged into ``data.file``: ``FILE.parts/`` beside it (``FILE`` without its
    suffix)."""
    return pathlib.Path(config.data.file).with_suffix(".parts")


def merge_parts(config: configlib.Config, f) -> int:
    """Copy the complete trajectories of :func:`parts_folder` into the open data file ``f``
    (replacing a trajectory of the same name) and delete the part files; incomplete or
    unreadable ones are deleted (their trajectories are redone). Returns how many were
    merged. A part file made for other settings is refused with its name, and no
    trajectory is changed."""
    import h5py

    folder = parts_folder(config)
    parts = sorted(folder.glob("*.h5")) if folder.is_dir() else []
    readable = []
    for part in parts:
        try:
            source = h5py.File(part, "r")
        except OSError:  # a rank killed while writing it: its trajectory is redone
            print(f"distllg datagen: {part} cannot be read (a rank stopped while writing "
                  f"it); deleted, its trajectory is redone", flush=True)
            part.unlink()
            continue
        with source:
            if _identity_of(source) != _identity_of(f):
                raise configlib.ConfigError(
                    f"{part} holds data for other settings than 'data.file' = "
                    f"{config.data.file!r}: move it away; nothing was changed")
        readable.append(part)
    parts = readable
    merged = 0
    groups = f["trajectories"]
    for part in parts:
        with h5py.File(part, "r") as source:
            for name, group in source["trajectories"].items():
                if group.attrs.get("complete", False):
                    if name in groups:
                        del groups[name]
                    source.copy(group, groups, name=name)
                    merged += 1
        f.flush()
        part.unlink()
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
    return merged


def _generate_shared(config: configlib.Config, comm) -> str:
    """The missing trajectories spread over the ranks of ``comm`` (rank r takes every
    size-th), each written to its own file in :func:`parts_folder`, merged by rank 0."""
    rank, size = comm.Get_rank(), comm.Get_size()

    def plan() -> list[int]:
        if rank != 0:
            return []
        with open_file(config) as f:
            merge_parts(config, f)
            return _todo(config, f)

    todo = comm.bcast(collectively(comm, plan), root=0)
    mine = todo[rank::size]

    def work() -> None:
        labels = label_engine(config, comm)
        propagate = propagator(config, labels)
        with contextlib.ExitStack() as stack:  # the progress bar is rank 0's
            stream = sys.stderr if rank == 0 else stack.enter_context(open(os.devnull, "w"))
            progress = Progress(len(mine) * config.dynamics.steps, stream)
            for index, seed in enumerate(mine):
                one = _one(config, seed)
                part = dataclasses.replace(one, data=dataclasses.replace(
                    one.data, file=str(parts_folder(config) / f"{seed:04d}.h5"),
                    trajectories=1))
                with open_file(part) as f:
                    _trajectory(part, labels, f, progress, index, propagate)
            progress.close()
        if rank == 0:
            print(f"distllg datagen: rank 0 of {size} done with its {len(mine)} "
                  f"trajectories; merging", flush=True)

    try:
        collectively(comm, work)
    except (SystemExit, KeyboardInterrupt):
        # a signal that reached this rank alone must not leave the others waiting in the
        # collective: its part file is closed by now; the others' are deleted and redone
        # (merge_parts) when the run starts again
        comm.Abort(143)

    def merge() -> None:
        if rank == 0:
            with open_file(config) as f:
                merge_parts(config, f)

    collectively(comm, merge)
    return config.data.file

