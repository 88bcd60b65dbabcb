"""The GPU checks of bench/gpu.sh, one part per call (CPU fallback where no GPU is seen).

* ``check``: one CNN evaluation and 10 midpoint LLG steps of the shipped J1_mu-3.5_kT0.1
  model in float64 on the GPU against the CPU (target: <= 1e-10);
* ``speed``: time per spin of one field evaluation at ``--sizes`` in float32 (on a GPU the
  convolutions run in TF32, PyTorch's default) and bfloat16, with the error against float64;
* ``halo``: under ``mpirun -n 2``, both ranks on the one GPU, 10 midpoint steps of the tiled
  engine with the halo in host memory (``--halo host``, staged) or on the device (``--halo
  device``: GPU to GPU where the MPI library is CUDA-aware, else staged, and said so),
  against one serial run (float64, target: <= 1e-10), and the time per step;
* ``labels``: one training label of the crystal-point recipe (2 x 2 twist-averaged ED of a
  random 24 x 24 frame, configs/recipes/J0.5_mu-3.5_kT0.05) with the eigen-decompositions on
  the device against LAPACK's subset driver on one CPU core: field difference (target:
  <= 1e-10) and time of each.
Each part prints one JSON line and writes it to ``--out``/gpu_PART[_HALO].json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from distllg import spins as spinlib  # noqa: E402
from distllg.dynamics import llg  # noqa: E402
from distllg.model import io as modelio  # noqa: E402
from distllg.model.provider import PeriodicCNNFields, TiledCNNFields  # noqa: E402

STEPS, DT, ALPHA = 10, 0.1, 0.5


def device() -> torch.device:
    return torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu")


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def fields(where: torch.device, dtype=torch.float64) -> PeriodicCNNFields:
    return PeriodicCNNFields(modelio.load_model("J1_mu-3.5_kT0.1"), device=where, dtype=dtype)


def steps(spins: np.ndarray, provider, count: int = STEPS) -> np.ndarray:
    for _ in range(count):
        spins, _ = llg.midpoint_step(spins, provider.energy_and_fields, DT, ALPHA)
    return spins


def check(L: int) -> dict:
    """float64 on the device against the CPU: one evaluation, then 10 LLG steps."""
    start = spinlib.random(L, L, np.random.default_rng(0))
    gpu, cpu = fields(device()), fields(torch.device("cpu"))
    one = np.abs(gpu.energy_and_fields(start)[1] - cpu.energy_and_fields(start)[1]).max()
    moved = np.abs(steps(start, gpu) - steps(start, cpu)).max()
    return {"device": str(device()), "L": L, "evaluation_max_difference": float(one),
            "llg_10_steps_max_difference": float(moved),
            "pass": bool(one <= 1e-10 and moved <= 1e-10)}


def speed(sizes: list[int]) -> dict:
    """Time per spin of one evaluation in float32 and bfloat16, and their error."""
    where, rows = device(), []
    for L in sizes:
        spins = spinlib.random(L, L, np.random.default_rng(1))
        truth = fields(where).energy_and_fields(spins)[1]
        for name in ("float32", "bfloat16"):
            provider = fields(where, getattr(torch, name))
            provider.energy_and_fields(spins)  # warm-up (cuDNN picks its algorithms)
            sync()
            best = np.inf
            for _ in range(3):
                begin = time.perf_counter()
                out = provider.energy_and_fields(spins)[1]
                sync()
                best = min(best, time.perf_counter() - begin)
            rows.append({"L": L, "precision": name, "ns_per_spin": 1e9 * best / L**2,
                         "error": float(np.linalg.norm(out - truth) / np.linalg.norm(truth))})
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return {"device": str(where), "tf32_convolutions": bool(
        torch.backends.cudnn.allow_tf32) if where.type == "cuda" else False, "rows": rows}


def halo(place: str, L: int) -> dict | None:
    """Two ranks on one device, halo in host memory or on the device, against serial."""
    from mpi4py import MPI

    from distllg.parallel import device as devicelib
    from distllg.parallel.decomposition import Decomposition

    comm = MPI.COMM_WORLD
    where = devicelib.choose(comm, "auto")
    model = modelio.load_model("J1_mu-3.5_kT0.1")
    deco = Decomposition(comm, (L, L), halo=model.receptive_radius)
    on, note = devicelib.halo_place(place, where)
    provider = TiledCNNFields(model, deco.halo_exchange(device=on), device=where)
    start = spinlib.random(L, L, np.random.default_rng(2))
    tile = np.ascontiguousarray(start[(slice(None),) + deco.tile.slices])
    steps(tile, provider, 1)  # warm-up
    comm.Barrier()
    begin = time.perf_counter()
    tile = steps(tile, provider)
    comm.Barrier()
    seconds = (time.perf_counter() - begin) / STEPS
    result = deco.gather(tile)
    if comm.rank != 0:
        return None
    serial = steps(start, fields(where))
    difference = float(np.abs(result - serial).max())
    return {"ranks": comm.size, "device": str(where), "L": L, "halo": place, "note": note,
            "cuda_aware_mpi": devicelib.cuda_aware_mpi(), "step_s": seconds,
            "max_difference_to_serial": difference, "pass": difference <= 1e-10}


def labels(L: int) -> dict:
    """One twist-averaged ED label on the device against one CPU core, float64 both."""
    from distllg import config as configlib
    from distllg.electrons.bloch import exact_solver

    recipe = Path(__file__).resolve().parent.parent / "configs" / "recipes" / "J0.5_mu-3.5_kT0.05"
    config = configlib.load(recipe / "14_cnn_anneal.toml")
    model, twists = config.hamiltonian, config.engine.twists
    frame = spinlib.random(L, L, np.random.default_rng(3))
    times, results = {}, {}
    for name, where in (("cpu", None), ("device", device())):
        solver = exact_solver(model, twists, where)
        solver.energy_and_fields(frame)  # warm-up: hoppings built, GPU libraries loaded
        begin = time.perf_counter()
        results[name] = solver.energy_and_fields(frame)
        times[name] = time.perf_counter() - begin
    difference = float(np.abs(results["device"][1] - results["cpu"][1]).max())
    return {"device": str(device()), "L": L, "twists": twists,
            "cpu_threads": torch.get_num_threads(), "cpu_s": times["cpu"],
            "device_s": times["device"], "speedup": times["cpu"] / times["device"],
            "energy_difference": abs(results["device"][0] - results["cpu"][0]),
            "max_field_difference": difference, "pass": difference <= 1e-10}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=("check", "speed", "halo", "labels"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 4096])
    parser.add_argument("--L", type=int, default=256, help="lattice of check and halo "
                        "(labels: 24)")
    parser.add_argument("--halo", choices=("host", "device"), default="host")
    parser.add_argument("--out", default="out/gpu_check")
    args = parser.parse_args(argv)
    result = {"check": lambda: check(args.L), "speed": lambda: speed(args.sizes),
              "halo": lambda: halo(args.halo, args.L),
              "labels": lambda: labels(args.L if args.L != 256 else 24)}[args.part]()
    if result is None:
        return 0
    line = json.dumps(result)
    print(line, flush=True)
    name = f"gpu_{args.part}" + (f"_{args.halo}" if args.part == "halo" else "")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / f"{name}.json").write_text(line + "\n")
    return 0 if result.get("pass", True) else 1


if __name__ == "__main__":
    sys.exit(main())
