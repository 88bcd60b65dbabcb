"""Weak scaling of the distributed CNN-LLG step by tile: the inputs of docs/scaling.md.

For each tile size T the same run starts ``mpirun -n 1`` on a T x T lattice and
``mpirun -n 2`` on T x 2T (process grid 1 x 2: every rank owns a T x T tile); the workers
time ``--steps`` semi-implicit midpoint steps (2 CNN evaluations each, every one after a
halo exchange of width r) with the shipped J1_mu-3.5_kT0.1 model in the run's default
precision (``auto``), and report per rank: step time, time and bytes of the halo exchange
per step (the slowest rank's, which includes waiting for the partner), spin-steps per
second per rank, and memory (peak RSS growth over the set-up, per owned spin). Weak
efficiency: t(1 rank) / t(2 ranks).
Writes bench/results/scaling.json and its table in docs/PERFORMANCE.md.

Usage: ``python bench/scaling.py [--tiles 128 256 512 1024] [--repeats 2] [--steps 2]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import publish  # noqa: E402

RANKS = (1, 2)


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def worker(tiles: list[int], steps: int, repeats: int) -> None:
    """Runs under mpirun: times the tiled midpoint step; rank 0 prints one JSON per tile."""
    import numpy as np
    import torch
    from mpi4py import MPI

    from distllg import spins as spinlib
    from distllg.dynamics import llg
    from distllg.model import io as modelio
    from distllg.model.provider import TiledCNNFields
    from distllg.parallel import device as devicelib
    from distllg.parallel.decomposition import Decomposition

    torch.set_num_threads(1)
    comm = MPI.COMM_WORLD
    model = modelio.load_model("J1_mu-3.5_kT0.1")
    dtype = devicelib.precision("auto", torch.device("cpu"))
    r = model.receptive_radius
    for T in tiles:
        base = _rss_mib()
        deco = Decomposition(comm, (T, comm.size * T), halo=r, dims=(1, comm.size))
        halo = deco.halo_exchange(r)
        tile = np.ascontiguousarray(spinlib.random(*deco.tile.shape,
                                                   np.random.default_rng(comm.rank)))
        halo_time, halo_bytes = [0.0], [0]
        exchange = halo.exchange

        def timed_exchange(padded, exchange=exchange, halo_time=halo_time,
                           halo_bytes=halo_bytes, sent=halo.bytes_sent):
            start = time.perf_counter()
            exchange(padded)
            halo_time[0] += time.perf_counter() - start
            halo_bytes[0] += sent

        halo.exchange = timed_exchange
        provider = TiledCNNFields(model, halo, dtype=dtype)
        llg.midpoint_step(tile, provider.energy_and_fields, 0.1, 0.5)  # warm-up
        best = None
        for _ in range(repeats):
            halo_time[0], halo_bytes[0] = 0.0, 0
            comm.Barrier()
            start = time.perf_counter()
            for _ in range(steps):
                tile, _ = llg.midpoint_step(tile, provider.energy_and_fields, 0.1, 0.5)
            comm.Barrier()
            elapsed = (time.perf_counter() - start) / steps
            halo_s = comm.allreduce(halo_time[0] / steps, op=MPI.MAX)
            if best is None or elapsed < best[0]:
                best = (elapsed, halo_s, halo_bytes[0] / steps)
        growth = comm.allreduce(_rss_mib() - base, op=MPI.MAX)
        if comm.rank == 0:
            print(json.dumps({"tile": T, "ranks": comm.size, "L": [T, comm.size * T],
                              "step_s": best[0], "halo_s": best[1],
                              "halo_share": best[1] / best[0], "halo_bytes": best[2],
                              "exchanges_per_step": 2,
                              "spin_steps_per_s_per_rank": T * T / best[0],
                              "memory_bytes_per_spin": growth * 2**20 / (T * T),
                              "peak_rss_mib": _rss_mib(), "receptive_radius": r,
                              "precision": devicelib.dtype_name(dtype)}), flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiles", type=int, nargs="+", default=[128, 256, 512, 1024])
    parser.add_argument("--steps", type=int, default=2, help="timed steps per repeat")
    parser.add_argument("--repeats", type=int, default=2, help="repeats (best kept)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.tiles, args.steps, args.repeats)
        return 0
    env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMPI_MCA_rmaps_base_oversubscribe": "1", "OMP_NUM_THREADS": "1"}
    results = {}
    for ranks in RANKS:
        done = subprocess.run(
            [shutil.which("mpirun"), "--bind-to", "none", "-x", "OMP_NUM_THREADS", "-n",
             str(ranks), sys.executable, __file__, "--worker", "--tiles",
             *map(str, args.tiles), "--steps", str(args.steps), "--repeats",
             str(args.repeats)], capture_output=True, text=True, env=env, check=True)
        for line in done.stdout.splitlines():
            row = json.loads(line)
            results[(row["tile"], ranks)] = row
    rows = []
    for T in args.tiles:
        one = results[(T, 1)]
        for ranks in RANKS:
            row = results[(T, ranks)]
            rows.append({**row, "lattice": "x".join(map(str, row["L"])),
                         "halo_mib": row["halo_bytes"] / 2**20,
                         "efficiency": one["step_s"] / row["step_s"]})
    columns = [("tile", "tile T", "d"), ("ranks", "ranks", "d"), ("lattice", "lattice", "s"),
               ("step_s", "s / step", ".3f"), ("efficiency", "weak efficiency", ".2f"),
               ("halo_s", "halo s / step", ".4f"), ("halo_share", "halo share", ".2%"),
               ("halo_mib", "halo MiB / step", ".2f"),
               ("spin_steps_per_s_per_rank", "spin-steps/s/rank", ".3g"),
               ("memory_bytes_per_spin", "bytes / spin", ".0f")]
    publish("scaling", rows, columns, extra={"steps": args.steps, "integrator": "midpoint",
                                            "model": "J1_mu-3.5_kT0.1",
                                            "precision": rows[0]["precision"]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
