"""The ``distllg`` command: one verb per task, each with ``--help``.

    distllg run CONFIG [--restart auto]          an LLG run (mpirun -n P distllg run ...)
    distllg inspect out/RUN/output.h5 --plots DIR

``python -m distllg COMMAND ...`` is the same command without the console script (under
mpirun: ``mpirun -n 64 python -m distllg run CONFIG``), and ``python -m distllg.run CONFIG``
is kept as an alias of ``distllg run`` for job scripts. All argument parsing lives in this
package; the library under it never reads ``sys.argv``.

Each verb is a module of this package with ``add_arguments(parser)`` and ``execute(args) ->
exit code`` (0 done, 1 failed, 2 bad input); its docstring is the verb's ``--help`` text.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: verb -> (module of distllg.cli, the line ``distllg --help`` shows)
COMMANDS = {
    "run": ("run", "an LLG run: CNN on MPI tiles, ED or KPM; output, checkpoints, restarts"),
    "ensemble": ("ensemble", "one run config over many seeds, and the outcome distribution"),
    "kinetics": ("kinetics", "ordering kinetics of an ensemble: domain growth exponents, S(q, t)"),
    "inspect": ("inspect", "summarise a run's output.h5 or a checkpoint, write its PNGs"),
    "datagen": ("datagen", "ED-labelled spin trajectories for training (spread over ranks)"),
    "train": ("train", "train the CNN torque model on datagen files"),
    "learn": ("learn", "active learning: a committee explores, ED labels, fine-tunes, gates"),
    "textures": ("textures", "exact labels of every texture family; each model's error on each"),
    "validate": ("validate", "a model's torques against ED or KPM on a lattice of your choice"),
    "compare": ("compare", "CNN-driven LLG against exact LLG from the same start"),
    "phases": ("phases", "grand potentials of candidate orders over a (mu, J, kT, h) scan"),
    "erf": ("erf", "effective receptive field of a model, next to ED's"),
    "symmetry": ("symmetry", "how much of a model's held-out error is point-group error"),
    "kpm-convergence": ("kpm_convergence", "KPM fields and energies against ED"),
    "electrons": ("electrons", "exact solver: energy and fields of one state, chi0(q) map"),
}


def _module(verb: str):
    return importlib.import_module(f"distllg.cli.{COMMANDS[verb][0]}")


def _listing() -> str:
    width = max(map(len, COMMANDS))
    return "commands:\n" + "\n".join(f"  {verb:<{width}}  {line}"
                                      for verb, (_, line) in COMMANDS.items())


def parser_for(verb: str) -> argparse.ArgumentParser:
    """The parser of ``distllg VERB`` (its module's docstring is the description)."""
    module = _module(verb)
    parser = argparse.ArgumentParser(prog=f"distllg {verb}", description=module.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    module.add_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """``distllg COMMAND ...``; returns the exit code. Only the named verb's module (and the
    library it needs) is imported."""
    argv = sys.argv[1:] if argv is None else list(argv)
    top = argparse.ArgumentParser(prog="distllg", description=__doc__, epilog=_listing(),
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("verb", choices=COMMANDS, metavar="COMMAND",
                     help="one of the commands below; 'distllg COMMAND --help' for its options")
    top.add_argument("arguments", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    chosen = top.parse_args(argv[:1] if argv and not argv[0].startswith("-") else argv)
    args = parser_for(chosen.verb).parse_args(argv[1:])
    from distllg.host_memory import keep_freed_memory

    keep_freed_memory()  # fresh tile-sized arrays without page faults on the CPU
    return _module(chosen.verb).execute(args)


def alias(verb: str) -> int:
    """``python -m distllg.<verb> ARGS`` as ``distllg <verb> ARGS`` (kept for job scripts)."""
    return main([verb, *sys.argv[1:]])


def error(text) -> int:
    """Print ``error: TEXT`` to stderr; the exit code of bad input (2)."""
    print(f"error: {text}", file=sys.stderr)
    return 2


def with_config(path, action) -> int:
    """``action(config)`` for the config file at ``path``; a bad config, model file or data
    (a ``ValueError``) is one ``error:`` line and exit code 2."""
    from distllg import config as configlib

    try:
        action(configlib.load(path))
    except ValueError as problem:  # ConfigError, ModelFileError and bad data are ValueErrors
        return error(problem)
    return 0
