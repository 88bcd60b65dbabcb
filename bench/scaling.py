"""Strong scaling of the distributed CNN-LLG step on this machine: 1 vs 2 ranks.

For each L the same run starts ``mpirun -n 1`` and ``mpirun -n 2`` workers that time
``--steps`` semi-implicit midpoint steps (2 CNN evaluations each, every one after a halo
exchange of width r) with the shipped default model in float64 (the run's precision), and
report per rank: step time, the share spent in the halo exchange, spins x steps per second
per rank, and memory (peak RSS growth over the set-up, per owned spin).
Targets: halo exchange < 5 % of the step at a 256^2 tile; efficiency t1 / (2 t2) near 1.

Usage: ``python bench/scaling.py [--sizes 256 512] [--repeats 2] [--steps 4]``.
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


def worker(sizes: list[int], steps: int, repeats: int) -> None:
    """Runs under mpirun: times the tiled midpoint step; rank 0 prints one JSON per size."""
    import numpy as np
    import torch
    from mpi4py import MPI

    from distllg import spins as spinlib
    from distllg.dynamics import llg
    from distllg.model import io as modelio
    from distllg.model.provider import TiledCNNFields
    from distllg.parallel.decomposition import Decomposition
    from distllg.parallel.halo import HaloExchange

    torch.set_num_threads(1)
    comm = MPI.COMM_WORLD
    model = modelio.load_model("default")
    r = model.receptive_radius
    for L in sizes:
        base = _rss_mib()
        deco = Decomposition(comm, (L, L), halo=r)
        halo = HaloExchange(deco.cart, deco.tile.shape, r)
        tile = np.ascontiguousarray(spinlib.random(*deco.tile.shape,
                                                   np.random.default_rng(comm.rank)))
        halo_time = [0.0]
        exchange = halo.exchange

        def timed_exchange(padded, exchange=exchange, halo_time=halo_time):
            start = time.perf_counter()
            exchange(padded)
            halo_time[0] += time.perf_counter() - start

        halo.exchange = timed_exchange
        provider = TiledCNNFields(model, halo)
        llg.midpoint_step(tile, provider.energy_and_fields, 0.1, 0.5)  # warm-up
        best = None
        for _ in range(repeats):
            halo_time[0] = 0.0
            comm.Barrier()
            start = time.perf_counter()
            for _ in range(steps):
                tile, _ = llg.midpoint_step(tile, provider.energy_and_fields, 0.1, 0.5)
            comm.Barrier()
            elapsed = (time.perf_counter() - start) / steps
            share = comm.allreduce(halo_time[0] / steps, op=MPI.MAX) / elapsed
            if best is None or elapsed < best[0]:
                best = (elapsed, share)
        growth = comm.allreduce(_rss_mib() - base, op=MPI.MAX)
        if comm.rank == 0:
            sites = deco.tile.shape[0] * deco.tile.shape[1]
            print(json.dumps({"L": L, "ranks": comm.size, "tile": list(deco.tile.shape),
                              "step_s": best[0], "halo_share": best[1],
                              "spin_steps_per_s_per_rank": L * L / best[0] / comm.size,
                              "memory_bytes_per_spin": growth * 2**20 / sites,
                              "peak_rss_mib": _rss_mib(), "receptive_radius": r}),
                  flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--steps", type=int, default=4, help="timed steps per repeat")
    parser.add_argument("--repeats", type=int, default=2, help="repeats (best kept)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.sizes, args.steps, args.repeats)
        return 0
    env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMPI_MCA_rmaps_base_oversubscribe": "1", "OMP_NUM_THREADS": "1"}
    results = {}
    for ranks in RANKS:
        done = subprocess.run(
            [shutil.which("mpirun"), "--bind-to", "none", "-x", "OMP_NUM_THREADS", "-n",
             str(ranks), sys.executable, __file__, "--worker", "--sizes",
             *map(str, args.sizes), "--steps", str(args.steps), "--repeats",
             str(args.repeats)], capture_output=True, text=True, env=env, check=True)
        for line in done.stdout.splitlines():
            row = json.loads(line)
            results[(row["L"], ranks)] = row
    rows = []
    for L in args.sizes:
        one, two = results[(L, 1)], results[(L, 2)]
        for row in (one, two):
            rows.append({**row, "tile_text": "x".join(map(str, row["tile"])),
                         "efficiency": one["step_s"] / (row["ranks"] * row["step_s"])})
    columns = [("L", "L", "d"), ("ranks", "ranks", "d"), ("tile_text", "tile", "s"),
               ("step_s", "s / step", ".3f"), ("efficiency", "efficiency t1/(n tn)", ".2f"),
               ("halo_share", "halo share", ".2%"),
               ("spin_steps_per_s_per_rank", "spin-steps/s/rank", ".3g"),
               ("memory_bytes_per_spin", "bytes / spin", ".0f")]
    publish("scaling", rows, columns, extra={"steps": args.steps, "integrator": "midpoint",
                                            "dtype": "float64", "model": "default"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
