"""Ordering kinetics: how the domains of a crystal grow in time, over the seeds of an
ensemble (:mod:`distllg.analysis.ensemble`).

Every frame of every seed's ``output.h5`` gives the figures of
:func:`distllg.analysis.report.spins_summary` (Q, crystal share, chirality domain length,
S(q)-peak width length, wall density; lattice constants) and the circularly averaged
structure factor (:func:`distllg.dynamics.observables.radial_structure_factor`). A length
growing as ``L(t) ~ t^n`` gives, per seed, the slope ``n`` of a least-squares line through
``(log t, log L)`` over the frames whose length lies in ``[lower, upper]`` (default: two
crystal blocks, 24 lattice constants at |q| = pi/3, just above the 17-22 that the S(q)-peak
width gives for states without order, to half the lattice, below the cap at its size);
the ensemble's exponent is the mean over seeds with the
standard error of that mean. Dynamic scaling holds when ``S(q, t) / L(t)^2`` against
``(|q| - q*) L(t)`` falls on one curve (``q*``: the crystal's wave number).

Files are read frame by frame, each frame whole: memory of one frame (24 bytes a site).
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from distllg.analysis import ensemble, plots, report
from distllg.dynamics import observables as obs
from distllg.io import output as outputlib

#: The lengths whose growth is fitted (keys of report.spins_summary).
LENGTHS = ("chirality_domain_length", "peak_width_length")
#: Default lower end of the fitted lengths: two crystal blocks of the |q| = pi/3 crystal
#: (block side 4 pi / q = 12 lattice constants, observables.crystal_blocks).
TWO_BLOCKS = 2 * 4 * np.pi / (np.pi / 3)
#: Figures of each frame kept in the series.
FIGURES = ("skyrmion_number", "crystal_share", *LENGTHS, "wall_density")


def series(path) -> dict:
    """Per written frame of the output file ``path``: ``step``, ``time`` and :data:`FIGURES`,
    the crystal wave number ``q_star`` and the radial structure factor (``q``, ``S``
    rows)."""
    with h5py.File(path, "r") as f:
        written = outputlib.written_frames(f)  # a running or stopped run has empty slots
        steps = f["scales/iteration"][:][written]
        times = f["scales/sim_time"][:][written]
        frames = f["tasks/spins"]
        rows = {key: [] for key in (*FIGURES, "q_star", "S")}
        q = None
        for k in written:
            spins = frames[k]
            summary = report.spins_summary(spins)
            for key in FIGURES:
                rows[key].append(summary[key])
            rows["q_star"].append(report.crystal_wave_number(spins))
            q, S = obs.radial_structure_factor(spins)
            rows["S"].append(S)
        shape = frames.shape[2:]
    return {"step": steps.tolist(), "time": times.tolist(), "shape": list(shape),
            **{key: np.asarray(v).tolist() for key, v in rows.items()},
            "q": [] if q is None else q.tolist()}


def growth_exponent(times, lengths, lower: float, upper: float) -> dict:
    """Slope ``n`` of ``log L`` against ``log t`` (least squares) over the frames with
    ``t > 0`` and ``lower <= L <= upper``: ``{"exponent", "amplitude", "points", "t_range"}``;
    exponent NaN with fewer than 3 such frames."""
    t, length = np.asarray(times, float), np.asarray(lengths, float)
    use = (t > 0) & (length >= lower) & (length <= upper)
    if use.sum() < 3:
        return {"exponent": float("nan"), "amplitude": float("nan"), "points": int(use.sum()),
                "t_range": None}
    slope, intercept = np.polyfit(np.log(t[use]), np.log(length[use]), 1)
    return {"exponent": float(slope), "amplitude": float(np.exp(intercept)),
            "points": int(use.sum()), "t_range": [float(t[use].min()), float(t[use].max())]}


def mean_and_error(values) -> dict:
    """Mean, standard deviation and standard error of the mean of the finite ``values``."""
    v = np.asarray([x for x in values if np.isfinite(x)], float)
    if not len(v):
        return {"mean": float("nan"), "std": float("nan"), "error": float("nan"), "count": 0}
    std = float(v.std(ddof=1)) if len(v) > 1 else float("nan")
    return {"mean": float(v.mean()), "std": std, "error": std / np.sqrt(len(v)),
            "count": int(len(v))}


def analyse(config, seeds: range, lower: float | None = None, upper: float | None = None,
            unfinished: bool = False) -> dict:
    """The series and growth exponents of the seeds of the ensemble of ``config`` that are
    finished (``summary.json`` written), or, with ``unfinished``, of every seed whose
    ``output.h5`` holds a frame; ``{"seeds": {k: series + fits}, "missing", "unreadable"
    (seed -> why: a file a running run holds open), "exponents", "window"}``."""
    found, missing, unreadable = {}, [], {}
    for k in seeds:
        folder = Path(ensemble.seed_config(config, k).output.directory)
        ready = (folder / "summary.json").is_file() or unfinished
        if not (ready and (folder / "output.h5").is_file()):
            missing.append(k)
            continue
        try:
            got = series(folder / "output.h5")
        except OSError as problem:  # a run that holds its file open for writing
            unreadable[k] = f"{folder / 'output.h5'}: {problem}"
            continue
        if got["time"]:
            found[k] = got
        else:
            missing.append(k)  # no frame written yet
    L = min(config.lattice.shape)
    lower = TWO_BLOCKS if lower is None else lower
    upper = L / 2 if upper is None else upper
    for s in found.values():
        s["fits"] = {key: growth_exponent(s["time"], s[key], lower, upper) for key in LENGTHS}
    exponents = {key: mean_and_error([s["fits"][key]["exponent"] for s in found.values()])
                 for key in LENGTHS}
    return {"config": config.source, "lattice": list(config.lattice.shape),
            "window": [float(lower), float(upper)], "seeds": {str(k): v for k, v in
                                                              found.items()},
            "missing": missing, "unreadable": unreadable, "exponents": exponents}


def table(result: dict) -> str:
    """Markdown: each seed's exponents (and the frames they were fitted on), then the
    ensemble's mean +- standard error."""
    head = "| seed | " + " | ".join(f"n ({key.replace('_', ' ')}) | frames" for key in LENGTHS)
    lines = [head + " | final Q | final share |", "|" + "---|" * (2 * len(LENGTHS) + 3)]
    for k, s in result["seeds"].items():
        cells = [f"{s['fits'][key]['exponent']:.3f} | {s['fits'][key]['points']}"
                 for key in LENGTHS]
        lines.append(f"| {k} | " + " | ".join(cells) +
                     f" | {s['skyrmion_number'][-1]:+.0f} | {s['crystal_share'][-1]:.3f} |")
    cells = [f"{e['mean']:.3f} +- {e['error']:.3f} | " for e in result["exponents"].values()]
    lines.append("| mean +- s.e. | " + " | ".join(cells) + " | | |")
    return "\n".join(lines)


def write(result: dict, out: Path) -> list[Path]:
    """kinetics.json, kinetics.md and the PNGs (lengths.png, charge.png, collapse.png)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "kinetics.json").write_text(json.dumps(result, indent=1) + "\n")
    (out / "kinetics.md").write_text(table(result) + "\n")
    return [out / "kinetics.json", out / "kinetics.md", *plots.kinetics(result, out)]
