"""What a run starts from on disk, decided before any work: a fresh start or the checkpoint
to continue from, and whether the output directory can take the run.

:func:`plan` is called on one rank (rank 0) and changes nothing on disk; its result, a
:class:`RestartPlan`, is broadcast and acted on by :class:`distllg.observers.RunFiles`. The
plan verifies the attributes of the checkpoint it chooses; its spins are verified by all
ranks together as they read their tiles (:func:`distllg.io.checkpoint.read_tile`). When
that fails, ``--restart latest`` and ``auto`` plan again with the checkpoint rejected
(:meth:`distllg.run.Run`), walking back to the newest one that verifies.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from distllg.config import Config, ConfigError
from distllg.io import checkpoint as ckpt
from distllg.io import preflight
from distllg.io.identity import EngineIdentity, resolved, run_hash


@dataclass(frozen=True)
class RestartPlan:
    """What a run starts from on disk, decided by :func:`plan` on rank 0 and broadcast
    (``comm.bcast``) to every rank."""

    #: What decides the trajectory (16 hex digits, :func:`run_hash`); written to every file.
    run_hash: str
    #: The checkpoint to continue from; None: a fresh start from ``[initial]``.
    checkpoint: Path | None = None
    #: Its attributes, verified (:func:`distllg.io.checkpoint.read_state`, without streaming
    #: the spins); None when fresh.
    state: dict | None = None
    #: A fresh start replaces an old run's ``output.h5`` and checkpoints (``--overwrite``).
    clear: bool = False
    #: ``(path, reason)`` of the newer checkpoints that do not verify (or whose spins were
    #: rejected), newest first; they are set aside as ``<name>.damaged`` before the run
    #: starts.
    skipped: tuple[tuple[Path, str], ...] = ()

    @property
    def step(self) -> int:
        """The first step of this leg: the checkpoint's, or 0."""
        return 0 if self.state is None else self.state["step"]

    @property
    def wall_time(self) -> float:
        """The wall time of the legs before this one (s)."""
        return 0.0 if self.state is None else self.state["wall_time"]


def plan(config: Config, restart: str | None, overwrite: bool,
         engine: EngineIdentity | str, rejected=()) -> RestartPlan:
    """The :class:`RestartPlan` of a run. ``restart``: None, ``"latest"``, ``"auto"`` or a
    checkpoint path; ``overwrite``: a fresh start may replace an old run; ``engine``: what
    the run's engine resolved (:attr:`distllg.engines.Engine.identity`; or its weights
    checksum, :func:`distllg.io.identity.resolved`); ``rejected``: ``(path, reason)`` of
    checkpoints whose spins failed to verify (``latest`` and ``auto`` walk past them).
    Raises with a message that names the file and what to do."""
    engine = resolved(config, engine)
    digest, weights_sha256 = run_hash(config, engine), engine.weights_sha256
    out = Path(config.output.directory)
    path, state, skipped, clear = None, None, [], False
    if restart in ("latest", "auto"):
        path, state, skipped = ckpt.newest_verified(out, rejected)
        if path is None and skipped:
            reasons = "; ".join(reason for _, reason in skipped)
            raise ckpt.CheckpointError(
                f"--restart {restart}: no checkpoint in {ckpt.directory(out)} verifies "
                f"({reasons}). Continue from a file of your choice with --restart PATH, or "
                f"start the run again with --overwrite")
        if path is None and restart == "latest":
            raise ConfigError(f"--restart latest: no checkpoint in {ckpt.directory(out)}")
    elif restart is not None:
        path = Path(restart)
        state = ckpt.read_state(path, verify_spins=False)
    if path is not None:
        _check_checkpoint(state, path, config, digest, weights_sha256)
        _check_output_file(out / "output.h5", config, digest)
    else:
        existing = (["output.h5"] if (out / "output.h5").exists() else []) + \
            [f"{ckpt.directory(out).name}/{p.name}" for p in ckpt.complete(out)]
        if existing and not overwrite and restart != "auto":
            raise ConfigError(
                f"'output.directory' = {str(out)!r} already holds a run "
                f"({', '.join(existing[:4])}{', ...' if len(existing) > 4 else ''}): continue "
                f"it with --restart latest, or start it again with --overwrite")
        clear = bool(existing)
    preflight.check_directory(out, preflight.bytes_needed(config), path is None)
    return RestartPlan(run_hash=digest, checkpoint=path, state=state, clear=clear,
                       skipped=tuple(skipped))


def _check_output_file(path: Path, config: Config, expected_hash: str) -> None:
    """The output file a restart continues into, if there is one, read in a child process:
    a damaged one, or one of another run, raises (it is never replaced)."""
    from distllg.io import isolated
    from distllg.io.output import foreign

    if not path.is_file():
        return
    try:
        found = isolated.call("distllg.io.output", "read_header", str(path), what=str(path))
    except isolated.ReadError as error:
        raise preflight.OutputDirectoryError(
            f"{error}. Move it aside to continue into a new output file from the "
            f"checkpoint's step") from None
    problem = foreign(found, config.lattice.shape, expected_hash)
    if problem:
        raise preflight.OutputDirectoryError(f"--restart: {path} {problem}")


def _check_checkpoint(state: dict, path: Path, config: Config, expected_hash: str,
                      weights_sha256: str) -> None:
    """A checkpoint that this run cannot continue from raises, saying why."""
    shape = tuple(config.lattice.shape)
    if state["lattice"] != shape:
        raise ckpt.CheckpointError(
            f"checkpoint {path} holds a {state['lattice'][0]} x {state['lattice'][1]} lattice; "
            f"[lattice] in {config.source or 'the config'} asks for {shape[0]} x {shape[1]}")
    if state["model_hash"] != weights_sha256:
        def engine(weights: str, name: str = "") -> str:
            return f"model{name} weights {weights[:12]}" if weights else "the exact engine"

        raise ckpt.CheckpointError(
            f"checkpoint {path} was written by {engine(state['model_hash'])}; the config "
            f"runs {engine(weights_sha256, f' {config.engine.model!r}')}: another model")
    if state["run_hash"] != expected_hash:
        raise ckpt.CheckpointError(
            f"checkpoint {path} was written for other physics (hash {state['run_hash']} != "
            f"{expected_hash} of {config.source or 'the config'}: [lattice], [hamiltonian], "
            f"[engine] kind or precision, [dynamics] other than steps, or [initial] "
            f"differ)")
    if state["step"] > config.dynamics.steps:
        raise ckpt.CheckpointError(
            f"checkpoint {path} is at step {state['step']}, beyond 'dynamics.steps' = "
            f"{config.dynamics.steps}")
