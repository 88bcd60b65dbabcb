"""``distllg erf MODEL --data FILE``: effective receptive field of a CNN model,
next to the same sensitivity of the exact (ED) torques.

Spin states are frames of a datagen file (spread over its trajectories, disordered to
skyrmion crystal). For each, the sensitivity ``|dT_c / dS_j|`` of the torque on the centre
site to every spin is taken by autograd (CNN) and by the exact linear response of ED (one
full diagonalisation per state: about 2 s at L = 24; ``--no-exact`` skips it). Writes to
``--out``: ``erf.json`` (radial profiles, the radii holding 99 % of the sensitivity in
Cartesian distance and in grid steps, and the model's architectural radius),
``erf_map.png`` (log heat maps) and ``erf_profile.png`` (radial profiles). Method:
:mod:`distllg.analysis.erf`.
"""

from __future__ import annotations

from pathlib import Path

from distllg.cli import error


def add_arguments(parser) -> None:
    parser.add_argument("model", help="model file, or the name of a shipped model")
    parser.add_argument("--data", required=True, help="datagen HDF5 file with spin states")
    parser.add_argument("--states", type=int, default=6, help="number of spin states")
    parser.add_argument("--no-exact", action="store_true",
                        help="skip the exact (ED linear-response) comparison")
    parser.add_argument("--out", default="out/erf", help="output directory")


def execute(args) -> int:
    from distllg.analysis import erf
    from distllg.model import io as modelio

    try:
        model = modelio.load_model(args.model)
        states = erf.states_from(args.data, args.states)
    except (ValueError, OSError) as problem:
        return error(problem)
    result = erf.report(model, erf.measure(model, states, not args.no_exact), Path(args.out))
    for name in ("cnn", "exact"):
        if name in result:
            print(f"{name}: 99 % of the sensitivity within distance "
                  f"{result[name]['radius99_distance']:.2f} ({result[name]['radius99_grid_steps']}"
                  f" grid steps); architectural radius {model.receptive_radius}")
    return 0
