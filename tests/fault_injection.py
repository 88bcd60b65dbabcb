"""``python tests/fault_injection.py CONFIG [ARGS]``: ``python -m distllg.run`` with a real
fault injected, for the tests of the failure handling (under mpirun: :mod:`mpi_jobs`).

The fault comes from ``DISTLLG_INJECT_FAULT="KIND:RANK:STEP"`` and strikes rank RANK:

* ``nan``: the fields of step STEP turn NaN on that rank;
* ``raise``: the field evaluation of step STEP raises a RuntimeError;
* ``kill``: SIGKILL during step STEP;
* ``kill-in-checkpoint``: SIGKILL while the checkpoint of step STEP is being written (after
  the rank wrote its spins to ``<name>.tmp``, before the file is closed and renamed).

The run itself is the product's, unchanged: the fault is patched into
:meth:`distllg.dynamics.stepper.Stepper.step` or into the ``write_slab`` that
:func:`distllg.io.checkpoint.write` calls, on the faulty rank only.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

FAULTS = ("nan", "raise", "kill", "kill-in-checkpoint")
VARIABLE = "DISTLLG_INJECT_FAULT"


def parse(spec: str) -> tuple[str, int, int]:
    """``(kind, rank, step)`` of ``"KIND:RANK:STEP"``."""
    try:
        kind, rank, step = spec.split(":")
        rank, step = int(rank), int(step)
    except ValueError:
        raise ValueError(f"{VARIABLE} = {spec!r}: give KIND:RANK:STEP") from None
    if kind not in FAULTS:
        raise ValueError(f"{VARIABLE} = {spec!r}: KIND is one of {FAULTS}")
    return kind, rank, step


def kill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def faulty(field_fn, kind: str):
    """``field_fn`` that fails as ``kind`` (``nan``, ``raise``, ``kill``) when called."""
    def fields(spins):
        if kind == "raise":
            raise RuntimeError(f"fault injected by {VARIABLE}")
        if kind == "kill":
            kill_self()
        energy, values = field_fn(spins)
        values = 1.0 * values  # a copy, numpy array or torch tensor
        values[:, 0, 0] = float("nan")
        return energy, values

    return fields


def install(kind: str, at: int) -> None:
    """Patch the fault ``kind`` at step ``at`` into this process's distllg."""
    if kind == "kill-in-checkpoint":
        from distllg.io import checkpoint

        write_slab = checkpoint.write_slab
        name = checkpoint.path_for("", at).name + ".tmp"

        def write_slab_then_die(dataset, *args, **kwargs):
            write_slab(dataset, *args, **kwargs)
            if Path(dataset.file.filename).name == name:
                kill_self()

        checkpoint.write_slab = write_slab_then_die
        return

    from distllg.dynamics.stepper import Stepper

    step = Stepper.step

    def step_with_fault(self, spins, number):
        if number != at:
            return step(self, spins, number)
        clean = self.field_fn
        self.field_fn = faulty(clean, kind)
        try:
            return step(self, spins, number)
        finally:
            self.field_fn = clean

    Stepper.step = step_with_fault


def main(argv=None) -> int:
    """Install the fault of ``DISTLLG_INJECT_FAULT`` (if any) on its rank, then run."""
    spec = os.environ.get(VARIABLE, "")
    if spec:
        from mpi4py import MPI

        kind, rank, at = parse(spec)
        if MPI.COMM_WORLD.Get_rank() == rank:
            install(kind, at)
    from distllg.cli import main as distllg

    return distllg(["run", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
