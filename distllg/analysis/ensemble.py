"""Ensembles of runs: one config over many seeds, and the distribution of their outcomes.

Seed ``k`` of an ensemble of a config is the config with ``initial.seed`` and
``dynamics.noise_seed`` both shifted by ``k`` and its output in
``<output.directory>/seed_<k>/``: a different random start and a different thermal noise,
the same physics and protocol. Each seed is a plain run (restarts, checkpoints and
summary.json as ever); :func:`collect` reads what the finished seeds wrote.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from distllg import config as configlib

#: The summary.json figures of every seed the ensemble tabulates.
FIGURES = ("crystal_share", "skyrmion_number", "energy_per_site", "chirality_domain_length",
           "wall_density")


def seed_config(config: configlib.Config, k: int) -> configlib.Config:
    """Seed ``k`` of the ensemble of ``config``."""
    shifted = configlib.shifted_seeds(config, k)
    return dataclasses.replace(shifted, output=dataclasses.replace(
        config.output, directory=str(Path(config.output.directory) / f"seed_{k:04d}")))


def collect(config: configlib.Config, seeds: range) -> dict:
    """The summaries of the finished seeds: ``{"seeds": {k: figures}, "missing": [k, ...],
    "statistics": {figure: {mean, std, min, max, count}}, "formed": fraction with crystal
    share >= 0.7}``."""
    found, missing = {}, []
    for k in seeds:
        path = Path(seed_config(config, k).output.directory) / "summary.json"
        if not path.is_file():
            missing.append(k)
            continue
        summary = json.loads(path.read_text())
        found[k] = {key: summary.get(key) for key in (*FIGURES, "crystal_skyrmions_per_cell",
                                                      "steps", "wall_time_s_total")}
    statistics = {}
    for key in FIGURES:
        values = np.array([v[key] for v in found.values() if v[key] is not None], float)
        if len(values):
            statistics[key] = {"mean": float(values.mean()), "std": float(values.std(ddof=1))
                               if len(values) > 1 else 0.0, "min": float(values.min()),
                               "max": float(values.max()), "count": int(len(values))}
    shares = [v["crystal_share"] for v in found.values()]
    return {"config": config.source, "seeds": {str(k): v for k, v in found.items()},
            "missing": missing, "statistics": statistics,
            "formed": float(np.mean([s >= 0.7 for s in shares])) if shares else None}


def table(result: dict) -> str:
    """Markdown: one row per seed, then mean +- standard deviation."""
    lines = ["| seed | crystal share | n_sk | Q | E/N (t1) |", "|---|---|---|---|---|"]
    for k, v in result["seeds"].items():
        energy = "" if v["energy_per_site"] is None else f"{v['energy_per_site']:.6f}"
        lines.append(f"| {k} | {v['crystal_share']:.3f} | {v['crystal_skyrmions_per_cell']} | "
                     f"{v['skyrmion_number']:+.0f} | {energy} |")
    stats = result["statistics"]
    if "crystal_share" in stats:
        lines.append(f"| mean +- std | {stats['crystal_share']['mean']:.3f} +- "
                     f"{stats['crystal_share']['std']:.3f} | | "
                     f"{stats['skyrmion_number']['mean']:+.1f} +- "
                     f"{stats['skyrmion_number']['std']:.1f} | |")
    return "\n".join(lines) + "\n"


def plot(result: dict, path) -> Path:
    """Histograms of the crystal share and of Q over the seeds."""
    from distllg.analysis import plots

    seeds = result["seeds"].values()
    return plots.histograms({"crystal share": [v["crystal_share"] for v in seeds],
                             "skyrmion number Q": [v["skyrmion_number"] for v in seeds]},
                            path, f"{result['config']}: {len(result['seeds'])} seeds")
