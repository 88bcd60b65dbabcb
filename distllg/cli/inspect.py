"""``distllg inspect FILE [--plots DIR]``: summarise a run's output or a checkpoint.

``distllg inspect --complete CONFIG`` says whether the run of a config has reached its last
step (exit status 0) or not (1): job chains use it (jobs/chain.sbatch).

For an output file (``output.h5``): lattice, frames written, steps and times covered, the
legs (starts and restarts), the last frame's E/N, Q, |m| and S(q) peaks; with ``--plots`` the
PNGs ``skyrmion_number.png`` (Q(t) and |m|), ``energy.png`` (when the engine gives
energies), ``spins_<step>.png`` snapshots, ``spins_final.png``, ``chirality_final.png`` and
``structure_factor_final.png``. For a checkpoint: step, time, hashes, Q and |m| of its
spins; with ``--plots`` its spin texture and skyrmion density. The run writes its own PNGs
with the same functions at the end. Lattices wider than ``WINDOW`` sites are summarised
(S(q), crystal share) and plotted on a ``WINDOW x WINDOW`` window read alone from the file;
Q and |m| of an output file are the run's global values.
"""

from __future__ import annotations

import json
from pathlib import Path

from distllg.cli import error


def add_arguments(parser) -> None:
    parser.add_argument("file", help="output.h5 of a run, or a checkpoint_<step>.h5")
    parser.add_argument("--plots", metavar="DIR", help="write the PNGs into DIR")
    parser.add_argument("--snapshots", type=int, default=4,
                        help="spin snapshots along an output file (default 4)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--complete", action="store_true",
                        help="FILE is a run config: exit 0 if its run is complete, else 1")


def run_complete(config) -> tuple[bool, str]:
    """Whether the newest checkpoint of the run of ``config`` (a Config) is at its last
    step, and a line saying so (its attributes are read and verified, not its spins)."""
    from distllg.io import checkpoint as checkpointlib

    latest, state, _ = checkpointlib.newest_verified(config.output.directory)
    step = state["step"] if latest else None
    done = step is not None and step >= config.dynamics.steps
    where = f"at step {step}" if latest else "without a checkpoint"
    return done, (f"run of {config.source} {'complete' if done else 'incomplete'}: {where} "
                  f"of {config.dynamics.steps} in {config.output.directory}")


def execute(args) -> int:
    if args.complete:
        from distllg import config as configlib

        try:
            done, text = run_complete(configlib.load(args.file))
        except ValueError as problem:
            return error(problem)
        print(text)
        return 0 if done else 1
    import h5py

    from distllg.analysis import report

    try:
        kind = report.kind_of(args.file)
        describe = report.describe_output if kind == "output" else report.describe_checkpoint
        summary = describe(args.file)
        if args.plots:
            if kind == "output":
                report.write_output_plots(args.file, args.plots, args.snapshots)
            else:
                with h5py.File(args.file, "r") as f:
                    spins = f["spins"][:]
                report.write_spin_plots(spins, Path(args.plots), f"step_{summary['step']}",
                                        f"checkpoint at t = {summary['time']:.1f}")
    except ValueError as problem:
        return error(problem)
    print(json.dumps(summary, indent=2, default=str) if args.json else report.text(summary))
    return 0
