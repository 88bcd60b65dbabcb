"""``python -m distllg.train CONFIG``: train the CNN torque model on datagen files.

The ``[training]`` section of CONFIG says which data files, which architecture and where the
model goes; ``[hamiltonian]`` must match the data's s-d parameters. Running the command again
continues an interrupted training from ``<training.directory>/checkpoint.pt``. Details:
:mod:`distllg.model.train`.
"""

from __future__ import annotations

import sys

from distllg import config as configlib
from distllg.model.train import train


def main(argv=None) -> int:
    return configlib.command("python -m distllg.train", __doc__,
                             "TOML config with [hamiltonian] and [training] (see "
                             "configs/train.toml)",
                             train, argv)


if __name__ == "__main__":
    sys.exit(main())
