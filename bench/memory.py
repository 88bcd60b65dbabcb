"""Memory of a whole run on every rank while the lattice grows: the peak resident set size of
each rank of ``mpirun -n 2 python -m distllg.run`` (start, one float32 CNN step with the
shipped J1_mu-3.5_kT0.1 model, one frame, one checkpoint, the summary and plots), per spin
of the whole lattice and as the ratio rank 0 / the others. Rank 0 makes no more of the
lattice than its own tile (the initial state is made per tile, summaries read a bounded
window), so the ratio should stay near 1 and the bytes per owned spin flat as L grows.
Target: ratio <= 1.2 at L = 4096 on 2 ranks.

Usage: ``python bench/memory.py [--sizes 512 1024 2048 4096] [--ranks 2]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import publish  # noqa: E402

CONFIG = """
[lattice]
L = {L}
[hamiltonian]
{model}
[engine]
kind = "cnn"
model = "J1_mu-3.5_kT0.1"
precision = "float32"
[dynamics]
steps = 1
[initial]
seed = 1
[output]
directory = "{out}"
every = 1
checkpoint_every = 1
snapshots = 1
"""


def worker(config_path: str) -> None:
    """Runs under mpirun: one run, then every rank's peak RSS to rank 0 (one JSON line)."""
    from mpi4py import MPI

    from distllg import config as configlib
    from distllg import run as runlib

    comm = MPI.COMM_WORLD
    runlib.run(configlib.load(config_path), stream=open(os.devnull, "w"), comm=comm)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # bytes
    peaks = comm.gather(peak, root=0)
    if comm.Get_rank() == 0:
        print(json.dumps({"peak_bytes": peaks}))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048, 4096])
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--worker", metavar="CONFIG", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker)
        return 0
    env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMPI_MCA_rmaps_base_oversubscribe": "1", "OMP_NUM_THREADS": "1"}
    from distllg.model import io as modelio

    # the model's own s-d parameters
    parameters = modelio.read_metadata("J1_mu-3.5_kT0.1")["model"]
    model = "\n".join(f"{k} = {float(v)!r}" for k, v in parameters.items())
    rows = []
    for L in args.sizes:
        with tempfile.TemporaryDirectory() as folder:
            config = Path(folder) / "c.toml"
            config.write_text(CONFIG.format(L=L, model=model, out=Path(folder) / "out"))
            done = subprocess.run(
                [shutil.which("mpirun"), "--bind-to", "none", "-x", "OMP_NUM_THREADS", "-n",
                 str(args.ranks), sys.executable, __file__, "--worker", str(config)],
                capture_output=True, text=True, env=env, check=True)
        peaks = json.loads(done.stdout.strip().splitlines()[-1])["peak_bytes"]
        others = max(peaks[1:]) if len(peaks) > 1 else peaks[0]
        rows.append({"L": L, "ranks": args.ranks, "rank0_gib": peaks[0] / 2**30,
                     "others_gib": others / 2**30, "ratio": peaks[0] / others,
                     "bytes_per_owned_spin": others * args.ranks / L**2,
                     "peak_bytes": peaks})
        print(json.dumps(rows[-1]), flush=True)
    columns = [("L", "L", "d"), ("ranks", "ranks", "d"), ("rank0_gib", "rank 0 GiB", ".2f"),
               ("others_gib", "other ranks GiB", ".2f"), ("ratio", "rank 0 / others", ".2f"),
               ("bytes_per_owned_spin", "bytes / owned spin", ".0f")]
    publish("memory", rows, columns, extra={"model": "J1_mu-3.5_kT0.1", "precision": "float32"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
