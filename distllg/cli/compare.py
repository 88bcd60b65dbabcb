"""``distllg compare CONFIG [--model M]``: CNN-LLG against exact LLG
from the same initial state.

Runs the config's trajectory twice in one process, with the exact (ED) fields and with the
CNN (both engines from :func:`distllg.engines.make` with :func:`distllg.engines.serial`
settings: the exact one plain ED whatever ``engine.twists`` says, the network in float64 on
the CPU), records Q(t), the crystal share and the exact energy E(t) of both
trajectories (the CNN has no energy of its own: its spins are handed to ED every
``output.every`` steps). An exact
run already on disk (``<output.directory>/output.h5`` of ``distllg run`` with
this config) is reused instead of recomputed; the CNN then starts from its first frame.
``--reference COMPARE_JSON`` takes the exact run's final values from an earlier
``compare.json`` of the same physics (lattice, Hamiltonian, dynamics, initial state; files
older than this check match by config path) instead: no exact run, no exact curves and no
``spins_exact.png``; a new model checked against an exact run that is no longer on disk.

Writes to ``--out``: ``compare.json`` (final Q, E/N, crystal share, S(q) peaks of both),
``q_overlay.png``, ``energy_overlay.png``, ``crystal_share_overlay.png``, ``spins_cnn.png``,
``spins_exact.png`` (not with ``--reference``).

``--seed K`` compares seed K of the ensemble of CONFIG (``distllg ensemble``: the start and
the noise shifted by K, the exact run in ``<output.directory>/seed_<K>/``); its default
``--out`` is that seed's ``compare/`` folder.
"""

from __future__ import annotations

from pathlib import Path

from distllg.cli import error


def add_arguments(parser) -> None:
    parser.add_argument("config", help="run config: its lattice, Hamiltonian, dynamics, "
                                       "initial state and output directory (the engines are "
                                       "plain ED and the --model network)")
    parser.add_argument("--model", default="default",
                        help="model file, or the name of a shipped model")
    parser.add_argument("--out", default=None,
                        help="output directory (default out/compare, or the seed's compare/)")
    parser.add_argument("--seed", type=int, default=None, metavar="K",
                        help="seed K of the ensemble of CONFIG (distllg ensemble)")
    parser.add_argument("--reference", type=Path, default=None,
                        help="an earlier compare.json of this config: its exact final values "
                             "are used instead of an exact run")


def execute(args) -> int:
    from distllg import config as configlib
    from distllg.analysis import ensemble
    from distllg.analysis.compare import compare

    try:
        config = configlib.load(args.config)
        if args.seed is not None:
            config = ensemble.seed_config(config, args.seed)
        out = args.out or (Path(config.output.directory) / "compare" if args.seed is not None
                           else "out/compare")
        compare(config, args.model, Path(out), reference=args.reference)
    except (ValueError, OSError) as problem:
        return error(problem)
    return 0
