"""Effective receptive field: how strongly the torque on one site depends on each spin.

For spins ``S`` and a centre site ``c``, the sensitivity of site ``j`` is the Frobenius norm
of the 3 x 2 matrix ``dT_c / dS_j`` taken along the two directions tangent to ``S_j`` (unit
spins can only move there), averaged over states. Two ways to get it:

* CNN: autograd through the periodic model (:func:`cnn_sensitivity`);
* exact: the ED linear response ``dH_c / dS_j`` (Kubo formula, one diagonalisation per
  state: :func:`distllg.electrons.exact.field_response`) turned into ``dT_c / dS_j``
  (:func:`response_sensitivity`);
* any field provider: central finite differences of ``T_c = S_c x H_c``, moving ``S_j`` by
  ``+-eps`` along each tangent direction (:func:`exact_sensitivity`; the check of both).

The map is shifted so the centre sits at the origin, binned by Cartesian distance (minimum
image on the torus) into a radial profile, and :func:`radius_holding` gives the distance
within which a fraction (99 %) of the summed sensitivity lies.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from distllg import lattice
from distllg.analysis import plots
from distllg.electrons import SDModel
from distllg.electrons.exact import ExactSolver, field_response
from distllg.training import data as datalib


def tangent_frames(spins: np.ndarray) -> np.ndarray:
    """Two orthonormal directions perpendicular to each spin, ``(2, 3, Ly, Lx)``."""
    s = spins
    helper = np.where(np.abs(s[2]) < 0.9, 0.0, 1.0)  # x axis near the poles, else z
    ref = np.stack([helper, np.zeros_like(helper), 1.0 - helper])
    e1 = ref - np.sum(ref * s, axis=0) * s
    e1 /= np.linalg.norm(e1, axis=0)
    e2 = np.cross(s, e1, axis=0)
    return np.stack([e1, e2])


def cnn_sensitivity(model: torch.nn.Module, spins: np.ndarray, centre: tuple[int, int]):
    """``|dT_c / dS_j|`` (tangent Frobenius norm) of a periodic CNN, ``(Ly, Lx)``."""
    param = next(model.parameters())
    x = torch.tensor(spins[None], dtype=param.dtype, device=param.device, requires_grad=True)
    out = model(x)[0, :, centre[0], centre[1]]
    if model.metadata.get("predicts", "torque") == "field":
        s_c = x[0, :, centre[0], centre[1]]
        out = torch.linalg.cross(s_c, out)
    rows = [torch.autograd.grad(out[a], x, retain_graph=a < 2)[0][0] for a in range(3)]
    jac = torch.stack(rows).detach().to("cpu", torch.float64).numpy()  # (3 out, 3 in, Ly, Lx)
    frames = tangent_frames(spins)
    tangent = np.einsum("aiyx,tiyx->atyx", jac, frames)
    return np.sqrt(np.sum(tangent**2, axis=(0, 1)))


def exact_sensitivity(solver, spins: np.ndarray, centre: tuple[int, int],
                      eps: float = 1e-5) -> np.ndarray:
    """``|dT_c / dS_j|`` of the exact torques by central finite differences, ``(Ly, Lx)``."""
    _, Ly, Lx = spins.shape
    frames = tangent_frames(spins)
    cy, cx = centre
    out = np.zeros((Ly, Lx))
    for y in range(Ly):
        for x in range(Lx):
            columns = []
            for t in range(2):
                torques = []
                for sign in (1.0, -1.0):
                    moved = spins.copy()
                    v = spins[:, y, x] + sign * eps * frames[t, :, y, x]
                    moved[:, y, x] = v / np.linalg.norm(v)
                    _, fields = solver.energy_and_fields(moved)
                    torques.append(np.cross(moved[:, cy, cx], fields[:, cy, cx]))
                columns.append((torques[0] - torques[1]) / (2 * eps))
            out[y, x] = np.linalg.norm(np.array(columns))
    return out


def response_sensitivity(solver, spins: np.ndarray, centre: tuple[int, int]) -> np.ndarray:
    """``|dT_c / dS_j|`` of the exact torques from the ED linear response, ``(Ly, Lx)``.

    ``dT_c/dS_j = S_c x dH_c/dS_j``, plus ``-H_c x`` (the derivative of ``S_c`` itself) at
    ``j = c``; projected on the tangent directions of ``S_j`` like the finite differences.
    """
    cy, cx = centre
    response = field_response(solver, spins, centre)  # (a, b, y, x)
    frames = tangent_frames(spins)  # (t, b, y, x)
    field_change = np.einsum("abyx,tbyx->tayx", response, frames)
    torque_change = np.cross(spins[None, :, cy, cx, None, None], field_change, axis=1)
    _, fields = solver.energy_and_fields(spins)
    torque_change[:, :, cy, cx] += np.cross(frames[:, :, cy, cx], fields[:, cy, cx])
    return np.sqrt(np.sum(torque_change**2, axis=(0, 1)))


def centred(values: np.ndarray, centre: tuple[int, int]) -> np.ndarray:
    """Roll a periodic ``(Ly, Lx)`` map so that ``centre`` lands at ``(Ly // 2, Lx // 2)``."""
    Ly, Lx = values.shape
    return np.roll(values, (Ly // 2 - centre[0], Lx // 2 - centre[1]), axis=(0, 1))


def distances(shape: tuple[int, int]) -> np.ndarray:
    """Minimum-image Cartesian distance of each site from ``(Ly // 2, Lx // 2)``."""
    Ly, Lx = shape
    y, x = np.mgrid[0:Ly, 0:Lx]
    best = np.full(shape, np.inf)
    for sy in (-Ly, 0, Ly):
        for sx in (-Lx, 0, Lx):
            d = lattice.cartesian(x - Lx // 2 + sx, y - Ly // 2 + sy)
            best = np.minimum(best, np.linalg.norm(d, axis=-1))
    return best


def grid_steps(shape: tuple[int, int]) -> np.ndarray:
    """Largest of ``|dx|, |dy|`` (grid steps) from the centre: the reach of square-kernel
    networks; its rhombus contains the hexagon of the same hex distance, the reach of the
    symmetric ones."""
    Ly, Lx = shape
    y, x = np.mgrid[0:Ly, 0:Lx]
    return np.maximum(np.abs(x - Lx // 2), np.abs(y - Ly // 2))


def radial_profile(values: np.ndarray, shape_distances: np.ndarray):
    """Mean of ``values`` at each distinct distance: ``(distances, means)``."""
    r = np.round(shape_distances, 6).ravel()
    unique = np.unique(r)
    return unique, np.array([values.ravel()[r == u].mean() for u in unique])


def radius_holding(values: np.ndarray, measure: np.ndarray, fraction: float = 0.99) -> float:
    """Smallest ``measure`` (distance) within which ``fraction`` of ``sum(values)`` lies."""
    order = np.argsort(measure.ravel(), kind="stable")
    cumulative = np.cumsum(values.ravel()[order]) / values.sum()
    return float(measure.ravel()[order][np.searchsorted(cumulative, fraction)])


def far_spin_influence(provider, spins: np.ndarray, centre: tuple[int, int], radius: int,
                       noise: float, draws: int, rng: np.random.Generator) -> float:
    """How much the spins farther than ``radius`` grid steps from ``centre`` steer its torque:
    :func:`far_spin_influences` for one radius."""
    return float(far_spin_influences(provider, spins, centre, [radius], noise, draws, rng)[0])


def far_spin_influences(provider, spins: np.ndarray, centre: tuple[int, int], radii,
                        noise: float, draws: int, rng: np.random.Generator) -> np.ndarray:
    """How much the spins farther than each of ``radii`` grid steps from ``centre`` steer
    its torque.

    Each draw adds Gaussian noise of width ``noise`` to every spin (then renormalises) and
    applies it, for each radius R, only to the spins more than R grid steps from the centre
    (periodic minimum image), so the radii share their draws. Returns, per radius, the rms
    change of the centre torque over the ``draws`` divided by the rms torque of the
    unperturbed state (its square is the share of the torque variance that the far spins
    carry). ``provider`` has ``energy_and_fields`` (ED, KPM, CNN); a model of receptive
    radius r gives exactly 0 for R >= r, so for the exact torques this is the locality floor
    that no such model can get below. Cost: ``1 + draws * len(radii)`` evaluations.
    """
    _, Ly, Lx = spins.shape
    cy, cx = centre
    steps = np.roll(grid_steps((Ly, Lx)), (cy - Ly // 2, cx - Lx // 2), axis=(0, 1))
    _, fields = provider.energy_and_fields(spins)
    base = np.cross(spins[:, cy, cx], fields[:, cy, cx])
    typical = np.sqrt(np.mean(np.sum(np.cross(spins, fields, axis=0) ** 2, axis=0)))
    changes = np.zeros((draws, len(radii)))
    for d in range(draws):
        noisy = spins + noise * rng.standard_normal(spins.shape)
        noisy /= np.linalg.norm(noisy, axis=0)
        for k, radius in enumerate(radii):
            far = steps > radius
            moved = spins.copy()
            moved[:, far] = noisy[:, far]
            _, moved_fields = provider.energy_and_fields(moved)
            changes[d, k] = np.sum((np.cross(moved[:, cy, cx], moved_fields[:, cy, cx])
                                    - base) ** 2)
    return np.sqrt(changes.mean(axis=0)) / typical


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
        maps["cnn"] += cnn_sensitivity(model, spins, centre) / len(states)
        if exact:
            maps["exact"] += response_sensitivity(solver, spins, centre) / len(states)
        print(f"state {index + 1}/{len(states)} done", flush=True)
    return maps


def report(model, maps: dict, out: Path) -> dict:
    """Write erf.json and the PNGs; returns the JSON dict."""
    shape = maps["cnn"].shape
    dist, steps = distances(shape), grid_steps(shape)
    r_arch = model.receptive_radius
    result = {"model": model.source, "architectural_radius_grid_steps": r_arch,
              "lattice": list(shape)}
    profiles = {}
    for name, values in maps.items():
        if values is None:
            continue
        r, mean = radial_profile(values, dist)
        profiles[name] = (r, mean)
        result[name] = {"radius99_distance": radius_holding(values, dist),
                        "radius99_grid_steps": radius_holding(values, steps),
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
