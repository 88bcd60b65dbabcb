"""``python -m distllg.train CONFIG``: train the CNN torque model on datagen files.

The ``[training]`` section of CONFIG says which data files, which architecture and where the
model goes; ``[model]`` must match the data's s-d parameters. Running the command again
continues an interrupted training from ``<training.directory>/checkpoint.pt``. Details:
:mod:`distllg.model.train`.
"""

from __future__ import annotations

import argparse
import sys

from distllg import config as configlib
from distllg.model.train import train


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m distllg.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", help="TOML config with [model] and [training] "
                                       "(see configs/train.toml)")
    args = parser.parse_args(argv)
    try:
        train(configlib.load(args.config))
    except (configlib.ConfigError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
