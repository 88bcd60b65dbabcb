"""The validation set by texture family: exact labels of the states a large run meets, and
how accurate each model (and a committee's mean) is on each family.

:func:`build` draws ``members`` states of every family of :mod:`distllg.training.textures`
(seeds ``seed0``, ``seed0 + 1``, ...) on the config's lattice and labels each with the
config's electronic solver (``[engine]``: ED, twist-averaged for ``engine.twists`` > 1, as
``distllg datagen`` does), one single-frame trajectory ``<family>_<seed>`` each in a datagen
file (:mod:`distllg.training.data`): resumable (what is in the file is kept), and a file of
other settings is refused. :func:`evaluate` gives per family (and over the whole set) the
metrics of :func:`distllg.training.train.metrics` of every model and, for two or more
models, the committee's disagreement and its calibration against the true error of the
committee's mean (:mod:`distllg.training.committee`).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from distllg import config as configlib
from distllg.training import committee as committeelib
from distllg.training import data as datalib
from distllg.training import datagen
from distllg.training import train as trainlib
from distllg.training.textures import FAMILIES, draw


def name_of(family: str, seed: int) -> str:
    """The trajectory name of a member in the data file."""
    return f"{family}_{seed:04d}"


def build(config: configlib.Config, members: int, seed0: int = 0, log=print) -> str:
    """Label the missing members of every family into ``config.data.file``; returns it."""
    labels = datagen.label_engine(config)
    Ly, Lx = config.lattice.shape
    with datagen.open_file(config) as f:
        done = set(f["trajectories"])
        todo = [(family, seed) for family in FAMILIES
                for seed in range(seed0, seed0 + members) if name_of(family, seed) not in done]
        for index, (family, seed) in enumerate(todo):
            start = time.perf_counter()
            spins = draw(family, Ly, Lx, seed)
            energy, fields = labels.energy_and_fields(spins)
            seconds = time.perf_counter() - start
            write_frame(f, name_of(family, seed), spins, fields, energy, f"texture {family}",
                        seconds, seed)
            log(f"labelled {name_of(family, seed)} ({index + 1}/{len(todo)}, {seconds:.1f} s)")
    return config.data.file


def write_frame(f, name: str, spins: np.ndarray, fields: np.ndarray, energy: float,
                origin: str, seconds: float, seed: int = 0) -> None:
    """One labelled frame as a complete single-frame trajectory ``name`` of the open data
    file ``f``, flushed; ``seconds``: the label's ED wall time (kept as an attribute)."""
    group = f["trajectories"].create_group(name)
    for key, value in (("spins", spins[None]), ("fields", fields[None]),
                       ("energy", np.array([energy])), ("step", np.zeros(1, int)),
                       ("time", np.zeros(1))):
        group.create_dataset(key, data=value)
    group.attrs.update(seed=seed, alpha=0.0, dt=0.0, integrator="none",
                       propagated_by=origin, label_seconds=seconds, complete=True)
    f.flush()


def _by_family(names: list[str]) -> dict[str, list[int]]:
    families = {}
    for index, name in enumerate(names):
        families.setdefault(name.rsplit("_", 1)[0], []).append(index)
    return families


def evaluate(path, models: dict, h: float = 0.0) -> dict:
    """Metrics per family and over all frames of the validation file ``path`` for each of
    ``models`` (name -> network), and with two or more the committee's: ``{"families":
    {family: {model: metrics, "committee": {...}}}, "all": {...}, "calibration": {...}}``.
    ``h``: the Zeeman field of the labels (t1); the models predict electronic torques. With
    a committee also ``"per_frame"``: each frame's disagreement (t1) and the relative RMSE of
    the committee's mean on it (against the torque spread of the whole set)."""
    trajectories = datalib.read(path)["trajectories"]
    names = sorted(trajectories)
    spins = np.concatenate([trajectories[n]["spins"] for n in names])
    fields = np.concatenate([trajectories[n]["fields"] for n in names])
    true = datalib.electronic_torques(spins, fields, h)
    predicted = {name: trainlib.predict(model, spins) for name, model in models.items()}
    groups = {**_by_family(names), "all": list(range(len(names)))}
    result = {"frames": len(names), "families": {}}
    if len(models) > 1:
        stack = np.stack(list(predicted.values()))
        mean = stack.mean(axis=0)
        sigma = committeelib.disagreement(stack)
        error = committeelib.largest_error(true, mean)
        result["calibration"] = committeelib.calibration(sigma, error)
        frame_rmse = np.sqrt(((mean - true) ** 2).reshape(len(true), -1).mean(axis=1))
        result["per_frame"] = {"names": names, "sigma": sigma.tolist(),
                               "relative_rmse": (frame_rmse / true.std()).tolist()}
    for family, rows in groups.items():
        entry = {name: trainlib.metrics(true[rows], p[rows]) for name, p in predicted.items()}
        if len(models) > 1:
            entry["committee_mean"] = trainlib.metrics(true[rows], mean[rows])
            entry["disagreement"] = {"max": float(sigma[rows].max()),
                                     "median": float(np.median(sigma[rows])),
                                     "largest_error_median": float(np.median(error[rows]))}
        result["families"][family] = entry
    return result


def gate(metrics: dict, r2: float = 0.99) -> bool:
    """Whether ``metrics`` (:func:`distllg.training.train.metrics`) meet ``R^2 >= r2`` in
    every component."""
    return min(metrics["r2"].values()) >= r2


def cell(metrics: dict) -> str:
    """``"relative RMSE / smallest R^2 component"`` of one model on one family (tables)."""
    return f"{metrics['relative_rmse']:.3f} / {min(metrics['r2'].values()):.4f}"


def table(result: dict, models: list[str]) -> str:
    """Markdown: per family, each model's relative RMSE and smallest R^2 component."""
    head = ["family"] + [f"{m}: rel. RMSE / min R^2" for m in models]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for family, entry in result["families"].items():
        cells = [family] + [cell(entry[m]) for m in models]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def config_for(config: configlib.Config, L: int, path: str) -> configlib.Config:
    """``config`` on an ``L x L`` lattice with ``data.file = path``."""
    return dataclasses.replace(config, lattice=configlib.LatticeConfig(L=L),
                               data=dataclasses.replace(config.data, file=path))
