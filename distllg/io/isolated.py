"""Reading files that may be damaged in a child process, so that a crash of the HDF5 library
on a damaged file costs a message, not the run.

:func:`call` runs ``module.function(*args)`` in a fresh Python and returns its (JSON)
result. The child imports h5py before ``distllg.io`` (which asks Debian's h5py for its
parallel build) and gets an environment without the MPI launcher's variables, so it uses
the serial h5py and never joins the MPI job.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

CHILD = ("import importlib, json, sys, h5py\n"
         "module, name, args = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])\n"
         "function = getattr(importlib.import_module(module), name)\n"
         "try:\n"
         "    answer = {'value': function(*args)}\n"
         "except Exception as error:\n"
         "    answer = {'error': str(error), 'type': type(error).__name__}\n"
         "print(json.dumps(answer))\n")
TIMEOUT = 600.0  # s


class ReadError(ValueError):
    """The child failed: crashed, timed out, or raised (the message says which)."""


def _environment() -> dict:
    drop = ("OMPI_", "PMIX_", "PMI_", "MPI_LOCALNRANKS", "H5PY_ALWAYS_USE_MPI", "SLURM_STEP")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def call(module: str, function: str, *args, what: str = "the file"):
    """``module.function(*args)`` (JSON-able arguments and result) in a child process.
    Raises :class:`ReadError` with the child's own message when it raised, or saying that
    reading ``what`` crashed (the signal) or timed out."""
    command = [sys.executable, "-c", CHILD, module, function, json.dumps(list(args))]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT,
                              env=_environment(), stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise ReadError(f"{what}: reading it took over {TIMEOUT:g} s") from None
    if done.returncode < 0:
        name = signal.Signals(-done.returncode).name
        raise ReadError(f"{what} is damaged: reading it crashed HDF5 ({name})")
    try:
        answer = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ReadError(f"{what}: reading it failed ({tail})") from None
    if "error" in answer:
        message = answer["error"]
        raise ReadError(message if message.startswith(what)
                        else f"{what}: {answer['type']}: {message}")
    return answer["value"]
