"""The scan behind ``distllg phases``: every (point, candidate, period) of a config's
``[phases]`` relaxed and recorded in ``phases.jsonl`` (resumable), then the table and
the phase diagram (what it writes: :mod:`distllg.cli.phases`). The candidates:
:mod:`distllg.analysis.phases`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from pathlib import Path

import numpy as np

from distllg import config as configlib
from distllg.analysis import phases as phaselib
from distllg.analysis import plots

SCANNED = ("mu", "J", "kT", "h")
#: Changes whenever the records' meaning changes (fields, definitions).
METHOD = "phases-2"


def points(config: configlib.Config) -> list[dict[str, float]]:
    """Every (mu, J, kT, h) of the scan; an empty list takes the ``[hamiltonian]`` value."""
    lists = [getattr(config.phases, key) or (getattr(config.hamiltonian, key),) for key in SCANNED]
    return [dict(zip(SCANNED, values, strict=True)) for values in itertools.product(*lists)]


def settings_hash(config: configlib.Config) -> str:
    """What the numbers of a record depend on besides its point, candidate, period and seed:
    the hoppings and the accuracy settings. Records of other settings are not mixed."""
    phases = config.phases
    used = {"t": [config.hamiltonian.t1, config.hamiltonian.t2, config.hamiltonian.t3],
            "twists": [phases.relax_twists, phases.energy_twists], "k_points": phases.k_points,
            "tolerance": phases.tolerance, "max_evaluations": phases.max_evaluations,
            "method": METHOD}
    return hashlib.sha256(json.dumps(used, sort_keys=True).encode()).hexdigest()[:16]


def _key(point: dict, phase: dict) -> tuple:
    return tuple(point[k] for k in SCANNED) + (phase["name"], phase["period"],
                                               phase.get("seed", 0))


def read_records(path: Path) -> list[dict]:
    """The records of ``phases.jsonl`` (``{"point": {...}, "phase": {...}}``); none if absent."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def scan(config: configlib.Config, log=print) -> list[dict]:
    """Compute every (point, candidate, period) not yet in ``phases.jsonl``; return all."""
    settings = config.phases
    directory = Path(settings.directory)
    (directory / "states").mkdir(parents=True, exist_ok=True)
    path = directory / "phases.jsonl"
    records = read_records(path)
    settings_key = settings_hash(config)
    foreign = sum(r.get("settings") != settings_key for r in records)
    if foreign:
        raise configlib.ConfigError(
            f"'phases.directory' = {str(directory)!r} holds {foreign} record(s) computed with "
            f"other hoppings, accuracy settings or an older version; choose another directory")
    done = {_key(r["point"], r["phase"]) for r in records}
    for point in points(config):
        model = dataclasses.replace(config.hamiltonian, **point)
        k_points = settings.k_points or phaselib.k_points_for(model)
        todo = []
        for name in settings.candidates:
            if name == "cone" and model.h == 0:
                continue  # at h = 0 the cone's best canting is the planar spiral
            seeds = range(settings.random_starts) if name == "random" else (0,)
            for period in (settings.periods if name in phaselib.SUPERCELL else (0,)):
                for seed in seeds:
                    key = {"name": name, "period": period, "seed": seed}
                    if _key(point, key) not in done:
                        todo.append(key)
        for item in todo:
            name, period, seed = item["name"], item["period"], item["seed"]
            if period:
                phase, spins = phaselib.supercell_phase(
                    model, name, period, settings.relax_twists, settings.energy_twists,
                    settings.tolerance, settings.max_evaluations, seed=seed)
                stem = ("_".join(f"{k}{point[k]:g}" for k in SCANNED)
                        + f"_{name}_P{period}" + (f"_seed{seed}" if name == "random" else ""))
                np.save(directory / "states" / f"{stem}.npy", spins)
            else:
                phase = phaselib.K_SPACE_STATES[name](model, k_points)
            record = {"point": point, "phase": phase.as_dict(), "settings": settings_key}
            records.append(record)
            with path.open("a") as f:
                f.write(json.dumps(record) + "\n")
            log(f"{_point_text(point)}  {phase.name:<11} P {phase.period:>2} -> "
                f"{phase.order:<16} omega {phase.omega:.7f}  |Q| {phase.q:.3f}  "
                f"max torque {phase.max_torque:.1e}  ({phase.seconds:.0f} s)")
    return records


def _point_text(point: dict) -> str:
    return " ".join(f"{k} {point[k]:g}" for k in SCANNED)


def summarise(records: list[dict], config: configlib.Config) -> list[dict]:
    """Per scanned point: the best phase of each order, the winner and its margin (t1/site)."""
    rows = []
    for point in points(config):
        phases = [phaselib.Phase(**r["phase"]) for r in records if r["point"] == point]
        if not phases:
            continue
        order = phaselib.ranked(phases)
        winner, margin = phaselib.winner_and_margin(phases)
        rows.append({"point": point, "best": phaselib.best_by_order(phases),
                     "winner": winner, "margin": margin,
                     "tie": order[1] if margin < phaselib.TIE else None})
    return rows


def _describe(phase: phaselib.Phase) -> str:
    if phase.period:
        return f"{phase.order} (P {phase.period}, from {phase.name})"
    return f"{phase.name} (\\|q\\| {phase.q:.3f})" if phase.q else phase.name


def orders(rows: list[dict]) -> list[str]:
    """The orders found over the scan: k-space states first, then crystals, then the rest."""
    found = {order for row in rows for order in row["best"]}
    first = [o for o in phaselib.UNIFORM if o in found]
    return first + sorted(o for o in found if o not in first)


def table(rows: list[dict]) -> str:
    """Markdown table: the winner (a tie when the margin is below ``TIE``), its margin and
    every order's best omega minus the spiral's (1e-4 t1 per site; the spiral's own omega
    in its column)."""
    columns = orders(rows)
    head = ["mu", "J", "kT", "h", "winner", "margin (1e-4)"] + columns
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        best, spiral = row["best"], row["best"].get("spiral")
        cells = [f"{row['point'][k]:g}" for k in SCANNED]
        winner = _describe(row["winner"])
        if row["tie"] is not None:
            winner = f"tie: {winner} ~ {_describe(row['tie'])}"
        cells += [winner, f"{1e4 * row['margin']:.2f}"]
        for name in columns:
            phase = best.get(name)
            if phase is None:
                cells.append("")
            elif name == "spiral" or spiral is None:
                cells.append(f"{phase.omega:.6f}")
            else:
                cells.append(f"{1e4 * (phase.omega - spiral.omega):+.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def run(config: configlib.Config) -> None:
    settings = config.phases
    directory = Path(settings.directory)
    records = scan(config)
    rows = summarise(records, config)
    text = table(rows)
    (directory / "phases.md").write_text(
        "Grand potentials per site on the infinite lattice (distllg phases "
        f"{config.source}); columns after the margin: omega - omega(spiral) in 1e-4 t1.\n\n"
        + text)
    axes = [k for k in SCANNED if len(getattr(settings, k)) > 1]
    plots.phase_diagram(rows, axes, orders(rows), directory / "phase_diagram.png")
    print(text, end="")
    print(f"wrote {directory / 'phases.md'} and {directory / 'phase_diagram.png'}")

