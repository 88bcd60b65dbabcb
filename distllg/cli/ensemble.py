"""``distllg ensemble CONFIG --seeds N``: one run config over N seeds, and the distribution
of their outcomes.

Seed k (``--first`` .. ``--first + N - 1``) is the config with ``initial.seed`` and
``dynamics.noise_seed`` shifted by k, written to ``<output.directory>/seed_<k>/``
(:mod:`distllg.analysis.ensemble`). The seeds run one after the other on all ranks
(``mpirun -n P distllg ensemble ...``), each like ``distllg run --restart auto``: a seed
that is complete is skipped, an interrupted one continues from its checkpoint, so the same
command resumes an ensemble. A seed stopped cleanly (SIGUSR1, SIGTERM, the stop file,
``output.stop_wall_time``) stops the ensemble there, without tabulating. ``--only K`` runs
seed K alone (a SLURM job array: ``--only $SLURM_ARRAY_TASK_ID``,
jobs/ensemble_array.sbatch), ``--collect`` runs nothing.

At the end (and with ``--collect``) rank 0 reads every finished seed's summary.json and
writes to ``<output.directory>``: ``ensemble.json`` (each seed's crystal share, n_sk, Q,
E/N; mean, standard deviation, range; the fraction with share >= 0.7), ``ensemble.md``
(the table) and ``ensemble.png`` (histograms of the share and of Q).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from distllg.cli import error


def add_arguments(parser) -> None:
    parser.add_argument("config", help="run config (see configs/ and distllg/config.py)")
    parser.add_argument("--seeds", type=int, required=True, help="number of seeds N")
    parser.add_argument("--first", type=int, default=0, help="first seed offset (default 0)")
    parser.add_argument("--only", type=int, default=None, metavar="K",
                        help="run seed K alone and collect nothing (job arrays)")
    parser.add_argument("--collect", action="store_true",
                        help="run nothing: tabulate the seeds that are finished")


def execute(args) -> int:
    from mpi4py import MPI

    from distllg import config as configlib
    from distllg.analysis import ensemble
    from distllg.cli.inspect import run_complete
    from distllg.cli.run import run_reporting_errors
    from distllg.parallel.collective import CollectiveError, collectively

    comm = MPI.COMM_WORLD
    if args.seeds < 1:
        return error(f"--seeds must be >= 1, got {args.seeds}") if comm.Get_rank() == 0 else 2
    try:
        config = collectively(comm, configlib.load, args.config)
    except CollectiveError as problem:
        return error(problem) if comm.Get_rank() == 0 else 2
    seeds = range(args.first, args.first + args.seeds)
    todo = [] if args.collect else ([args.only] if args.only is not None else list(seeds))
    for k in todo:
        one = ensemble.seed_config(config, k)
        Path(one.output.directory).mkdir(parents=True, exist_ok=True)
        summary = Path(one.output.directory) / "summary.json"
        if summary.is_file() and run_complete(one)[0]:
            continue
        if comm.Get_rank() == 0:
            print(f"distllg ensemble: seed {k}", flush=True)
        code = run_reporting_errors(one, comm, "auto")
        if code:
            return code
        finished = comm.bcast(run_complete(one)[0] if comm.Get_rank() == 0 else None)
        if not finished:  # stopped cleanly (signal, stop file, wall time): so is the ensemble
            if comm.Get_rank() == 0:
                print(f"distllg ensemble: stopped during seed {k}; the same command "
                      f"continues it", flush=True)
            return 0
    if args.only is not None or comm.Get_rank() != 0:
        return 0
    result = ensemble.collect(config, seeds)
    out = Path(config.output.directory)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ensemble.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "ensemble.md").write_text(ensemble.table(result))
    if result["seeds"]:
        ensemble.plot(result, out / "ensemble.png")
    print(ensemble.table(result), end="")
    missing = f"; not finished: seeds {result['missing']}" if result["missing"] else ""
    print(f"wrote {out / 'ensemble.json'}{missing}", file=sys.stdout, flush=True)
    return 0
