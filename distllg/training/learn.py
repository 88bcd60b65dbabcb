"""The active-learning loop behind ``distllg learn``: explore with the committee, select
the frames it disagrees on, label them exactly, fine-tune the committee, check the gate.

The loop follows DeePMD's DP-GEN. Its work directory ``learning.directory`` holds

    validation.h5           the validation set by texture family (validation.py), never trained on
    round_000/report.json   the start committee on the validation set (the baseline)
    round_NNN/explore.npz   candidate frames of the CNN-driven exploration, their kinds, the
                            seeds of their trajectories and the committee's disagreement
                            sigma (t1)
    round_NNN/selected.json the calibrated trust window and the frames picked for labels
    round_NNN/labels.h5     their exact labels (a datagen file, a frame each; the ranks write
                            part files in labels.parts/ that rank 0 merges)
    round_NNN/member_K/     member K fine-tuned on every label so far (distllg train's
                            directory: checkpoint.pt, report.json, model.npz)
    round_NNN/report.json   the round's record (below)
    rounds.md, rounds.json, rounds.png   the table of all rounds
    model.npz               member 0 of the last round, when it passes the gate

Every stage writes its file last, atomically or frame by frame, and is skipped when its file
is there: a killed loop continues where it stopped and labels again only the frames that had
not reached a readable file (a rank killed while writing its part file loses that file's
frames). ``config.json`` records the settings the rounds were made with; a later call with
other physics, labels, training or exploration settings is refused (``rounds``,
``label_budget``, ``labels_per_round`` and ``explore`` may change: more rounds extend the
loop, and later rounds explore the kinds named then).

* **explore**: member 0 of the current committee drives LLG on ``learning.L`` x
  ``learning.L`` from the starts of ``learning.explore`` (EXPLORATIONS): ``anneal`` (random
  spins, the spin temperature ramped to zero), ``quench`` (random spins at constant
  temperature), ``smooth`` (a smoothed random field, the quench texture family),
  ``labyrinth``, ``spiral``, ``domain_wall``, ``crystal`` (the texture families as
  starts), ``field`` (the n_sk = 2 crystal, or for odd seeds isolated skyrmions in a
  polarised background, under a field raised in four equal steps to ``learning.field``),
  ``learning.trajectories`` each, at the spin temperatures of ``learning.temperatures``
  in turn; the candidates are the start and a frame every ``learning.record_every`` steps
  (rounds explored before 2026-12-08 lack the start);
* **select**: the trust window ``[sigma_lo, sigma_hi)`` is calibrated on the validation set:
  ``sigma_lo`` is the 75th percentile of the disagreement on the validation frames whose
  committee-mean error is within the gate (relative RMSE <= ``gate_relative_rmse``; the
  smallest disagreement when none is), ``sigma_hi`` twenty times the largest disagreement
  on the validation set (states beyond it are broken, not informative). Candidates in the
  window are picked by largest disagreement, kind by kind in turn, up to
  ``learning.labels_per_round`` and what is left of ``learning.label_budget``;
* **label**: ED with the config's ``[engine]`` (twists) at ``[hamiltonian]``, the frames
  spread over the mpirun ranks (each rank its own file; ED on the rank's GPU where
  ``engine.device`` picks one);
* **train**: member K starts from its previous weights and trains with ``[training]``
  (seed ``training.seed + K``) on all labels so far but those of its held-out exploration
  trajectories (about a tenth, whole trajectories, each member its own: :func:`held_out`);
  the members are spread over the ranks. A wider ``[training] channels`` than the start
  models' with ``grow = true`` widens the network;
* **gate**: member 0 on the validation set: R^2 >= ``gate_r2`` in every component on every
  family and relative RMSE <= ``gate_relative_rmse`` over the whole set. The loop stops
  when the gate holds, the label budget is spent or ``learning.rounds`` are done.

The round record: frames explored, candidates, labelled, the trust window, the
disagreement over the explored frames, member 0's relative RMSE and smallest R^2 per
family, the committee's calibration, ED core-seconds and training core-seconds (wall time
of each process, summed) and whether the gate holds.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from pathlib import Path

import numpy as np
import torch

from distllg import config as configlib
from distllg import engines
from distllg import spins as spinlib
from distllg.config import EXPLORATIONS
from distllg.dynamics.llg import host
from distllg.dynamics.stepper import Stepper
from distllg.io.atomic import write_atomic
from distllg.model import io as modelio
from distllg.parallel.collective import collectively
from distllg.training import committee as committeelib
from distllg.training import datagen, validation
from distllg.training import train as trainlib
from distllg.training.textures import draw

__all__ = ["EXPLORATIONS", "run"]

#: Seeds of the validation set start here (exploration seeds stay far below).
VALIDATION_SEED = 1_000_000
#: Labelled frames needed before a committee is trained (a tenth, at least 2, held out).
MIN_FRAMES = 5


def _round(directory: Path, number: int) -> Path:
    return directory / f"round_{number:03d}"


def _write_json(path: Path, value) -> None:
    write_atomic(path, lambda f: f.write(json.dumps(value, indent=2).encode() + b"\n"))


def members_of(config: configlib.Config, number: int) -> list[str]:
    """The committee after round ``number`` (0: the start models)."""
    if number == 0:
        return list(config.learning.start)
    folder = _round(Path(config.learning.directory), number)
    return [str(folder / f"member_{k}" / "model.npz") for k in range(len(config.learning.start))]


def load_committee(paths: list[str]) -> list:
    """The members as float64 networks."""
    return [modelio.load_model(path).double().eval() for path in paths]


# ---------------------------------------------------------------- explore

def _start(kind: str, L: int, seed: int) -> np.ndarray:
    if kind in ("anneal", "quench"):
        return draw("random", L, L, seed)
    if kind == "smooth":  # a smoothed random field: the early state of a quench
        return draw("quench", L, L, seed)
    if kind == "field":  # the crystal for even seeds, isolated skyrmions for odd ones
        return spinlib.triple_q_cosine(L, L) if seed % 2 == 0 else draw("field", L, L, seed)
    return draw(kind, L, L, seed)


def trajectory(config: configlib.Config, driver: str, kind: str, seed: int,
               temperature: float) -> list[np.ndarray]:
    """The candidate frames ``(3, L, L)`` of one exploration trajectory driven by the model
    file ``driver``: its start, then a frame every ``learning.record_every`` steps."""
    learning = config.learning
    L, spins = learning.L, _start(kind, learning.L, seed)
    segments = 4 if kind == "field" else 1
    frames = [spins.copy()]  # the tensor below shares the start array's memory
    for segment in range(segments):
        h = learning.field * (segment + 1) / segments if kind == "field" else 0.0
        engine = engines.make(engines.serial(configlib.EngineConfig(kind="cnn", model=driver)),
                              dataclasses.replace(config.hamiltonian, h=h), (L, L),
                              key="'learning.start'")
        steps = learning.steps // segments
        dynamics = configlib.DynamicsConfig(
            integrator="midpoint", dt=learning.dt, alpha=1.0, steps=steps,
            temperature=temperature, anneal_steps=steps if kind == "anneal" else 0,
            noise_seed=seed)
        stepper = Stepper.for_dynamics(dynamics, engine.fields, (L, L))
        if not isinstance(spins, torch.Tensor):
            spins = torch.from_numpy(spins).to(engine.spins_device)

        def record(step, before, energy, after):
            if (step + 1) % learning.record_every == 0:
                frames.append(host(after))

        # step numbers run on over the segments: the counter-based noise never repeats
        spins, _ = stepper.run(spins, segment * steps, (segment + 1) * steps, (record,))
    return frames


def explore(config: configlib.Config, number: int, committee: list[str], log) -> dict:
    """Stage 1 (rank 0): the candidate frames of round ``number`` and their disagreement."""
    learning = config.learning
    frames, kinds, seeds = [], [], []
    for index, kind in enumerate(learning.explore):
        for t in range(learning.trajectories):
            seed = learning.seed * 100_000 + number * 1000 + index * 100 + t
            temperature = learning.temperatures[(number + t) % len(learning.temperatures)]
            if kind == "anneal" and temperature == 0:
                temperature = max(learning.temperatures)
            got = trajectory(config, committee[0], kind, seed, temperature)
            frames += got
            kinds += [kind] * len(got)
            seeds += [seed] * len(got)
            log(f"round {number}: explored {kind} seed {seed} at T = {temperature:g}: "
                f"{len(got)} frames")
    frames = np.stack(frames)
    predictions = np.stack([trainlib.predict(m, frames) for m in load_committee(committee)])
    return {"frames": frames, "kinds": np.array(kinds), "trajectories": np.array(seeds),
            "sigma": committeelib.disagreement(predictions)}


def trajectory_of_frames(found, trajectories: int) -> np.ndarray:
    """The exploration trajectory (its seed, or for rounds explored before the seeds were
    recorded, its position) of every frame of a round's ``explore.npz`` contents
    ``found``: frames were appended trajectory by trajectory, ``trajectories`` of equal
    length per kind."""
    if "trajectories" in found:
        return np.asarray(found["trajectories"])
    kinds = np.asarray(found["kinds"])
    ids, start, run = np.full(len(kinds), -1, dtype=np.int64), 0, 0
    while start < len(kinds):
        stop = start
        while stop < len(kinds) and kinds[stop] == kinds[start]:
            stop += 1
        length, left = divmod(stop - start, trajectories)
        if left:
            raise ValueError(f"explore.npz: {stop - start} frames of kind {kinds[start]!r} "
                             f"do not split into {trajectories} trajectories")
        for t in range(trajectories):
            ids[start + t * length:start + (t + 1) * length] = run * trajectories + t
        run, start = run + 1, stop
    return ids


#: Share of the exploration trajectories whose labelled frames train no member.
HELD_OUT_SHARE = 0.1


def held_out(directory: Path, rounds: list[int], trajectories: int,
             member: int = 0) -> tuple[str, ...]:
    """The labelled frames (names ``<data index>/frame_NNNNN`` in the order of ``rounds``'
    labels files) that member ``member`` holds out: whole exploration trajectories, so that
    no frame is held out while its neighbours 10 steps away train the member. A trajectory
    is held out when a uniform number drawn from its round, its identity and the member
    falls below ``HELD_OUT_SHARE`` (each member its own, as each trains on its own seed); at
    least two are, the two smallest draws, when there are ten or more; with fewer the
    frames are split instead (an empty result)."""
    draws = {}  # (round, trajectory) -> (draw, [names])
    for index, number in enumerate(rounds):
        folder = _round(directory, number)
        with np.load(folder / "explore.npz") as found:
            of_frame = trajectory_of_frames(found, trajectories)
        for name in _frame_names(folder / "labels.h5"):
            key = (number, int(of_frame[int(name.split("_")[1])]))
            if key not in draws:
                draws[key] = (float(np.random.default_rng((*key, member)).random()), [])
            draws[key][1].append(f"{index}/{name}")
    if len(draws) < 10:
        return ()
    order = sorted(draws.values())
    chosen = [names for draw, names in order if draw < HELD_OUT_SHARE]
    if len(chosen) < 2:
        chosen = [names for _, names in order[:2]]
    return tuple(sorted(n for names in chosen for n in names))


def _frame_names(path: Path) -> list[str]:
    import h5py

    with h5py.File(path, "r") as f:
        return sorted(f["trajectories"])


# ---------------------------------------------------------------- select

def trust_window(evaluation: dict, relative_rmse: float) -> tuple[float, float]:
    """``(sigma_lo, sigma_hi)`` from the committee's per-frame figures on the validation set
    (``"per_frame"`` of :func:`validation.evaluate`)."""
    sigma, error = np.asarray(evaluation["sigma"]), np.asarray(evaluation["relative_rmse"])
    accurate = sigma[error <= relative_rmse]
    low = float(np.percentile(accurate, 75)) if len(accurate) else float(sigma.min())
    return low, 20.0 * float(sigma.max())


def select(sigma: np.ndarray, kinds: np.ndarray, window: tuple[float, float],
           count: int) -> list[int]:
    """Up to ``count`` frame indices with ``sigma`` in ``window``, largest first, taking the
    kinds in turn."""
    low, high = window
    queues = []
    for kind in dict.fromkeys(kinds.tolist()):
        index = np.flatnonzero((kinds == kind) & (sigma >= low) & (sigma < high))
        queues.append(list(index[np.argsort(-sigma[index], kind="stable")]))
    picked = []
    while len(picked) < count and any(queues):
        for queue in queues:
            if queue and len(picked) < count:
                picked.append(int(queue.pop(0)))
    return sorted(picked)


# ---------------------------------------------------------------- label

def labels_config(config: configlib.Config, folder: Path) -> configlib.Config:
    """The config whose ``data.file`` is a round's ``labels.h5``."""
    return validation.config_for(config, config.learning.L, str(folder / "labels.h5"))


def merge_labels(config: configlib.Config, folder: Path) -> set[str]:
    """Rank 0: the ranks' part files merged into the round's ``labels.h5`` (ordered by frame
    name whatever the rank count; unreadable parts of a killed rank are dropped and their
    frames labelled again); returns the names of its frames."""
    merged = labels_config(config, folder)
    with datagen.open_file(merged) as f:
        datagen.merge_parts(merged, f)
        return {n for n, g in f["trajectories"].items() if g.attrs.get("complete")}


def label_seconds(folder: Path) -> float:
    """ED wall seconds of every label of a round (core-seconds of one core or one GPU
    share each)."""
    return sum(float(t["label_seconds"]) for t in _attributes(folder / "labels.h5"))


def _attributes(path: Path) -> list[dict]:
    import h5py

    with h5py.File(path, "r") as f:
        return [dict(g.attrs) for g in f["trajectories"].values()]


def label(config: configlib.Config, folder: Path, frames: np.ndarray, picked: list[int],
          comm, done: set[str], log) -> None:
    """Stage 3 (every rank): ED labels of the picked frames not in ``done``, rank r taking
    every P-th into its own part file (:func:`merge_labels` joins them)."""
    rank, size = comm.Get_rank(), comm.Get_size()
    todo = [i for i in picked if f"frame_{i:05d}" not in done][rank::size]
    merged = labels_config(config, folder)
    part = dataclasses.replace(merged, data=dataclasses.replace(
        merged.data, file=str(datagen.parts_folder(merged) / f"rank_{rank:04d}_of_{size:04d}.h5")))
    engine = datagen.label_engine(part, comm)  # on every rank: the GPU choice is collective
    if not todo:
        return
    seconds = 0.0
    with datagen.open_file(part) as f:
        for count, i in enumerate(todo):
            start = time.perf_counter()
            energy, fields = engine.energy_and_fields(frames[i])
            took = time.perf_counter() - start
            validation.write_frame(f, f"frame_{i:05d}", frames[i], fields, energy,
                                   "cnn exploration", took)
            seconds += took
            if rank == 0:
                log(f"labelled {count + 1}/{len(todo)} on rank 0 ({seconds:.0f} s)")


# ---------------------------------------------------------------- train

def train_member(config: configlib.Config, number: int, member: int, start: str,
                 data: list[str], frames: int, validation: tuple[str, ...] = ()) -> float:
    """Stage 4: member ``member`` of round ``number`` from ``start`` on ``data``, holding out
    the frames named in ``validation`` (:func:`held_out`; none: a tenth of the frames, by
    the member's seed); returns its training seconds (also when it was trained before: kept
    in ``seconds.json``)."""
    folder = _round(Path(config.learning.directory), number) / f"member_{member}"
    done = folder / "seconds.json"
    if done.is_file() and (folder / "model.npz").is_file():
        return json.loads(done.read_text())["seconds"]
    folder.mkdir(parents=True, exist_ok=True)
    training = dataclasses.replace(
        config.training, data=tuple(data), model_file=str(folder / "model.npz"),
        directory=str(folder), initial_model=start, seed=config.training.seed + member,
        validation_trajectories=max(2, frames // 10), validation=tuple(validation))
    begin = time.perf_counter()
    with open(folder / "train.log", "a") as stream:
        trainlib.train(dataclasses.replace(config, training=training), stream=stream)
    seconds = time.perf_counter() - begin  # of this leg: an interrupted one restarts the clock
    _write_json(done, {"seconds": seconds})
    return seconds


# ---------------------------------------------------------------- gate and record

def assess(config: configlib.Config, committee: list[str]) -> dict:
    """Member 0 and the committee on the validation set: the per-family figures of
    :func:`validation.evaluate`, the per-frame ones, and the gate."""
    learning = config.learning
    path = Path(learning.directory) / "validation.h5"
    models = dict(zip([f"member_{k}" for k in range(len(committee))],
                      load_committee(committee), strict=True))
    result = validation.evaluate(path, models, config.hamiltonian.h)
    families = {f: e["member_0"] for f, e in result["families"].items() if f != "all"}
    result["gate"] = bool(all(validation.gate(m, learning.gate_r2) for m in families.values())
                          and result["families"]["all"]["member_0"]["relative_rmse"]
                          <= learning.gate_relative_rmse)
    return result


def table(records: list[dict]) -> str:
    """Markdown: one row per round."""
    families = [f for f in records[0]["assessment"]["families"]]
    head = ["round", "explored", "candidates", "labelled", "sigma median / max (1e-4 t1)",
            "ED core-s", "training core-s", "gate"] + [f"{f}: rel. RMSE / min R^2"
                                                       for f in families]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in records:
        sigma = r.get("sigma_explored")
        cells = [str(r["round"]), str(r.get("explored", "")), str(r.get("candidates", "")),
                 str(r.get("labelled", "")),
                 "" if sigma is None else f"{1e4 * sigma[0]:.1f} / {1e4 * sigma[1]:.1f}",
                 f"{r.get('ed_seconds', 0):.0f}", f"{r.get('training_seconds', 0):.0f}",
                 "yes" if r["assessment"]["gate"] else "no"]
        cells += [validation.cell(r["assessment"]["families"][f]["member_0"]) for f in families]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _record(directory: Path, records: list[dict]) -> None:
    from distllg.analysis import plots

    _write_json(directory / "rounds.json", records)
    (directory / "rounds.md").write_text(
        f"The learning loop in {directory}: member 0 on the validation set per round "
        f"(round 0: the start models).\n\n" + table(records))
    families = list(records[0]["assessment"]["families"])
    rounds = np.array([r["round"] for r in records], dtype=float)
    series = {f: np.array([r["assessment"]["families"][f]["member_0"]["relative_rmse"]
                           for r in records]) for f in families}
    plots.curves(rounds, series, directory / "rounds.png", "round",
                 "relative torque RMSE of member 0", "validation set by texture family",
                 logy=True)


# ---------------------------------------------------------------- the loop

#: [learning] keys that may change between calls of one loop (rounds already explored keep
#: their frames; later rounds explore the kinds of the call).
EXTENDABLE = ("rounds", "label_budget", "labels_per_round", "explore")


def _settings(config: configlib.Config) -> dict:
    kept = config.as_dict()
    learning = {k: v for k, v in kept["learning"].items() if k not in EXTENDABLE}
    settings = {"hamiltonian": kept["hamiltonian"],
                "engine": {k: kept["engine"][k] for k in ("kind", "twists")},
                "training": kept["training"], "learning": learning}
    return json.loads(json.dumps(settings))  # as the file holds them: lists, not tuples


def _check_settings(config: configlib.Config, path: Path) -> None:
    """Record the loop's settings on its first call; refuse other ones later."""
    settings = _settings(config)
    if not path.is_file():
        _write_json(path, settings)
        return
    recorded = json.loads(path.read_text())
    recorded["learning"] = {k: v for k, v in recorded.get("learning", {}).items()
                            if k not in EXTENDABLE}  # files recorded before they could change
    changed = sorted(f"{section}.{key}" for section in settings
                     for key in set(settings[section]) | set(recorded.get(section, {}))
                     if settings[section].get(key) != recorded.get(section, {}).get(key))
    if changed:
        raise configlib.ConfigError(
            f"'learning.directory' = {str(path.parent)!r} holds a loop made with other "
            f"settings ({', '.join(changed)}); use another directory or the recorded "
            f"settings ({path})")


def run(config: configlib.Config, comm=None, log=print) -> dict:
    """Run or continue the loop on ``comm`` (default COMM_WORLD); returns the last round's
    record on every rank."""
    if comm is None:
        from mpi4py import MPI

        comm = MPI.COMM_WORLD
    learning, root = config.learning, comm.Get_rank() == 0
    say = log if root else (lambda text: None)
    directory = Path(learning.directory)
    if config.engine.kind != "exact":
        raise configlib.ConfigError("the learning loop labels with ED: [engine] kind = "
                                    f"\"exact\" (with its twists); got {config.engine.kind!r}")
    if len(learning.start) < 3:
        raise configlib.ConfigError("'learning.start' must name the committee's start models, "
                                    "at least 3 different ones")

    def prepare():
        directory.mkdir(parents=True, exist_ok=True)
        _check_settings(config, directory / "config.json")
        validation.build(validation.config_for(config, learning.L,
                                               str(directory / "validation.h5")),
                         learning.validation_members, VALIDATION_SEED, log=say)

    collectively(comm, lambda: prepare() if root else None)
    records = []
    for number in range(0, learning.rounds + 1):
        folder = _round(directory, number)
        record_path = folder / "report.json"
        if record_path.is_file():
            records.append(json.loads(record_path.read_text()))
        else:
            records.append(_one_round(config, number, records, comm, say))
        if root:
            _record(directory, records)
        last = records[-1]
        used = sum(r.get("labelled", 0) for r in records)
        if last["assessment"]["gate"] or used >= learning.label_budget or last.get("stopped"):
            break
    if root and records[-1]["assessment"]["gate"]:
        shutil.copyfile(modelio.resolve(members_of(config, records[-1]["round"])[0]),
                        directory / "model.npz")
        say(f"the gate holds after round {records[-1]['round']}: {directory / 'model.npz'}")
    elif root:
        say(f"stopped after round {records[-1]['round']} without the gate "
            f"({sum(r.get('labelled', 0) for r in records)} of {learning.label_budget} labels)")
    return records[-1]


def _one_round(config: configlib.Config, number: int, records: list[dict], comm, say) -> dict:
    """Every stage of round ``number`` that is not on disk yet; its record."""
    learning, root = config.learning, comm.Get_rank() == 0
    directory = Path(learning.directory)
    folder = _round(directory, number)
    record = {"round": number}
    if number > 0:
        committee = members_of(config, number - 1)
        explored = folder / "explore.npz"
        if root and not explored.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            found = explore(config, number, committee, say)
            write_atomic(explored, lambda f: np.savez(f, **found))
        comm.Barrier()
        with np.load(explored) as found:
            frames, kinds, sigma = found["frames"], found["kinds"], found["sigma"]
        chosen = folder / "selected.json"
        if root and not chosen.is_file():
            window = trust_window(records[-1]["assessment"]["per_frame"],
                                  learning.gate_relative_rmse)
            left = learning.label_budget - sum(r.get("labelled", 0) for r in records)
            picked = select(sigma, kinds, window, min(learning.labels_per_round, left))
            _write_json(chosen, {"window": window, "picked": picked,
                                 "candidates": int(((sigma >= window[0])
                                                    & (sigma < window[1])).sum())})
        comm.Barrier()
        selection = json.loads(chosen.read_text())
        total = sum(r.get("labelled", 0) for r in records) + len(selection["picked"])
        if len(selection["picked"]) == 0 or total < MIN_FRAMES:
            record.update(explored=len(frames), candidates=selection["candidates"],
                          labelled=0, window=selection["window"],
                          stopped=f"{len(selection['picked'])} frame(s) above the trust "
                                  f"window, {total} in all: nothing to train on")
            if root:
                record["assessment"] = records[-1]["assessment"]
                _write_json(folder / "report.json", record)
                say(f"round {number}: {record['stopped']}; the committee agrees on what it "
                    f"explored")
            return comm.bcast(record if root else None, root=0)
        done = comm.bcast(collectively(comm, lambda: merge_labels(config, folder) if root
                                       else None), root=0)
        label(config, folder, frames, selection["picked"], comm, done, say)
        comm.Barrier()
        if root:
            merge_labels(config, folder)
        comm.Barrier()
        rounds = [r for r in range(1, number + 1)
                  if (_round(directory, r) / "labels.h5").is_file()]
        data = [str(_round(directory, r) / "labels.h5") for r in rounds]
        seconds = 0.0
        for member, start in enumerate(committee):
            if member % comm.Get_size() == comm.Get_rank():
                seconds += train_member(config, number, member, start, data, total, held_out(
                    directory, rounds, learning.trajectories, member))
        seconds = comm.allreduce(seconds)
        record.update(explored=len(frames), candidates=selection["candidates"],
                      labelled=len(selection["picked"]), window=selection["window"],
                      sigma_explored=[float(np.median(sigma)), float(sigma.max())],
                      ed_seconds=label_seconds(folder) if root else 0.0,
                      training_seconds=seconds)
    comm.Barrier()
    if root:
        folder.mkdir(parents=True, exist_ok=True)
        record["assessment"] = assess(config, members_of(config, number))
        _write_json(folder / "report.json", record)
        families = record["assessment"]["families"]
        say(f"round {number}: labelled {record.get('labelled', 0)}, member 0 relative RMSE "
            f"{families['all']['member_0']['relative_rmse']:.3f} overall; gate "
            f"{'holds' if record['assessment']['gate'] else 'not met'}")
    return comm.bcast(record if root else None, root=0)
