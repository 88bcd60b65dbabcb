"""``python -m distllg.run CONFIG [--restart]``: an LLG run, serial or under mpirun.

    mpirun -n 64 python -m distllg.run CONFIG.toml

``[engine] kind = "cnn"`` splits the lattice into one tile per rank (a periodic Cartesian
process grid, tiles may be uneven); every field evaluation exchanges a halo as wide as the
model's receptive radius and runs the CNN on tile + halo, on this rank's GPU when it has one
(``engine.device``). ``kind = "exact"`` (ED) runs on one rank. Rank 0 prints one progress
line every ``output.log_every`` steps and a summary at the end. The initial state for a given
seed is made on rank 0 and scattered, so it is the same for every rank count.

Errors: a bad config, a missing or mismatched model file, or tiles smaller than the receptive
radius are reported once, by rank 0, before any work (exit code 2). Non-finite spins are
checked on every rank after every step (one byte per rank gathered): all ranks stop at that
step and rank 0 names the step and the ranks (exit code 1). An exception on any rank prints
one line naming the rank, step and cause and aborts every rank (``MPI_Abort``, exit code 1)
instead of leaving the others waiting in a halo exchange.

What it writes to ``[output] directory`` (rank 0):

* ``observables.npz``: ``step``, ``time``, ``energy_per_site`` (NaN for the CNN, which
  gives no energy), ``skyrmion_number``, ``magnetization`` (3 per row), every
  ``output.every`` steps;
* ``checkpoint.npz``: spins, step and the observables so far (``observable_*``), written to
  a temporary name and renamed atomically every ``output.checkpoint_every`` steps;
  ``--restart`` continues from it bit-for-bit on any rank count (same physics, by hash);
* ``final_spins.npy`` and ``summary.json`` (final E/N, Q, S(q) peaks, wall time, ranks);
* PNGs: ``energy.png`` (exact engine), ``skyrmion_number.png``, ``spins_<step>.png``
  snapshots, ``spins_final.png``, ``chirality_final.png``, ``structure_factor_final.png``.

For tests of the failure handling, ``DISTLLG_INJECT_FAULT="nan:RANK:STEP"`` (or
``raise:RANK:STEP``) puts a NaN into (or raises on) rank RANK at step STEP.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

from distllg import config as configlib
from distllg import lattice
from distllg import spins as spinlib
from distllg.analysis import plots
from distllg.dynamics import llg
from distllg.dynamics import observables as obs
from distllg.io.atomic import write_atomic

OBSERVABLES = ("step", "time", "energy_per_site", "skyrmion_number", "magnetization")


class SetupError(Exception):
    """Something is wrong before the run starts; the message says what (exit code 2)."""


class NonFiniteError(FloatingPointError):
    """Spins became NaN or infinite; raised on every rank at once (exit code 1)."""


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


class Recorder:
    """Observables every ``every`` steps, as growing lists (see ``OBSERVABLES``)."""

    def __init__(self, data: dict | None = None):
        self.rows = {k: list(data[k]) if data else [] for k in OBSERVABLES}

    def record(self, step: int, time_: float, values: dict) -> None:
        """Append one row of ``values`` (energy_per_site, skyrmion_number, magnetization);
        a step already recorded (the end of a previous leg) is skipped."""
        if self.rows["step"] and self.rows["step"][-1] >= step:
            return
        self.rows["step"].append(step)
        self.rows["time"].append(time_)
        for key in ("energy_per_site", "skyrmion_number", "magnetization"):
            self.rows[key].append(values[key])

    def arrays(self) -> dict:
        out = {k: np.asarray(v) for k, v in self.rows.items()}
        out["magnetization"] = out["magnetization"].reshape(-1, 3)
        return out


# ---------------------------------------------------------------------------------------
# Set-up: everything that can be wrong is found before the first step, on every rank, and
# reported once.


def collectively(comm, function, *args):
    """Run ``function(*args)`` on every rank; if it fails on any rank, raise
    :class:`SetupError` on all of them with the first rank's message (never a hang)."""
    from distllg.model.io import ModelFileError

    try:
        result, message = function(*args), None
    except (configlib.ConfigError, ModelFileError, OSError, RuntimeError) as error:
        result, message = None, str(error)
    except Exception as error:  # noqa: BLE001 - a rank that fails alone must not hang the rest
        result, message = None, f"{type(error).__name__}: {error}"
    messages = comm.allgather(message)
    failed = [(rank, m) for rank, m in enumerate(messages) if m is not None]
    if failed:
        rank, message = failed[0]
        where = f" (rank {rank})" if comm.Get_size() > 1 and len(failed) < len(messages) else ""
        raise SetupError(message + where)
    return result


def _check(config: configlib.Config, size: int, restart: bool) -> dict:
    """Rank-local checks of a run: model file, parameters, tile sizes, checkpoint."""
    from distllg.parallel.decomposition import grid_dims, split

    plan = {"radius": 1, "model_hash": ""}
    shape = config.lattice.shape
    if config.engine.kind == "exact":
        if size > 1:
            raise configlib.ConfigError(f"'engine.kind' = \"exact\" (ED) runs on one rank; "
                                        f"this job has {size}. Use kind = \"cnn\" or one rank")
        lattice.check_size(*shape, tuple(config.model.hoppings))
    else:
        from distllg.model import io as modelio

        meta = modelio.read_metadata(config.engine.model)
        modelio.check_compatible(meta, config.model.as_dict(), shape,
                                 source=f"'engine.model' = {config.engine.model!r}")
        plan.update(radius=max(int(meta["receptive_radius"]), 1),
                    model_hash=meta["weights_sha256"])
        try:
            dims = grid_dims(size, shape, config.engine.process_grid or None)
        except ValueError as error:
            raise configlib.ConfigError(f"'engine.process_grid': {error}") from None
        smallest = (min(b - a for a, b in split(shape[0], dims[0])),
                    min(b - a for a, b in split(shape[1], dims[1])))
        if min(smallest) < meta["receptive_radius"]:
            raise configlib.ConfigError(
                f"[lattice] {shape[0]} x {shape[1]} on {size} ranks ({dims[0]} x {dims[1]} "
                f"grid) gives tiles of {smallest[0]} x {smallest[1]} sites, smaller than the "
                f"model's receptive radius {meta['receptive_radius']}: use fewer ranks")
    plan["run_hash"] = run_hash(config, plan["model_hash"])
    if restart:
        checkpoint = Path(config.output.directory) / "checkpoint.npz"
        plan["restart"] = _load_checkpoint(plan["run_hash"], config, checkpoint)
    return plan


def run_hash(config: configlib.Config, model_hash: str) -> str:
    """What decides the trajectory: the config's physics and, for the CNN, the weights."""
    if not model_hash:
        return config.physics_hash()
    return hashlib.sha256((config.physics_hash() + model_hash).encode()).hexdigest()[:16]


def _load_checkpoint(expected_hash: str, config: configlib.Config, path: Path):
    if not path.is_file():
        raise configlib.ConfigError(f"--restart: no checkpoint {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            stored = {k: data[k] for k in data.files}
        found_hash, spins, step = str(stored["physics_hash"]), stored["spins"], stored["step"]
        rows = {k: stored[f"observable_{k}"] for k in OBSERVABLES}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise configlib.ConfigError(f"--restart: checkpoint {path} is unreadable or corrupted "
                                    f"({type(error).__name__}: {error}); nothing was "
                                    f"changed") from None
    if found_hash != expected_hash:
        raise configlib.ConfigError(
            f"--restart: checkpoint {path} was written for other physics "
            f"(hash {found_hash} != {expected_hash} of {config.source})")
    return spins, int(step), rows


class Domain:
    """This rank's part of the lattice: its tile, the halo exchange for observables, and the
    global reductions. One rank holds the whole lattice."""

    def __init__(self, comm, shape: tuple[int, int], radius: int, dims=None):
        from distllg.parallel.decomposition import Decomposition
        from distllg.parallel.halo import HaloExchange

        self.comm = comm
        self.shape = shape
        self.decomposition = Decomposition(comm, shape, halo=radius, dims=dims)
        self.cart = self.decomposition.cart
        self.tile = self.decomposition.tile
        self.rank = self.cart.Get_rank()
        self._unit_halo = HaloExchange(self.cart, self.tile.shape, 1)
        self._padded = self._unit_halo.empty()

    def observables(self, spins: np.ndarray, energy: float) -> dict:
        """Global E/N, Q and magnetisation of the tiles ``spins`` ``(3, ny, nx)``."""
        from mpi4py import MPI

        self._unit_halo.interior(self._padded)[...] = spins
        self._unit_halo.exchange(self._padded)
        local = np.empty(4)
        local[0] = obs.triangle_solid_angles(self._padded[:, 1:, 1:]).sum() / (4.0 * np.pi)
        local[1:] = spins.reshape(3, -1).sum(axis=1)
        total = np.empty(4)
        self.cart.Allreduce(local, total, op=MPI.SUM)
        n_sites = self.shape[0] * self.shape[1]
        return {"energy_per_site": float(energy) / n_sites, "skyrmion_number": float(total[0]),
                "magnetization": total[1:] / n_sites}

    def scatter(self, spins: np.ndarray | None) -> np.ndarray:
        return np.ascontiguousarray(self.decomposition.scatter(spins))

    def gather(self, spins: np.ndarray) -> np.ndarray | None:
        return self.decomposition.gather(spins)


def field_provider(config: configlib.Config, domain: Domain):
    """The ``energy_and_fields`` function of the configured engine on this rank's tile."""
    if config.engine.kind == "exact":
        from distllg.electrons.exact import ExactSolver

        return ExactSolver(config.model).energy_and_fields
    from distllg.model import io as modelio
    from distllg.model.provider import TiledCNNFields
    from distllg.parallel import device as devicelib
    from distllg.parallel.halo import HaloExchange

    device = devicelib.choose(domain.cart, config.engine.device)
    model = modelio.load_model(config.engine.model)
    halo = HaloExchange(domain.cart, domain.tile.shape, model.receptive_radius)
    return TiledCNNFields(model, halo, device=device).energy_and_fields


# ---------------------------------------------------------------------------------------
# The run


def _snapshot_steps(config: configlib.Config) -> set[int]:
    total, count = config.dynamics.steps, config.output.snapshots
    return set(np.linspace(0, total, count).astype(int).tolist()) if count > 0 else set()


def write_plots(out: Path, data: dict, spins: np.ndarray, title: str) -> None:
    """The run's PNGs from its observables and final spins."""
    t = data["time"]
    if np.isfinite(data["energy_per_site"]).any():
        plots.curves(t, {"E/N": data["energy_per_site"]}, out / "energy.png",
                     "time (hbar/t1)", "energy per site (t1)", title)
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
    _, q = obs.structure_factor_peaks(spins, count=3)
    plots.k_space_map(sq, lattice.k_fractions(Ly, Lx), out / "structure_factor_final.png",
                      title="spin structure factor S(q)", label="S(q)",
                      marks=np.concatenate([q, -q]))


def _progress(step: int, dt: float, rows: dict, rate: float, eta: float) -> str:
    """One progress line: step, time, the latest recorded observables, speed and ETA."""
    m = np.linalg.norm(rows["magnetization"][-1])
    energy = rows["energy_per_site"][-1]
    energy_text = f"E/N = {energy:.6f}  " if np.isfinite(energy) else ""  # the CNN has none
    return (f"step {step:7d}  t = {step * dt:9.2f}  {energy_text}"
            f"Q = {rows['skyrmion_number'][-1]:+7.3f}  |m| = {m:.4f}  {rate:.2f} steps/s  "
            f"ETA {eta / 60:.1f} min")


def _injected_fault(rank: int) -> tuple[str, int] | None:
    """``(kind, step)`` of a fault to inject on this rank (``DISTLLG_INJECT_FAULT``)."""
    spec = os.environ.get("DISTLLG_INJECT_FAULT", "")
    if not spec:
        return None
    kind, fault_rank, step = spec.split(":")
    return (kind, int(step)) if int(fault_rank) == rank else None


class Run:
    """State of a run on this rank; ``step`` is the step being computed (for messages)."""

    def __init__(self, config: configlib.Config, comm, restart: bool, stream):
        self.config, self.comm, self.stream = config, comm, stream
        self.step = 0
        plan = collectively(comm, _check, config, comm.Get_size(), restart)
        self.run_hash = plan["run_hash"]
        self.domain = collectively(comm, Domain, comm, config.lattice.shape, plan["radius"],
                                   config.engine.process_grid or None)
        self.provider = collectively(comm, field_provider, config, self.domain)
        self.root = self.domain.rank == 0
        if restart:
            global_spins, self.start, rows = plan["restart"]
            self.recorder = Recorder(rows)
        else:
            global_spins = collectively(
                comm, lambda: initial_spins(config) if self.root else None)
            self.start, self.recorder = 0, Recorder()
        self.spins = self.domain.scatter(global_spins if self.root else None)

    def say(self, text: str) -> None:
        if self.root:
            print(text, file=self.stream, flush=True)

    def _check_finite(self, spins: np.ndarray) -> None:
        """Raise :class:`NonFiniteError` on every rank if any rank's spins are not finite.

        One byte per rank is gathered each step, so every rank knows and all stop together
        with one message (a NaN spreads to the neighbours' halos within an RK stage)."""
        from mpi4py import MPI

        mine = np.array([not np.isfinite(spins).all()], dtype=np.int8)
        flags = np.empty(self.comm.Get_size(), dtype=np.int8)
        self.domain.cart.Allgather([mine, MPI.INT8_T], [flags, MPI.INT8_T])
        if flags.any():
            ranks = ", ".join(str(r) for r in np.flatnonzero(flags))
            raise NonFiniteError(f"non-finite spins after the LLG step on rank(s) {ranks}")

    def _checkpoint(self, out: Path, done: int) -> None:
        spins = self.domain.gather(self.spins)
        if self.root:
            arrays = {f"observable_{k}": v for k, v in self.recorder.arrays().items()}
            write_atomic(out / "checkpoint.npz", lambda handle: np.savez(
                handle, spins=spins, step=done, physics_hash=self.run_hash, **arrays))

    def execute(self) -> dict | None:
        """Integrate to ``dynamics.steps``; returns the summary on rank 0 (None elsewhere)."""
        config, dyn = self.config, self.config.dynamics
        out = Path(config.output.directory)
        if self.root:
            out.mkdir(parents=True, exist_ok=True)
        step_fn = llg.integrator(dyn.integrator)
        Ly, Lx = config.lattice.shape
        title = f"L = {Ly}x{Lx}, alpha = {dyn.alpha}, h = {config.model.h}"
        snapshots = _snapshot_steps(config)
        fault = _injected_fault(self.domain.rank)
        self.say(f"distllg run {config.source}: {title}, engine {config.engine.kind}, "
                 f"{dyn.integrator} dt = {dyn.dt}, steps {self.start}..{dyn.steps}, "
                 f"{self.comm.Get_size()} rank(s) on a {self.domain.decomposition.dims} grid, "
                 f"output {out}")
        wall0 = time.perf_counter()
        for step in range(self.start, dyn.steps):
            self.step = step
            if fault is not None and fault[1] == step:
                if fault[0] == "raise":
                    raise RuntimeError("fault injected by DISTLLG_INJECT_FAULT")
                self.spins[0, 0, 0] = np.nan
            new_spins, energy = step_fn(self.spins, self.provider, dyn.dt, dyn.alpha)
            self._check_finite(new_spins)
            if step % config.output.every == 0:
                self.recorder.record(step, step * dyn.dt,
                                     self.domain.observables(self.spins, energy))
            if step in snapshots:
                spins = self.domain.gather(self.spins)
                if self.root:
                    plots.vector_texture(spins, out / f"spins_{step:07d}.png",
                                         title=f"t = {step * dyn.dt:.1f}, {title}",
                                         label="$S^z$")
            self.spins = new_spins
            done = step + 1
            if done % config.output.log_every == 0 or done == dyn.steps:
                rate = (done - self.start) / (time.perf_counter() - wall0)
                eta = (dyn.steps - done) / rate
                self.say(_progress(done, dyn.dt, self.recorder.rows, rate, eta))
            if done % config.output.checkpoint_every == 0 or done == dyn.steps:
                self._checkpoint(out, done)
        self.step = dyn.steps
        energy, _ = self.provider(self.spins)
        self.recorder.record(dyn.steps, dyn.steps * dyn.dt,
                             self.domain.observables(self.spins, energy))
        spins = self.domain.gather(self.spins)
        if not self.root:
            return None
        return self._finish(out, spins, title, time.perf_counter() - wall0)

    def _finish(self, out: Path, spins: np.ndarray, title: str, wall: float) -> dict:
        config, dyn = self.config, self.config.dynamics
        data = self.recorder.arrays()
        np.savez(out / "observables.npz", **data)
        np.save(out / "final_spins.npy", spins)
        summary = {
            "config": config.as_dict(),
            "ranks": self.comm.Get_size(),
            "process_grid": list(self.domain.decomposition.dims),
            "steps": dyn.steps,
            "time": dyn.steps * dyn.dt,
            "energy_per_site": float(data["energy_per_site"][-1]),
            "skyrmion_number": obs.skyrmion_number(spins),
            "magnetization": obs.magnetization(spins).tolist(),
            "structure_factor_peaks": obs.structure_factor_summary(spins),
            "wall_time_s_this_leg": wall,
        }
        (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        write_plots(out, data, spins, title)
        peaks = [round(p["abs_q"], 4) for p in summary["structure_factor_peaks"]]
        self.say(f"done: E/N = {summary['energy_per_site']:.6f}, Q = "
                 f"{summary['skyrmion_number']:+.3f}, S(q) peaks at |q| = {peaks}; wall "
                 f"{wall:.1f} s; wrote {out}")
        return summary


def run(config: configlib.Config, restart: bool = False, stream=sys.stdout, comm=None):
    """Run the configured LLG trajectory on ``comm`` (default: COMM_WORLD); returns the
    summary dict on rank 0 and None on the other ranks. Raises :class:`SetupError` (all
    ranks) for a run that cannot start."""
    if comm is None:
        from mpi4py import MPI

        comm = MPI.COMM_WORLD
    return Run(config, comm, restart, stream).execute()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m distllg.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", help="TOML config file (see distllg/config.py and configs/)")
    parser.add_argument("--restart", action="store_true",
                        help="continue from <output.directory>/checkpoint.npz")
    args = parser.parse_args(argv)
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    try:
        config = collectively(comm, configlib.load, args.config)
        state = Run(config, comm, args.restart, sys.stdout)
    except SetupError as error:
        if comm.Get_rank() == 0:
            print(f"error: {error}", file=sys.stderr, flush=True)
        return 2
    try:
        state.execute()
    except NonFiniteError as error:  # every rank knows: stop together, rank 0 says why
        if comm.Get_rank() == 0:
            print(f"distllg: failed at step {state.step}: {error}", file=sys.stderr,
                  flush=True)
        return 1
    except BaseException as error:  # noqa: BLE001 - any failure must stop every rank
        print(f"distllg: rank {comm.Get_rank()} failed at step {state.step}: "
              f"{type(error).__name__}: {error}", file=sys.stderr, flush=True)
        if comm.Get_size() > 1:
            comm.Abort(1)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
