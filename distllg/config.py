"""Typed run configuration from TOML, validated with errors that name the key.

A config file has the sections below; every key is optional and falls back to the default
shown here. Unknown sections or keys, and values of the wrong type, are errors.

    [lattice]   L (or Lx and Ly)                         sites along a1 and a2
    [hamiltonian] t1 t2 t3 J mu h kT                     s-d model (units of t1)
    [engine]    kind model device precision halo process_grid moments probe_distance probe_sets
                committee committee_every committee_warn    the run's committee check
    [dynamics]  integrator dt alpha steps                LLG (time in hbar / t1)
                temperature anneal_steps noise_seed      stochastic LLG (thermal.py)
                field_steps field_values                 a Zeeman field ramp (stepper.py)
    [initial]   state seed noise file                    starting spins
    [output]    directory every log_every checkpoint_every checkpoint_minutes
                checkpoint_keep stop_wall_time snapshots
    [data]      file trajectories record_every           distllg datagen
    [training]  data model_file channels layers kernel ... distllg train
    [phases]    mu J kT h candidates periods ...           distllg phases
    [learning]  directory start rounds label_budget ...      distllg learn
"""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from pathlib import Path

from distllg.electrons import SDModel
from distllg.model import architecture
from distllg.parallel import DEVICES, HALO_PLACES


class ConfigError(ValueError):
    """A config file or value is wrong; the message names the key."""


@dataclasses.dataclass(frozen=True)
class LatticeConfig:
    L: int = 24
    Lx: int = 0  # 0: use L
    Ly: int = 0

    @property
    def shape(self) -> tuple[int, int]:
        """``(Ly, Lx)``."""
        return (self.Ly or self.L, self.Lx or self.L)


@dataclasses.dataclass(frozen=True)
class EngineConfig:
    kind: str = "exact"  # exact (ED, one rank) | cnn | kpm (PETSc, any rank count)
    twists: int = 1  # kind = "exact": n x n twisted boundary conditions averaged, i.e. ED
    #                  of the lattice tiled n x n times (distllg.electrons.bloch); 1 = plain ED
    model: str = "default"  # model file for kind = "cnn", or a shipped model's name; "default"
    #                         is J0.5_mu-3.5_kT0.05, the one make run uses (model/io.py ALIASES)
    moments: int = 256  # kind = "kpm": Chebyshev moments M
    probe_distance: int = 0  # kind = "kpm": probing distance in sites; 0 = exact traces
    probe_sets: int = 0  # kind = "kpm": 0 = plain probes; S = S random-sign sets, averaged
    device: str = "auto"  # auto | cpu | cuda: auto takes this rank's GPU when there is one
    precision: str = "auto"  # kind = "cnn": float64 | float32 arithmetic of the network, or
    #                           bfloat16: float32 with bfloat16 convolutions; auto = bfloat16
    #                           where the device computes it natively, else float32
    halo: str = "auto"  # kind = "cnn": where the halo is exchanged: host (staged through
    #                     host memory) | device (GPU to GPU; needs a CUDA-aware MPI, else
    #                     staged with a note) | auto (device on a GPU with a CUDA-aware MPI)
    process_grid: tuple[int, ...] = ()  # [Py, Px] ranks along y and x; () = MPI.Compute_dims
    committee: tuple[str, ...] = ()  # kind = "cnn": more models of the same point; with the
    #                                  engine's own they are a committee whose disagreement
    #                                  (distllg/training/committee.py) the run reports
    committee_every: int = 100  # steps between committee checks (3 to M evaluations each)
    committee_warn: float = 1e-3  # t1: warn when the disagreement exceeds it (0 = never);
    #                               the shipped crystal-point committee stays below 7e-4 on
    #                               every texture family measured, also where the model is
    #                               off (walls, quench states): it flags states beyond
    #                               those, not every inaccurate one (docs/physics.md)


@dataclasses.dataclass(frozen=True)
class DynamicsConfig:
    integrator: str = "midpoint"
    dt: float = 0.2
    alpha: float = 1.0
    steps: int = 1000
    # Stochastic LLG (distllg/dynamics/thermal.py): spin temperature in units of t1 (0 = off),
    # steps of its linear ramp to zero (0 = constant), and the key of the noise.
    temperature: float = 0.0
    anneal_steps: int = 0
    noise_seed: int = 0
    # A Zeeman field ramp (distllg/dynamics/stepper.py): h(n) in t1 along +z, added to
    # [hamiltonian] h, piecewise linear through (field_steps[k], field_values[k]) and
    # constant beyond the ends; () = none.
    field_steps: tuple[int, ...] = ()
    field_values: tuple[float, ...] = ()


@dataclasses.dataclass(frozen=True)
class InitialConfig:
    state: str = "random"  # random | uniform | triple-q | triple-q-cosine | file
    seed: int = 0
    noise: float = 0.0  # Gaussian noise added to the state before normalising
    file: str = ""  # .npy spins (3, Ly, Lx) when state = "file"


@dataclasses.dataclass(frozen=True)
class OutputConfig:
    directory: str = "out/run"
    every: int = 10  # an output frame (spins and observables, output.h5) every N steps
    log_every: int = 50  # progress line every N steps
    checkpoint_every: int = 100  # steps between checkpoints
    checkpoint_minutes: float = 0.0  # also a checkpoint after this much wall time; 0 = off
    checkpoint_keep: int = 3  # the newest K checkpoints are kept
    stop_wall_time: float = 0.0  # seconds: checkpoint and stop (exit 0) after this; 0 = off
    snapshots: int = 6  # spin textures plotted from the frames at the end (PNG)


@dataclasses.dataclass(frozen=True)
class DataConfig:
    file: str = "data/train.h5"  # HDF5 file that distllg datagen writes
    trajectories: int = 8  # relaxations from random states, seeds initial.seed + 0, 1, ...
    record_every: int = 10  # steps between recorded (spins, fields) frames
    propagate: str = ""  # model file whose fields drive the trajectories (or a shipped
    #                      model's name), or "exact" for plain ED (one twist); the recorded
    #                      frames still get the engine's exact fields. "": the engine drives
    perturb: tuple[str, ...] = ()  # instead: datagen files whose frames are perturbed
    noise: tuple[float, ...] = (0.05, 0.1, 0.2, 0.3)  # perturb: widths, frame by frame
    exclude: tuple[str, ...] = ()  # perturb: source trajectories left out, e.g. "0200"


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    data: tuple[str, ...] = ("data/train.h5",)  # datagen files (same s-d parameters)
    model_file: str = "out/model.npz"  # where the trained model goes
    directory: str = "out/training"  # checkpoint, loss curves, report, parity plot
    kind: str = "cnn"  # cnn | equivariant | symmetric (classes in distllg/model/cnn.py)
    window: int = 3  # torque-sum offsets: |dx|, |dy| <= window (equivariant), within window
    #                  lattice steps (symmetric)
    dots: int = 1  # equivariant/symmetric: features S_i . S_j for j within dots lattice steps
    tail: int = 0  # symmetric: constant couplings for window < |d| <= tail (0 = none)
    channels: int = 32
    layers: int = 5
    kernel: int = 3
    end_kernel: int = 0  # equivariant/symmetric: kernel of the first and last convolutions
    #                      (1 = pointwise); 0 = kernel
    activation: str = "gelu"
    epochs: int = 40
    batch: int = 16
    learning_rate: float = 2e-3
    validation_trajectories: int = 2  # whole trajectories held out (no leakage), by seed
    validation: tuple[str, ...] = ()  # or these, named "<data index>/<seed>", e.g. "0/0200"
    patience: int = 8  # epochs without validation improvement before stopping
    seed: int = 0
    max_minutes: float = 0.0  # stop (with a checkpoint) after this wall time; 0 = no limit
    gradient_clip: float = 1.0  # largest gradient norm of one step (loss in units of the
    #                             torque scale squared); 0 = no clipping
    schedule: str = "plateau"  # learning rate: "plateau" (halved after 3 epochs without
    #                            improvement) or "cosine" (decays to 1 % over `epochs`)
    initial_model: str = ""  # start from this model file's weights (same architecture), or
    #                          "" for random weights
    transfer: bool = False  # initial_model may be trained for other s-d parameters (transfer
    #                         to nearby ones); the new model is for the config's
    grow: bool = False  # initial_model may have fewer channels or a smaller dots, window
    #                     or tail (symmetric kind): its weights are embedded so training
    #                     starts from its torques


# The names of distllg.analysis.phases.CANDIDATES (a test keeps the two equal).
PHASE_CANDIDATES = ("spiral", "cone", "ferromagnet", "crystal2", "crystal1", "double_q",
                    "random")


@dataclasses.dataclass(frozen=True)
class PhasesConfig:
    """``distllg phases``: the parameter scan and the candidates compared
    (distllg.analysis.phases). An empty list takes the single value of [hamiltonian]."""

    mu: tuple[float, ...] = ()  # chemical potentials scanned (t1)
    J: tuple[float, ...] = ()  # couplings scanned (t1)
    kT: tuple[float, ...] = ()  # electron temperatures scanned (t1)
    h: tuple[float, ...] = ()  # Zeeman fields scanned (t1)
    candidates: tuple[str, ...] = PHASE_CANDIDATES[:-1]  # the cone only where h != 0;
    #                                                      "random" adds relaxed random starts
    random_starts: int = 3  # seeds of the "random" candidate per period
    periods: tuple[int, ...] = (11, 12, 13)  # supercells P x P: |Q| = 4 pi / P
    relax_twists: int = 4  # twists per axis of the fields that relax the supercells
    energy_twists: int = 12  # twists per axis of the reported grand potentials
    k_points: int = 0  # k-grid of spiral, cone and ferromagnet; 0 = 1200 below kT 0.03, else 600
    tolerance: float = 1e-5  # relaxed when the largest torque |S x H| is below this (t1)
    max_evaluations: int = 400  # field evaluations per relaxation at most
    directory: str = "out/phases"  # phases.jsonl (resumable), phases.md, phase_diagram.png


#: The kinds of CNN-driven exploration of the learning loop (distllg/training/learn.py).
EXPLORATIONS = ("anneal", "quench", "smooth", "labyrinth", "spiral", "domain_wall", "crystal",
                "field")


@dataclasses.dataclass(frozen=True)
class LearningConfig:
    """``distllg learn``: the active-learning loop (distllg/training/learn.py). The labels
    come from [engine] (kind = "exact", its twists) at [hamiltonian]; the committee is
    trained with the [training] settings."""

    directory: str = "out/learn"  # rounds, labels, committee models, rounds.md
    start: tuple[str, ...] = ()  # the start model of each committee member: at least 3,
    #                              different (the same weights would always agree)
    rounds: int = 4  # rounds at most
    label_budget: int = 600  # ED labels at most over all rounds (validation set apart)
    labels_per_round: int = 150  # frames labelled per round at most
    L: int = 24  # lattice of the exploration, the labels and the validation set
    explore: tuple[str, ...] = EXPLORATIONS  # kinds of CNN-driven exploration (learn.py)
    trajectories: int = 2  # per kind and round
    steps: int = 300  # LLG steps of an exploration trajectory
    record_every: int = 10  # steps between candidate frames
    temperatures: tuple[float, ...] = (0.0, 0.002, 0.004)  # spin temperatures (t1), cycled
    field: float = 0.01  # the largest h of the field ramp (t1)
    dt: float = 0.4  # LLG time step of the exploration (hbar / t1)
    validation_members: int = 6  # states per texture family in the validation set
    gate_r2: float = 0.99  # every family, every component
    gate_relative_rmse: float = 0.08  # the whole validation set
    seed: int = 0


@dataclasses.dataclass(frozen=True)
class Config:
    lattice: LatticeConfig = LatticeConfig()
    hamiltonian: SDModel = SDModel()
    engine: EngineConfig = EngineConfig()
    dynamics: DynamicsConfig = DynamicsConfig()
    initial: InitialConfig = InitialConfig()
    output: OutputConfig = OutputConfig()
    data: DataConfig = DataConfig()
    training: TrainingConfig = TrainingConfig()
    phases: PhasesConfig = PhasesConfig()
    learning: LearningConfig = LearningConfig()
    source: str = ""  # file it was read from

    def as_dict(self) -> dict:
        """Plain nested dict of every section (for metadata and hashing)."""
        out = {f.name: dataclasses.asdict(getattr(self, f.name))
               for f in dataclasses.fields(self) if f.name != "source"}
        return out

    def physics_hash(self, precision: str | None = None) -> str:
        """:func:`distllg.io.identity.physics_hash` of this config on an engine that computes
        in ``precision`` (default: ``engine.precision``). A network's ``auto`` is resolved
        by the engine that runs it: hash with its :attr:`distllg.engines.Engine.identity`."""
        from distllg.io import identity

        resolved = identity.EngineIdentity(precision=precision or self.engine.precision)
        return identity.physics_hash(self, resolved)


def shifted_seeds(config: Config, shift: int) -> Config:
    """``config`` with ``initial.seed`` and ``dynamics.noise_seed`` both moved by ``shift``:
    another random start and another thermal noise, the same physics and protocol (one
    datagen trajectory, one seed of an ensemble)."""
    return dataclasses.replace(
        config, initial=dataclasses.replace(config.initial, seed=config.initial.seed + shift),
        dynamics=dataclasses.replace(config.dynamics,
                                     noise_seed=config.dynamics.noise_seed + shift))


ENGINES = ("exact", "cnn", "kpm")
PRECISIONS = ("auto", "float64", "float32", "bfloat16")
INITIAL_STATES = ("random", "uniform", "triple-q", "triple-q-cosine", "file")


def _section(cls, values, name: str):
    if not isinstance(values, dict):
        raise ConfigError(f"[{name}] must be a table of keys, got {values!r}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"unknown key '{name}.{key}'; known keys: {', '.join(sorted(known))}")
        want = hints[key]
        if typing.get_origin(want) is tuple:
            item = typing.get_args(want)[0]
            kinds = (int, float) if item is float else item
            if not (isinstance(value, list) and all(
                    isinstance(v, kinds) and not isinstance(v, bool) for v in value)):
                raise ConfigError(f"'{name}.{key}' must be a list of {item.__name__}, "
                                  f"got {value!r}")
            values = {**values, key: tuple(item(v) for v in value)}
            continue
        if want is bool:
            ok = isinstance(value, bool)
        elif want in (int, str):
            ok = isinstance(value, want) and not isinstance(value, bool)
        else:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ok:
            raise ConfigError(f"'{name}.{key}' must be {want.__name__}, got {value!r}")
    try:
        return cls(**values)
    except ValueError as error:
        raise ConfigError(f"[{name}]: {error}") from None


def _check(config: Config) -> None:
    Ly, Lx = config.lattice.shape
    if min(Ly, Lx, config.lattice.L) < 1 or min(config.lattice.Lx, config.lattice.Ly) < 0:
        raise ConfigError(f"'lattice' sizes must be positive, got {config.lattice}")
    if config.engine.kind not in ENGINES:
        raise ConfigError(f"'engine.kind' = {config.engine.kind!r}; choose one of {ENGINES}")
    grid = config.engine.process_grid
    if grid and (len(grid) != 2 or min(grid) < 0):
        raise ConfigError(f"'engine.process_grid' must be [Py, Px] (0 = let MPI choose), "
                          f"got {list(grid)}")
    if config.engine.twists < 1:
        raise ConfigError(f"'engine.twists' must be >= 1 (1 = plain ED), got "
                          f"{config.engine.twists}")
    if config.engine.committee and config.engine.kind != "cnn":
        raise ConfigError("'engine.committee' needs kind = \"cnn\": it holds more networks "
                          f"beside 'engine.model'; kind = {config.engine.kind!r}")
    if config.engine.committee_every < 1:
        raise ConfigError(f"'engine.committee_every' must be >= 1 (steps), got "
                          f"{config.engine.committee_every}")
    for key in ("probe_distance", "probe_sets", "committee_warn"):
        if getattr(config.engine, key) < 0:
            raise ConfigError(f"'engine.{key}' must be >= 0, got "
                              f"{getattr(config.engine, key)}")
    if config.engine.device not in DEVICES:
        raise ConfigError(f"'engine.device' = {config.engine.device!r}; choose one of {DEVICES}")
    if config.engine.halo not in HALO_PLACES:
        raise ConfigError(f"'engine.halo' = {config.engine.halo!r}; choose one of "
                          f"{HALO_PLACES}")
    if config.engine.precision not in PRECISIONS:
        raise ConfigError(f"'engine.precision' = {config.engine.precision!r}; choose one of "
                          f"{PRECISIONS}")
    from distllg.dynamics import llg

    if config.dynamics.integrator not in llg.INTEGRATORS:
        raise ConfigError(f"'dynamics.integrator' = {config.dynamics.integrator!r}; choose one "
                          f"of {tuple(sorted(llg.INTEGRATORS))}")
    if not config.dynamics.dt > 0:
        raise ConfigError(f"'dynamics.dt' must be > 0, got {config.dynamics.dt}")
    if config.dynamics.alpha < 0:
        raise ConfigError(f"'dynamics.alpha' must be >= 0, got {config.dynamics.alpha}")
    if config.dynamics.steps < 0:
        raise ConfigError(f"'dynamics.steps' must be >= 0, got {config.dynamics.steps}")
    _check_thermal(config.dynamics)
    _check_field_ramp(config.dynamics)
    if config.initial.state not in INITIAL_STATES:
        raise ConfigError(f"'initial.state' = {config.initial.state!r}; choose one of "
                          f"{INITIAL_STATES}")
    if config.initial.state == "file" and not Path(config.initial.file).is_file():
        raise ConfigError(f"'initial.file' = {config.initial.file!r} does not exist")
    for key in ("every", "log_every", "checkpoint_every", "checkpoint_keep"):
        if getattr(config.output, key) < 1:
            raise ConfigError(f"'output.{key}' must be >= 1")
    for key in ("checkpoint_minutes", "stop_wall_time"):
        if getattr(config.output, key) < 0:
            raise ConfigError(f"'output.{key}' must be >= 0 (0 = off)")
    for key in ("trajectories", "record_every"):
        if getattr(config.data, key) < 1:
            raise ConfigError(f"'data.{key}' must be >= 1")
    _check_training(config.training)
    _check_phases(config.phases)
    _check_learning(config.learning)


def _check_training(training: TrainingConfig) -> None:
    for key in ("epochs", "batch", "validation_trajectories", "patience"):
        if getattr(training, key) < 1:
            raise ConfigError(f"'training.{key}' must be >= 1")
    try:
        architecture.check(training.kind, training.channels, training.layers, training.kernel,
                           training.end_kernel, training.window, training.dots, training.tail,
                           training.activation, prefix="training.")
    except architecture.ArchitectureError as error:
        raise ConfigError(str(error)) from None
    if training.gradient_clip < 0:
        raise ConfigError("'training.gradient_clip' must be >= 0 (0 = off)")
    if training.schedule not in SCHEDULES:
        raise ConfigError(f"'training.schedule' = {training.schedule!r}; choose one of "
                          f"{SCHEDULES}")


def _check_learning(learning: LearningConfig) -> None:
    if learning.start and (len(learning.start) < 3
                           or len(set(learning.start)) < len(learning.start)):
        raise ConfigError(f"'learning.start' = {list(learning.start)}: a committee needs at "
                          f"least 3 different start models (the same weights always agree)")
    unknown = sorted(set(learning.explore) - set(EXPLORATIONS))
    if unknown:
        raise ConfigError(f"'learning.explore': unknown kind(s) {unknown}; choose from "
                          f"{EXPLORATIONS}")
    if len(set(learning.explore)) < len(learning.explore):
        raise ConfigError(f"'learning.explore' = {list(learning.explore)} names a kind twice")
    for key in ("rounds", "label_budget", "labels_per_round", "trajectories", "steps",
                "record_every", "validation_members"):
        if getattr(learning, key) < 1:
            raise ConfigError(f"'learning.{key}' must be >= 1, got {getattr(learning, key)}")
    if learning.L < 12 or learning.L % 12:
        raise ConfigError(f"'learning.L' = {learning.L}: a multiple of 12 (the crystal's "
                          f"magnetic cell fits; its starts would have a seam otherwise)")
    if min(learning.temperatures, default=0.0) < 0 or learning.dt <= 0:
        raise ConfigError("'learning.temperatures' must be >= 0 and 'learning.dt' > 0")


def _check_phases(phases: PhasesConfig) -> None:
    unknown = sorted(set(phases.candidates) - set(PHASE_CANDIDATES))
    if unknown or not phases.candidates:
        raise ConfigError(f"'phases.candidates' = {list(phases.candidates)}: choose from "
                          f"{PHASE_CANDIDATES}")
    if any(p < 3 for p in phases.periods):
        raise ConfigError(f"'phases.periods' must be supercell sizes >= 3, got "
                          f"{list(phases.periods)}")
    for key in ("relax_twists", "energy_twists", "max_evaluations", "random_starts"):
        if getattr(phases, key) < 1:
            raise ConfigError(f"'phases.{key}' must be >= 1")
    if phases.k_points < 0 or not phases.tolerance > 0:
        raise ConfigError("'phases.k_points' must be >= 0 (0 = automatic) and "
                          "'phases.tolerance' > 0")
    if any(t < 0 for t in phases.kT):
        raise ConfigError(f"'phases.kT' must be >= 0, got {list(phases.kT)}")


def _check_field_ramp(dynamics: DynamicsConfig) -> None:
    steps, values = dynamics.field_steps, dynamics.field_values
    if len(steps) != len(values):
        raise ConfigError(f"'dynamics.field_steps' ({len(steps)} steps) and "
                          f"'dynamics.field_values' ({len(values)} fields) must pair up")
    if any(b <= a for a, b in zip(steps[:-1], steps[1:], strict=True)) or min(steps, default=0) < 0:
        raise ConfigError(f"'dynamics.field_steps' must rise strictly from >= 0, got "
                          f"{list(steps)}")
    if not all(abs(h) < float("inf") for h in values):
        raise ConfigError(f"'dynamics.field_values' must be finite, got {list(values)}")


def _check_thermal(dynamics: DynamicsConfig) -> None:
    from distllg.dynamics.thermal import STOCHASTIC_INTEGRATORS

    if dynamics.temperature < 0:
        raise ConfigError(f"'dynamics.temperature' must be >= 0, got {dynamics.temperature}")
    if dynamics.anneal_steps < 0:
        raise ConfigError(f"'dynamics.anneal_steps' must be >= 0 (0 = constant temperature), "
                          f"got {dynamics.anneal_steps}")
    if not 0 <= dynamics.noise_seed < 2**64:
        raise ConfigError(f"'dynamics.noise_seed' must be in [0, 2^64), got "
                          f"{dynamics.noise_seed}")
    if dynamics.temperature == 0:
        return
    if dynamics.integrator not in STOCHASTIC_INTEGRATORS:
        raise ConfigError(f"'dynamics.temperature' > 0 needs a Stratonovich integrator: "
                          f"'dynamics.integrator' = {dynamics.integrator!r}; choose one of "
                          f"{STOCHASTIC_INTEGRATORS}")
    if dynamics.alpha == 0:
        raise ConfigError("'dynamics.temperature' > 0 needs 'dynamics.alpha' > 0 (the noise "
                          "and the damping are one coupling to the bath)")


TRAINING_KINDS = architecture.KINDS
SCHEDULES = ("plateau", "cosine")
SECTIONS = {"lattice": LatticeConfig, "hamiltonian": SDModel, "engine": EngineConfig,
            "dynamics": DynamicsConfig, "initial": InitialConfig, "output": OutputConfig,
            "data": DataConfig, "training": TrainingConfig, "phases": PhasesConfig,
            "learning": LearningConfig}


def from_dict(data: dict, source: str = "") -> Config:
    """Validated :class:`Config` from nested dicts (as parsed from TOML)."""
    for name in data:
        if name == "model":
            raise ConfigError(f"section [model] of {source or 'the config'} is now called "
                              f"[hamiltonian] (the s-d parameters t1 t2 t3 J mu h kT); rename "
                              f"it. The network file is 'engine.model'")
        if name not in SECTIONS:
            raise ConfigError(f"unknown section [{name}]; known: {', '.join(SECTIONS)}")
    sections = {name: _section(cls, data.get(name, {}), name) for name, cls in SECTIONS.items()}
    config = Config(**sections, source=source)
    _check(config)
    return config


def load(path) -> Config:
    """Read and validate a TOML config file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"config file {path} is not valid TOML: {error}") from None
    return from_dict(data, source=str(path))

