"""``python -m distllg.run CONFIG [--restart [CHECKPOINT|latest|auto]] [--overwrite]``.

    mpirun -n 64 python -m distllg.run CONFIG.toml

An LLG run, serial or under mpirun. ``[engine] kind = "cnn"`` splits the lattice into one
tile per rank (a periodic Cartesian process grid, tiles may be uneven); every field
evaluation exchanges a halo as wide as the model's receptive radius and runs the CNN on
tile + halo, on this rank's GPU when it has one (``engine.device``). ``kind = "exact"`` (ED)
runs on one rank. Rank 0 prints one progress line every ``output.log_every`` steps and a
summary at the end. Every rank makes the initial state of its own tile
(:mod:`distllg.initial`), the same for every rank count.

What it writes to ``[output] directory``:

* ``output.h5``: every ``output.every`` steps a frame (spins, E/N, Q, magnetisation, times),
  written collectively by all ranks; ``output.xdmf`` opens it in ParaView
  (layout: :mod:`distllg.io.output`);
* ``checkpoints/checkpoint_<step>.h5`` every ``output.checkpoint_every`` steps (and every
  ``output.checkpoint_minutes``), the newest ``output.checkpoint_keep`` kept, crash-safe
  (:mod:`distllg.io.checkpoint`);
* at the end: ``summary.json`` and the PNGs of ``python -m distllg.inspect`` (Q(t), energy,
  spin snapshots, final spins, skyrmion density, S(q)).

Restart: ``--restart`` (= ``latest``) continues from the newest checkpoint that verifies
(both checksums, :mod:`distllg.io.checkpoint`), ``--restart PATH`` from a given one, on any
rank count; ``output.h5`` is continued from the checkpoint's step (no duplicated or missing
frames). Newer checkpoints that do not verify are skipped, named with the reason, and kept
as ``<name>.damaged``. ``--restart auto`` continues when there is a checkpoint and starts
afresh otherwise (for job chains); a finished run only rewrites its summary and plots. A
fresh start into a directory that already holds a run is refused unless ``--overwrite`` is
given. More steps in the config than in the checkpointed run extend it.

Stopping: SIGUSR1 or SIGTERM to the ranks (what SLURM sends before the time limit), SIGUSR1
to mpirun (which forwards it; mpirun answers SIGTERM by exiting 1 itself, see
jobs/README.md), a file named ``STOP`` in the output directory (rank 0 looks every second and
removes it), or ``output.stop_wall_time`` seconds of wall time make every rank finish its
step, write a checkpoint and exit 0 with a message saying how to continue.

Errors: a bad config, a missing or mismatched model file or checkpoint, tiles smaller than
the receptive radius, or an output directory that cannot take the run's files (a file in the
way, a read-only file system, no permission, too little space for the first frame and
checkpoint) are reported once, by rank 0, before any work (exit code 2), and nothing on disk
is changed. Non-finite spins are checked on every rank after every step (with the stop
flags: a few bytes per rank gathered): all ranks stop at that step and rank 0 names the step
and the ranks (exit code 1). An exception on any rank prints one line naming the rank, step
and cause (a failed write names its file, and "no space left on device" when that is why)
and aborts every rank (``MPI_Abort``, exit code 1) instead of leaving the others waiting in a
halo exchange. Exit codes are 0, 1 and 2 only; job scripts treat anything else as fatal.

For tests of the failure handling, ``DISTLLG_INJECT_FAULT="KIND:RANK:STEP"`` with KIND
``nan`` (a NaN spin), ``raise`` (an exception), ``kill`` (SIGKILL at the step) or
``kill-in-checkpoint`` (SIGKILL while the checkpoint of STEP is being written).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np

from distllg import config as configlib
from distllg import initial, lattice
from distllg.dynamics import llg
from distllg.dynamics import observables as obs
from distllg.dynamics.thermal import Thermostat
from distllg.io import checkpoint as ckpt
from distllg.io import preflight
from distllg.io.output import OutputFile

STOP_SIGNALS = (signal.SIGTERM, signal.SIGUSR1)
STOP_FILE = "STOP"  # in output.directory: the run stops cleanly when it appears
STOP_FILE_POLL = 1.0  # s between looks for the stop file (rank 0)


class SetupError(Exception):
    """Something is wrong before the run starts; the message says what (exit code 2)."""


class NonFiniteError(FloatingPointError):
    """Spins became NaN or infinite; raised on every rank at once (exit code 1)."""


# ---------------------------------------------------------------------------------------
# Set-up: everything that can be wrong is found before the first step, on every rank, and
# reported once.


def collectively(comm, function, *args):
    """Run ``function(*args)`` on every rank; if it fails on any rank, raise
    :class:`SetupError` on all of them with the first rank's message (never a hang)."""
    try:
        result, message = function(*args), None
    except (ValueError, OSError, RuntimeError) as error:  # config, model, checkpoint, files
        result, message = None, str(error)
    except Exception as error:  # noqa: BLE001 - a rank that fails alone must not hang the rest
        result, message = None, f"{type(error).__name__}: {error}"
    messages = comm.allgather(message)
    failed = [(rank, m) for rank, m in enumerate(messages) if m is not None]
    if failed:
        rank, message = failed[0]
        where = f" (rank {rank})" if comm.Get_size() > 1 and len(failed) < len(messages) else ""
        raise SetupError(message + where)
    return result


def _check(config: configlib.Config, size: int, restart: str | None, overwrite: bool,
           root: bool) -> dict:
    """The checks of a run before any work: model file, parameters and tile sizes on every
    rank; the checkpoint and the output directory on the ``root`` rank only. Changes
    nothing on disk; rank 0's plan is the run's."""
    from distllg.parallel.decomposition import grid_dims, split

    plan = {"radius": 1, "model_hash": "", "model_metadata": {}, "restart": None,
            "clear": False, "skipped": []}
    shape = config.lattice.shape
    if config.engine.kind in ("exact", "kpm"):  # the whole Hamiltonian: its hopping shells
        lattice.check_size(*shape, tuple(config.model.hoppings))
    if config.engine.kind == "exact":
        if size > 1:
            raise configlib.ConfigError(f"'engine.kind' = \"exact\" (ED) runs on one rank; "
                                        f"this job has {size}. Use kind = \"cnn\" or one rank")
    elif config.engine.kind == "kpm":
        from distllg.electrons.kpm import MIN_MOMENTS

        if config.engine.moments < MIN_MOMENTS:
            raise configlib.ConfigError(f"'engine.moments' = {config.engine.moments}: KPM "
                                        f"needs at least {MIN_MOMENTS}")
    else:
        from distllg.model import io as modelio

        meta = modelio.read_metadata(config.engine.model)
        modelio.check_compatible(meta, config.model.as_dict(), shape,
                                 source=f"'engine.model' = {config.engine.model!r}")
        plan.update(radius=max(int(meta["receptive_radius"]), 1),
                    model_hash=meta["weights_sha256"], model_metadata=meta)
        try:
            dims = grid_dims(size, shape, config.engine.process_grid or None)
        except ValueError as error:
            raise configlib.ConfigError(f"'engine.process_grid': {error}") from None
        smallest = (min(b - a for a, b in split(shape[0], dims[0])),
                    min(b - a for a, b in split(shape[1], dims[1])))
        if min(smallest) < meta["receptive_radius"]:
            raise configlib.ConfigError(
                f"[lattice] {shape[0]} x {shape[1]} on {size} ranks ({dims[0]} x {dims[1]} "
                f"grid) gives tiles of {smallest[0]} x {smallest[1]} sites, smaller than the "
                f"model's receptive radius {meta['receptive_radius']}: use fewer ranks")
    plan["run_hash"] = run_hash(config, plan["model_hash"])
    if root:  # the files: checked once
        _check_files(config, restart, overwrite, plan)
    return plan


def _check_files(config: configlib.Config, restart: str | None, overwrite: bool,
                 plan: dict) -> None:
    """The checkpoint to continue from (``--restart latest``/``auto`` walk back past damaged
    ones, listed in ``plan["skipped"]``), what the output directory already holds, and
    whether it can be written (:func:`distllg.io.preflight.check_directory`)."""
    out = Path(config.output.directory)
    path, state = None, None
    if restart in ("latest", "auto"):
        path, state, plan["skipped"] = ckpt.newest_verified(out)
        if path is None and plan["skipped"]:
            reasons = "; ".join(reason for _, reason in plan["skipped"])
            raise ckpt.CheckpointError(
                f"--restart {restart}: no checkpoint in {ckpt.directory(out)} verifies "
                f"({reasons}). Continue from a file of your choice with --restart PATH, or "
                f"start the run again with --overwrite")
        if path is None and restart == "latest":
            raise configlib.ConfigError(f"--restart latest: no checkpoint in "
                                        f"{ckpt.directory(out)}")
    elif restart is not None:
        path = Path(restart)
        state = ckpt.read_state(path)
    if path is not None:
        _check_checkpoint(state, path, config, plan)
        _check_output_file(out / "output.h5", config, plan)
        plan["restart"] = (path, state)
    else:
        existing = (["output.h5"] if (out / "output.h5").exists() else []) + \
            [f"{ckpt.directory(out).name}/{p.name}" for p in ckpt.complete(out)]
        if existing and not overwrite and restart != "auto":
            raise configlib.ConfigError(
                f"'output.directory' = {str(out)!r} already holds a run "
                f"({', '.join(existing[:4])}{', ...' if len(existing) > 4 else ''}): continue "
                f"it with --restart latest, or start it again with --overwrite")
        plan["clear"] = bool(existing)
    preflight.check_directory(out, preflight.bytes_needed(config), plan["restart"] is None)


def _check_output_file(path: Path, config: configlib.Config, plan: dict) -> None:
    """The output file a restart continues into, if there is one, read in a child process:
    a damaged one, or one of another run, raises (it is never replaced)."""
    from distllg.io import isolated
    from distllg.io.output import foreign

    if not path.is_file():
        return
    try:
        found = isolated.call("distllg.io.output", "read_header", str(path), what=str(path))
    except isolated.ReadError as error:
        raise preflight.OutputDirectoryError(
            f"{error}. Move it aside to continue into a new output file from the "
            f"checkpoint's step") from None
    problem = foreign(found, config.lattice.shape, plan["run_hash"])
    if problem:
        raise preflight.OutputDirectoryError(f"--restart: {path} {problem}")


def _check_checkpoint(state: dict, path: Path, config: configlib.Config, plan: dict) -> None:
    """A checkpoint that this run cannot continue from raises, saying why."""
    shape = tuple(config.lattice.shape)
    if state["lattice"] != shape:
        raise ckpt.CheckpointError(
            f"checkpoint {path} holds a {state['lattice'][0]} x {state['lattice'][1]} lattice; "
            f"[lattice] in {config.source or 'the config'} asks for {shape[0]} x {shape[1]}")
    if state["model_hash"] != plan["model_hash"]:
        def engine(model_hash: str, name: str = "") -> str:
            return f"model{name} weights {model_hash[:12]}" if model_hash else "the exact engine"

        raise ckpt.CheckpointError(
            f"checkpoint {path} was written by {engine(state['model_hash'])}; the config "
            f"runs {engine(plan['model_hash'], f' {config.engine.model!r}')}: another model")
    if state["run_hash"] != plan["run_hash"]:
        raise ckpt.CheckpointError(
            f"checkpoint {path} was written for other physics (hash {state['run_hash']} != "
            f"{plan['run_hash']} of {config.source or 'the config'}: [lattice], [model], "
            f"[engine] kind or precision, [dynamics] other than steps, or [initial] "
            f"differ)")
    if state["step"] > config.dynamics.steps:
        raise ckpt.CheckpointError(
            f"checkpoint {path} is at step {state['step']}, beyond 'dynamics.steps' = "
            f"{config.dynamics.steps}")


def run_hash(config: configlib.Config, model_hash: str) -> str:
    """What decides the trajectory: the config's physics and, for the CNN, the weights."""
    if not model_hash:
        return config.physics_hash()
    return hashlib.sha256((config.physics_hash() + model_hash).encode()).hexdigest()[:16]


class Domain:
    """This rank's part of the lattice: its tile, the halo exchange for observables, and the
    global reductions."""

    def __init__(self, comm, shape: tuple[int, int], radius: int, dims=None):
        from distllg.parallel.decomposition import Decomposition
        from distllg.parallel.halo import HaloExchange

        self.comm = comm
        self.shape = shape
        self.decomposition = Decomposition(comm, shape, halo=radius, dims=dims)
        self.cart = self.decomposition.cart
        self.tile = self.decomposition.tile
        rows, cols = self.decomposition.rows[0], self.decomposition.cols[0]
        self.chunk = (rows[1] - rows[0], cols[1] - cols[0])  # the largest tile (HDF5 chunk)
        self.rank = self.cart.Get_rank()
        self._unit_halo = HaloExchange(self.cart, self.tile.shape, 1)
        self._padded = self._unit_halo.empty()

    def observables(self, spins: np.ndarray, energy: float) -> dict:
        """Global E/N, Q and magnetisation of the tiles ``spins`` ``(3, ny, nx)``."""
        from mpi4py import MPI

        self._unit_halo.interior(self._padded)[...] = spins
        self._unit_halo.exchange(self._padded)
        local = np.empty(4)
        local[0] = obs.triangle_solid_angles(self._padded[:, 1:, 1:]).sum() / (4.0 * np.pi)
        local[1:] = spins.reshape(3, -1).sum(axis=1)
        total = np.empty(4)
        self.cart.Allreduce(local, total, op=MPI.SUM)
        n_sites = self.shape[0] * self.shape[1]
        return {"energy_per_site": float(energy) / n_sites, "skyrmion_number": float(total[0]),
                "magnetization": total[1:] / n_sites}


def kpm_solver(config: configlib.Config, comm=None, tiles=None):
    """The KPM solver of ``[engine]`` (moments, probe_distance, probe_sets) for the whole
    lattice on one rank, or on ``comm`` with every rank's ``tiles``."""
    from distllg.electrons.kpm import KPMSolver

    engine = config.engine
    return KPMSolver(config.model, config.lattice.shape, moments=engine.moments,
                     probe_distance=engine.probe_distance or None,
                     probe_sets=engine.probe_sets, comm=comm, tiles=tiles)


def field_provider(config: configlib.Config, domain: Domain):
    """The ``energy_and_fields`` function of the configured engine on this rank's tile."""
    if config.engine.kind == "exact":
        from distllg.electrons.bloch import exact_solver

        return exact_solver(config.model, config.engine.twists).energy_and_fields
    if config.engine.kind == "kpm":
        tiles = [(t.y0, t.y1, t.x0, t.x1) for t in domain.decomposition.tiles]
        return kpm_solver(config, comm=domain.cart, tiles=tiles).energy_and_fields
    from distllg.model import io as modelio
    from distllg.model.provider import TiledCNNFields
    from distllg.parallel import device as devicelib
    from distllg.parallel.halo import HaloExchange

    device = devicelib.choose(domain.cart, config.engine.device)
    model = modelio.load_model(config.engine.model)
    place, note = devicelib.halo_place(config.engine.halo, device)
    halo = HaloExchange(domain.cart, domain.tile.shape, model.receptive_radius, device=place)
    fields = TiledCNNFields(model, halo, device=device,
                            dtype=devicelib.precision(config.engine.precision, device),
                            h=config.model.h)
    fields.halo_note = note
    return fields.energy_and_fields


def _engine_text(kind: str, provider) -> str:
    """The engine kind, with the precision, device and halo place of the network: ``cnn
    (bfloat16 on cpu, halo in host memory)``."""
    engine = getattr(provider, "__self__", None)
    if kind != "cnn" or not hasattr(engine, "halo_note"):
        return kind
    precision = str(engine.convolutions).removeprefix("torch.")
    return f"cnn ({precision} on {engine.device}, {engine.halo_note})"


# ---------------------------------------------------------------------------------------
# The run


def _progress(step: int, dt: float, values: dict, rate: float, eta: float,
              temperature: float | None = None) -> str:
    """One progress line: step, time, spin temperature (stochastic runs), the latest
    recorded observables, speed and ETA."""
    m = np.linalg.norm(values["magnetization"])
    energy = obs.energy_text(values["energy_per_site"], end="  ")
    spin_temperature = "" if temperature is None else f"T = {temperature:.4f}  "
    return (f"step {step:7d}  t = {step * dt:9.2f}  {spin_temperature}{energy}"
            f"Q = {values['skyrmion_number']:+7.3f}  |m| = {m:.4f}  {rate:.2f} steps/s  "
            f"ETA {eta / 60:.1f} min")


def _injected_fault(rank: int) -> tuple[str, int] | None:
    """``(kind, step)`` of a fault to inject on this rank (``DISTLLG_INJECT_FAULT``)."""
    spec = os.environ.get("DISTLLG_INJECT_FAULT", "")
    if not spec:
        return None
    kind, fault_rank, step = spec.split(":")
    return (kind, int(step)) if int(fault_rank) == rank else None


def _kill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class Run:
    """State of a run on this rank; ``step`` is the step being computed (for messages)."""

    def __init__(self, config: configlib.Config, comm, restart: str | None, stream,
                 overwrite: bool = False):
        self.config, self.comm, self.stream = config, comm, stream
        self.step = 0
        plan = collectively(comm, _check, config, comm.Get_size(), restart, overwrite,
                            comm.Get_rank() == 0)
        self.plan = comm.bcast(plan, root=0)
        self.run_hash = self.plan["run_hash"]
        self.domain = collectively(comm, Domain, comm, config.lattice.shape,
                                   self.plan["radius"], config.engine.process_grid or None)
        self.provider = collectively(comm, field_provider, config, self.domain)
        self.root = self.domain.rank == 0
        self.out = Path(config.output.directory)
        self.thermostat = Thermostat.for_dynamics(config.lattice.shape, config.dynamics)
        if self.plan["restart"]:
            path, state = self.plan["restart"]
            self.spins = collectively(comm, ckpt.read_tile, path, self.domain.cart,
                                      self.domain.tile, state)
            self.start, self.wall_offset = state["step"], state["wall_time"]
        else:
            self.spins = collectively(comm, initial.spins, config, self.domain.tile.slices)
            self.start, self.wall_offset = 0, 0.0
        self.signal_received = 0
        self.io_seconds = 0.0  # this rank's wall time in frame writes and checkpoints
        self.latest = None  # observables of the newest frame

    def say(self, text: str) -> None:
        if self.root:
            print(text, file=self.stream, flush=True)

    # -- per-step agreement between ranks ------------------------------------------------

    def _on_signal(self, signum, frame) -> None:  # noqa: ARG002 - signal handler signature
        self.signal_received = signum

    def _flags(self, spins: np.ndarray) -> tuple[str | None, bool]:
        """What every rank must agree on after a step: ``(stop reason or None, checkpoint
        now by wall time)``; raises :class:`NonFiniteError` on every rank if any rank's
        spins are not finite.

        Four bytes per rank are gathered each step (non-finite, signal number, wall-time
        limit or stop file, timed checkpoint), so all ranks stop at the same step with one
        message. Rank 0 looks for the stop file every ``STOP_FILE_POLL`` seconds and removes
        it when the run stops."""
        from mpi4py import MPI

        out = self.config.output
        now = time.perf_counter()
        mine = np.zeros(4, dtype=np.int8)
        mine[0] = not np.isfinite(spins).all()
        mine[1] = self.signal_received
        mine[2] = out.stop_wall_time > 0 and now - self.wall0 >= out.stop_wall_time
        mine[3] = (self.root and out.checkpoint_minutes > 0
                   and now - self.last_checkpoint >= 60 * out.checkpoint_minutes)
        if self.root and now - self.stop_file_checked >= STOP_FILE_POLL:
            self.stop_file_checked = now
            mine[2] = mine[2] or 2 * (self.out / STOP_FILE).exists()
        flags = np.empty((self.comm.Get_size(), 4), dtype=np.int8)
        self.domain.cart.Allgather([mine, MPI.INT8_T], [flags, MPI.INT8_T])
        if flags[:, 0].any():
            ranks = ", ".join(str(r) for r in np.flatnonzero(flags[:, 0]))
            raise NonFiniteError(f"non-finite spins after the LLG step on rank(s) {ranks}")
        reason = None
        if flags[:, 1].any():
            reason = signal.Signals(int(flags[:, 1].max())).name
        elif flags[:, 2].max() == 2:
            reason = f"the stop file {self.out / STOP_FILE}"
            if self.root:
                (self.out / STOP_FILE).unlink(missing_ok=True)
        elif flags[:, 2].any():
            reason = f"'output.stop_wall_time' = {out.stop_wall_time:g} s"
        return reason, bool(flags[:, 3].any())

    # -- output --------------------------------------------------------------------------

    def _wall(self) -> float:
        return self.wall_offset + time.perf_counter() - self.wall0

    def _frame(self, step: int, spins: np.ndarray, energy: float) -> None:
        values = self.domain.observables(spins, energy)
        start = time.perf_counter()
        try:
            self.output.write_frame(step, step * self.config.dynamics.dt, self._wall(), spins,
                                    values)
        except OSError as error:
            raise preflight.described(error, self.output.path, "writing a frame to") from error
        self.io_seconds += time.perf_counter() - start
        self.latest = values

    def _checkpoint(self, done: int, fault: tuple | None) -> Path:
        """Flush the output (its frames before ``done`` are then on disk), then write the
        checkpoint of step ``done``."""
        dyn = self.config.dynamics
        start = time.perf_counter()
        try:
            self.output.reserve(done + self.config.output.checkpoint_every)
            self.output.flush()
        except OSError as error:
            raise preflight.described(error, self.output.path, "flushing") from error
        state = {"step": done, "time": done * dyn.dt, "wall_time": self._wall(),
                 "integrator": dyn.integrator, "dt": dyn.dt, "alpha": dyn.alpha,
                 "config": json.dumps(self.config.as_dict()),
                 "run_hash": self.run_hash, "model_hash": self.plan["model_hash"]}
        hook = _kill_self if fault == ("kill-in-checkpoint", done) else None
        try:
            path = ckpt.write(self.out, self.domain.cart, self.domain.tile, self.spins,
                              self.domain.shape, self.domain.chunk, state,
                              self.config.output.checkpoint_keep, hook=hook)
        except OSError as error:
            raise preflight.described(error, ckpt.path_for(self.out, done),
                                      "writing the checkpoint") from error
        self.last_checkpoint = time.perf_counter()
        self.io_seconds += self.last_checkpoint - start
        return path

    def _open_output(self) -> None:
        config = self.config
        if self.root:
            self.out.mkdir(parents=True, exist_ok=True)
            ckpt.directory(self.out).mkdir(exist_ok=True)
            if self.plan["clear"]:  # --overwrite (checked in set-up): the old run goes
                for old in ckpt.complete(self.out):
                    old.unlink()
            for path, reason in self.plan["skipped"]:
                kept = ckpt.set_aside(path)
                self.say(f"warning: skipped {reason}; kept as {kept.name}")
            if (self.out / STOP_FILE).exists():
                (self.out / STOP_FILE).unlink()
                self.say(f"warning: removed the stop file {self.out / STOP_FILE} left from "
                         f"before this start")
        self.comm.Barrier()
        path = self.out / "output.h5"
        restart_step = self.start if self.plan["restart"] else None
        if restart_step is not None and not path.is_file():
            self.say(f"warning: {path} is missing; a new one starts at step {self.start}")
            restart_step = None
        attributes = {"config": json.dumps(config.as_dict()),
                      "model": json.dumps(self.plan["model_metadata"]),
                      "run_hash": self.run_hash, "source": config.source}
        self.output = OutputFile(path, self.domain.cart, self.domain.shape, self.domain.tile,
                                 self.domain.chunk, config.dynamics.steps,
                                 config.output.every, attributes, restart_step=restart_step,
                                 first_step=self.start)
        self.output.reserve(self.start + config.output.checkpoint_every)
        self.output.flush()

    # -- the loop ------------------------------------------------------------------------

    def execute(self) -> dict | None:
        """Integrate to ``dynamics.steps``; returns the summary on rank 0 (None elsewhere
        and when the run was stopped by a signal or its wall-time limit)."""
        config, dyn = self.config, self.config.dynamics
        self.wall0 = self.last_checkpoint = self.stop_file_checked = time.perf_counter()
        self._open_output()
        step_fn = llg.integrator(dyn.integrator)
        Ly, Lx = config.lattice.shape
        fault = _injected_fault(self.domain.rank)
        self.say(f"distllg run {config.source}: L = {Ly}x{Lx}, alpha = {dyn.alpha}, h = "
                 f"{config.model.h}, engine "
                 f"{_engine_text(config.engine.kind, self.provider)}, {dyn.integrator} dt = "
                 f"{dyn.dt}, steps {self.start}..{dyn.steps}, {self.comm.Get_size()} rank(s) "
                 f"on a {self.domain.decomposition.dims} grid, output {self.out}")
        if dyn.temperature:
            ramp = f", ramped to 0 over {dyn.anneal_steps} steps" if dyn.anneal_steps else ""
            self.say(f"stochastic LLG: spin temperature T = {dyn.temperature:g}{ramp}, noise "
                     f"seed {dyn.noise_seed}")
        if self.start == dyn.steps:
            self.say(f"the run is complete at step {dyn.steps}; rewriting its last frame, "
                     f"summary and plots")
        previous = {s: signal.signal(s, self._on_signal) for s in STOP_SIGNALS}
        try:  # a stop signal during the last step or the final writes changes nothing
            if self._loop(step_fn, fault):
                return None
            self.step = dyn.steps
            energy, _ = self.provider(self.spins)
            self._frame(dyn.steps, self.spins, energy)
            self._checkpoint(dyn.steps, fault)
            self.output.close()
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
        if not self.root:
            return None
        return self._finish(time.perf_counter() - self.wall0)

    def _loop(self, step_fn, fault) -> bool:
        """Steps up to the last one; True when a signal or the wall-time limit stopped it."""
        dyn, out = self.config.dynamics, self.config.output
        for step in range(self.start, dyn.steps):
            self.step = step
            if fault is not None and fault[1] == step:
                if fault[0] == "raise":
                    raise RuntimeError("fault injected by DISTLLG_INJECT_FAULT")
                if fault[0] == "kill":
                    _kill_self()
                if fault[0] == "nan":
                    self.spins[0, 0, 0] = np.nan
            field_fn = self.thermostat.fields_fn(self.provider, step, self.domain.tile.slices)
            new_spins, energy = step_fn(self.spins, field_fn, dyn.dt, dyn.alpha)
            reason, timed = self._flags(new_spins)
            if step % out.every == 0:
                self._frame(step, self.spins, energy)
            self.spins = new_spins
            done = step + 1
            if (done % out.log_every == 0 or done == dyn.steps) and self.latest:
                rate = (done - self.start) / (time.perf_counter() - self.wall0)
                temperature = self.thermostat.temperature_at(done) if dyn.temperature else None
                self.say(_progress(done, dyn.dt, self.latest, rate,
                                   (dyn.steps - done) / rate, temperature))
            if done == dyn.steps:
                return False
            if reason or timed or done % out.checkpoint_every == 0:
                path = self._checkpoint(done, fault)
            if reason:
                self.output.close()
                self.say(f"distllg: stopped by {reason} at step {done} (t = {done * dyn.dt:g})"
                         f"; checkpoint {path}. Continue with: python -m distllg.run "
                         f"{self.config.source or 'CONFIG'} --restart latest (any rank count)")
                return True
        return False

    def _finish(self, wall: float) -> dict:
        from distllg import inspect

        config, dyn = self.config, self.config.dynamics
        path = self.out / "output.h5"
        described = inspect.describe_output(path)
        summary = {
            "config": config.as_dict(),
            "ranks": self.comm.Get_size(),
            "process_grid": list(self.domain.decomposition.dims),
            "steps": dyn.steps,
            "time": dyn.steps * dyn.dt,
            **{k: described[k] for k in ("energy_per_site", "skyrmion_number",
                                         "magnetization", "structure_factor_peaks",
                                         "crystal_share",
                                         "frames_written", "legs")},
            "wall_time_s_this_leg": wall,
            "io_time_s_this_leg": self.io_seconds,  # rank 0: frames and checkpoints
            "wall_time_s_total": self._wall(),
        }
        (self.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        inspect.write_output_plots(path, self.out, config.output.snapshots)
        peaks = [round(p["abs_q"], 4) for p in summary["structure_factor_peaks"]]
        self.say(f"done: {obs.energy_text(summary['energy_per_site'])}Q = "
                 f"{summary['skyrmion_number']:+.3f}, crystal share "
                 f"{summary['crystal_share']:.2f}, S(q) peaks at |q| = {peaks}; wall "
                 f"{wall:.1f} s; wrote {self.out}")
        return summary


def run(config: configlib.Config, restart: str | None = None, stream=sys.stdout, comm=None,
        overwrite: bool = False):
    """Run the configured LLG trajectory on ``comm`` (default: COMM_WORLD); returns the
    summary dict on rank 0 and None on the other ranks (and when stopped early). ``restart``:
    None, ``"latest"``, ``"auto"`` or a checkpoint path. Raises :class:`SetupError` (all
    ranks) for a run that cannot start."""
    if comm is None:
        from mpi4py import MPI

        comm = MPI.COMM_WORLD
    return Run(config, comm, restart, stream, overwrite).execute()


def _error_line(text: str) -> None:
    """One line to stderr in one write (lines of several ranks do not interleave)."""
    sys.stderr.write(text.replace("\n", " ") + "\n")
    sys.stderr.flush()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m distllg.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", help="TOML config file (see distllg/config.py and configs/)")
    parser.add_argument("--restart", nargs="?", const="latest", metavar="CHECKPOINT",
                        help="continue from a checkpoint file, 'latest' (the default) or "
                             "'auto' (latest if there is one, else start afresh)")
    parser.add_argument("--overwrite", action="store_true",
                        help="start afresh even if output.directory holds a run (its "
                             "output.h5 and checkpoints are replaced)")
    args = parser.parse_args(argv)
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    try:
        config = collectively(comm, configlib.load, args.config)
        state = Run(config, comm, args.restart, sys.stdout, args.overwrite)
    except SetupError as error:
        if comm.Get_rank() == 0:
            _error_line(f"error: {error}")
        return 2
    try:
        state.execute()
    except NonFiniteError as error:  # every rank knows: stop together, rank 0 says why
        if comm.Get_rank() == 0:
            _error_line(f"distllg: failed at step {state.step}: {error}")
        return 1
    except BaseException as error:  # noqa: BLE001 - any failure must stop every rank
        _error_line(f"distllg: rank {comm.Get_rank()} failed at step {state.step}: "
                    f"{type(error).__name__}: {error}")
        if comm.Get_size() > 1:
            comm.Abort(1)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
