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

#: The summary.json figures of every seed the ensemble tabulates, and with them the
#: committee's largest disagreement (from the summary's committee section, where the run
#: had a committee).
FIGURES = ("crystal_share", "skyrmion_number", "energy_per_site", "chirality_domain_length",
           "wall_density")
TABULATED = (*FIGURES, "largest_disagreement")


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
        found[k]["largest_disagreement"] = (summary.get("committee") or {}).get(
            "largest_disagreement")
    statistics = {}
    for key in TABULATED:
        values = np.array([v[key] for v in found.values() if v[key] is not None], float)
        values = values[np.isfinite(values)]  # a network gives no energy
        if len(values):
            statistics[key] = {"mean": float(values.mean()), "std": float(values.std(ddof=1))
                               if len(values) > 1 else 0.0, "min": float(values.min()),
                               "max": float(values.max()), "count": int(len(values))}
    shares = [v["crystal_share"] for v in found.values()]
    return {"config": config.source, "seeds": {str(k): v for k, v in found.items()},
            "missing": missing, "statistics": statistics,
            "formed": float(np.mean([s >= 0.7 for s in shares])) if shares else None}


#: The table's columns: (figure, heading, format of a seed, format of the mean and spread).
COLUMNS = (("crystal_share", "crystal share", ".3f", ".3f"),
           ("skyrmion_number", "Q", "+.0f", ".1f"),
           ("energy_per_site", "E/N (t1)", ".6f", ".6f"),
           ("chirality_domain_length", "chirality domains (sites)", ".1f", ".1f"),
           ("wall_density", "wall density", ".3f", ".3f"),
           ("largest_disagreement", "committee: largest disagreement (t1)", ".1e", ".1e"))


def table(result: dict) -> str:
    """Markdown: one row per seed, then mean +- standard deviation."""
    def cell(value, form):
        return "" if value is None or not np.isfinite(value) else format(value, form)

    head = ["seed", "n_sk"] + [heading for _, heading, _, _ in COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for k, v in result["seeds"].items():
        lines.append(f"| {k} | {v['crystal_skyrmions_per_cell']} | " + " | ".join(
            cell(v.get(key), form) for key, _, form, _ in COLUMNS) + " |")
    stats = result["statistics"]
    if "crystal_share" in stats:
        lines.append("| mean +- std | | " + " | ".join(
            f"{cell(stats[key]['mean'], form)} +- {cell(stats[key]['std'], form)}"
            if key in stats else "" for key, _, _, form in COLUMNS) + " |")
    return "\n".join(lines) + "\n"


def plot(result: dict, path) -> Path:
    """Histograms of the crystal share and of Q over the seeds."""
    from distllg.analysis import plots

    seeds = result["seeds"].values()
    return plots.histograms({"crystal share": [v["crystal_share"] for v in seeds],
                             "skyrmion number Q": [v["skyrmion_number"] for v in seeds]},
                            path, f"{result['config']}: {len(result['seeds'])} seeds")
