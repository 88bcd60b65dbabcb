"""The observers of a run's steps (:mod:`distllg.dynamics.stepper`): the stop flags every
rank agrees on, the output frames and checkpoints, and the progress line.

Order after each step: :class:`StopFlags` (non-finite spins, stop signals, stop file,
wall-time limit, timed checkpoint: one gather), :meth:`RunFiles.frame_observer` (the frame of
the step's starting spins every ``output.every`` steps), :class:`CommitteeCheck` (with
``engine.committee``: the models' disagreement every ``engine.committee_every`` steps),
:class:`ProgressLine`, then
:meth:`RunFiles.checkpoint_observer` (a checkpoint every ``output.checkpoint_every`` steps,
on time, or on a stop, which ends the loop).

The spins they see are the run's torch tensors, on the engine's device: the per-step check
reduces there and copies one flag back; frames, checkpoints and the committee check copy
the spins to the host only at their own intervals.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import numpy as np
import torch

from distllg.config import Config
from distllg.dynamics import observables as obs
from distllg.dynamics.llg import host
from distllg.io import checkpoint as ckpt
from distllg.io import preflight
from distllg.io.output import OutputFile
from distllg.io.restart import RestartPlan

STOP_SIGNALS = (signal.SIGTERM, signal.SIGUSR1)
STOP_FILE = "STOP"  # in output.directory: the run stops cleanly when it appears
STOP_FILE_POLL = 1.0  # s between looks for the stop file (rank 0)


class NonFiniteError(FloatingPointError):
    """Spins became NaN or infinite; raised on every rank at once (exit code 1)."""


class StopFlags:
    """What every rank must agree on after a step: ``reason`` to stop (or None) and
    ``timed`` (a checkpoint is due by wall time); raises :class:`NonFiniteError` on every
    rank if any rank's spins are not finite.

    Four bytes per rank are gathered each step (non-finite, signal number, wall-time limit
    or stop file, timed checkpoint), so all ranks stop at the same step with one message.
    Rank 0 looks for the stop file every ``STOP_FILE_POLL`` seconds and removes it when the
    run stops. Use as a context manager: the stop signals are caught inside it."""

    def __init__(self, cart, config: Config, wall0: float):
        self.cart, self.output = cart, config.output
        self.root = cart.Get_rank() == 0
        self.stop_file = Path(config.output.directory) / STOP_FILE
        self.wall0 = self.stop_file_checked = self.last_checkpoint = wall0
        self.signal_received = 0
        self.reason, self.timed = None, False

    def __enter__(self) -> StopFlags:
        self._previous = {s: signal.signal(s, self._on_signal) for s in STOP_SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)

    def _on_signal(self, signum, frame) -> None:  # noqa: ARG002 - signal handler signature
        self.signal_received = signum

    def __call__(self, step: int, before, energy, after: torch.Tensor) -> None:
        from mpi4py import MPI

        out, now = self.output, time.perf_counter()
        mine = np.zeros(4, dtype=np.int8)
        mine[0] = not bool(torch.isfinite(after).all())
        mine[1] = self.signal_received
        mine[2] = out.stop_wall_time > 0 and now - self.wall0 >= out.stop_wall_time
        mine[3] = (self.root and out.checkpoint_minutes > 0
                   and now - self.last_checkpoint >= 60 * out.checkpoint_minutes)
        if self.root and now - self.stop_file_checked >= STOP_FILE_POLL:
            self.stop_file_checked = now
            mine[2] = mine[2] or 2 * self.stop_file.exists()
        flags = np.empty((self.cart.Get_size(), 4), dtype=np.int8)
        self.cart.Allgather([mine, MPI.INT8_T], [flags, MPI.INT8_T])
        if flags[:, 0].any():
            ranks = ", ".join(str(r) for r in np.flatnonzero(flags[:, 0]))
            raise NonFiniteError(f"non-finite spins after the LLG step on rank(s) {ranks}")
        self.reason, self.timed = None, bool(flags[:, 3].any())
        if flags[:, 1].any():
            self.reason = signal.Signals(int(flags[:, 1].max())).name
        elif flags[:, 2].max() == 2:
            self.reason = f"the stop file {self.stop_file}"
            if self.root:
                self.stop_file.unlink(missing_ok=True)
        elif flags[:, 2].any():
            self.reason = f"'output.stop_wall_time' = {out.stop_wall_time:g} s"


class RunFiles:
    """The run's ``output.h5`` (frames) and checkpoints on this rank's tile.

    ``plan``: what the run starts from (:func:`distllg.io.restart.plan`), which gives
    ``start`` (the first step) and ``wall_offset`` (the wall time of the legs before this
    one, s)."""

    def __init__(self, config: Config, domain, stepper, plan: RestartPlan,
                 weights_sha256: str):
        self.config, self.domain, self.stepper, self.plan = config, domain, stepper, plan
        self.out = Path(config.output.directory)
        self.weights_sha256 = weights_sha256
        self.start, self.wall_offset = plan.step, plan.wall_time
        self.wall0 = time.perf_counter()
        self.io_seconds = 0.0  # this rank's wall time in frame writes and checkpoints
        self.latest = None  # observables of the newest frame

    def wall(self) -> float:
        """Wall time of the run over all its legs (s)."""
        return self.wall_offset + time.perf_counter() - self.wall0

    def prepare_directory(self, say) -> None:
        """Rank 0: the directory, the old run's files gone (--overwrite), damaged checkpoints
        set aside, a stale stop file removed."""
        self.out.mkdir(parents=True, exist_ok=True)
        ckpt.directory(self.out).mkdir(exist_ok=True)
        if self.plan.clear:  # --overwrite (checked in set-up): the old run goes
            for old in ckpt.complete(self.out):
                old.unlink()
        for path, reason in self.plan.skipped:
            kept = ckpt.set_aside(path)
            say(f"warning: skipped {reason}; kept as {kept.name}")
        if (self.out / STOP_FILE).exists():
            (self.out / STOP_FILE).unlink()
            say(f"warning: removed the stop file {self.out / STOP_FILE} left from before "
                f"this start")

    def open(self, metadata: dict, say) -> None:
        """Create or continue ``output.h5`` (collective)."""
        config = self.config
        path = self.out / "output.h5"
        restart_step = self.start if self.plan.checkpoint is not None else None
        if restart_step is not None and not path.is_file():
            say(f"warning: {path} is missing; a new one starts at step {self.start}")
            restart_step = None
        attributes = {"config": json.dumps(config.as_dict()), "model": json.dumps(metadata),
                      "run_hash": self.plan.run_hash, "source": config.source}
        self.output = OutputFile(path, self.domain.cart, self.domain.shape, self.domain.tile,
                                 self.domain.chunk, config.dynamics.steps,
                                 config.output.every, attributes, restart_step=restart_step,
                                 first_step=self.start)
        self.output.reserve(self.start + config.output.checkpoint_every)
        self.output.flush()

    def frame(self, step: int, spins: torch.Tensor, energy: float) -> None:
        """Write the frame of ``step`` (collective)."""
        spins = host(spins)
        values = obs.tiled(self.domain, spins, energy)
        start = time.perf_counter()
        try:
            self.output.write_frame(step, self.stepper.time(step), self.wall(), spins, values)
        except OSError as error:
            raise preflight.described(error, self.output.path, "writing a frame to") from error
        self.io_seconds += time.perf_counter() - start
        self.latest = values

    def frame_observer(self, step: int, before: torch.Tensor, energy: float, after) -> None:
        if step % self.config.output.every == 0:
            self.frame(step, before, energy)

    def checkpoint(self, done: int, spins: torch.Tensor) -> Path:
        """Flush the output (its frames before ``done`` are then on disk), then write the
        checkpoint of step ``done`` (collective)."""
        dyn, start = self.config.dynamics, time.perf_counter()
        try:
            self.output.reserve(done + self.config.output.checkpoint_every)
            self.output.flush()
        except OSError as error:
            raise preflight.described(error, self.output.path, "flushing") from error
        state = {"step": done, "time": self.stepper.time(done), "wall_time": self.wall(),
                 "integrator": dyn.integrator, "dt": dyn.dt, "alpha": dyn.alpha,
                 "config": json.dumps(self.config.as_dict()),
                 "run_hash": self.plan.run_hash, "model_hash": self.weights_sha256}
        try:
            path = ckpt.write(self.out, self.domain.cart, self.domain.tile, host(spins),
                              self.domain.shape, self.domain.chunk, state,
                              self.config.output.checkpoint_keep)
        except OSError as error:
            raise preflight.described(error, ckpt.path_for(self.out, done),
                                      "writing the checkpoint") from error
        self.io_seconds += time.perf_counter() - start
        return path

    def checkpoint_observer(self, flags: StopFlags, say):
        """The observer that writes checkpoints (every ``output.checkpoint_every`` steps, on
        time, on a stop) and ends the loop on a stop."""
        def observe(step: int, before, energy, after: torch.Tensor) -> bool:
            done = step + 1
            if done == self.config.dynamics.steps:
                return False
            if not (flags.reason or flags.timed
                    or done % self.config.output.checkpoint_every == 0):
                return False
            path = self.checkpoint(done, after)
            flags.last_checkpoint = time.perf_counter()
            if not flags.reason:
                return False
            self.output.close()
            say(f"distllg: stopped by {flags.reason} at step {done} (t = "
                f"{self.stepper.time(done):g}); checkpoint {path}. Continue with: python -m "
                f"distllg.run {self.config.source or 'CONFIG'} --restart latest (any rank "
                f"count)")
            return True

        return observe


class CommitteeCheck:
    """Every ``engine.committee_every`` steps: the committee's disagreement ``sigma`` on the
    step's starting spins (t1; the largest over all sites of the spread of the members'
    electronic torques, :mod:`distllg.training.committee`), one float reduced over the ranks.
    Keeps the newest and the largest; rank 0 warns when ``sigma`` first exceeds
    ``engine.committee_warn`` and again each time it doubles (the run has left the states
    the models agree on)."""

    def __init__(self, engine, settings, cart, say):
        self.engine, self.cart, self.say = engine, cart, say
        self.every, self.warn = settings.committee_every, settings.committee_warn
        self.latest = self.largest = None
        self.at_step, self.steps_above, self.next_warning = None, 0, self.warn

    def __call__(self, step: int, before: torch.Tensor, energy, after) -> None:
        if step % self.every:
            return
        from mpi4py import MPI

        from distllg.training.committee import site_spread

        local = float(site_spread(self.engine.committee_torques(before)).max())
        sigma = self.cart.allreduce(local, op=MPI.MAX)
        self.latest = sigma
        if self.largest is None or sigma > self.largest:
            self.largest, self.at_step = sigma, step
        if self.warn > 0 and sigma > self.warn:
            self.steps_above += 1
            if sigma > self.next_warning:
                self.next_warning = 2 * sigma
                self.say(f"warning: step {step}: the committee of {self.engine.committee_size} "
                         f"models disagrees by {sigma:.2e} t1 (above 'engine.committee_warn' = "
                         f"{self.warn:g}): the spins are in states the model was not trained "
                         f"on; its torques may be off by several times that")

    def summary(self) -> dict:
        """What summary.json reports of the check."""
        return {"members": self.engine.committee_size, "every": self.every,
                "warn_above": self.warn, "latest_disagreement": self.latest,
                "largest_disagreement": self.largest, "largest_at_step": self.at_step,
                "checks_above_warn": self.steps_above}


class ProgressLine:
    """Rank 0's progress line every ``output.log_every`` steps and at the last: step, time,
    spin temperature (stochastic runs), the ramp's Zeeman field, the newest frame's
    observables, the committee's newest disagreement (with ``engine.committee``), speed and
    ETA."""

    def __init__(self, files: RunFiles, say, committee: CommitteeCheck | None = None):
        self.files, self.say, self.committee = files, say, committee
        self.every, self.steps = files.config.output.log_every, files.config.dynamics.steps

    def __call__(self, step: int, before, energy, after) -> None:
        done, values = step + 1, self.files.latest
        if not (done % self.every == 0 or done == self.steps) or not values:
            return
        stepper = self.files.stepper
        rate = (done - self.files.start) / (time.perf_counter() - self.files.wall0)
        temperature = stepper.temperature(done)
        m = np.linalg.norm(values["magnetization"])
        energy_text = obs.energy_text(values["energy_per_site"], end="  ")
        spin_temperature = "" if temperature is None else f"T = {temperature:.4f}  "
        if stepper.ramp is not None:
            spin_temperature += f"h = {stepper.field(done):.4f}  "
        latest = self.committee.latest if self.committee is not None else None
        disagreement = "" if latest is None else f"dev {latest:.1e}  "
        self.say(f"step {done:7d}  t = {stepper.time(done):9.2f}  {spin_temperature}"
                 f"{energy_text}Q = {values['skyrmion_number']:+7.3f}  |m| = {m:.4f}  "
                 f"{disagreement}{rate:.2f} steps/s  ETA {(self.steps - done) / rate / 60:.1f} "
                 f"min")


def write_summary(files: RunFiles, ranks: int, wall: float, say,
                  committee: CommitteeCheck | None = None) -> dict:
    """Rank 0 at the end: ``summary.json`` and the PNGs of :mod:`distllg.analysis.report` from
    ``output.h5``, and the closing line; returns the summary. With a committee check, its
    figures of this leg (:meth:`CommitteeCheck.summary`)."""
    from distllg.analysis import report

    config, dyn = files.config, files.config.dynamics
    path = files.out / "output.h5"
    described = report.describe_output(path)
    summary = {
        "config": config.as_dict(),
        "ranks": ranks,
        "process_grid": list(files.domain.decomposition.dims),
        "steps": dyn.steps,
        "time": files.stepper.time(dyn.steps),
        **{k: described[k] for k in ("energy_per_site", "skyrmion_number", "magnetization",
                                     "structure_factor_peaks", "crystal_share",
                                     "crystal_skyrmions_per_cell", "chirality_domain_length",
                                     "wall_density", "peak_width_length",
                                     "frames_written", "legs")},
        "wall_time_s_this_leg": wall,
        "io_time_s_this_leg": files.io_seconds,  # rank 0: frames and checkpoints
        "wall_time_s_total": files.wall(),
    }
    if committee is not None:
        summary["committee"] = committee.summary()
    (files.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    report.write_output_plots(path, files.out, config.output.snapshots)
    peaks = [round(p["abs_q"], 4) for p in summary["structure_factor_peaks"]]
    say(f"done: {obs.energy_text(summary['energy_per_site'])}Q = "
        f"{summary['skyrmion_number']:+.3f}, crystal share {summary['crystal_share']:.2f} "
        f"(n_sk = {summary['crystal_skyrmions_per_cell']}), "
        f"S(q) peaks at |q| = {peaks}; wall {wall:.1f} s; wrote {files.out}")
    return summary

