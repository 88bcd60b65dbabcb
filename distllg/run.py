"""The run loop behind ``distllg run`` (what a run does and writes, its restarts, stops and
errors: :mod:`distllg.cli.run`). :class:`Run` sets a run up on this rank (engine, what is on
disk, the starting spins) and :meth:`Run.execute` integrates it; the layers it wires
together: docs/architecture.md. ``python -m distllg.run CONFIG`` is kept as an alias of
``distllg run CONFIG`` for job scripts.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch

from distllg import config as configlib
from distllg import engines, initial
from distllg.dynamics.stepper import Stepper
from distllg.io import checkpoint as ckpt
from distllg.io import restart as restartlib
from distllg.observers import (
    CommitteeCheck,
    NonFiniteError,
    ProgressLine,
    RunFiles,
    StopFlags,
    write_summary,
)
from distllg.parallel.collective import CollectiveError, collectively

__all__ = ["NonFiniteError", "Run", "SetupError", "run"]


#: Something is wrong before the run starts; the message says what (exit code 2).
SetupError = CollectiveError


class Run:
    """A run on this rank: set up before any work (engine, what is on disk, the starting
    spins), then :meth:`execute`. ``step`` is the step being computed (for messages)."""

    def __init__(self, config: configlib.Config, comm, restart: str | None, stream,
                 overwrite: bool = False):
        self.config, self.comm, self.stream = config, comm, stream
        self.root, self.step = comm.Get_rank() == 0, 0
        self.engine = collectively(comm, engines.make, config.engine, config.hamiltonian,
                                   config.lattice.shape, comm)
        weights, identity = self.engine.weights_sha256, self.engine.identity
        domain = self.engine.domain
        rejected = []  # checkpoints whose spins failed to verify as the ranks read them
        while True:
            plan = collectively(comm, lambda: restartlib.plan(
                config, restart, overwrite, identity, rejected) if self.root else None)
            self.plan: restartlib.RestartPlan = comm.bcast(plan, root=0)
            if self.plan.checkpoint is None:
                tile = collectively(comm, initial.spins, config, domain.tile.slices)
                break
            try:  # raises on every rank alike
                tile = ckpt.read_tile(self.plan.checkpoint, domain.cart, domain.tile,
                                      self.plan.state)
                break
            except ckpt.CheckpointReadError as error:  # I/O: never set a checkpoint aside
                raise SetupError(f"{error}; nothing was changed: run again once the file "
                                 f"system is healthy, or continue from another checkpoint "
                                 f"with --restart PATH") from None
            except ckpt.CheckpointError as error:  # damaged: walk back past it
                if restart not in ("latest", "auto"):
                    raise SetupError(str(error)) from None
                rejected.append((self.plan.checkpoint, str(error)))
        self.stepper = Stepper.for_dynamics(config.dynamics, self.engine.fields,
                                            config.lattice.shape, domain.tile.slices)
        # from here to the end of the run the spins live on the engine's device
        self.spins = torch.from_numpy(np.ascontiguousarray(tile, dtype=np.float64)).to(
            self.engine.spins_device)
        self.step = self.plan.step
        self.files = RunFiles(config, domain, self.stepper, self.plan, weights)

    def say(self, text: str) -> None:
        if self.root:
            print(text, file=self.stream, flush=True)

    def _track(self, step: int, *_) -> None:
        self.step = step + 1

    def execute(self) -> dict | None:
        """Integrate to ``dynamics.steps``; returns the summary on rank 0 (None elsewhere
        and when the run was stopped by a signal or its wall-time limit)."""
        config, dyn, files = self.config, self.config.dynamics, self.files
        files.wall0 = time.perf_counter()
        if self.root:
            files.prepare_directory(self.say)
        self.comm.Barrier()
        files.open(self.engine.metadata, self.say)
        Ly, Lx = config.lattice.shape
        self.say(f"distllg run {config.source}: L = {Ly}x{Lx}, alpha = {dyn.alpha}, h = "
                 f"{config.hamiltonian.h}, engine {self.engine.description}, "
                 f"{dyn.integrator} dt = {dyn.dt}, steps {files.start}..{dyn.steps}, "
                 f"{self.comm.Get_size()} rank(s) on a {self.engine.domain.decomposition.dims} "
                 f"grid, output {files.out}")
        if dyn.temperature:
            ramp = f", ramped to 0 over {dyn.anneal_steps} steps" if dyn.anneal_steps else ""
            self.say(f"stochastic LLG: spin temperature T = {dyn.temperature:g}{ramp}, noise "
                     f"seed {dyn.noise_seed}")
        if dyn.field_steps:
            points = ", ".join(f"{h:g} at step {n}"
                               for n, h in zip(dyn.field_steps, dyn.field_values, strict=True))
            self.say(f"Zeeman field ramp (added to h = {config.hamiltonian.h:g}): {points}, "
                     f"linear between")
        if files.start == dyn.steps:
            self.say(f"the run is complete at step {dyn.steps}; rewriting its last frame, "
                     f"summary and plots")
        # a stop signal during the last step or the final writes changes nothing
        committee = (CommitteeCheck(self.engine, config.engine, self.engine.domain.cart, self.say)
                     if self.engine.committee_size else None)
        with StopFlags(self.engine.domain.cart, config, files.wall0) as flags:
            observers = (flags, files.frame_observer, *([committee] if committee else []),
                         ProgressLine(files, self.say, committee),
                         files.checkpoint_observer(flags, self.say), self._track)
            self.spins, reached = self.stepper.run(self.spins, files.start, dyn.steps,
                                                   observers)
            if reached < dyn.steps:
                return None
            self.step = dyn.steps
            energy, _ = self.engine.fields(self.spins)
            files.frame(dyn.steps, self.spins, energy)
            files.checkpoint(dyn.steps, self.spins)
            files.output.close()
        if not self.root:
            return None
        return write_summary(files, self.comm.Get_size(), time.perf_counter() - files.wall0,
                             self.say, committee)


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


if __name__ == "__main__":  # ``python -m distllg.run ARGS``: ``distllg run ARGS``
    from distllg.cli import alias

    sys.exit(alias("run"))
