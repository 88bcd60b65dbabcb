"""PNG plots users look at: vector textures on the triangular lattice and k-space maps.

All functions write one PNG and return its path; they never show windows (Agg backend).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.tri import Triangulation  # noqa: E402

from distllg import lattice  # noqa: E402


def _save(fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


#: Arrows drawn along a side of a vector texture at most (every k-th site beyond).
MAX_ARROWS = 96


def _shade(ax, values: np.ndarray, symmetric: bool):
    """Colour ``values`` ``(Ly, Lx)`` over the lattice's triangles on ``ax``.

    Sites sit at their Cartesian positions (a1 = (1, 0), a2 = (1/2, sqrt 3 / 2)); triangles
    that wrap around the periodic boundary are left out. Returns ``(shading, positions)``.
    """
    Ly, Lx = values.shape
    pos = lattice.positions(Ly, Lx).reshape(2, -1)
    tri = np.concatenate(lattice.triangles(Ly, Lx))
    inside = (np.ptp(pos[0][tri], axis=1) < 1.5) & (np.ptp(pos[1][tri], axis=1) < 1.5)
    z = values.ravel()
    if symmetric:
        vmax = max(float(np.abs(z).max()), 1e-12)
        vmin = -vmax
    else:
        vmin, vmax = float(z.min()), float(z.max())
    shading = ax.tripcolor(Triangulation(pos[0], pos[1], tri[inside]), z, shading="gouraud",
                           cmap="RdBu_r", vmin=vmin, vmax=vmax)
    ax.set_aspect("equal")
    return shading, pos


def _lattice_axes(values: np.ndarray, title: str, label: str, symmetric: bool):
    """Figure with ``values`` ``(Ly, Lx)`` coloured over the lattice (:func:`_shade`).
    Returns ``(fig, ax, positions)``."""
    Ly, Lx = values.shape
    width = 4.0 + 0.18 * min(Lx, MAX_ARROWS)  # inches; bounded for large lattices
    fig, ax = plt.subplots(figsize=(width, width * (Ly * 0.87) / (Lx + 0.5 * Ly) + 0.6))
    shading, pos = _shade(ax, values, symmetric)
    ax.set_xlabel("x (lattice constants)")
    ax.set_ylabel("y")
    ax.set_title(title)
    fig.colorbar(shading, ax=ax, label=label, shrink=0.8)
    return fig, ax, pos


def gallery(textures: dict[str, np.ndarray], path, title: str = "") -> Path:
    """One small panel of S^z per named spin texture ``(3, Ly, Lx)``, four to a row."""
    columns = min(4, len(textures))
    rows = -(-len(textures) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 2.8 * rows + 0.4),
                             squeeze=False)
    for ax, (name, spins) in zip(axes.flat[:len(textures)], textures.items(), strict=True):
        shading, _ = _shade(ax, spins[2], symmetric=True)
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes.flat[len(textures):]:
        ax.axis("off")
    fig.colorbar(shading, ax=axes, label="$S^z$", shrink=0.6)
    fig.suptitle(title)
    return _save(fig, path)


def vector_texture(vectors: np.ndarray, path, title: str = "", label: str = "z component",
                   symmetric: bool = True) -> Path:
    """Plot a vector field ``(3, Ly, Lx)`` on the lattice: colour = z, arrows = in-plane.

    ``symmetric`` centres the colour scale on zero (for spins: -1..1). Beyond
    ``MAX_ARROWS`` sites a side, arrows are drawn at every k-th site (their length scaled
    with k).
    """
    _, Ly, Lx = vectors.shape
    fig, ax, pos = _lattice_axes(vectors[2], title, label, symmetric)
    stride = -(-max(Ly, Lx) // MAX_ARROWS)  # every stride-th site beyond MAX_ARROWS a side
    pos = pos.reshape(2, Ly, Lx)[:, ::stride, ::stride].reshape(2, -1)
    inplane = vectors[:2, ::stride, ::stride].reshape(2, -1)
    scale = np.abs(inplane).max() if np.abs(inplane).max() > 0 else 1.0
    ax.quiver(pos[0], pos[1], inplane[0] / scale, inplane[1] / scale, angles="xy",
              scale_units="xy", scale=1.6 / stride,
              width=0.0025 * 24 / max(Lx // stride, 24), pivot="middle")
    return _save(fig, path)


def scalar_field(values: np.ndarray, path, title: str = "", label: str = "",
                 symmetric: bool = True) -> Path:
    """Plot a scalar field ``(Ly, Lx)`` (e.g. skyrmion density) on the lattice."""
    fig, _, _ = _lattice_axes(values, title, label, symmetric)
    return _save(fig, path)


def k_space_map(values: np.ndarray, k_frac: np.ndarray, path, title: str = "",
                label: str = "", marks: np.ndarray | None = None) -> Path:
    """Colour map of a function on a k-grid ``(Nky, Nkx)`` in Cartesian k (extended zone).

    ``k_frac`` ``(Nky, Nkx, 2)`` are the grid fractions of ``values``; the map is repeated
    over neighbouring zones so the first Brillouin zone (drawn as a hexagon) is complete.
    ``marks`` ``(M, 2)`` Cartesian points to circle (e.g. peaks).
    """
    shifts = [(i, j) for i in range(-2, 3) for j in range(-2, 3)]
    ks = np.concatenate([lattice.k_cartesian(k_frac + np.array(s)).reshape(-1, 2)
                         for s in shifts])
    vs = np.tile(values.ravel(), len(shifts))
    limit = 4.0 * np.pi / 3.0 * 1.15
    inside = (np.abs(ks[:, 0]) < limit) & (np.abs(ks[:, 1]) < limit)
    fig, ax = plt.subplots(figsize=(6.0, 5.0))
    shading = ax.tripcolor(ks[inside, 0], ks[inside, 1], vs[inside], shading="gouraud",
                           cmap="viridis")
    corners = 4.0 * np.pi / 3.0 * np.array(
        [(np.cos(a), np.sin(a)) for a in np.arange(7) * np.pi / 3.0])
    ax.plot(corners[:, 0], corners[:, 1], "w-", lw=0.8)
    if marks is not None and len(marks):
        ax.plot(marks[:, 0], marks[:, 1], "o", mfc="none", mec="red", ms=12, mew=1.5)
    ax.set_aspect("equal")
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.set_xlabel("$k_x$")
    ax.set_ylabel("$k_y$")
    ax.set_title(title)
    fig.colorbar(shading, ax=ax, label=label)
    return _save(fig, path)


def curves(x: np.ndarray, series: dict[str, np.ndarray], path, xlabel: str, ylabel: str,
           title: str = "", marks: dict[str, float] | None = None, logy: bool = False,
           logx: bool = False) -> Path:
    """Line plot of several named series against ``x``; ``marks`` draws labelled verticals."""
    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    if logy:
        ax.set_yscale("log")
    if logx:
        ax.set_xscale("log")
    for name, y in series.items():
        ax.plot(x, y, label=name)
    for name, value in (marks or {}).items():
        ax.axvline(value, color="grey", ls="--", lw=0.8)
        ax.annotate(name, (value, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -4),
                    textcoords="offset points", ha="left", va="top", rotation=90, fontsize=8,
                    color="grey")  # inside the axes, along the line: clear of the title
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    return _save(fig, path)


def histograms(samples: dict[str, list[float]], path, title: str = "") -> Path:
    """One histogram panel per named sample, side by side, each value also marked below its
    bars (few samples: every one shows)."""
    fig, axes = plt.subplots(1, len(samples), figsize=(4.5 * len(samples), 3.6), squeeze=False)
    for ax, (name, values) in zip(axes[0], samples.items(), strict=True):
        values = np.asarray(values, dtype=float)
        ax.hist(values, bins=max(5, min(20, len(values))), color="tab:blue", alpha=0.7)
        ax.plot(values, np.zeros_like(values), "|", color="k", markersize=14)
        ax.set_xlabel(name)
        ax.set_ylabel("seeds")
    fig.suptitle(title)
    return _save(fig, path)


def parity(true: np.ndarray, predicted: np.ndarray, path, title: str = "",
           names=("x", "y", "z"), unit: str = "t1") -> Path:
    """Predicted against true values, one panel per component of ``(3, N)`` arrays, as 2-D
    histograms (log colour), with the diagonal and R^2 in each panel."""
    fig, axes = plt.subplots(1, 3, figsize=(13.0, 4.2))
    limit = float(np.abs(true).max()) * 1.05
    for c, ax in enumerate(axes):
        t, p = true[c], predicted[c]
        r2 = 1.0 - np.sum((p - t) ** 2) / np.sum((t - t.mean()) ** 2)
        ax.hist2d(t, p, bins=120, range=[[-limit, limit], [-limit, limit]], cmin=1,
                  norm=matplotlib.colors.LogNorm(), cmap="viridis")
        ax.plot([-limit, limit], [-limit, limit], "r-", lw=0.6)
        ax.set_aspect("equal")
        ax.set_xlabel(f"exact $T_{names[c]}$ ({unit})")
        ax.set_ylabel(f"CNN $T_{names[c]}$ ({unit})")
        ax.set_title(f"{names[c]}: $R^2$ = {r2:.5f}")
    fig.suptitle(title)
    return _save(fig, path)


def _parameters(keys, values) -> str:
    return ", ".join(f"{k} {v:g}" for k, v in zip(keys, values, strict=True))


def phase_diagram(rows: list[dict], axes: list[str], orders, path) -> Path:
    """The winning order over a parameter scan and every order relative to the spiral.

    ``rows`` as :func:`distllg.analysis.phase_scan.summarise` gives them (``point``, ``best``,
    ``winner``, ``margin``); ``axes`` the scanned parameters with several values: the
    first is the horizontal axis, the others label the rows. Left: one cell per point,
    coloured by the winner and labelled with its margin (1e-4 t1 per site). Right: each
    order's best ``omega`` above the lowest one (1e-4 t1), one line style per row.
    """
    x_key = axes[0] if axes else None
    row_keys = axes[1:]
    xs = sorted({r["point"][x_key] for r in rows}) if x_key else [0.0]
    labels = sorted({tuple(r["point"][k] for k in row_keys) for r in rows})
    colours = {name: plt.cm.tab10(i % 10) for i, name in enumerate(orders)}
    fig, (left, right) = plt.subplots(1, 2, figsize=(12.0, 0.6 * len(labels) + 3.5))
    for r in rows:
        i = xs.index(r["point"][x_key]) if x_key else 0
        j = labels.index(tuple(r["point"][k] for k in row_keys))
        left.add_patch(plt.Rectangle((i - 0.5, j - 0.5), 1, 1, alpha=0.6,
                                     color=colours[r["winner"].order]))
        name = r["winner"].order + (f" ~\n{r['tie'].order} (tie)" if r.get("tie") else "")
        left.text(i, j, f"{name}\n{1e4 * r['margin']:.1f}", ha="center",
                  va="center", fontsize=8)
    left.set_xlim(-0.5, len(xs) - 0.5)
    left.set_ylim(-0.5, len(labels) - 0.5)
    left.set_xticks(range(len(xs)), [f"{x:g}" for x in xs])
    left.set_yticks(range(len(labels)), [_parameters(row_keys, lab) for lab in labels])
    left.set_xlabel(x_key or "")
    left.set_title("lowest grand potential (margin, 1e-4 t1/site)")
    styles = ["-", "--", ":", "-."]
    for j, lab in enumerate(labels):
        chosen = [r for r in rows if tuple(r["point"][k] for k in row_keys) == lab]
        chosen.sort(key=lambda r: r["point"][x_key] if x_key else 0.0)
        for name in orders:
            values = [(r["point"][x_key] if x_key else 0.0,
                       1e4 * (r["best"][name].omega - r["winner"].omega))
                      for r in chosen if name in r["best"]]
            if values:
                right.plot(*zip(*values, strict=True), styles[j % len(styles)], marker="o",
                           color=colours[name])
    handles = [matplotlib.lines.Line2D([], [], color=colours[name], marker="o", label=name)
               for name in orders]
    if row_keys:
        handles += [matplotlib.lines.Line2D([], [], color="grey", ls=styles[j % len(styles)],
                                            label=_parameters(row_keys, lab))
                    for j, lab in enumerate(labels)]
    right.legend(handles=handles, fontsize=7)
    right.set_yscale("symlog", linthresh=1.0)  # the close competitors and the far ones
    if x_key:
        right.set_xticks(xs, [f"{x:g}" for x in xs])
    right.set_xlabel(x_key or "")
    right.set_ylabel("omega - lowest omega (1e-4 t1 per site)")
    return _save(fig, path)


def kinetics(result: dict, out) -> list[Path]:
    """The PNGs of an ordering-kinetics result (:mod:`distllg.analysis.kinetics`):
    ``lengths.png`` (each length against time, log-log, every seed, its fitted line over the
    fit window, the ensemble's exponent), ``charge.png`` (Q against time) and
    ``collapse.png`` (S(q, t) / L^2 against (|q| - q*) L, L the S(q)-peak width length, the
    frames of the fit window coloured by time)."""
    out = Path(out)
    seeds = result["seeds"]
    lower, upper = result["window"]
    fig, axes = plt.subplots(1, 2, figsize=(11.0, 4.2))
    for ax, (key, exponent) in zip(axes, result["exponents"].items(), strict=True):
        for k, s in seeds.items():
            t = np.asarray(s["time"])
            line, = ax.loglog(t[t > 0], np.asarray(s[key])[t > 0], ".", ms=3,
                              label=f"seed {k}")
            fit = s["fits"][key]
            if fit["t_range"]:
                tt = np.geomspace(*fit["t_range"], 20)
                ax.loglog(tt, fit["amplitude"] * tt ** fit["exponent"], "-",
                          color=line.get_color(), lw=1)
        for level in (lower, upper):
            ax.axhline(level, color="grey", ls=":", lw=0.8)
        ax.set_xlabel("t (hbar / t1)")
        ax.set_ylabel(key.replace("_", " ") + " (lattice constants)")
        ax.set_title(f"n = {exponent['mean']:.3f} +- {exponent['error']:.3f} "
                     f"({exponent['count']} seeds)")
        ax.legend(fontsize=7)
    fig.suptitle(f"ordering kinetics, {' x '.join(map(str, result['lattice']))}: "
                 f"fit where {lower:.0f} <= L <= {upper:.0f}")
    paths = [_save(fig, out / "lengths.png")]
    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    for k, s in seeds.items():
        ax.plot(s["time"], s["skyrmion_number"], label=f"seed {k}")
    ax.set_xlabel("t (hbar / t1)")
    ax.set_ylabel("Q")
    ax.set_title("skyrmion number")
    ax.legend(fontsize=7)
    paths.append(_save(fig, out / "charge.png"))
    fig, ax = plt.subplots(figsize=(6.0, 4.2))
    end = max((max(s["time"]) for s in seeds.values()), default=1.0) or 1.0
    colours = plt.get_cmap("viridis")
    for s in seeds.values():
        q = np.asarray(s["q"])
        for t, length, q_star, S in zip(s["time"], s["peak_width_length"], s["q_star"],
                                        s["S"], strict=True):
            if lower <= length <= upper:
                ax.plot((q - q_star) * length, np.asarray(S) / length**2, lw=0.6,
                        color=colours(t / end))
    fig.colorbar(matplotlib.cm.ScalarMappable(matplotlib.colors.Normalize(0, end), colours),
                 ax=ax, label="t (hbar / t1)")
    ax.set_xlim(-8, 8)
    ax.set_xlabel("(|q| - q*) L(t)")
    ax.set_ylabel("S(|q|, t) / L(t)^2")
    ax.set_title("dynamic scaling: frames of the fit window")
    paths.append(_save(fig, out / "collapse.png"))
    return paths
