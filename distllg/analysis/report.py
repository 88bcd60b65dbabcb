"""What a run's files say: summaries and PNGs of an ``output.h5`` or a checkpoint.

Used by the run at its end (summary.json and the PNGs), by ``distllg inspect``
and by ``distllg compare``. Lattices wider than ``WINDOW`` sites are
summarised (S(q), crystal share) and plotted on a ``WINDOW x WINDOW`` window read alone
from the file; Q and |m| of an output file are the run's global values.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from distllg import lattice
from distllg.analysis import plots
from distllg.dynamics import observables as obs
from distllg.io import checkpoint as checkpointlib
from distllg.io import output as outputlib

#: Lattices wider than this are summarised and plotted on their first WINDOW x WINDOW sites
#: (read alone from the file), so that memory stays bounded whatever the lattice; Q and the
#: magnetisation always come from the run's own global series.
WINDOW = 512


def window_of(shape) -> tuple[slice, slice]:
    """The sites that summaries and plots of a ``shape`` lattice look at."""
    return slice(0, min(shape[0], WINDOW)), slice(0, min(shape[1], WINDOW))


def kind_of(path) -> str:
    """``"output"`` or ``"checkpoint"``; ValueError naming the file otherwise."""
    try:
        with h5py.File(path, "r") as f:
            found = f.attrs.get("format")
    except OSError as error:
        raise ValueError(f"{path} is not a readable HDF5 file ({error})") from None
    kinds = {outputlib.FORMAT: "output", checkpointlib.FORMAT: "checkpoint",
             checkpointlib.UNVERIFIED_FORMAT: "checkpoint"}
    if found not in kinds:
        raise ValueError(f"{path} is neither a distllg output nor a checkpoint "
                         f"(format {found!r})")
    return kinds[found]


def crystal_wave_number(spins: np.ndarray) -> float:
    """|q| of the strongest S(q) peak (1 / lattice constant; pi / 3 when there is none):
    the wave number the crystal share is measured against."""
    _, q = obs.structure_factor_peaks(spins, count=1)
    return float(np.linalg.norm(q[0])) if len(q) else np.pi / 3


#: The ordering lengths of :func:`spins_summary`: defined on the periodic lattice only.
PERIODIC_ONLY = ("chirality_domain_length", "wall_density", "peak_width_length")


def spins_summary(spins: np.ndarray) -> dict:
    """Q, magnetisation, S(q) peaks, crystal share and kind, and the ordering lengths of one
    periodic frame (3, Ly, Lx): chirality domain length, wall density and S(q)-peak width
    length (:mod:`distllg.dynamics.observables`; lattice constants)."""
    q = crystal_wave_number(spins)
    kind = obs.crystal_skyrmions_per_cell(spins, q)
    return {"skyrmion_number": obs.skyrmion_number(spins),
            "magnetization": obs.magnetization(spins).tolist(),
            "structure_factor_peaks": obs.structure_factor_summary(spins),
            "crystal_share": obs.crystal_share(spins, q, kind),
            "crystal_skyrmions_per_cell": kind,
            "chirality_domain_length": obs.chirality_domain_length(spins, q),
            "wall_density": obs.wall_density(spins, q),
            "peak_width_length": obs.peak_width_length(spins)}


def describe_output(path) -> dict:
    """Summary of an output file (see the module docstring)."""
    with h5py.File(path, "r") as f:
        slots = f["scales/iteration"].shape[0]
        config = json.loads(f.attrs["config"])
        legs = json.loads(f.attrs["legs"])
        shape = tuple(f["tasks/spins"].shape[2:])
    series = outputlib.read_series(path)
    summary = {"file": str(path), "kind": "output", "lattice": list(shape),
               "frames_written": int(series["step"].size), "frame_slots": slots,
               "steps": [int(series["step"][0]), int(series["step"][-1])]
               if series["step"].size else [], "legs": legs,
               "engine": config["engine"]["kind"], "config": config}
    if series["step"].size:
        step, spins = outputlib.read_frame(path, region=window_of(shape))
        summary.update(_windowed_summary(spins, shape))
        summary.update(last_step=step, time=float(series["time"][-1]),
                       energy_per_site=float(series["energy_per_site"][-1]),
                       wall_time_s=float(series["wall_time"][-1]),
                       skyrmion_number=float(series["skyrmion_number"][-1]),
                       magnetization=series["magnetization"][-1].tolist())
    return summary


def _windowed_summary(spins: np.ndarray, shape) -> dict:
    """:func:`spins_summary` of a frame's window; says which window when it is not all."""
    summary = spins_summary(spins)
    if tuple(spins.shape[1:]) != tuple(shape):
        summary["window"] = list(spins.shape[1:])
        # a window is not periodic: correlations and S(q) peak widths across its edges would
        # measure the cut, not the texture
        summary.update(dict.fromkeys(PERIODIC_ONLY))
    return summary


def describe_checkpoint(path) -> dict:
    """Summary of a checkpoint file."""
    state = checkpointlib.read_state(path)
    with h5py.File(path, "r") as f:
        spins = f["spins"][(slice(None),) + window_of(state["lattice"])]
    keep = ("step", "time", "wall_time", "integrator", "dt", "alpha", "run_hash",
            "model_hash", "ranks", "date")
    return {"file": str(path), "kind": "checkpoint", "lattice": list(state["lattice"]),
            **{k: (v.item() if hasattr(v, "item") else v) for k, v in state.items()
               if k in keep}, **_windowed_summary(spins, state["lattice"])}


def title_of(config: dict, shape, step: int | None = None) -> str:
    """The plots' title: lattice, damping and the Zeeman field, at ``step`` under a field
    ramp (``h ramped`` without a step)."""
    h = config.get("hamiltonian", config.get("model"))["h"]  # ([model] until 2026-12)
    dynamics = config["dynamics"]
    if dynamics.get("field_steps"):
        if step is None:
            return f"L = {shape[0]}x{shape[1]}, alpha = {dynamics['alpha']}, h ramped"
        from distllg.dynamics.stepper import FieldRamp

        h += FieldRamp(dynamics["field_steps"], dynamics["field_values"]).at(step)
    return f"L = {shape[0]}x{shape[1]}, alpha = {dynamics['alpha']}, h = {h:.4g}"


def write_output_plots(path, out, snapshots: int = 4) -> list[Path]:
    """The PNGs of an output file into directory ``out`` (see the module docstring)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "r") as f:
        config = json.loads(f.attrs["config"])
        shape = f["tasks/spins"].shape[2:]
        slots = outputlib.written_frames(f)
        chosen = (slots[np.linspace(0, slots.size - 1, snapshots).round().astype(int)]
                  if snapshots > 0 and slots.size else [])
        rows, cols = window_of(shape)
        frames = [(int(f["scales/iteration"][k]), float(f["scales/sim_time"][k]),
                   f["tasks/spins"][k, :, rows, cols]) for k in sorted(set(chosen))]
    shown = f" (sites {rows.stop} x {cols.stop} shown)" \
        if (rows.stop, cols.stop) != tuple(shape) else ""
    title = title_of(config, shape) + shown
    data = outputlib.read_series(path)
    written = []
    t = data["time"]
    if np.isfinite(data["energy_per_site"]).any():
        written.append(plots.curves(t, {"E/N": data["energy_per_site"]}, out / "energy.png",
                                    "time (hbar/t1)", "energy per site (t1)", title))
    written.append(plots.curves(
        t, {"Q": data["skyrmion_number"],
            "|m| x 10": 10 * np.linalg.norm(data["magnetization"], axis=1)},
        out / "skyrmion_number.png", "time (hbar/t1)", "skyrmion number Q", title))
    for step, time_, spins in frames:
        written.append(plots.vector_texture(
            spins, out / f"spins_{step:07d}.png", label="$S^z$",
            title=f"t = {time_:.1f}, {title_of(config, shape, step)}{shown}"))
    _, spins = outputlib.read_frame(path, region=(rows, cols))
    last = int(data["step"][-1]) if len(data["step"]) else None
    written += write_spin_plots(spins, out, "final", title_of(config, shape, last) + shown)
    return written


def write_spin_plots(spins: np.ndarray, out: Path, tag: str, title: str) -> list[Path]:
    """``spins_<tag>.png``, ``chirality_<tag>.png``, ``crystal_<tag>.png`` (block scores of
    the crystal share) and ``structure_factor_<tag>.png``."""
    written = [plots.vector_texture(spins, out / f"spins_{tag}.png",
                                    title=f"{tag} spins, {title}", label="$S^z$")]
    density = obs.chirality_density(spins)
    written.append(plots.scalar_field(density, out / f"chirality_{tag}.png",
                                      title=f"skyrmion density, Q = {density.sum():+.3f}",
                                      label="solid angle / $4\\pi$ per cell"))
    q_crystal = crystal_wave_number(spins)
    kind = obs.crystal_skyrmions_per_cell(spins, q_crystal)
    scores, y_edges, x_edges = obs.crystal_blocks(spins, q_crystal, kind)
    by_site = np.repeat(np.repeat(scores, np.diff(y_edges), axis=0), np.diff(x_edges), axis=1)
    written.append(plots.scalar_field(
        by_site, out / f"crystal_{tag}.png",
        title=f"crystal share {obs.crystal_share(spins, q_crystal, kind):.2f} "
              f"(n_sk = {kind}, "
              f"|Q| = {q_crystal:.3f})", label="block charge / crystal's (clipped to +-1)"))
    _, Ly, Lx = spins.shape
    _, q = obs.structure_factor_peaks(spins, count=3)
    factor = obs.structure_factor(spins)
    factor[0, 0] = 0.0  # the magnetisation (q = 0) would swamp the modulations in a field
    written.append(plots.k_space_map(factor, lattice.k_fractions(Ly, Lx),
                                     out / f"structure_factor_{tag}.png",
                                     title="spin structure factor S(q), q = 0 left out",
                                     label="S(q)", marks=np.concatenate([q, -q])))
    return written


def text(summary: dict) -> str:
    lines = [f"{summary['kind']} {summary['file']}: lattice {summary['lattice'][0]} x "
             f"{summary['lattice'][1]}"]
    if summary["kind"] == "output":
        lines.append(f"  engine {summary['engine']}, {summary['frames_written']} of "
                     f"{summary['frame_slots']} frames written, steps {summary['steps']}, "
                     f"{len(summary['legs'])} leg(s): "
                     + ", ".join(f"step {leg['first_step']} on {leg['ranks']} rank(s)"
                                 for leg in summary["legs"]))
        if "last_step" in summary:
            lines.append(f"  last frame: step {summary['last_step']}, t = {summary['time']:.2f}"
                         f", {obs.energy_text(summary['energy_per_site'])}wall "
                         f"{summary['wall_time_s']:.1f} s")
    else:
        lines.append(f"  step {summary['step']}, t = {summary['time']:.2f}, "
                     f"{summary['integrator']} dt = {summary['dt']}, written by "
                     f"{summary['ranks']} rank(s) on {summary['date']}, run hash "
                     f"{summary['run_hash']}")
    if "skyrmion_number" in summary:
        peaks = [round(p["abs_q"], 4) for p in summary["structure_factor_peaks"]]
        lines.append(f"  Q = {summary['skyrmion_number']:+.4f}, crystal share "
                     f"{summary['crystal_share']:.2f}, |m| = "
                     f"{np.linalg.norm(summary['magnetization']):.4f}, S(q) peaks at "
                     f"|q| = {peaks}")
    return "\n".join(lines)
