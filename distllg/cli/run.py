"""``distllg run CONFIG [--restart [CHECKPOINT|latest|auto]] [--overwrite]``.

    mpirun -n 64 python -m distllg run CONFIG.toml     (or: python -m distllg.run CONFIG.toml)

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
* at the end: ``summary.json`` and the PNGs of ``distllg inspect`` (Q(t), energy,
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

The layers this command wires together: docs/architecture.md.
"""

from __future__ import annotations

import sys


def add_arguments(parser) -> None:
    parser.add_argument("config", help="TOML config file (see distllg/config.py and configs/)")
    parser.add_argument("--restart", nargs="?", const="latest", metavar="CHECKPOINT",
                        help="continue from a checkpoint file, 'latest' (the default) or "
                             "'auto' (latest if there is one, else start afresh)")
    parser.add_argument("--overwrite", action="store_true",
                        help="start afresh even if output.directory holds a run (its "
                             "output.h5 and checkpoints are replaced)")


def _error_line(text: str) -> None:
    """One line to stderr in one write (lines of several ranks do not interleave)."""
    sys.stderr.write(text.replace("\n", " ") + "\n")
    sys.stderr.flush()


def execute(args) -> int:
    from mpi4py import MPI

    from distllg import config as configlib
    from distllg.parallel.collective import CollectiveError, collectively

    comm = MPI.COMM_WORLD
    try:
        config = collectively(comm, configlib.load, args.config)
    except CollectiveError as error:
        if comm.Get_rank() == 0:
            _error_line(f"error: {error}")
        return 2
    return run_reporting_errors(config, comm, args.restart, args.overwrite)


def run_reporting_errors(config, comm, restart: str | None, overwrite: bool = False) -> int:
    """Set up and execute the run of ``config`` on ``comm``; a failure is one line (rank 0
    for what all ranks know, the failing rank otherwise) and an exit code: 0 done or stopped
    cleanly, 1 failed (every rank aborted), 2 bad input before any work."""
    from distllg.run import NonFiniteError, Run, SetupError

    try:
        run = Run(config, comm, restart, sys.stdout, overwrite)
    except SetupError as error:
        if comm.Get_rank() == 0:
            _error_line(f"error: {error}")
        return 2
    try:
        run.execute()
    except NonFiniteError as error:  # every rank knows: stop together, rank 0 says why
        if comm.Get_rank() == 0:
            _error_line(f"distllg: failed at step {run.step}: {error}")
        return 1
    except BaseException as error:  # noqa: BLE001 - any failure must stop every rank
        _error_line(f"distllg: rank {comm.Get_rank()} failed at step {run.step}: "
                    f"{type(error).__name__}: {error}")
        if comm.Get_size() > 1:
            comm.Abort(1)
        return 1
    return 0
