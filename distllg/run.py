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

For tests of the failure handling: ``DISTLLG_INJECT_FAULT="KIND:RANK:STEP"``
(:func:`distllg.observers.injected_fault`). The layers this module wires together:
docs/architecture.md.
"""

from __future__ import annotations

import argparse
import sys
import time

from distllg import config as configlib
from distllg import engines, initial
from distllg.dynamics.stepper import Stepper
from distllg.io import checkpoint as ckpt
from distllg.io import restart as restartlib
from distllg.observers import (
    NonFiniteError,
    ProgressLine,
    RunFiles,
    StopFlags,
    faulty,
    injected_fault,
    write_summary,
)
from distllg.parallel.collective import CollectiveError, collectively

__all__ = ["NonFiniteError", "Run", "SetupError", "main", "run"]


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
        weights = self.engine.weights_sha256
        plan = collectively(comm, lambda: restartlib.plan(config, restart, overwrite, weights)
                            if self.root else None)
        self.plan = comm.bcast(plan, root=0)
        domain = self.engine.domain
        fault = collectively(comm, injected_fault, domain.rank)
        field_fn = self.engine.energy_and_fields
        if fault and fault[0] != "kill-in-checkpoint":
            field_fn = faulty(field_fn, fault, lambda: self.step)
        self.stepper = Stepper.for_dynamics(config.dynamics, field_fn, config.lattice.shape,
                                            domain.tile.slices)
        start, wall_offset = 0, 0.0
        if self.plan["restart"]:
            path, state = self.plan["restart"]
            self.spins = collectively(comm, ckpt.read_tile, path, domain.cart, domain.tile,
                                      state)
            start, wall_offset = state["step"], state["wall_time"]
        else:
            self.spins = collectively(comm, initial.spins, config, domain.tile.slices)
        self.step = start
        self.files = RunFiles(config, domain, self.stepper, self.plan, weights, start,
                              wall_offset)
        if fault and fault[0] == "kill-in-checkpoint":
            self.files.kill_in_checkpoint = fault[1]

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
        if files.start == dyn.steps:
            self.say(f"the run is complete at step {dyn.steps}; rewriting its last frame, "
                     f"summary and plots")
        # a stop signal during the last step or the final writes changes nothing
        with StopFlags(self.engine.domain.cart, config, files.wall0) as flags:
            observers = (flags, files.frame_observer, ProgressLine(files, self.say),
                         files.checkpoint_observer(flags, self.say), self._track)
            self.spins, reached = self.stepper.run(self.spins, files.start, dyn.steps,
                                                   observers)
            if reached < dyn.steps:
                return None
            self.step = dyn.steps
            energy, _ = self.engine.energy_and_fields(self.spins)
            files.frame(dyn.steps, self.spins, energy)
            files.checkpoint(dyn.steps, self.spins)
            files.output.close()
        if not self.root:
            return None
        return write_summary(files, self.comm.Get_size(), time.perf_counter() - files.wall0,
                             self.say)


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
