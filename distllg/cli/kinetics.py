"""``distllg kinetics CONFIG --seeds N``: ordering kinetics of an ensemble's runs.

Reads every frame of the seeds' ``output.h5`` (``distllg ensemble CONFIG --seeds N`` made
them: seed k in ``<output.directory>/seed_<k>/``) and fits the growth exponent of the
chirality domain length and of the S(q)-peak width length, ``L(t) ~ t^n``, per seed over
the frames whose length lies in the fit window, then the mean and standard error over the
seeds (:mod:`distllg.analysis.kinetics`). Finished seeds only, unless ``--unfinished``
(every seed with an ``output.h5``: the frames written so far; a seed whose run holds its
file open for writing is left out, named).

Writes to ``--out`` (default ``<output.directory>/kinetics``): ``kinetics.json`` (each
frame's figures and radial S(q), the fits), ``kinetics.md`` (the exponents),
``lengths.png`` (log-log, with the fits), ``charge.png`` (Q(t)) and ``collapse.png``
(S(q, t) / L^2 against (|q| - q*) L).
"""

from __future__ import annotations

from pathlib import Path

from distllg.cli import error


def add_arguments(parser) -> None:
    parser.add_argument("config", help="the ensemble's run config")
    parser.add_argument("--seeds", type=int, required=True, help="number of seeds N")
    parser.add_argument("--first", type=int, default=0, help="first seed offset (default 0)")
    parser.add_argument("--unfinished", action="store_true",
                        help="also seeds still running or stopped (their frames so far)")
    parser.add_argument("--fit-lengths", type=float, nargs=2, default=None,
                        metavar=("LOWER", "UPPER"),
                        help="fit window in lattice constants (default: 24 to L/2)")
    parser.add_argument("--out", default=None, help="output directory")


def execute(args) -> int:
    from distllg import config as configlib
    from distllg.analysis import kinetics

    if args.seeds < 1:
        return error(f"--seeds must be >= 1, got {args.seeds}")
    lower, upper = args.fit_lengths or (None, None)
    if args.fit_lengths and not 0 < lower < upper:
        return error(f"--fit-lengths {lower} {upper}: need 0 < LOWER < UPPER")
    try:
        config = configlib.load(args.config)
        result = kinetics.analyse(config, range(args.first, args.first + args.seeds),
                                  lower, upper, unfinished=args.unfinished)
    except (ValueError, OSError) as problem:
        return error(problem)
    if not result["seeds"]:
        return error(f"no seed of {args.config} has an output to read "
                     f"(missing: {result['missing']})")
    out = Path(args.out or Path(config.output.directory) / "kinetics")
    kinetics.write(result, out)
    print(kinetics.table(result))
    for k, why in result["unreadable"].items():
        print(f"seed {k} left out: {why}")
    print(f"wrote {out}" + (f"; seeds without output: {result['missing']}"
                            if result["missing"] else ""))
    return 0
