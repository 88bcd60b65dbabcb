"""``distllg learn CONFIG``: a validated model for a physics point, by active learning.

Round after round, the committee of ``[learning] start`` models explores (CNN-driven LLG
from random spins, labyrinths, walls, crystals and along a field ramp), the frames on which
it disagrees are labelled exactly (``[engine] kind = "exact"`` with its ``twists``, at
``[hamiltonian]``; spread over the ranks under ``mpirun -n P``), the committee is fine-tuned
(``[training]``), and member 0 is checked on a validation set by texture family. It stops
when R^2 >= ``gate_r2`` holds on every family and the relative RMSE <= ``gate_relative_rmse``
overall, when ``label_budget`` labels are spent, or after ``rounds`` rounds. Killed, it
continues where it stopped: run the same command again (any rank count).

Writes to ``[learning] directory``: ``rounds.md`` (a row per round: frames explored,
candidates, labelled, disagreement, ED and training core-seconds, member 0's error per
family), ``rounds.json``, ``rounds.png``, the rounds' files, and ``model.npz`` when the
gate holds. Stages and files: :mod:`distllg.training.learn`.
"""

from __future__ import annotations

import sys

from distllg.cli import error


def add_arguments(parser) -> None:
    parser.add_argument("config", help="TOML config with [hamiltonian], [engine], [training] "
                                       "and [learning] (configs/learn.toml)")


def execute(args) -> int:
    from mpi4py import MPI

    from distllg import config as configlib
    from distllg.parallel.collective import CollectiveError, collectively
    from distllg.training import learn

    comm = MPI.COMM_WORLD
    try:
        config = collectively(comm, configlib.load, args.config)
    except CollectiveError as problem:
        return error(problem) if comm.Get_rank() == 0 else 2
    try:
        learn.run(config, comm, log=lambda text: print(text, flush=True))
    except (CollectiveError, configlib.ConfigError) as problem:  # every rank knows it
        return error(problem) if comm.Get_rank() == 0 else 2
    except BaseException as problem:  # noqa: BLE001 - one failing rank must stop them all
        print(f"distllg learn: rank {comm.Get_rank()} failed: {type(problem).__name__}: "
              f"{problem}", file=sys.stderr, flush=True)
        if comm.Get_size() > 1:
            comm.Abort(1)
        return 1
    return 0
