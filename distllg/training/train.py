"""Training of the CNN torque model on exact (ED) trajectories.

* Split by trajectory: ``[training] validation_trajectories`` whole trajectories (chosen by
  ``seed``), or the ones named in ``validation``, are held out, so no frame of a validation
  trajectory, nor its neighbours in time, is seen in training.
* Target: the exact electronic torques ``T = S x (H - h z)`` (the run adds the Zeeman
  part, :mod:`distllg.training.data`) in units of ``output_scale`` (their root mean square
  over the training frames), mean-squared error.
* Augmentation by the symmetries the CNN does not have by construction but the s-d model
  has: the 12 point-group operations of the triangular lattice and global spin rotations
  (see :mod:`distllg.training.data`); translations are built into the convolutions. (Spin
  rotations are exact symmetries of the equivariant kinds, the point group of the symmetric
  kind: augmenting by them changes only round-off there.)
* Adam with the gradient norm clipped at ``gradient_clip`` (a single outlier batch can
  otherwise throw a training far off its minimum), the learning rate halved after 3 epochs
  without improvement or decayed along a cosine (``schedule``), early stopping after
  ``patience`` epochs without improvement; the best model (lowest validation loss) is the
  result.
  ``initial_model`` starts from a trained model's weights instead of random ones; they
  count as epoch 0 (a training that only worsens them returns them unchanged).
* Resumable: ``<directory>/checkpoint.pt`` is written atomically after every epoch (weights,
  optimiser, scheduler, history, RNG states, best weights); a rerun of the same config
  continues there. ``max_minutes`` stops cleanly for a later continuation.

Writes ``model_file`` (:mod:`distllg.model.io`) and in ``directory``: ``report.json``
(torque RMSE, relative RMSE, R^2 per component on the held-out trajectories),
``loss_curve.png`` and ``parity.png``.
"""

from __future__ import annotations

import copy
import functools
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from distllg import config as configlib
from distllg.analysis import plots
from distllg.io.atomic import write_atomic
from distllg.model import io as modelio
from distllg.model.cnn import build, grow
from distllg.training import data as datalib

TRAIN_DTYPE = torch.float32


def load_datasets(config: configlib.Config) -> tuple[dict, list[dict]]:
    """Read the data files; check they share the run's s-d parameters; returns
    ``({name: trajectory}, datasets)`` with names ``<file index>/<seed>``."""
    datasets = [datalib.read(path) for path in config.training.data]
    want = config.hamiltonian.as_dict()
    trajectories = {}
    for index, (path, data) in enumerate(zip(config.training.data, datasets, strict=True)):
        if data["attrs"]["model"] != want:
            raise configlib.ConfigError(
                f"'training.data' file {path} was made for s-d parameters "
                f"{data['attrs']['model']}, the config's [hamiltonian] is {want}")
        for name, trajectory in data["trajectories"].items():
            trajectories[f"{index}/{name}"] = trajectory
    return trajectories, datasets


def split(names: list[str], held_out: int, seed: int,
          chosen: tuple[str, ...] = ()) -> tuple[list[str], list[str]]:
    """``(training, validation)`` trajectory names; validation = the ``chosen`` ones when
    given (``[training] validation``), else ``held_out`` whole ones picked with ``seed``."""
    if chosen:
        missing = sorted(set(chosen) - set(names))
        if missing:
            raise configlib.ConfigError(
                f"'training.validation' names {missing}, which the data do not hold; "
                f"trajectories are named <data index>/<seed>: {sorted(names)}")
        if len(set(chosen)) >= len(names):
            raise configlib.ConfigError("'training.validation' holds out every trajectory")
        return sorted(set(names) - set(chosen)), sorted(set(chosen))
    if held_out >= len(names):
        raise configlib.ConfigError(f"'training.validation_trajectories' = {held_out} leaves "
                                    f"no training data ({len(names)} trajectories)")
    order = np.random.default_rng(seed).permutation(sorted(names))
    return sorted(order[held_out:].tolist()), sorted(order[:held_out].tolist())


def split_by_config(config: configlib.Config, names: list[str]) -> tuple[list[str], list[str]]:
    """:func:`split` with the config's ``[training]`` validation settings."""
    cfg = config.training
    return split(names, cfg.validation_trajectories, cfg.seed, cfg.validation)


def frames(trajectories: dict, names: list[str],
           h: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(spins, electronic torques)`` pairs, each ``(n, 3, Ly, Lx)``, one per trajectory of
    data made at Zeeman field ``h``."""
    return [(t["spins"], datalib.electronic_torques(t["spins"], t["fields"], h))
            for t in (trajectories[n] for n in names)]


class Augmenter:
    """Random lattice point-group operation and global spin rotation of a batch of spins and
    electronic torques, and a global spin flip in half the batches (the torque stays:
    :mod:`distllg.training.data`); all exact symmetries of the electronic torque at any ``h``."""

    def __init__(self, shape: tuple[int, int], rng: np.random.Generator):
        self.permutations = [datalib.site_permutation(m, shape)
                             for m in datalib.point_group(shape)]
        self.rng = rng

    def __call__(self, spins: np.ndarray, targets: np.ndarray):
        iy, ix = self.permutations[self.rng.integers(len(self.permutations))]
        rotation = datalib.random_rotation(self.rng)
        flip = -1.0 if self.rng.random() < 0.5 else 1.0
        return (flip * datalib.rotate_spins(rotation, spins[..., iy, ix]),
                datalib.rotate_spins(rotation, targets[..., iy, ix]))


def _batches(groups, batch: int, rng: np.random.Generator):
    """Shuffled minibatches ``(spins, torques)``; frames of one lattice size per batch."""
    order = [(g, i) for g, (s, _) in enumerate(groups) for i in range(len(s))]
    order = [order[k] for k in rng.permutation(len(order))]
    by_shape: dict = {}
    for g, i in order:
        by_shape.setdefault(groups[g][0].shape[-2:], []).append((g, i))
    for items in by_shape.values():
        for start in range(0, len(items), batch):
            chunk = items[start:start + batch]
            yield (np.stack([groups[g][0][i] for g, i in chunk]),
                   np.stack([groups[g][1][i] for g, i in chunk]))


def predict(model: torch.nn.Module, spins: np.ndarray, chunk: int = 32) -> np.ndarray:
    """Model output for frames ``(n, 3, Ly, Lx)`` in the model's dtype (its output scale's:
    bfloat16 convolutions after ``convolve_in`` keep float32 features), as float64 numpy."""
    scale = model.output_scale
    out = []
    with torch.no_grad():
        for start in range(0, len(spins), chunk):
            x = torch.from_numpy(spins[start:start + chunk]).to(scale.device, scale.dtype)
            out.append(model(x).to("cpu", torch.float64).numpy())
    return np.concatenate(out)


def metrics(true: np.ndarray, predicted: np.ndarray) -> dict:
    """Torque RMSE (t1), relative RMSE (RMSE / std of the true torques) and R^2 per
    component for ``(n, 3, Ly, Lx)`` arrays."""
    t = np.moveaxis(true, 1, 0).reshape(3, -1)
    p = np.moveaxis(predicted, 1, 0).reshape(3, -1)
    rmse = float(np.sqrt(np.mean((p - t) ** 2)))
    r2 = 1.0 - np.sum((p - t) ** 2, axis=1) / np.sum((t - t.mean(axis=1, keepdims=True)) ** 2,
                                                     axis=1)
    return {"rmse": rmse, "relative_rmse": rmse / float(t.std()),
            "r2": dict(zip("xyz", r2.tolist(), strict=True)), "sites": int(t.shape[1])}


def by_trajectory(names: list[str], true: list[np.ndarray], predicted: list[np.ndarray]
                  ) -> dict:
    """Relative RMSE of each held-out trajectory against its own torque spread, whole and
    in thirds of its frames (early, middle, late: the late frames of a relaxation have the
    smallest torques; no thirds for fewer than three frames)."""
    result = {}
    for name, t, p in zip(names, true, predicted, strict=True):
        thirds = np.array_split(np.arange(len(t)), 3)
        result[name] = {"relative_rmse": metrics(t, p)["relative_rmse"],
                        "thirds": [metrics(t[k], p[k])["relative_rmse"] for k in thirds]
                        if len(t) >= 3 else []}
    return result


def describe(result: dict) -> str:
    """One line of :func:`metrics`: RMSE, relative RMSE and R^2 per component."""
    return (f"torque RMSE {result['rmse']:.3e} t1, relative {result['relative_rmse']:.4f}, "
            "R^2 " + ", ".join(f"{k} {v:.5f}" for k, v in result["r2"].items()))


def parity_plot(true: np.ndarray, predicted: np.ndarray, path, title: str):
    """Parity PNG of torques ``(n, 3, ...)``: predicted against true, per component."""
    return plots.parity(np.moveaxis(true, 1, 0).reshape(3, -1),
                        np.moveaxis(predicted, 1, 0).reshape(3, -1), path, title=title)


def _loss(model, groups, scale: float) -> float:
    total, count = 0.0, 0
    for spins, torques in groups:
        diff = (predict(model, spins) - torques) / scale
        total += float(np.sum(diff**2))
        count += diff.size
    return total / count


def _fingerprint(config: configlib.Config, data_hash: str) -> str:
    training = dict(config.as_dict()["training"])
    for key in ("patience", "max_minutes", "model_file", "directory"):
        training.pop(key)  # may change between legs of one training
    if config.training.schedule == "plateau":
        training.pop("epochs")  # (the cosine schedule spans them)
    return json.dumps({"training": training, "data": data_hash}, sort_keys=True)


def make_scheduler(optimiser: torch.optim.Optimizer, cfg: configlib.TrainingConfig):
    """``[training] schedule``: "plateau" halves the learning rate after 3 epochs without
    improvement of the validation loss; "cosine" lowers it every epoch along half a cosine
    from ``learning_rate`` to 1 % of it at epoch ``epochs``."""
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(
            optimiser, T_max=cfg.epochs, eta_min=cfg.learning_rate / 100)
    return torch.optim.lr_scheduler.ReduceLROnPlateau(optimiser, factor=0.5, patience=3)


def start_from(model: torch.nn.Module, config: configlib.Config,
               shape: tuple[int, int]) -> str:
    """Copy the weights (and output scale) of ``[training] initial_model`` into ``model``:
    fine-tuning a trained model on new data or with a new schedule. Its architecture must be
    the config's (or, with ``[training] grow = true``, one that :func:`distllg.model.cnn.grow`
    embeds in it), and it must fit the config's s-d parameters (any parameters with
    ``[training] transfer = true``: fine-tuning to a nearby parameter point) and the data's
    lattice ``shape`` (:func:`distllg.model.io.check_compatible`). Returns the checksum of
    its weights."""
    source = f"'training.initial_model' = {config.training.initial_model!r}"
    try:
        initial = modelio.load_model(config.training.initial_model)
    except modelio.ModelFileError as error:
        raise configlib.ConfigError(f"{source}: {error}") from None
    same = initial.architecture == model.architecture
    if not same and not config.training.grow:
        raise configlib.ConfigError(
            f"{source} has the architecture {initial.architecture}, [training] asks for "
            f"{model.architecture} (with 'training.grow' = true larger channels, dots, "
            f"window or tail may start from it)")
    try:
        parameters = (initial.metadata["model"] if config.training.transfer
                      else config.hamiltonian.as_dict())
        modelio.check_compatible(initial.metadata, parameters, shape, source)
    except modelio.ModelFileError as error:
        raise configlib.ConfigError(str(error)) from None
    if same:
        model.load_state_dict(initial.state_dict())
    else:
        try:
            grow(initial, model)
        except ValueError as error:
            raise configlib.ConfigError(f"{source} with 'training.grow' = true: "
                                        f"{error}") from None
    return initial.metadata["weights_sha256"]


def architecture_of(cfg: configlib.TrainingConfig) -> dict:
    """The architecture dict (:func:`distllg.model.cnn.build`) of a ``[training]`` section."""
    architecture = {"kind": cfg.kind, "channels": cfg.channels, "layers": cfg.layers,
                    "kernel": cfg.kernel, "activation": cfg.activation, "predicts": "torque"}
    if cfg.kind in ("equivariant", "symmetric"):
        architecture.update(window=cfg.window, dots=cfg.dots,
                            end_kernel=cfg.end_kernel or cfg.kernel)
    if cfg.kind == "symmetric":
        architecture.update(tail=cfg.tail)
    return architecture


def _resume(checkpoint: Path, fingerprint: str, model, optimiser, scheduler, rng,
            cfg: configlib.TrainingConfig) -> tuple[dict, dict, str]:
    """Load a training checkpoint into the model, optimiser, scheduler and generators;
    returns ``(history, best, initial weights checksum)``."""
    state = torch.load(checkpoint, weights_only=True)
    if state["fingerprint"] != fingerprint:
        raise configlib.ConfigError(
            f"training checkpoint {checkpoint} belongs to another training (other data or "
            f"[training] settings); remove it or choose another 'training.directory'")
    model.load_state_dict(state["model"])
    optimiser.load_state_dict(state["optimiser"])
    scheduler.load_state_dict(state["scheduler"])
    initial_weights = state.get("initial_weights_sha256") or (  # (older checkpoints)
        modelio.read_metadata(cfg.initial_model)["weights_sha256"] if cfg.initial_model else "")
    rng.bit_generator.state = state["rng"]
    torch.set_rng_state(state["torch_rng"])
    return state["history"], state["best"], initial_weights


def _epoch(model, optimiser, train_set, scale: float, cfg: configlib.TrainingConfig, rng,
           augment) -> tuple[list[float], list[float]]:
    """One pass over the training frames in random batches; returns the batch losses and
    gradient norms."""
    model.train()
    losses, norms = [], []
    for spins, torques in _batches(train_set, cfg.batch, rng):
        if augment is not None:
            spins, torques = augment(spins, torques)
        x = torch.from_numpy(np.ascontiguousarray(spins)).to(TRAIN_DTYPE)
        y = torch.from_numpy(np.ascontiguousarray(torques)).to(TRAIN_DTYPE)
        loss = torch.mean(((model(x) - y) / scale) ** 2)
        optimiser.zero_grad()
        loss.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(
            model.parameters(), cfg.gradient_clip if cfg.gradient_clip else float("inf"))))
        optimiser.step()
        losses.append(loss.item())
    model.eval()
    return losses, norms


def _epoch_line(history: dict, best: dict, norms: list[float], elapsed: float,
                eta: float) -> str:
    """The progress line of the latest epoch (times in s)."""
    return (f"epoch {history['epoch'][-1]:4d}  train {history['train_loss'][-1]:.3e}  "
            f"validation {history['validation_loss'][-1]:.3e}  best {best['loss']:.3e} (epoch "
            f"{best['epoch']})  lr {history['learning_rate'][-1]:.1e}  |grad| median "
            f"{np.median(norms):.2g} max {max(norms):.2g}  {elapsed / 60:.1f} min  ETA <= "
            f"{eta / 60:.1f} min")


def train(config: configlib.Config, stream=sys.stdout) -> dict:
    """Train (or continue training) the configured model; returns the final report."""
    cfg = config.training
    out = Path(cfg.directory)
    out.mkdir(parents=True, exist_ok=True)
    trajectories, datasets = load_datasets(config)
    data_hash = datalib.content_sha256(datasets)
    train_names, val_names = split_by_config(config, list(trajectories))
    train_set = frames(trajectories, train_names, config.hamiltonian.h)
    val_set = frames(trajectories, val_names, config.hamiltonian.h)
    scale = float(np.sqrt(np.mean(np.concatenate([t.ravel() for _, t in train_set]) ** 2)))
    shapes = sorted({s.shape[-2:] for s, _ in train_set})
    torch.manual_seed(cfg.seed)
    model = build(architecture_of(cfg)).to(TRAIN_DTYPE)
    model.output_scale.fill_(scale)
    checkpoint = out / "checkpoint.pt"
    initial_weights = ""  # the initial model's weights checksum, kept in the checkpoint
    if cfg.initial_model and not checkpoint.is_file():
        initial_weights = start_from(model, config, min(shapes, key=min))
    optimiser = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate)
    scheduler = make_scheduler(optimiser, cfg)
    rng = np.random.default_rng(cfg.seed)
    history = {"epoch": [], "train_loss": [], "validation_loss": [], "learning_rate": [],
               "gradient_norm": []}
    best = {"loss": float("inf"), "state": copy.deepcopy(model.state_dict()), "epoch": 0}
    if initial_weights:  # epoch 0 is the initial model: training never returns worse weights
        best["loss"] = _loss(model, val_set, scale)
        if cfg.schedule == "plateau":
            scheduler.best = best["loss"]  # plateaus count from the initial model too
    fingerprint = _fingerprint(config, data_hash)
    if checkpoint.is_file():
        history, best, initial_weights = _resume(checkpoint, fingerprint, model, optimiser,
                                                 scheduler, rng, cfg)
        print(f"continuing training from {checkpoint} after epoch {history['epoch'][-1]}",
              file=stream, flush=True)
    augment = Augmenter(shapes[0], rng=rng) if len(shapes) == 1 else None
    print(f"distllg train: {len(train_names)} training / {len(val_names)} validation "
          f"trajectories ({sum(len(s) for s, _ in train_set)} / "
          f"{sum(len(s) for s, _ in val_set)} frames, lattices {shapes}), model r = "
          f"{model.receptive_radius}, {sum(p.numel() for p in model.parameters())} weights, "
          f"torque scale {scale:.4g} t1", file=stream, flush=True)
    wall0 = time.perf_counter()
    first = history["epoch"][-1] + 1 if history["epoch"] else 1
    stopped = "epochs"
    for epoch in range(first, cfg.epochs + 1):
        if epoch - best["epoch"] > cfg.patience:
            stopped = "early stopping"
            break
        if cfg.max_minutes and time.perf_counter() - wall0 > 60 * cfg.max_minutes:
            stopped = "max_minutes"
            break
        losses, norms = _epoch(model, optimiser, train_set, scale, cfg, rng, augment)
        val_loss = _loss(model, val_set, scale)
        if cfg.schedule == "plateau":
            scheduler.step(val_loss)
        else:
            scheduler.step()
        for key, value in (("epoch", epoch), ("train_loss", float(np.mean(losses))),
                           ("validation_loss", val_loss),
                           ("learning_rate", optimiser.param_groups[0]["lr"]),
                           ("gradient_norm", float(np.median(norms)))):
            history[key].append(value)
        if val_loss < best["loss"]:
            best = {"loss": val_loss, "state": copy.deepcopy(model.state_dict()), "epoch": epoch}
        elapsed = time.perf_counter() - wall0
        print(_epoch_line(history, best, norms, elapsed,
                          elapsed / (epoch - first + 1) * (cfg.epochs - epoch)),
              file=stream, flush=True)
        state = {"fingerprint": fingerprint, "model": model.state_dict(),
                 "optimiser": optimiser.state_dict(), "scheduler": scheduler.state_dict(),
                 "history": history, "best": best, "rng": rng.bit_generator.state,
                 "torch_rng": torch.get_rng_state(), "initial_weights_sha256": initial_weights}
        write_atomic(checkpoint, functools.partial(torch.save, state))
    return finish(config, model, best, history, val_set, data_hash, stopped, shapes,
                  val_names, initial_weights, stream)


def finish(config, model, best, history, val_set, data_hash, stopped, shapes, val_names,
           initial_weights, stream) -> dict:
    """Evaluate the best weights in float64 on the held-out trajectories; write the model
    file (``initial_weights``: the checksum of the initial model's weights, or ""),
    report.json, loss_curve.png and parity.png."""
    cfg = config.training
    out = Path(cfg.directory)
    model.load_state_dict(best["state"])
    model = model.to(torch.float64).eval()
    truths, each = [t for _, t in val_set], [predict(model, s) for s, _ in val_set]
    true, predicted = np.concatenate(truths), np.concatenate(each)
    result = metrics(true, predicted)
    report = {"stopped_by": stopped, "best_epoch": best["epoch"],
              "epochs_run": history["epoch"][-1] if history["epoch"] else 0,
              "validation_trajectories": val_names, "validation": result,
              "validation_by_trajectory": by_trajectory(val_names, truths, each),
              "receptive_radius": model.receptive_radius, "data_sha256": data_hash}
    modelio.save_model(model, cfg.model_file, model=config.hamiltonian.as_dict(),
                       lattice=[list(s) for s in shapes],
                       normalisation={"output_scale": float(model.output_scale)},
                       data_sha256=data_hash, metrics=result,
                       training=config.as_dict()["training"],
                       initial_weights_sha256=initial_weights)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    if history["epoch"]:
        plots.curves(np.array(history["epoch"]),
                     {"training (augmented)": np.array(history["train_loss"]),
                      "validation": np.array(history["validation_loss"])},
                     out / "loss_curve.png", "epoch", "MSE / scale^2", "CNN torque loss",
                     logy=True)
    parity_plot(true, predicted, out / "parity.png",
                f"held-out trajectories {val_names}: relative RMSE "
                f"{result['relative_rmse']:.4f}")
    kept = " (the initial model: no epoch improved on it)" if best["epoch"] == 0 else ""
    print(f"done ({stopped}): best epoch {best['epoch']}{kept}, held-out {describe(result)}; "
          f"wrote {cfg.model_file} and {out}", file=stream, flush=True)
    for name, one in report["validation_by_trajectory"].items():
        thirds = " / ".join(f"{x:.3f}" for x in one["thirds"])
        print(f"  held-out {name}: relative RMSE {one['relative_rmse']:.4f}"
              + (f" (thirds {thirds})" if thirds else ""), file=stream, flush=True)
    return report
