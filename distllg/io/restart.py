"""What a run starts from on disk, decided before any work: a fresh start or the checkpoint
to continue from, and whether the output directory can take the run.

:func:`plan` is called on one rank (rank 0) and changes nothing on disk; its result is
broadcast and acted on by :class:`distllg.observers.RunFiles`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from distllg.config import Config, ConfigError
from distllg.io import checkpoint as ckpt
from distllg.io import preflight


def run_hash(config: Config, weights_sha256: str) -> str:
    """What decides the trajectory: the config's physics and, for the CNN, the weights."""
    if not weights_sha256:
        return config.physics_hash()
    return hashlib.sha256((config.physics_hash() + weights_sha256).encode()).hexdigest()[:16]


def plan(config: Config, restart: str | None, overwrite: bool, weights_sha256: str) -> dict:
    """``{"run_hash", "restart": (checkpoint path, its state) or None, "clear": whether an
    old run is replaced (--overwrite), "skipped": [(path, reason)] of damaged checkpoints
    passed over}``. ``restart``: None, ``"latest"``, ``"auto"`` or a checkpoint path.
    Raises with a message that names the file and what to do."""
    result = {"run_hash": run_hash(config, weights_sha256), "restart": None, "clear": False,
              "skipped": []}
    out = Path(config.output.directory)
    path, state = None, None
    if restart in ("latest", "auto"):
        path, state, result["skipped"] = ckpt.newest_verified(out)
        if path is None and result["skipped"]:
            reasons = "; ".join(reason for _, reason in result["skipped"])
            raise ckpt.CheckpointError(
                f"--restart {restart}: no checkpoint in {ckpt.directory(out)} verifies "
                f"({reasons}). Continue from a file of your choice with --restart PATH, or "
                f"start the run again with --overwrite")
        if path is None and restart == "latest":
            raise ConfigError(f"--restart latest: no checkpoint in {ckpt.directory(out)}")
    elif restart is not None:
        path = Path(restart)
        state = ckpt.read_state(path)
    if path is not None:
        _check_checkpoint(state, path, config, result["run_hash"], weights_sha256)
        _check_output_file(out / "output.h5", config, result["run_hash"])
        result["restart"] = (path, state)
    else:
        existing = (["output.h5"] if (out / "output.h5").exists() else []) + \
            [f"{ckpt.directory(out).name}/{p.name}" for p in ckpt.complete(out)]
        if existing and not overwrite and restart != "auto":
            raise ConfigError(
                f"'output.directory' = {str(out)!r} already holds a run "
                f"({', '.join(existing[:4])}{', ...' if len(existing) > 4 else ''}): continue "
                f"it with --restart latest, or start it again with --overwrite")
        result["clear"] = bool(existing)
    preflight.check_directory(out, preflight.bytes_needed(config), result["restart"] is None)
    return result


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
