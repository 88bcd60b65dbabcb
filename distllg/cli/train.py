"""``distllg train CONFIG``: train the CNN torque model on datagen files.

The ``[training]`` section of CONFIG says which data files, which architecture and where the
model goes; ``[hamiltonian]`` must match the data's s-d parameters. Running the command again
continues an interrupted training from ``<training.directory>/checkpoint.pt``. Details:
:mod:`distllg.training.train`.
"""

from __future__ import annotations

from distllg.cli import with_config


def add_arguments(parser) -> None:
    parser.add_argument("config", help="TOML config with [hamiltonian] and [training] (see "
                                       "configs/train.toml)")


def execute(args) -> int:
    from distllg.training.train import train

    return with_config(args.config, train)
