"""``python -m distllg.run CONFIG [--restart]``: an LLG run from a TOML config.

This is the serial run with the exact (ED) engine, used for the reference relaxation; the
distributed CNN engine plugs into the same loop (issue 6). What it writes to
``[output] directory``:

* ``observables.npz``: ``step``, ``time``, ``energy_per_site``, ``skyrmion_number``,
  ``magnetization`` (3 per row), recorded every ``output.every`` steps;
* ``checkpoint.npz``: spins, step and the observables so far (``observable_*``), written
  to a temporary name and renamed atomically every ``output.checkpoint_every`` steps;
  ``--restart`` continues from it bit-for-bit (same config physics, checked by hash);
* ``final_spins.npy`` and ``summary.json`` (final E/N, Q, S(q) peaks, wall time);
* PNGs: ``energy.png``, ``skyrmion_number.png``, ``spins_<step>.png`` snapshots,
  ``spins_final.png``, ``chirality_final.png``, ``structure_factor_final.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from distllg import config as configlib
from distllg import lattice
from distllg import spins as spinlib
from distllg.analysis import plots
from distllg.dynamics import llg
from distllg.dynamics import observables as obs
from distllg.electrons.exact import ExactSolver

OBSERVABLES = ("step", "time", "energy_per_site", "skyrmion_number", "magnetization")


def initial_spins(config: configlib.Config) -> np.ndarray:
    """Starting spins ``(3, Ly, Lx)``; the same for a given seed whatever runs them."""
    Ly, Lx = config.lattice.shape
    init = config.initial
    rng = np.random.default_rng(init.seed)
    if init.state == "random":
        return spinlib.random(Ly, Lx, rng)
    if init.state == "file":
        s = spinlib.validate(np.load(init.file, allow_pickle=False), name=f"spins in {init.file}")
        if s.shape[1:] != (Ly, Lx):
            raise configlib.ConfigError(f"'initial.file' {init.file} holds a {s.shape[1:]} "
                                        f"lattice but [lattice] asks for {(Ly, Lx)}")
    elif init.state == "uniform":
        s = spinlib.uniform(Ly, Lx)
    else:
        s = spinlib.triple_q(Ly, Lx)
    if init.noise > 0:
        s = spinlib.normalize(s + init.noise * rng.standard_normal(s.shape))
    return s


def field_provider(config: configlib.Config):
    """The ``energy_and_fields`` function of the configured engine."""
    return ExactSolver(config.model).energy_and_fields


def _save_atomic(path: Path, **arrays) -> None:
    """Write an .npz to a temporary name, flush it to disk, then rename over ``path``."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        np.savez(handle, **arrays)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class Recorder:
    """Observables every ``every`` steps, as growing lists (see ``OBSERVABLES``)."""

    def __init__(self, data: dict | None = None):
        self.rows = {k: list(data[k]) if data else [] for k in OBSERVABLES}

    def record(self, step: int, time_: float, energy: float, spins: np.ndarray) -> None:
        """Append one row; a step already recorded (the end of a previous leg) is skipped."""
        if self.rows["step"] and self.rows["step"][-1] >= step:
            return
        self.rows["step"].append(step)
        self.rows["time"].append(time_)
        self.rows["energy_per_site"].append(obs.energy_per_site(energy, spins))
        self.rows["skyrmion_number"].append(obs.skyrmion_number(spins))
        self.rows["magnetization"].append(obs.magnetization(spins))

    def arrays(self) -> dict:
        out = {k: np.asarray(v) for k, v in self.rows.items()}
        out["magnetization"] = out["magnetization"].reshape(-1, 3)
        return out


def _load_checkpoint(config: configlib.Config, path: Path):
    if not path.is_file():
        raise configlib.ConfigError(f"--restart: no checkpoint {path}")
    with np.load(path, allow_pickle=False) as data:
        if str(data["physics_hash"]) != config.physics_hash():
            raise configlib.ConfigError(
                f"--restart: checkpoint {path} was written for other physics "
                f"(hash {data['physics_hash']} != {config.physics_hash()} of {config.source})")
        rows = {k: data[f"observable_{k}"] for k in OBSERVABLES}
        return data["spins"], int(data["step"]), Recorder(rows)


def _snapshot_steps(config: configlib.Config) -> set[int]:
    total, count = config.dynamics.steps, config.output.snapshots
    return set(np.linspace(0, total, count).astype(int).tolist()) if count > 0 else set()


def write_plots(out: Path, data: dict, spins: np.ndarray, title: str) -> None:
    """The run's PNGs from its observables and final spins."""
    t = data["time"]
    plots.curves(t, {"E/N": data["energy_per_site"]}, out / "energy.png", "time (hbar/t1)",
                 "energy per site (t1)", title)
    plots.curves(t, {"Q": data["skyrmion_number"], "|m| x 10": 10 * np.linalg.norm(
        data["magnetization"], axis=1)}, out / "skyrmion_number.png", "time (hbar/t1)",
        "skyrmion number Q", title)
    plots.vector_texture(spins, out / "spins_final.png", title=f"final spins, {title}",
                         label="$S^z$")
    density = obs.chirality_density(spins)
    plots.scalar_field(density, out / "chirality_final.png",
                       title=f"skyrmion density, Q = {density.sum():+.3f}",
                       label="solid angle / $4\\pi$ per cell")
    _, Ly, Lx = spins.shape
    sq = obs.structure_factor(spins)
    values, q = obs.structure_factor_peaks(spins, count=3)
    plots.k_space_map(sq, lattice.k_fractions(Ly, Lx), out / "structure_factor_final.png",
                      title="spin structure factor S(q)", label="S(q)",
                      marks=np.concatenate([q, -q]))


def _progress(step: int, dt: float, rows: dict, rate: float, eta: float) -> str:
    """One progress line: step, time, the latest recorded observables, speed and ETA."""
    m = np.linalg.norm(rows["magnetization"][-1])
    return (f"step {step:7d}  t = {step * dt:9.2f}  E/N = {rows['energy_per_site'][-1]:.6f}  "
            f"Q = {rows['skyrmion_number'][-1]:+7.3f}  |m| = {m:.4f}  {rate:.2f} steps/s  "
            f"ETA {eta / 60:.1f} min")


def run(config: configlib.Config, restart: bool = False, stream=sys.stdout) -> dict:
    """Run the configured LLG trajectory; returns the summary dict."""
    out = Path(config.output.directory)
    out.mkdir(parents=True, exist_ok=True)
    checkpoint = out / "checkpoint.npz"
    provider = field_provider(config)
    dyn = config.dynamics
    step_fn = llg.integrator(dyn.integrator)
    if restart:
        spins, start, recorder = _load_checkpoint(config, checkpoint)
    else:
        spins, start, recorder = initial_spins(config), 0, Recorder()
    Ly, Lx = config.lattice.shape
    title = f"L = {Ly}x{Lx}, alpha = {dyn.alpha}, h = {config.model.h}"
    snapshots = _snapshot_steps(config)
    print(f"distllg run {config.source}: {title}, {dyn.integrator} dt = {dyn.dt}, steps "
          f"{start}..{dyn.steps}, output {out}", file=stream, flush=True)
    wall0 = time.perf_counter()
    for step in range(start, dyn.steps):
        new_spins, energy = step_fn(spins, provider, dyn.dt, dyn.alpha)
        if not np.isfinite(energy) or not np.isfinite(new_spins).all():
            raise FloatingPointError(f"non-finite energy or spins at step {step}")
        if step % config.output.every == 0:
            recorder.record(step, step * dyn.dt, energy, spins)
        if step in snapshots:
            plots.vector_texture(spins, out / f"spins_{step:07d}.png",
                                 title=f"t = {step * dyn.dt:.1f}, {title}", label="$S^z$")
        spins = new_spins
        done = step + 1
        if done % config.output.log_every == 0 or done == dyn.steps:
            rate = (done - start) / (time.perf_counter() - wall0)
            eta = (dyn.steps - done) / rate
            print(_progress(done, dyn.dt, recorder.rows, rate, eta), file=stream, flush=True)
        if done % config.output.checkpoint_every == 0 or done == dyn.steps:
            _save_atomic(checkpoint, spins=spins, step=done, physics_hash=config.physics_hash(),
                         **{f"observable_{k}": v for k, v in recorder.arrays().items()})
    energy, _ = provider(spins)
    recorder.record(dyn.steps, dyn.steps * dyn.dt, energy, spins)
    data = recorder.arrays()
    np.savez(out / "observables.npz", **data)
    np.save(out / "final_spins.npy", spins)
    values, q = obs.structure_factor_peaks(spins, count=3)
    summary = {
        "config": config.as_dict(),
        "steps": dyn.steps,
        "time": dyn.steps * dyn.dt,
        "energy_per_site": obs.energy_per_site(energy, spins),
        "skyrmion_number": obs.skyrmion_number(spins),
        "magnetization": obs.magnetization(spins).tolist(),
        "structure_factor_peaks": [{"S": float(v), "q": qq.tolist(),
                                    "abs_q": float(np.linalg.norm(qq))}
                                   for v, qq in zip(values, q, strict=True)],
        "wall_time_s_this_leg": time.perf_counter() - wall0,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    write_plots(out, data, spins, title)
    peaks = [round(p["abs_q"], 4) for p in summary["structure_factor_peaks"]]
    print(f"done: E/N = {summary['energy_per_site']:.6f}, Q = {summary['skyrmion_number']:+.3f}"
          f", S(q) peaks at |q| = {peaks}; wrote {out}", file=stream, flush=True)
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m distllg.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", help="TOML config file (see distllg/config.py and configs/)")
    parser.add_argument("--restart", action="store_true",
                        help="continue from <output.directory>/checkpoint.npz")
    args = parser.parse_args(argv)
    try:
        run(configlib.load(args.config), restart=args.restart)
    except (configlib.ConfigError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
