"""CNN-driven LLG against exact LLG from the same initial state: the comparison behind
``distllg compare`` (what it runs and writes: :mod:`distllg.cli.compare`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

from distllg import config as configlib
from distllg import engines, initial
from distllg.analysis import plots, report
from distllg.dynamics import observables as obs
from distllg.dynamics.llg import host
from distllg.dynamics.stepper import Stepper
from distllg.electrons.exact import ExactSolver
from distllg.io import output as outputlib


def trajectory(config: configlib.Config, field_fn, solver: ExactSolver, stream=sys.stdout,
               start: np.ndarray | None = None):
    """Integrate on ``field_fn`` (of tensors: an engine's ``fields``) from ``start``
    (default: the config's initial state) with the config's
    thermal noise, if any (both trajectories then feel the same kicks); returns
    (observables dict, final spins). ``solver`` measures the exact energy of the frames."""
    every, log_every = config.output.every, config.output.log_every
    stepper = Stepper.for_dynamics(config.dynamics, field_fn, config.lattice.shape)
    rows = {"time": [], "energy_per_site": [], "skyrmion_number": [], "crystal_share": []}

    def record(step: int, spins) -> None:
        """The observables of ``spins`` (a tensor) at the output steps."""
        if step % every == 0 or step == config.dynamics.steps:
            spins = host(spins)
            rows["time"].append(stepper.time(step))
            rows["energy_per_site"].append(obs.energy_per_site(solver.energy(spins), spins))
            rows["skyrmion_number"].append(obs.skyrmion_number(spins))
            rows["crystal_share"].append(_crystal_share(spins))
        if step % log_every == 0:
            print(f"step {step}: Q = {rows['skyrmion_number'][-1]:+.3f}, E/N = "
                  f"{rows['energy_per_site'][-1]:.6f}", file=stream, flush=True)

    spins = torch.from_numpy(initial.spins(config) if start is None else start)
    spins, last = stepper.run(spins, 0, config.dynamics.steps,
                              [lambda step, before, energy, after: record(step, before)])
    record(last, spins)
    return {k: np.array(v) for k, v in rows.items()}, host(spins)


def _crystal_share(spins: np.ndarray) -> float:
    return obs.crystal_share(spins, report.crystal_wave_number(spins))


def _final(data: dict, spins: np.ndarray) -> dict:
    return {**report.spins_summary(spins),
            "energy_per_site": float(data["energy_per_site"][-1])}


def _read_run(path: Path) -> tuple[dict, np.ndarray]:
    """The series of a run's output.h5 with the crystal share of every frame, and its last
    frame."""
    import h5py

    series = outputlib.read_series(path)
    with h5py.File(path, "r") as f:
        frames = f["tasks/spins"]
        series["crystal_share"] = np.array([_crystal_share(frames[k]) for k in
                                            outputlib.written_frames(f)])
    return series, outputlib.read_frame(path)[1]


def _check_exact_run(path: Path, steps, last: int) -> None:
    """ValueError naming ``path`` unless it is the output of an exact run that reached step
    ``last`` (a network's run, or one still under way, is no exact reference)."""
    import h5py

    with h5py.File(path, "r") as f:
        kind = json.loads(f.attrs["config"])["engine"]["kind"]
    if kind != "exact":
        raise ValueError(f"{path} is the output of a run with engine {kind!r}, not an exact "
                         f"run; remove it or compare another config")
    if not len(steps) or int(steps[-1]) != last:
        raise ValueError(f"{path} ends at step {int(steps[-1]) if len(steps) else None}, not "
                         f"at dynamics.steps = {last}: finish the exact run first "
                         f"(distllg run ... --restart auto)")


PHYSICS_SECTIONS = ("lattice", "hamiltonian", "dynamics", "initial")


def _physics(config: configlib.Config) -> dict:
    """What decides the exact trajectory: the config's physics sections."""
    everything = config.as_dict()
    return {name: everything[name] for name in PHYSICS_SECTIONS}


def _reference(path: Path, config: configlib.Config) -> dict:
    """The exact block of an earlier compare.json, checked to be of ``config``'s physics."""
    try:
        earlier = json.loads(path.read_text())
        exact = earlier["exact"]
        if not isinstance(exact, dict) or not {"energy_per_site", "skyrmion_number",
                                                "crystal_share"} <= exact.keys():
            raise ValueError("its 'exact' block lacks the final values")
        if "physics" in earlier:
            same = earlier["physics"] == json.loads(json.dumps(_physics(config)))
            what = "other physics (lattice, hamiltonian, dynamics or initial)"
        else:  # written before compare.json carried its physics
            same = Path(str(earlier["config"])).resolve() == Path(config.source).resolve()
            what = f"the config {earlier['config']}"
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"--reference {path}: not a compare.json ({error})") from None
    if not same:
        raise ValueError(f"--reference {path} compares {what}, not that of {config.source}")
    return exact


def compare(config: configlib.Config, model_name: str, out: Path, stream=sys.stdout,
            reference: Path | None = None) -> dict:
    solver = ExactSolver(config.hamiltonian)
    cnn_engine = engines.make(engines.serial(config.engine, kind="cnn", model=model_name),
                              config.hamiltonian, config.lattice.shape, key="--model")
    run_dir = Path(config.output.directory)
    exact = exact_spins = None
    if reference is not None:
        exact_final = _reference(reference, config)
        start = initial.spins(config)
        (out / "spins_exact.png").unlink(missing_ok=True)  # of an earlier comparison
        print(f"exact final values from {reference}", file=stream)
    elif (run_dir / "output.h5").is_file():
        exact, exact_spins = _read_run(run_dir / "output.h5")
        step, start = outputlib.read_frame(run_dir / "output.h5", slot=0)
        if step != 0:
            raise ValueError(f"{run_dir / 'output.h5'} does not start at step 0")
        _check_exact_run(run_dir / "output.h5", exact["step"], config.dynamics.steps)
        print(f"exact trajectory from {run_dir / 'output.h5'}", file=stream)
    else:
        print("exact trajectory:", file=stream)
        start = initial.spins(config)
        exact_engine = engines.make(engines.serial(config.engine, kind="exact", twists=1),
                                    config.hamiltonian, config.lattice.shape)
        exact, exact_spins = trajectory(config, exact_engine.fields, solver, stream,
                                        start)
    print("CNN trajectory (from the exact run's first frame):" if reference is None else
          "CNN trajectory (from the config's initial state):", file=stream)
    cnn, cnn_spins = trajectory(config, cnn_engine.fields, solver, stream, start)
    out.mkdir(parents=True, exist_ok=True)
    Ly, Lx = config.lattice.shape
    title = f"L = {Ly}x{Lx}, seed {config.initial.seed}, alpha = {config.dynamics.alpha}"
    for key, name, label in (("skyrmion_number", "q_overlay.png", "skyrmion number Q"),
                             ("energy_per_site", "energy_overlay.png", "exact E/N (t1)"),
                             ("crystal_share", "crystal_share_overlay.png", "crystal share")):
        fig_x = cnn["time"] if exact is None else exact["time"]
        series = {} if exact is None else {"exact (ED)": exact[key]}
        series["CNN"] = np.interp(fig_x, cnn["time"], cnn[key])
        plots.curves(fig_x, series, out / name, "time (hbar/t1)", label, title)
    plots.vector_texture(cnn_spins, out / "spins_cnn.png", title=f"CNN final, {title}",
                         label="$S^z$")
    if exact is not None:
        plots.vector_texture(exact_spins, out / "spins_exact.png",
                             title=f"exact final, {title}", label="$S^z$")
        exact_final = _final(exact, exact_spins)
    result = {"config": config.source, "physics": _physics(config),
              "model": cnn_engine.network.source, "exact": exact_final,
              "cnn": _final(cnn, cnn_spins)}
    if reference is not None:
        result["exact_from"] = str(reference)
    (out / "compare.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "structure_factor_peaks"}
                      for k, v in result.items() if k in ("exact", "cnn")}), file=stream)
    return result
