"""``python -m distllg.erf MODEL --data FILE``: effective receptive field of a CNN model,
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

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from distllg.analysis import erf, plots
from distllg.electrons import SDModel
from distllg.electrons.exact import ExactSolver
from distllg.model import data as datalib
from distllg.model import io as modelio


def states_from(path, count: int) -> np.ndarray:
    """``count`` frames ``(count, 3, Ly, Lx)`` spread evenly over a data file."""
    frames = np.concatenate([t["spins"] for _, t in sorted(datalib.read(path)
                                                            ["trajectories"].items())])
    return frames[np.linspace(0, len(frames) - 1, count).astype(int)]


def measure(model, states: np.ndarray, exact: bool) -> dict:
    """Mean centred sensitivity maps ``{"cnn": (Ly, Lx), "exact": (Ly, Lx) or None}``."""
    _, _, Ly, Lx = states.shape
    centre = (Ly // 2, Lx // 2)
    solver = ExactSolver(SDModel(**model.metadata["model"])) if exact else None
    maps = {"cnn": np.zeros((Ly, Lx)), "exact": np.zeros((Ly, Lx)) if exact else None}
    for index, spins in enumerate(states):
        maps["cnn"] += erf.cnn_sensitivity(model, spins, centre) / len(states)
        if exact:
            maps["exact"] += erf.response_sensitivity(solver, spins, centre) / len(states)
        print(f"state {index + 1}/{len(states)} done", flush=True)
    return maps


def report(model, maps: dict, out: Path) -> dict:
    """Write erf.json and the PNGs; returns the JSON dict."""
    shape = maps["cnn"].shape
    dist, steps = erf.distances(shape), erf.grid_steps(shape)
    r_arch = model.receptive_radius
    result = {"model": model.source, "architectural_radius_grid_steps": r_arch,
              "lattice": list(shape)}
    profiles = {}
    for name, values in maps.items():
        if values is None:
            continue
        r, mean = erf.radial_profile(values, dist)
        profiles[name] = (r, mean)
        result[name] = {"radius99_distance": erf.radius_holding(values, dist),
                        "radius99_grid_steps": erf.radius_holding(values, steps),
                        "fraction_beyond_architectural_radius":
                            float(values[steps > r_arch].sum() / values.sum()),
                        "profile_distance": r.tolist(), "profile_mean": mean.tolist()}
    out.mkdir(parents=True, exist_ok=True)
    (out / "erf.json").write_text(json.dumps(result, indent=2) + "\n")
    floor = 1e-6
    for name, values in maps.items():
        if values is not None:
            plots.scalar_field(np.log10(np.maximum(values / values.max(), floor)),
                               out / f"erf_map_{name}.png", symmetric=False,
                               title=f"{name}: log10 |dT_centre/dS_j| (relative)",
                               label="log10 sensitivity")
    common_r = profiles["cnn"][0]
    series = {f"{name} (r99 = {result[name]['radius99_distance']:.2f})": mean
              for name, (_, mean) in profiles.items()}
    plots.curves(common_r, series, out / "erf_profile.png", "distance from the centre site",
                 "mean |dT_c / dS_j| (t1)", "effective receptive field",
                 marks={f"r_arch = {r_arch} grid steps": float(r_arch)}, logy=True)
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m distllg.erf", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="model file, or 'default' for the shipped model")
    parser.add_argument("--data", required=True, help="datagen HDF5 file with spin states")
    parser.add_argument("--states", type=int, default=6, help="number of spin states")
    parser.add_argument("--no-exact", action="store_true",
                        help="skip the exact (ED linear-response) comparison")
    parser.add_argument("--out", default="out/erf", help="output directory")
    args = parser.parse_args(argv)
    try:
        model = modelio.load_model(args.model)
        states = states_from(args.data, args.states)
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    result = report(model, measure(model, states, not args.no_exact), Path(args.out))
    for name in ("cnn", "exact"):
        if name in result:
            print(f"{name}: 99 % of the sensitivity within distance "
                  f"{result[name]['radius99_distance']:.2f} ({result[name]['radius99_grid_steps']}"
                  f" grid steps); architectural radius {model.receptive_radius}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
